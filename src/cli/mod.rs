//! Command-line interface: one module per subcommand, each with its own `Args` and `run`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod bench;
pub mod codec;
pub mod prompt;

/// vxgate — a software VoiceXML gateway.
#[derive(Debug, Parser)]
#[command(name = "vxgate", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encode or decode raw G.711 (stdin to stdout).
    #[command(subcommand)]
    Codec(codec::CodecCommand),
    /// Inspect or convert prompt audio files.
    #[command(subcommand)]
    Prompt(prompt::PromptCommand),
    /// Measure throughput (codec, rtp).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Parses the process arguments and runs the chosen subcommand.
pub fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Codec(cmd) => codec::run(cmd),
        Command::Prompt(cmd) => prompt::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
    }
}
