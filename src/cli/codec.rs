//! `vxgate codec encode|decode`: raw G.711 conversion, stdin to stdout. (Filled in by the foundation work.)

use std::process::ExitCode;

use clap::Subcommand;

/// Codec subcommands.
#[derive(Debug, Subcommand)]
pub enum CodecCommand {}

/// Runs a codec subcommand.
pub fn run(cmd: CodecCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
