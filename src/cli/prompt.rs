//! `vxgate prompt convert|info`: prompt files. (Filled in by the foundation work.)

use std::process::ExitCode;

use clap::Subcommand;

/// Prompt subcommands.
#[derive(Debug, Subcommand)]
pub enum PromptCommand {}

/// Runs a prompt subcommand.
pub fn run(cmd: PromptCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
