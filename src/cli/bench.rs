//! `vxgate bench ...`: throughput measurements, each in its own module.

use std::process::ExitCode;

use clap::Subcommand;

pub mod codec;
pub mod host;
pub mod rtp;
pub mod tap;

/// Which benchmark to run.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// G.711 encode/decode throughput against the scalar reference.
    Codec(codec::Args),
    /// Concurrent paced RTP streams on loopback: pacing error and loss.
    Rtp(rtp::Args),
}

/// Runs one benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Codec(args) => codec::run(args),
        BenchCommand::Rtp(args) => rtp::run(args),
    }
}
