//! Turns the samples of a validated WAV file into an 8 kHz G.711 prompt.
//!
//! G.711 data is read directly (pass-through, table transcode, or decode). Linear PCM goes through hound: we hand
//! it a canonical WAVE_FORMAT_EXTENSIBLE header followed by exactly the whole sample frames our own reader found, so
//! hound decodes samples while the structure (odd chunks, streamed sizes, trailing bytes) stays our reader's job.

use std::io::{Cursor, Read};

use crate::g711::{self, Law};

use super::error::PromptErrorKind;
use super::resample::{Narrowband, OUTPUT_RATE};
use super::wav::{WavEncoding, WavHeader};

/// Mono samples handed to the resampler per step.
const STEP_FRAMES: usize = 4096;

/// Interleaved samples decoded per step: scratch memory stays bounded whatever the file size or channel count
/// (a header may claim 65,535 channels).
const STEP_SAMPLES: usize = 16384;

/// `KSDATAFORMAT_SUBTYPE_PCM` and `_IEEE_FLOAT`.
const GUID_PCM: [u8; 16] = [
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];
const GUID_FLOAT: [u8; 16] = [
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// The G.711 bytes of `bytes` (a WAV file described by `h`) as an 8 kHz mono prompt in `law`.
pub(crate) fn decode(
    bytes: &[u8],
    h: &WavHeader,
    law: Law,
    max_samples: usize,
) -> Result<Vec<u8>, PromptErrorKind> {
    // `parse` guarantees the range lies inside `bytes`; `get` keeps that a checked fact.
    let data = bytes
        .get(h.data.clone())
        .ok_or(PromptErrorKind::Truncated {
            what: "wav data chunk",
            needed: h.data.end as u64,
            available: bytes.len() as u64,
        })?;
    if data.is_empty() {
        return Err(PromptErrorKind::NoSamples);
    }
    match h.encoding {
        WavEncoding::Ulaw | WavEncoding::Alaw => g711_source(data, h, law, max_samples),
        WavEncoding::PcmInt | WavEncoding::PcmFloat => linear_source(data, h, law, max_samples),
    }
}

fn g711_source(
    data: &[u8],
    h: &WavHeader,
    law: Law,
    max_samples: usize,
) -> Result<Vec<u8>, PromptErrorKind> {
    // The caller only gets here with a G.711 encoding.
    let from = h.encoding.law().unwrap_or(Law::Ulaw);
    let channels = usize::from(h.channels);
    if channels == 1 && h.sample_rate == OUTPUT_RATE {
        if data.len() > max_samples {
            return Err(too_long(max_samples));
        }
        if from == law {
            return Ok(data.to_vec());
        }
        let mut out = vec![0u8; data.len()];
        // Same length on both sides.
        g711::transcode(from, law, data, &mut out).expect("equal lengths");
        return Ok(out);
    }
    let mut sink = Narrowband::new(h.sample_rate, law, max_samples)?;
    let step = (STEP_SAMPLES / channels).max(1) * channels;
    let mut pcm = vec![0i16; step.min(data.len())];
    let mut mono = Vec::with_capacity(step / channels);
    for block in data.chunks(step) {
        let pcm = &mut pcm[..block.len()];
        // Same length on both sides.
        let _ = g711::decode(from, block, pcm);
        mono.clear();
        mono.extend(pcm.chunks_exact(channels).map(|frame| {
            frame.iter().map(|&s| f32::from(s)).sum::<f32>() / (32768.0 * channels as f32)
        }));
        sink.push(&mono)?;
    }
    sink.finish()
}

/// A canonical WAVE_FORMAT_EXTENSIBLE header for hound, valid bits = container bits (see module docs).
fn canonical_header(h: &WavHeader, data_len: u32) -> Vec<u8> {
    let guid = if h.encoding == WavEncoding::PcmFloat {
        GUID_FLOAT
    } else {
        GUID_PCM
    };
    let byte_rate = u32::from(h.block_align).wrapping_mul(h.sample_rate);
    let mut v = Vec::with_capacity(68);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(4 + 48 + 8u32).wrapping_add(data_len).to_le_bytes());
    v.extend_from_slice(b"WAVE");
    v.extend_from_slice(b"fmt ");
    v.extend_from_slice(&40u32.to_le_bytes());
    v.extend_from_slice(&0xFFFEu16.to_le_bytes());
    v.extend_from_slice(&h.channels.to_le_bytes());
    v.extend_from_slice(&h.sample_rate.to_le_bytes());
    v.extend_from_slice(&byte_rate.to_le_bytes());
    v.extend_from_slice(&h.block_align.to_le_bytes());
    v.extend_from_slice(&h.container_bits.to_le_bytes());
    v.extend_from_slice(&22u16.to_le_bytes());
    v.extend_from_slice(&h.container_bits.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&guid);
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    v
}

fn linear_source(
    data: &[u8],
    h: &WavHeader,
    law: Law,
    max_samples: usize,
) -> Result<Vec<u8>, PromptErrorKind> {
    let hound_err = |e: hound::Error| PromptErrorKind::Decode {
        codec: format!("wav {}", h.encoding.name()),
        reason: e.to_string(),
    };
    let data_len = u32::try_from(data.len()).map_err(|_| PromptErrorKind::DataTooLong {
        claimed: data.len() as u64,
        available: u64::from(u32::MAX),
    })?;
    let stream = Cursor::new(canonical_header(h, data_len)).chain(data);
    let mut reader = hound::WavReader::new(stream).map_err(hound_err)?;
    let channels = usize::from(h.channels);
    let mut sink = Narrowband::new(h.sample_rate, law, max_samples)?;
    let mut mono: Vec<f32> = Vec::with_capacity(STEP_FRAMES);
    let mut acc = 0.0f32;
    let mut in_frame = 0usize;
    let norm = channels as f32;
    let mut push =
        |v: f32, mono: &mut Vec<f32>, sink: &mut Narrowband| -> Result<(), PromptErrorKind> {
            acc += v;
            in_frame += 1;
            if in_frame == channels {
                mono.push(acc / norm);
                acc = 0.0;
                in_frame = 0;
                if mono.len() == STEP_FRAMES {
                    sink.push(mono)?;
                    mono.clear();
                }
            }
            Ok(())
        };
    match h.encoding {
        WavEncoding::PcmFloat => {
            for s in reader.samples::<f32>() {
                let s = s.map_err(hound_err)?;
                let s = if s.is_finite() { s } else { 0.0 };
                push(s, &mut mono, &mut sink)?;
            }
        }
        _ => {
            // Scale by the container size: valid bits are the most significant ones.
            let scale = 1.0 / (1u64 << (h.container_bits - 1)) as f32;
            for s in reader.samples::<i32>() {
                let s = s.map_err(hound_err)?;
                push(s as f32 * scale, &mut mono, &mut sink)?;
            }
        }
    }
    sink.push(&mono)?;
    sink.finish()
}

fn too_long(max_samples: usize) -> PromptErrorKind {
    PromptErrorKind::TooLong {
        limit_seconds: (max_samples / OUTPUT_RATE as usize) as u64,
    }
}
