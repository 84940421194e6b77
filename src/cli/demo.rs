//! `vxgate demo`: a complete set of call legs on loopback. (not built yet; owned by the work that builds it.)

use std::process::ExitCode;

/// Options of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `demo`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("demo is not built yet")
}
