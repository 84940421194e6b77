//! Prompts: audio files decoded, resampled to 8 kHz mono and encoded to G.711 once, shared by every call.
//!
//! A gateway plays the same few files (`ringback.wav`, `holdmusic.wav`, the IVR's prompts) to thousands of callers.
//! So a [`Prompt`] is the finished RTP payload material — 8 kHz mono G.711 bytes behind an `Arc<[u8]>` — and a
//! 20 ms packet is a [`Prompt::frame`] view into it: no per-call decoding, resampling or copying.
//!
//! Loading accepts WAV (PCM 8/16/24/32-bit integer, 32-bit float, µ-law, A-law, WAVE_FORMAT_EXTENSIBLE, any channel
//! count and rate), FLAC, MP3 and Ogg Vorbis. An 8 kHz mono G.711 WAV in the wanted law passes through byte for
//! byte; the other law goes through the G.711 table; everything else is mixed down, resampled with an
//! anti-aliasing filter (rubato's FFT resampler) and encoded. Input is untrusted (prompts are fetched over HTTP): every
//! size is checked against the bytes actually present, and failures are a [`PromptError`] naming the source.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::g711::{self, Law};

mod cache;
mod compressed;
mod error;
mod info;
mod resample;
mod wav;
mod wav_decode;

pub use cache::{CacheKey, PromptCache};
pub use error::{PromptError, PromptErrorKind};
pub use info::{Container, Conversion, PromptInfo, SourceEncoding};
pub use resample::OUTPUT_RATE;
pub use wav::write_wav;

/// Largest file accepted as a prompt (1 GiB); bigger files fail with [`PromptErrorKind::FileTooLarge`] before
/// anything is read.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Longest prompt produced: 4 hours of 8 kHz G.711 (115 MB).
pub const MAX_SAMPLES: usize = 4 * 3600 * OUTPUT_RATE as usize;

/// Lowest source sample rate accepted, in Hz.
pub const MIN_RATE: u32 = 1000;
/// Highest source sample rate accepted, in Hz.
pub const MAX_RATE: u32 = 384_000;

/// 8 kHz mono G.711 audio ready to be sent, shared by reference.
///
/// `Clone` is an `Arc` bump: the cache, the playout of every call and the gateway all hold the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    law: Law,
    data: Arc<[u8]>,
    source: Arc<str>,
}

impl Prompt {
    /// Wraps G.711 bytes (8 kHz, mono, one byte per sample) coded in `law`.
    pub fn from_g711(law: Law, data: Arc<[u8]>, source: impl Into<String>) -> Prompt {
        Prompt {
            law,
            data,
            source: Arc::from(source.into()),
        }
    }

    /// The G.711 law of [`Prompt::data`].
    pub fn law(&self) -> Law {
        self.law
    }

    /// The G.711 bytes, one per 125 µs sample.
    pub fn data(&self) -> &Arc<[u8]> {
        &self.data
    }

    /// Where the audio came from (a path or URL), for logs.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of samples (= bytes).
    pub fn samples(&self) -> usize {
        self.data.len()
    }

    /// Play time at 8 kHz.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.data.len() as u64 * (1_000_000_000 / u64::from(OUTPUT_RATE)))
    }

    /// Frame `index` of `samples_per_frame` samples (160 for 20 ms), a view into the shared bytes. The last frame
    /// may be short; `None` past the end or for a zero frame size.
    pub fn frame(&self, index: usize, samples_per_frame: usize) -> Option<&[u8]> {
        if samples_per_frame == 0 {
            return None;
        }
        let start = index.checked_mul(samples_per_frame)?;
        if start >= self.data.len() {
            return None;
        }
        let end = start.saturating_add(samples_per_frame).min(self.data.len());
        self.data.get(start..end)
    }

    /// Number of frames of `samples_per_frame` samples, counting a short last frame.
    pub fn frames(&self, samples_per_frame: usize) -> usize {
        if samples_per_frame == 0 {
            0
        } else {
            self.data.len().div_ceil(samples_per_frame)
        }
    }

    /// The same audio in `law`: the same `Arc` when the law matches, else transcoded through the G.711 table.
    pub fn to_law(&self, law: Law) -> Prompt {
        if law == self.law {
            return self.clone();
        }
        let mut out = vec![0u8; self.data.len()];
        // Both buffers have self.data.len() bytes.
        g711::transcode(self.law, law, &self.data, &mut out).expect("equal lengths");
        Prompt {
            law,
            data: Arc::from(out),
            source: self.source.clone(),
        }
    }
}

/// What the first bytes say the file is.
enum Sniffed {
    Wav,
    Compressed(Container),
}

/// `bytes` as a short hex string for messages.
pub(crate) fn hex_magic(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    shown.join(" ")
}

fn sniff(bytes: &[u8]) -> Result<Sniffed, PromptErrorKind> {
    if bytes.is_empty() {
        return Err(PromptErrorKind::Empty);
    }
    if wav::is_riff_family(bytes) {
        return Ok(Sniffed::Wav);
    }
    if bytes.starts_with(b"fLaC") {
        return Ok(Sniffed::Compressed(Container::Flac));
    }
    if bytes.starts_with(b"OggS") {
        return Ok(Sniffed::Compressed(Container::Ogg));
    }
    if bytes.starts_with(b"ID3") || is_mpeg_audio_sync(bytes) {
        return Ok(Sniffed::Compressed(Container::Mp3));
    }
    Err(PromptErrorKind::NotAudio {
        magic: hex_magic(bytes),
    })
}

/// An MPEG audio frame header at offset 0 (ISO/IEC 11172-3 §2.4.2.3): 11-bit sync, a valid version and layer,
/// a bitrate index other than 15 and a sample-rate index other than 3.
fn is_mpeg_audio_sync(b: &[u8]) -> bool {
    let [b0, b1, b2, ..] = *b else { return false };
    b0 == 0xFF
        && b1 & 0xE0 == 0xE0
        && b1 & 0x18 != 0x08
        && b1 & 0x06 != 0
        && b2 >> 4 != 0xF
        && (b2 >> 2) & 3 != 3
}

fn read_capped(path: &Path) -> Result<Vec<u8>, PromptErrorKind> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > MAX_FILE_BYTES {
        return Err(PromptErrorKind::FileTooLarge {
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    // Capacity from the real file size (already capped), and `take` guards against a file growing meanwhile.
    let mut bytes = Vec::with_capacity(size as usize);
    file.by_ref()
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(PromptErrorKind::FileTooLarge {
            size: bytes.len() as u64,
            limit: MAX_FILE_BYTES,
        });
    }
    Ok(bytes)
}

/// Loads the file at `path` as an 8 kHz mono G.711 prompt in `law`. Blocking; uncached (see [`PromptCache`]).
pub fn load_file(path: &Path, law: Law) -> Result<Prompt, PromptError> {
    let name = path.display().to_string();
    let bytes = read_capped(path).map_err(|k| PromptError::new(name.clone(), k))?;
    load_owned(bytes, &name, law)
}

/// Loads a prompt from bytes in memory (e.g. a WAV body fetched over HTTP); `source` names it in errors and logs.
pub fn load_bytes(bytes: &[u8], source: &str, law: Law) -> Result<Prompt, PromptError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(PromptError::new(
            source,
            PromptErrorKind::FileTooLarge {
                size: bytes.len() as u64,
                limit: MAX_FILE_BYTES,
            },
        ));
    }
    match sniff(bytes).map_err(|k| PromptError::new(source, k))? {
        Sniffed::Wav => load_wav(bytes, source, law),
        Sniffed::Compressed(c) => load_compressed(bytes.to_vec(), c, source, law),
    }
}

fn load_owned(bytes: Vec<u8>, source: &str, law: Law) -> Result<Prompt, PromptError> {
    match sniff(&bytes).map_err(|k| PromptError::new(source, k))? {
        Sniffed::Wav => load_wav(&bytes, source, law),
        Sniffed::Compressed(c) => load_compressed(bytes, c, source, law),
    }
}

fn finish(data: Vec<u8>, source: &str, law: Law, how: &str) -> Result<Prompt, PromptError> {
    if data.is_empty() {
        return Err(PromptError::new(source, PromptErrorKind::NoSamples));
    }
    tracing::debug!(source, samples = data.len(), how, "prompt loaded");
    Ok(Prompt::from_g711(law, Arc::from(data), source))
}

fn load_wav(bytes: &[u8], source: &str, law: Law) -> Result<Prompt, PromptError> {
    let fail = |k| PromptError::new(source, k);
    let header = wav::parse(bytes).map_err(fail)?;
    let data = wav_decode::decode(bytes, &header, law, MAX_SAMPLES).map_err(fail)?;
    finish(data, source, law, header.encoding.name())
}

fn load_compressed(
    bytes: Vec<u8>,
    container: Container,
    source: &str,
    law: Law,
) -> Result<Prompt, PromptError> {
    let data = compressed::decode(bytes, container, law, MAX_SAMPLES)
        .map_err(|k| PromptError::new(source, k))?;
    finish(data, source, law, "symphonia")
}

/// Reads what the file at `path` holds (container, coding, channels, rate, bits, length) without converting it.
pub fn probe_file(path: &Path) -> Result<PromptInfo, PromptError> {
    let name = path.display().to_string();
    let bytes = read_capped(path).map_err(|k| PromptError::new(name.clone(), k))?;
    probe_owned(bytes, &name)
}

/// [`probe_file`] for bytes in memory.
pub fn probe_bytes(bytes: &[u8], source: &str) -> Result<PromptInfo, PromptError> {
    probe_owned(bytes.to_vec(), source)
}

fn probe_owned(bytes: Vec<u8>, source: &str) -> Result<PromptInfo, PromptError> {
    let fail = |k| PromptError::new(source, k);
    match sniff(&bytes).map_err(fail)? {
        Sniffed::Wav => {
            let h = wav::parse(&bytes).map_err(fail)?;
            let encoding = match h.encoding {
                wav::WavEncoding::PcmInt => SourceEncoding::PcmInt,
                wav::WavEncoding::PcmFloat => SourceEncoding::PcmFloat,
                wav::WavEncoding::Ulaw => SourceEncoding::Ulaw,
                wav::WavEncoding::Alaw => SourceEncoding::Alaw,
            };
            Ok(PromptInfo {
                container: Container::Wav,
                encoding,
                channels: h.channels,
                sample_rate: h.sample_rate,
                bits_per_sample: Some(h.bits),
                frames: Some(h.frames()),
                extensible: h.extensible,
            })
        }
        Sniffed::Compressed(c) => compressed::probe(bytes, c).map_err(fail),
    }
}

#[cfg(test)]
mod tests;
