//! `vxgate serve`: the gateway. (not built yet; owned by the work that builds it.)

use std::process::ExitCode;

/// Options of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `serve`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("serve is not built yet")
}
