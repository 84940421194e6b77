//! `vxgate dtmf detect FILE`: the DTMF digits in a capture or an audio file, with their times.
//!
//! Prints one line per digit, `<seconds> <digit> <rfc4733|inband>`, seconds from the capture's first packet or the
//! audio's first sample, with 3 decimals. The work is `vxgate_media::dtmf::detect_file`, so the digits are the ones
//! the gateway itself would collect.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use vxgate_media::dtmf::{detect_file, DetectOptions, InbandMode};

/// DTMF subcommands.
#[derive(Debug, Subcommand)]
pub enum DtmfCommand {
    /// Digits and their times from a pcap/pcapng of RTP (RFC 4733 events, or tones in PCMU/PCMA) or an audio file.
    Detect(DetectArgs),
}

/// Options of `dtmf detect`.
#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// A pcap or pcapng capture, or an audio file (WAV, FLAC, MP3, Ogg).
    pub file: PathBuf,
    /// RTP payload type of telephone-event (found by shape when not given).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=127))]
    pub te_pt: Option<u8>,
    /// In-band tone detection in captured audio: auto = only between endpoints that sent no telephone-events.
    #[arg(long, value_enum, default_value_t = Inband::Auto)]
    pub inband: Inband,
}

/// `--inband` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Inband {
    /// Only in streams between endpoints that sent no telephone-events.
    Auto,
    /// In every PCMU/PCMA stream.
    Always,
    /// Never.
    Never,
}

/// Runs a DTMF subcommand.
pub fn run(cmd: DtmfCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DtmfCommand::Detect(args) => detect(args),
    }
}

fn detect(args: DetectArgs) -> anyhow::Result<ExitCode> {
    let opts = DetectOptions {
        te_pt: args.te_pt,
        inband: match args.inband {
            Inband::Auto => InbandMode::Auto,
            Inband::Always => InbandMode::Always,
            Inband::Never => InbandMode::Never,
        },
    };
    let found = detect_file(&args.file, &opts)
        .with_context(|| format!("dtmf detect {}", args.file.display()))?;
    let mut out = io::stdout().lock();
    for d in &found {
        if let Err(e) = writeln!(out, "{d}") {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e.into());
        }
    }
    Ok(ExitCode::SUCCESS)
}
