//! `vxgate dtmf detect`: digits from a capture or a WAV file. (Filled in by the media work.)

use std::process::ExitCode;

use clap::Subcommand;

/// DTMF subcommands.
#[derive(Debug, Subcommand)]
pub enum DtmfCommand {}

/// Runs a DTMF subcommand.
pub fn run(cmd: DtmfCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
