//! `vxgate prompt convert|info`: turn any supported audio file into the 8 kHz mono G.711 WAV gateway prompts are
//! stored in, or show what a file holds and what converting it would do.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use vxgate_media::g711::Law;
use vxgate_media::prompt::{self, PromptInfo};

/// Prompt subcommands.
#[derive(Debug, Subcommand)]
pub enum PromptCommand {
    /// Convert WAV (PCM, float, G.711), FLAC, MP3 or Ogg Vorbis to an 8 kHz mono G.711 WAV.
    Convert(ConvertArgs),
    /// Print a file's format, channels, rate and duration, and what `convert` would make of it.
    Info(InfoArgs),
}

/// `vxgate prompt convert IN OUT [--law ulaw|alaw]`.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// Audio file to read.
    pub input: PathBuf,
    /// WAV file to write (replaced if it exists).
    pub output: PathBuf,
    /// Companding law of the output: ulaw (mulaw, pcmu) or alaw (pcma).
    #[arg(long, default_value = "ulaw")]
    pub law: Law,
}

/// `vxgate prompt info FILE [--law ulaw|alaw]`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Audio file to inspect.
    pub file: PathBuf,
    /// Law to describe the conversion for.
    #[arg(long, default_value = "ulaw")]
    pub law: Law,
}

/// Runs a prompt subcommand.
pub fn run(cmd: PromptCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PromptCommand::Convert(args) => convert(&args),
        PromptCommand::Info(args) => info(&args),
    }
}

fn convert(args: &ConvertArgs) -> anyhow::Result<ExitCode> {
    let info = prompt::probe_file(&args.input)?;
    let p = prompt::load_file(&args.input, args.law)?;
    write_atomically(&args.output, |w| prompt::write_wav(&p, w))
        .with_context(|| format!("{}: cannot write", args.output.display()))?;
    println!(
        "{} -> {}: {} samples, {}, {}",
        args.input.display(),
        args.output.display(),
        p.samples(),
        seconds(p.duration()),
        info.conversion(args.law)
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes through a temporary file in the same directory and renames it over `path`, so a failed conversion
/// never leaves a half-written prompt where a gateway would pick it up.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = File::create(&tmp).and_then(|f| {
        let mut w = BufWriter::new(f);
        write(&mut w)?;
        w.flush()?;
        w.get_ref().sync_all()
    });
    let result = result.and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn seconds(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn info(args: &InfoArgs) -> anyhow::Result<ExitCode> {
    let i: PromptInfo = prompt::probe_file(&args.file)?;
    let mut out = std::io::stdout().lock();
    let encoding = if i.extensible {
        format!("{} (extensible)", i.encoding)
    } else {
        i.encoding.to_string()
    };
    writeln!(out, "file:        {}", args.file.display())?;
    writeln!(out, "container:   {}", i.container)?;
    writeln!(out, "encoding:    {encoding}")?;
    writeln!(out, "channels:    {}", i.channels)?;
    writeln!(out, "sample rate: {} Hz", i.sample_rate)?;
    match i.bits_per_sample {
        Some(b) => writeln!(out, "bits:        {b}")?,
        None => writeln!(out, "bits:        n/a")?,
    }
    match (i.frames, i.duration()) {
        (Some(f), Some(d)) => {
            writeln!(out, "duration:    {} ({f} samples per channel)", seconds(d))?
        }
        _ => writeln!(out, "duration:    unknown (not in the headers)")?,
    }
    writeln!(out, "converts to: {}", i.conversion(args.law))?;
    Ok(ExitCode::SUCCESS)
}
