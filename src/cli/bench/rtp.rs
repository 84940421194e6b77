//! `vxgate bench rtp`: RTP pacing benchmark. (not built yet; owned by the work that builds it.)

use std::process::ExitCode;

/// Options of `bench rtp`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `bench rtp`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("bench rtp is not built yet")
}
