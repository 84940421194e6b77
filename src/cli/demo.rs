//! `vxgate demo`: a complete set of CVP call legs through the gateway on loopback.

use std::process::ExitCode;

pub mod ivr;

/// Options of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `demo`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("demo is not built yet")
}
