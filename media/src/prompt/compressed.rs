//! FLAC, MP3 and Ogg Vorbis prompts, decoded by symphonia.
//!
//! symphonia is a large decoder fed with bytes that may come from the network, so every call into it runs under
//! `catch_unwind`: a decoder bug becomes a [`PromptErrorKind::Decode`] for this one prompt, not a dead gateway.

use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::g711::Law;

use super::error::PromptErrorKind;
use super::info::{Container, PromptInfo, SourceEncoding};
use super::resample::Narrowband;

/// Consecutive undecodable packets tolerated (a damaged frame is skipped, a damaged file is not).
const MAX_BAD_PACKETS: u32 = 16;

fn err(codec: &str, reason: impl ToString) -> PromptErrorKind {
    PromptErrorKind::Decode {
        codec: codec.to_string(),
        reason: reason.to_string(),
    }
}

fn guarded<T>(
    container: Container,
    f: impl FnOnce() -> Result<T, PromptErrorKind>,
) -> Result<T, PromptErrorKind> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(err(
            &container.to_string(),
            "decoder panicked on this input",
        )),
    }
}

struct Opened {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    info: PromptInfo,
}

/// FLAC metadata block types whose length fields symphonia trusts (RFC 9639 §8.6 VORBIS_COMMENT, §8.8 PICTURE).
const FLAC_VORBIS_COMMENT: u8 = 4;
const FLAC_PICTURE: u8 = 6;
/// FLAC PADDING (RFC 9639 §8.3): skipped by length, nothing allocated.
const FLAC_PADDING: u8 = 1;

/// Turns the VORBIS_COMMENT and PICTURE blocks of a native FLAC stream into PADDING of the same length.
///
/// symphonia 0.5 allocates `vec![0; n]` for each 32-bit length inside these blocks (a comment, a picture's MIME
/// type, description and data) before reading, without checking it against the block or the file: a 150-byte file
/// can ask for 4 GiB, and a failed allocation aborts the process (no `catch_unwind` helps). Prompts need neither
/// tags nor cover art, so the blocks are skipped instead (RFC 9639 §8.1: block header = last flag, 7-bit type,
/// 24-bit length). Other containers are left alone.
fn neutralise_flac_metadata(bytes: &mut [u8]) {
    if !bytes.starts_with(b"fLaC") {
        return;
    }
    let mut at = 4usize;
    while let Some(&[head, l0, l1, l2]) = bytes.get(at..at + 4) {
        let kind = head & 0x7f;
        if kind == FLAC_VORBIS_COMMENT || kind == FLAC_PICTURE {
            if let Some(b) = bytes.get_mut(at) {
                *b = (head & 0x80) | FLAC_PADDING;
            }
        }
        if head & 0x80 != 0 {
            break;
        }
        // A 24-bit length always fits a usize; `at` stays below the file length plus 16 MiB.
        at += 4 + u32::from_be_bytes([0, l0, l1, l2]) as usize;
    }
}

fn open(mut bytes: Vec<u8>, container: Container) -> Result<Opened, PromptErrorKind> {
    let name = container.to_string();
    neutralise_flac_metadata(&mut bytes);
    let mut hint = Hint::new();
    hint.with_extension(&name);
    let mss = MediaSourceStream::new(
        Box::new(Cursor::new(bytes)),
        MediaSourceStreamOptions::default(),
    );
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            // Gapless: trim encoder delay and padding (LAME/Xing, Vorbis) so durations match the source.
            &FormatOptions {
                enable_gapless: true,
                ..FormatOptions::default()
            },
            &MetadataOptions::default(),
        )
        .map_err(|e| err(&name, e))?;
    let format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| err(&name, "no audio track"))?;
    let params = track.codec_params.clone();
    let track_id = track.id;
    let codec_name = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| format!("codec {}", params.codec));
    let decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| err(&codec_name, e))?;
    let info = PromptInfo {
        container,
        encoding: SourceEncoding::Codec(codec_name),
        channels: params
            .channels
            .map(|c| u16::try_from(c.count()).unwrap_or(u16::MAX))
            .unwrap_or(0),
        sample_rate: params.sample_rate.unwrap_or(0),
        bits_per_sample: params.bits_per_sample.and_then(|b| u16::try_from(b).ok()),
        frames: params.n_frames,
        extensible: false,
    };
    Ok(Opened {
        format,
        decoder,
        track_id,
        info,
    })
}

/// One decoded packet's samples, interleaved, with its rate and channel count; `None` at the end of the stream.
fn next_block(
    o: &mut Opened,
    buf: &mut Option<SampleBuffer<f32>>,
) -> Result<Option<(u32, usize)>, PromptErrorKind> {
    let name = o.info.encoding.to_string();
    let mut bad = 0;
    loop {
        let packet = match o.format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(None)
            }
            Err(SymError::ResetRequired) => {
                return Err(err(&name, "stream parameters change mid-file"))
            }
            Err(e) => return Err(err(&name, e)),
        };
        if packet.track_id() != o.track_id {
            continue;
        }
        match o.decoder.decode(&packet) {
            Ok(decoded) => {
                let spec = *decoded.spec();
                let frames = decoded.frames();
                if frames == 0 {
                    continue;
                }
                let needs_new = match buf {
                    Some(b) => b.capacity() < decoded.capacity() * spec.channels.count(),
                    None => true,
                };
                if needs_new {
                    *buf = Some(SampleBuffer::new(decoded.capacity() as u64, spec));
                }
                if let Some(b) = buf.as_mut() {
                    b.copy_interleaved_ref(decoded);
                }
                return Ok(Some((spec.rate, spec.channels.count())));
            }
            Err(SymError::DecodeError(e)) => {
                bad += 1;
                tracing::debug!(codec = %name, error = e, "skipping undecodable packet");
                if bad > MAX_BAD_PACKETS {
                    return Err(err(&name, e));
                }
            }
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(None)
            }
            Err(e) => return Err(err(&name, e)),
        }
    }
}

/// Reads the headers of a compressed file; decodes the first packet when they omit channels or rate.
pub(crate) fn probe(bytes: Vec<u8>, container: Container) -> Result<PromptInfo, PromptErrorKind> {
    guarded(container, || {
        let mut o = open(bytes, container)?;
        if o.info.channels == 0 || o.info.sample_rate == 0 {
            let mut buf = None;
            match next_block(&mut o, &mut buf)? {
                Some((rate, channels)) => {
                    o.info.sample_rate = rate;
                    o.info.channels = u16::try_from(channels).unwrap_or(u16::MAX);
                }
                None => return Err(PromptErrorKind::NoSamples),
            }
        }
        validate(&o.info)?;
        Ok(o.info)
    })
}

fn validate(info: &PromptInfo) -> Result<(), PromptErrorKind> {
    if info.channels == 0 {
        return Err(PromptErrorKind::ZeroChannels);
    }
    if !(super::MIN_RATE..=super::MAX_RATE).contains(&info.sample_rate) {
        return Err(PromptErrorKind::BadSampleRate(info.sample_rate));
    }
    Ok(())
}

/// Decodes a compressed file into 8 kHz mono G.711.
pub(crate) fn decode(
    bytes: Vec<u8>,
    container: Container,
    law: Law,
    max_samples: usize,
) -> Result<Vec<u8>, PromptErrorKind> {
    guarded(container, || {
        let mut o = open(bytes, container)?;
        let mut buf = None;
        let mut sink: Option<(u32, Narrowband)> = None;
        let mut mono = Vec::new();
        while let Some((rate, channels)) = next_block(&mut o, &mut buf)? {
            if channels == 0 {
                return Err(PromptErrorKind::ZeroChannels);
            }
            let sink = match &mut sink {
                Some((r, s)) if *r == rate => s,
                Some((r, _)) => {
                    return Err(err(
                        &o.info.encoding.to_string(),
                        format!("sample rate changes from {r} to {rate} Hz mid-file"),
                    ))
                }
                None => {
                    if !(super::MIN_RATE..=super::MAX_RATE).contains(&rate) {
                        return Err(PromptErrorKind::BadSampleRate(rate));
                    }
                    &mut sink
                        .insert((rate, Narrowband::new(rate, law, max_samples)?))
                        .1
                }
            };
            let Some(b) = buf.as_ref() else { continue };
            mono.clear();
            let norm = channels as f32;
            mono.extend(b.samples().chunks_exact(channels).map(|f| {
                f.iter()
                    .map(|s| if s.is_finite() { *s } else { 0.0 })
                    .sum::<f32>()
                    / norm
            }));
            sink.push(&mono)?;
        }
        match sink {
            Some((_, s)) => s.finish(),
            None => Err(PromptErrorKind::NoSamples),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FLAC metadata block header (RFC 9639 §8.1).
    fn block(last: bool, kind: u8, body: &[u8]) -> Vec<u8> {
        let len = (body.len() as u32).to_be_bytes();
        let mut v = vec![u8::from(last) << 7 | kind, len[1], len[2], len[3]];
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn flac_comment_and_picture_blocks_become_padding() {
        let mut f = b"fLaC".to_vec();
        f.extend(block(false, 0, &[0; 34]));
        f.extend(block(false, FLAC_VORBIS_COMMENT, &[0xff; 8]));
        f.extend(block(false, 3, &[]));
        f.extend(block(true, FLAC_PICTURE, &[0xff; 12]));
        let mut g = f.clone();
        neutralise_flac_metadata(&mut g);
        assert_eq!(g[4], 0); // STREAMINFO untouched
        assert_eq!(g[42], FLAC_PADDING);
        assert_eq!(g[54], 3); // SEEKTABLE untouched
        assert_eq!(g[58], 0x80 | FLAC_PADDING); // last flag kept
        assert_eq!(g.len(), f.len());
    }

    #[test]
    fn flac_walk_stops_at_truncated_header() {
        let mut f = b"fLaC\x06\xff".to_vec();
        neutralise_flac_metadata(&mut f);
        assert_eq!(f, b"fLaC\x06\xff");
        let mut not_flac = vec![FLAC_PICTURE; 8];
        neutralise_flac_metadata(&mut not_flac);
        assert_eq!(not_flac, vec![FLAC_PICTURE; 8]);
    }

    /// Found by `fuzz/` (prompt_load): a PICTURE block whose MIME length asks for 4 GiB.
    #[test]
    fn flac_picture_with_huge_lengths_is_an_error_not_an_allocation() {
        let mut f = b"fLaC".to_vec();
        f.extend(block(
            true,
            FLAC_PICTURE,
            &[0, 0, 0, 3, 0xfb, 0x1b, 0x1e, 0xc8, b'x'],
        ));
        assert!(matches!(
            probe(f.clone(), Container::Flac),
            Err(PromptErrorKind::Decode { .. })
        ));
        assert!(crate::prompt::load_bytes(&f, "huge.flac", Law::Ulaw).is_err());
    }
}
