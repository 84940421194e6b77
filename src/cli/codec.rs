//! `vxgate codec encode|decode`: raw G.711 conversion, stdin to stdout, like `sox -t raw`.
//!
//! Handy in pipelines and for checking vxgate against other codecs: PCM is raw signed 16-bit little-endian,
//! G.711 is one byte per sample, no headers. Input is streamed in chunks, so any length works in bounded memory.

use std::io::{self, ErrorKind, Read, Write};
use std::process::ExitCode;

use clap::Subcommand;
use vxgate_media::g711::{self, Law};

/// Samples converted per chunk.
const CHUNK: usize = 32 * 1024;

/// Codec subcommands.
#[derive(Debug, Subcommand)]
pub enum CodecCommand {
    /// Raw signed 16-bit little-endian PCM on stdin to G.711 bytes on stdout.
    Encode(LawArgs),
    /// G.711 bytes on stdin to raw signed 16-bit little-endian PCM on stdout.
    Decode(LawArgs),
}

/// Options shared by `encode` and `decode`.
#[derive(Debug, clap::Args)]
pub struct LawArgs {
    /// Companding law: ulaw (mulaw, pcmu) or alaw (pcma).
    #[arg(long)]
    pub law: Law,
}

/// Runs a codec subcommand on the process's stdin and stdout.
pub fn run(cmd: CodecCommand) -> anyhow::Result<ExitCode> {
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    let result = match cmd {
        CodecCommand::Encode(args) => encode_stream(args.law, stdin, stdout),
        CodecCommand::Decode(args) => decode_stream(args.law, stdin, stdout),
    };
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        // The reader went away (`| head`): not our error.
        Err(StreamError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}

/// Why a stream conversion stopped.
#[derive(Debug)]
pub enum StreamError {
    /// Reading stdin or writing stdout failed.
    Io(io::Error),
    /// 16-bit PCM input whose length is odd.
    OddPcmLength {
        /// Total bytes read, the odd one included.
        bytes: u64,
    },
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Io(_) => f.write_str("reading stdin or writing stdout"),
            StreamError::OddPcmLength { bytes } => write!(
                f,
                "pcm input ends with an odd byte after {bytes} bytes: raw 16-bit pcm needs an even byte count"
            ),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Io(e) => Some(e),
            StreamError::OddPcmLength { .. } => None,
        }
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

/// Fills `buf` as far as the reader allows; returns how many bytes were read (less than `buf.len()` only at
/// end of input).
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Encodes raw LE 16-bit PCM from `input` to G.711 on `output`; returns the number of samples.
pub fn encode_stream(
    law: Law,
    mut input: impl Read,
    mut output: impl Write,
) -> Result<u64, StreamError> {
    let mut bytes = vec![0u8; CHUNK * 2];
    let mut pcm = vec![0i16; CHUNK];
    let mut codes = vec![0u8; CHUNK];
    let mut total: u64 = 0;
    loop {
        let n = read_full(&mut input, &mut bytes)?;
        let samples = n / 2;
        for (s, b) in pcm.iter_mut().zip(bytes[..samples * 2].chunks_exact(2)) {
            *s = i16::from_le_bytes([b[0], b[1]]);
        }
        // Both slices have `samples` elements, so the lengths match.
        g711::encode(law, &pcm[..samples], &mut codes[..samples]).expect("equal lengths");
        output.write_all(&codes[..samples])?;
        total += n as u64;
        if n % 2 == 1 {
            output.flush()?;
            return Err(StreamError::OddPcmLength { bytes: total });
        }
        if n < bytes.len() {
            output.flush()?;
            return Ok(total / 2);
        }
    }
}

/// Decodes G.711 from `input` to raw LE 16-bit PCM on `output`; returns the number of samples.
pub fn decode_stream(
    law: Law,
    mut input: impl Read,
    mut output: impl Write,
) -> Result<u64, StreamError> {
    let mut codes = vec![0u8; CHUNK];
    let mut pcm = vec![0i16; CHUNK];
    let mut bytes = vec![0u8; CHUNK * 2];
    let mut total: u64 = 0;
    loop {
        let n = read_full(&mut input, &mut codes)?;
        // Both slices have `n` elements, so the lengths match.
        g711::decode(law, &codes[..n], &mut pcm[..n]).expect("equal lengths");
        for (b, s) in bytes.chunks_exact_mut(2).zip(&pcm[..n]) {
            b.copy_from_slice(&s.to_le_bytes());
        }
        output.write_all(&bytes[..n * 2])?;
        total += n as u64;
        if n < codes.len() {
            output.flush()?;
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_streams_across_chunks() {
        let samples: Vec<i16> = (0..CHUNK as i32 * 2 + 7)
            .map(|i| (i * 37 % 65536 - 32768) as i16)
            .collect();
        let pcm: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        for law in [Law::Ulaw, Law::Alaw] {
            let mut codes = Vec::new();
            assert_eq!(
                encode_stream(law, &pcm[..], &mut codes).unwrap(),
                samples.len() as u64
            );
            assert_eq!(codes.len(), samples.len());
            let mut back = Vec::new();
            decode_stream(law, &codes[..], &mut back).unwrap();
            for (i, (b, s)) in back.chunks_exact(2).zip(&samples).enumerate() {
                let want = match law {
                    Law::Ulaw => g711::ulaw_to_linear(g711::linear_to_ulaw(*s)),
                    Law::Alaw => g711::alaw_to_linear(g711::linear_to_alaw(*s)),
                };
                assert_eq!(i16::from_le_bytes([b[0], b[1]]), want, "sample {i}");
            }
        }
    }

    #[test]
    fn odd_pcm_length_is_an_error_naming_the_count() {
        let err = encode_stream(Law::Ulaw, &[0u8, 0, 1][..], &mut Vec::new()).unwrap_err();
        assert!(
            matches!(err, StreamError::OddPcmLength { bytes: 3 }),
            "{err}"
        );
        assert!(err.to_string().contains("3 bytes"), "{err}");
    }

    #[test]
    fn empty_input_is_empty_output() {
        let mut out = Vec::new();
        assert_eq!(encode_stream(Law::Alaw, &[][..], &mut out).unwrap(), 0);
        assert_eq!(decode_stream(Law::Alaw, &[][..], &mut out).unwrap(), 0);
        assert!(out.is_empty());
    }
}
