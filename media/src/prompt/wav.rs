//! A careful RIFF/WAVE reader and the G.711 WAV writer.
//!
//! hound reads PCM WAV but rejects G.711 (format tags 6 and 7), and both it and symphonia trust header sizes more
//! than a gateway fetching files from the network should. This reader walks the chunk list bounded by the real byte
//! count, validates `fmt ` (including WAVE_FORMAT_EXTENSIBLE), and reports where the samples are, so callers never
//! allocate what a header merely claims.

use std::io::{self, Write};
use std::ops::Range;

use crate::g711::Law;

use super::error::PromptErrorKind;
use super::Prompt;

/// `wFormatTag` values (RFC 2361 appendix A, mmreg.h).
const TAG_PCM: u16 = 0x0001;
const TAG_FLOAT: u16 = 0x0003;
const TAG_ALAW: u16 = 0x0006;
const TAG_MULAW: u16 = 0x0007;
const TAG_EXTENSIBLE: u16 = 0xFFFE;

/// Bytes 2..16 of every `KSDATAFORMAT_SUBTYPE_*` GUID derived from a format tag
/// (`xxxxxxxx-0000-0010-8000-00aa00389b71`, little-endian fields).
const SUBTYPE_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// A `data` size written by streaming encoders that could not seek back: "until the end of the file".
const SIZE_UNKNOWN: u32 = 0xFFFF_FFFF;

/// How the samples in a WAV `data` chunk are coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavEncoding {
    /// Linear PCM integer (8-bit unsigned, 16/24/32-bit signed, little-endian).
    PcmInt,
    /// IEEE float, 32-bit.
    PcmFloat,
    /// G.711 µ-law (tag 7).
    Ulaw,
    /// G.711 A-law (tag 6).
    Alaw,
}

impl WavEncoding {
    /// A short human name.
    pub fn name(self) -> &'static str {
        match self {
            WavEncoding::PcmInt => "pcm",
            WavEncoding::PcmFloat => "ieee float",
            WavEncoding::Ulaw => "u-law",
            WavEncoding::Alaw => "a-law",
        }
    }

    /// The G.711 law, for the G.711 encodings.
    pub fn law(self) -> Option<Law> {
        match self {
            WavEncoding::Ulaw => Some(Law::Ulaw),
            WavEncoding::Alaw => Some(Law::Alaw),
            _ => None,
        }
    }
}

/// What a validated WAV header says, and where its samples are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WavHeader {
    pub encoding: WavEncoding,
    pub channels: u16,
    pub sample_rate: u32,
    /// Significant bits per sample (`wValidBitsPerSample` for extensible, else `wBitsPerSample`).
    pub bits: u16,
    /// Bits each sample occupies (`wBitsPerSample`).
    pub container_bits: u16,
    /// Bytes per sample frame (all channels).
    pub block_align: u16,
    /// Whether the format chunk was WAVE_FORMAT_EXTENSIBLE.
    pub extensible: bool,
    /// Byte range of whole sample frames inside the file (a trailing partial frame is left out).
    pub data: Range<usize>,
}

impl WavHeader {
    /// Number of sample frames (samples per channel).
    pub fn frames(&self) -> u64 {
        // block_align is validated non-zero by `parse`.
        (self.data.len() / usize::from(self.block_align.max(1))) as u64
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Registered names of common tags we do not decode, for the error message.
fn tag_name(tag: u16) -> &'static str {
    match tag {
        0x0000 => "unknown/illegal",
        0x0002 => "Microsoft ADPCM",
        0x0011 => "IMA ADPCM",
        0x0022 => "TrueSpeech",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG",
        0x0055 => "MPEG layer 3",
        0x0064 => "G.726 ADPCM",
        0x0065 => "G.722 ADPCM",
        0x0092 => "Dolby AC3 SPDIF",
        0x0161..=0x0163 => "Windows Media Audio",
        0x1600 | 0x1610 | 0x00FF => "AAC",
        0xF1AC => "FLAC",
        _ => "unknown",
    }
}

/// Does `bytes` start like a RIFF-family container (RIFF, RIFX, RF64)?
pub(crate) fn is_riff_family(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && matches!(&bytes[..4], b"RIFF" | b"RIFX" | b"RF64")
}

/// Parses and validates a RIFF/WAVE file held in `bytes`.
pub(crate) fn parse(bytes: &[u8]) -> Result<WavHeader, PromptErrorKind> {
    let total = bytes.len() as u64;
    if bytes.len() < 12 {
        return Err(PromptErrorKind::Truncated {
            what: "riff header",
            needed: 12,
            available: total,
        });
    }
    match &bytes[..4] {
        b"RIFF" => {}
        b"RIFX" => {
            return Err(PromptErrorKind::UnsupportedContainer(
                "big-endian RIFX".into(),
            ))
        }
        b"RF64" => {
            return Err(PromptErrorKind::UnsupportedContainer(
                "RF64 (64-bit wav)".into(),
            ))
        }
        other => {
            return Err(PromptErrorKind::NotAudio {
                magic: super::hex_magic(other),
            })
        }
    }
    if &bytes[8..12] != b"WAVE" {
        return Err(PromptErrorKind::UnsupportedContainer(format!(
            "riff form {:?}, not WAVE",
            String::from_utf8_lossy(&bytes[8..12])
        )));
    }

    let mut fmt: Option<Range<usize>> = None;
    let mut data: Option<Range<usize>> = None;
    let mut pos = 12usize;
    // Walk chunks; every bound is checked against the real length, never trusted from the RIFF size.
    while bytes.len().saturating_sub(pos) >= 8 {
        let id = &bytes[pos..pos + 4];
        let size = le32(bytes, pos + 4);
        let body = pos + 8;
        let available = (bytes.len() - body) as u64;
        match id {
            b"fmt " => {
                if u64::from(size) > available {
                    return Err(PromptErrorKind::Truncated {
                        what: "wav fmt chunk",
                        needed: u64::from(size),
                        available,
                    });
                }
                if fmt.is_none() {
                    fmt = Some(body..body + size as usize);
                }
            }
            b"data" => {
                let end = if u64::from(size) <= available {
                    body + size as usize
                } else if size == SIZE_UNKNOWN {
                    tracing::debug!("wav data size 0xffffffff (streamed): reading to end of file");
                    bytes.len()
                } else {
                    return Err(PromptErrorKind::DataTooLong {
                        claimed: u64::from(size),
                        available,
                    });
                };
                if data.is_none() {
                    data = Some(body..end);
                }
                if end == bytes.len() {
                    break;
                }
            }
            _ => {}
        }
        // Chunks are word-aligned: an odd size is followed by one pad byte.
        let next = body as u64 + u64::from(size) + u64::from(size & 1);
        if next > total {
            break;
        }
        pos = next as usize;
    }

    let fmt = fmt.ok_or(PromptErrorKind::MissingChunk("fmt "))?;
    let f = &bytes[fmt.clone()];
    if f.len() < 16 {
        return Err(PromptErrorKind::Truncated {
            what: "wav fmt chunk",
            needed: 16,
            available: f.len() as u64,
        });
    }
    let mut tag = le16(f, 0);
    let channels = le16(f, 2);
    let sample_rate = le32(f, 4);
    let block_align = le16(f, 12);
    let container_bits = le16(f, 14);
    let mut bits = container_bits;
    let extensible = tag == TAG_EXTENSIBLE;
    if extensible {
        // WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) SubFormat GUID(16).
        if f.len() < 40 {
            return Err(PromptErrorKind::Truncated {
                what: "wav extensible fmt chunk",
                needed: 40,
                available: f.len() as u64,
            });
        }
        let cb_size = le16(f, 16);
        if cb_size < 22 {
            return Err(PromptErrorKind::Truncated {
                what: "wav extensible fmt extension",
                needed: 22,
                available: u64::from(cb_size),
            });
        }
        let valid = le16(f, 18);
        let guid = &f[24..40];
        if guid[2..16] != SUBTYPE_TAIL {
            return Err(PromptErrorKind::UnknownSubFormat(format_guid(guid)));
        }
        tag = le16(guid, 0);
        if valid != 0 {
            if valid > container_bits {
                return Err(PromptErrorKind::UnsupportedBits {
                    format: "extensible (valid bits exceed container)",
                    bits: valid,
                });
            }
            bits = valid;
        }
    }
    let encoding = match tag {
        TAG_PCM => WavEncoding::PcmInt,
        TAG_FLOAT => WavEncoding::PcmFloat,
        TAG_ALAW => WavEncoding::Alaw,
        TAG_MULAW => WavEncoding::Ulaw,
        other => {
            return Err(PromptErrorKind::UnknownFormatTag {
                tag: other,
                name: tag_name(other),
            })
        }
    };
    if channels == 0 {
        return Err(PromptErrorKind::ZeroChannels);
    }
    if !(super::MIN_RATE..=super::MAX_RATE).contains(&sample_rate) {
        return Err(PromptErrorKind::BadSampleRate(sample_rate));
    }
    // Extensible PCM may carry fewer valid bits than its container; they sit in the most significant bits
    // (WAVEFORMATEXTENSIBLE, wValidBitsPerSample), so samples are read and scaled at the container size.
    let container_ok = match encoding {
        WavEncoding::PcmInt => matches!(container_bits, 8 | 16 | 24 | 32) && bits >= 1,
        WavEncoding::PcmFloat => container_bits == 32 && bits == 32,
        WavEncoding::Ulaw | WavEncoding::Alaw => container_bits == 8 && bits == 8,
    };
    if !container_ok {
        return Err(PromptErrorKind::UnsupportedBits {
            format: encoding.name(),
            bits: container_bits,
        });
    }
    let expected = u32::from(channels) * u32::from(container_bits / 8);
    if u32::from(block_align) != expected {
        return Err(PromptErrorKind::BadBlockAlign {
            found: block_align,
            expected,
            channels,
            bits: container_bits,
        });
    }

    let data = data.ok_or(PromptErrorKind::MissingChunk("data"))?;
    let whole = data.len() - data.len() % usize::from(block_align);
    if whole != data.len() {
        tracing::debug!(
            extra = data.len() - whole,
            "wav data ends in a partial sample frame; ignoring it"
        );
    }
    Ok(WavHeader {
        encoding,
        channels,
        sample_rate,
        bits,
        container_bits,
        block_align,
        extensible,
        data: data.start..data.start + whole,
    })
}

fn format_guid(g: &[u8]) -> String {
    // Only called with a 16-byte slice.
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{}",
        le32(g, 0),
        le16(g, 4),
        le16(g, 6),
        g[8],
        g[9],
        g[10..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Writes `prompt` as an 8 kHz mono G.711 WAV: `fmt ` with format tag 7 (µ-law) or 6 (A-law), the 18-byte
/// WAVEFORMATEX form (`cbSize` = 0) that non-PCM formats require, a `fact` chunk with the sample count, then `data`.
///
/// Fails with [`io::ErrorKind::InvalidInput`] if the prompt does not fit a 32-bit RIFF size.
pub fn write_wav<W: Write>(prompt: &Prompt, mut w: W) -> io::Result<()> {
    let data = prompt.data();
    let n = u32::try_from(data.len())
        .ok()
        .filter(|&n| n <= u32::MAX - 64)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("prompt of {} bytes does not fit a wav file", data.len()),
            )
        })?;
    let pad = n & 1;
    let tag = match prompt.law() {
        Law::Ulaw => TAG_MULAW,
        Law::Alaw => TAG_ALAW,
    };
    let riff_size = 4 + (8 + 18) + (8 + 4) + (8 + n + pad);
    let mut h = Vec::with_capacity(58);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&riff_size.to_le_bytes());
    h.extend_from_slice(b"WAVE");
    h.extend_from_slice(b"fmt ");
    h.extend_from_slice(&18u32.to_le_bytes());
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // channels
    h.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    h.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
    h.extend_from_slice(&1u16.to_le_bytes()); // block align
    h.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    h.extend_from_slice(&0u16.to_le_bytes()); // cbSize
    h.extend_from_slice(b"fact");
    h.extend_from_slice(&4u32.to_le_bytes());
    h.extend_from_slice(&n.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&n.to_le_bytes());
    w.write_all(&h)?;
    w.write_all(data)?;
    if pad == 1 {
        w.write_all(&[0])?;
    }
    w.flush()
}
