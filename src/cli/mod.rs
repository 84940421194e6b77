//! Command-line interface: one module per subcommand, each with its own `Args` and `run`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod bench;
pub mod check;
pub mod codec;
pub mod demo;
pub mod dtmf;
pub mod prompt;
pub mod run_vxml;
pub mod serve;

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
    /// Run the gateway: SIP, dial-peers, services.
    Serve(serve::Args),
    /// One command, no setup: a complete set of CVP call legs through the gateway on loopback.
    Demo(demo::Args),
    /// Validate a gateway config file and print each problem with its line.
    Check(check::Args),
    /// Run a VoiceXML document against a simulated caller and print the transcript.
    RunVxml(run_vxml::Args),
    /// Encode or decode raw G.711 (stdin to stdout).
    #[command(subcommand)]
    Codec(codec::CodecCommand),
    /// Inspect or convert prompt audio files.
    #[command(subcommand)]
    Prompt(prompt::PromptCommand),
    /// DTMF tools.
    #[command(subcommand)]
    Dtmf(dtmf::DtmfCommand),
    /// Measure throughput (codec, rtp).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Parses the process arguments and runs the chosen subcommand.
pub fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Check(args) => check::run(args),
        Command::RunVxml(args) => run_vxml::run(args),
        Command::Codec(cmd) => codec::run(cmd),
        Command::Prompt(cmd) => prompt::run(cmd),
        Command::Dtmf(cmd) => dtmf::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
    }
}
