//! `vxgate check`: config validation. (not built yet; owned by the work that builds it.)

use std::process::ExitCode;

/// Options of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `check`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("check is not built yet")
}
