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

fn open(bytes: Vec<u8>, container: Container) -> Result<Opened, PromptErrorKind> {
    let name = container.to_string();
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
