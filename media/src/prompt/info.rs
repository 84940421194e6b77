//! What a prompt file is, and what converting it would do: the answer of `vxgate prompt info`.

use std::fmt;
use std::time::Duration;

use crate::g711::Law;

use super::resample::OUTPUT_RATE;

/// The container a prompt file came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Container {
    /// RIFF/WAVE.
    Wav,
    /// Native FLAC.
    Flac,
    /// MPEG audio (MP3), with or without ID3 tags.
    Mp3,
    /// Ogg (Vorbis inside).
    Ogg,
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Container::Wav => "wav",
            Container::Flac => "flac",
            Container::Mp3 => "mp3",
            Container::Ogg => "ogg",
        })
    }
}

/// How the samples inside the container are coded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceEncoding {
    /// Linear integer PCM.
    PcmInt,
    /// IEEE float PCM.
    PcmFloat,
    /// G.711 µ-law.
    Ulaw,
    /// G.711 A-law.
    Alaw,
    /// A compressed codec decoded by symphonia, by its short name (`flac`, `mp3`, `vorbis`).
    Codec(String),
}

impl SourceEncoding {
    /// The G.711 law, for G.711 sources.
    pub fn law(&self) -> Option<Law> {
        match self {
            SourceEncoding::Ulaw => Some(Law::Ulaw),
            SourceEncoding::Alaw => Some(Law::Alaw),
            _ => None,
        }
    }
}

impl fmt::Display for SourceEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceEncoding::PcmInt => f.write_str("pcm integer"),
            SourceEncoding::PcmFloat => f.write_str("pcm float"),
            SourceEncoding::Ulaw => f.write_str("u-law"),
            SourceEncoding::Alaw => f.write_str("a-law"),
            SourceEncoding::Codec(name) => f.write_str(name),
        }
    }
}

/// What a prompt file holds, read from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptInfo {
    /// The container.
    pub container: Container,
    /// The sample coding.
    pub encoding: SourceEncoding,
    /// Channels (≥ 1).
    pub channels: u16,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Significant bits per sample, where the format has such a thing.
    pub bits_per_sample: Option<u16>,
    /// Samples per channel, when the headers say.
    pub frames: Option<u64>,
    /// Whether the file used WAVE_FORMAT_EXTENSIBLE.
    pub extensible: bool,
}

impl PromptInfo {
    /// Play time, when the frame count is known.
    pub fn duration(&self) -> Option<Duration> {
        let frames = self.frames?;
        let rate = u64::from(self.sample_rate.max(1));
        let nanos = u128::from(frames) * 1_000_000_000 / u128::from(rate);
        Some(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))
    }

    /// What loading this file as `law` would do.
    pub fn conversion(&self, law: Law) -> Conversion {
        let narrowband_mono = self.channels == 1 && self.sample_rate == OUTPUT_RATE;
        match self.encoding.law() {
            Some(from) if narrowband_mono && self.container == Container::Wav => {
                if from == law {
                    Conversion::PassThrough { law }
                } else {
                    Conversion::Transcode { from, to: law }
                }
            }
            _ => Conversion::Decode {
                downmix_from: (self.channels > 1).then_some(self.channels),
                resample_from: (self.sample_rate != OUTPUT_RATE).then_some(self.sample_rate),
                law,
            },
        }
    }
}

/// The work done to turn a file into an 8 kHz mono G.711 prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// Already 8 kHz mono in the wanted law: the data chunk is used byte for byte.
    PassThrough {
        /// The law.
        law: Law,
    },
    /// 8 kHz mono G.711 in the other law: converted code by code through the G.711 tables.
    Transcode {
        /// The file's law.
        from: Law,
        /// The wanted law.
        to: Law,
    },
    /// Decoded to linear, mixed down, resampled with an anti-aliasing filter, and encoded.
    Decode {
        /// Channel count averaged into one, if more than one.
        downmix_from: Option<u16>,
        /// Source rate, if not 8000 Hz.
        resample_from: Option<u32>,
        /// The wanted law.
        law: Law,
    },
}

/// Short lowercase name of a law for messages.
pub(crate) fn law_name(law: Law) -> &'static str {
    match law {
        Law::Ulaw => "u-law",
        Law::Alaw => "a-law",
    }
}

impl fmt::Display for Conversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Conversion::PassThrough { law } => write!(
                f,
                "8000 Hz mono {} wav, data passed through unchanged",
                law_name(law)
            ),
            Conversion::Transcode { from, to } => write!(
                f,
                "8000 Hz mono {} wav, transcoded from {} by table",
                law_name(to),
                law_name(from)
            ),
            Conversion::Decode {
                downmix_from,
                resample_from,
                law,
            } => {
                write!(f, "8000 Hz mono {} wav (decode", law_name(law))?;
                if let Some(n) = downmix_from {
                    write!(f, ", downmix {n} channels")?;
                }
                if let Some(r) = resample_from {
                    write!(f, ", resample {r} -> 8000 Hz")?;
                }
                write!(f, ", encode)")
            }
        }
    }
}
