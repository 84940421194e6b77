//! Why a prompt could not be loaded: one error type naming the source and a typed reason.

use std::io;

/// A prompt that could not be read, probed or converted.
///
/// Displays as `<source>: <reason>`, e.g. `hold.wav: wav data chunk claims 2147483648 bytes but only 36 follow`.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {kind}")]
pub struct PromptError {
    /// The file path or URL the bytes came from.
    pub file: String,
    /// What is wrong with it (already part of the message, so not also reported as `source()`).
    pub kind: PromptErrorKind,
}

impl PromptError {
    /// Builds an error for `file`.
    pub fn new(file: impl Into<String>, kind: PromptErrorKind) -> PromptError {
        PromptError {
            file: file.into(),
            kind,
        }
    }
}

/// The reason a prompt could not be used, sorted roughly from "not our kind of file" to "broken file".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptErrorKind {
    /// Reading the file failed.
    #[error("cannot read: {0}")]
    Io(io::Error),
    /// The file holds no bytes at all.
    #[error("empty file")]
    Empty,
    /// The first bytes match no audio container we know.
    #[error("not an audio file (starts with {magic})")]
    NotAudio {
        /// The first bytes, hex-escaped.
        magic: String,
    },
    /// A recognised container that we do not read (RIFX, RF64, AVI, ...).
    #[error("unsupported container: {0}")]
    UnsupportedContainer(String),
    /// A header or chunk ends before its fixed fields do.
    #[error("truncated {what}: needs {needed} bytes, {available} present")]
    Truncated {
        /// Which structure is cut short.
        what: &'static str,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes actually present.
        available: u64,
    },
    /// A chunk every WAV file needs is absent.
    #[error("no {0:?} chunk in wav file")]
    MissingChunk(&'static str),
    /// The WAV `fmt ` format tag is one we cannot decode.
    #[error("unsupported wav format tag 0x{tag:04x} ({name})")]
    UnknownFormatTag {
        /// `wFormatTag` as found.
        tag: u16,
        /// Its registered name, or "unknown".
        name: &'static str,
    },
    /// WAVE_FORMAT_EXTENSIBLE with a sub-format GUID outside the `xxxxxxxx-0000-0010-8000-00aa00389b71` family.
    #[error("unsupported wav extensible sub-format {0}")]
    UnknownSubFormat(String),
    /// The header says zero channels.
    #[error("zero channels")]
    ZeroChannels,
    /// A sample rate of zero or beyond what we resample.
    #[error("unsupported sample rate {0} Hz (expected 1000 to 384000)")]
    BadSampleRate(u32),
    /// A bit depth the format does not allow.
    #[error("unsupported sample size: {bits} bits for {format}")]
    UnsupportedBits {
        /// The sample format.
        format: &'static str,
        /// The bit depth found.
        bits: u16,
    },
    /// `nBlockAlign` disagrees with channels × bytes per sample.
    #[error("wav block align {found} does not match {channels} channel(s) of {bits} bits (expected {expected})")]
    BadBlockAlign {
        /// `nBlockAlign` as found.
        found: u16,
        /// What channels and bits imply.
        expected: u32,
        /// Channel count.
        channels: u16,
        /// Container bits per sample.
        bits: u16,
    },
    /// The data chunk claims more bytes than the file holds.
    #[error("wav data chunk claims {claimed} bytes but only {available} follow")]
    DataTooLong {
        /// `data` chunk size as found.
        claimed: u64,
        /// Bytes present after the chunk header.
        available: u64,
    },
    /// The file is bigger than a prompt may be.
    #[error("file is {size} bytes, more than the {limit}-byte prompt limit")]
    FileTooLarge {
        /// Size of the file.
        size: u64,
        /// The limit, [`super::MAX_FILE_BYTES`].
        limit: u64,
    },
    /// The converted prompt would be longer than a prompt may be.
    #[error("audio is longer than the {limit_seconds} s prompt limit")]
    TooLong {
        /// The limit in seconds.
        limit_seconds: u64,
    },
    /// The audio holds no samples.
    #[error("no audio samples")]
    NoSamples,
    /// The decoder (hound or symphonia) rejected the stream.
    #[error("cannot decode {codec}: {reason}")]
    Decode {
        /// Which codec or reader failed.
        codec: String,
        /// The decoder's message.
        reason: String,
    },
    /// The sample-rate converter could not be built or run.
    #[error("cannot resample from {rate} Hz: {reason}")]
    Resample {
        /// The source rate.
        rate: u32,
        /// The resampler's message.
        reason: String,
    },
}

impl From<io::Error> for PromptErrorKind {
    fn from(e: io::Error) -> PromptErrorKind {
        PromptErrorKind::Io(e)
    }
}
