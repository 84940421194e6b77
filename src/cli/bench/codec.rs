//! `vxgate bench codec`. (Filled in by the foundation work.)

use std::process::ExitCode;

/// Options of `bench codec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the codec benchmark.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("bench codec is not built yet")
}
