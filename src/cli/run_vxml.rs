//! `vxgate run-vxml`: the headless VoiceXML runner. (not built yet; owned by the work that builds it.)

use std::process::ExitCode;

/// Options of `run-vxml`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `run-vxml`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("run-vxml is not built yet")
}
