//! Unit tests for prompt loading: WAV structure, pass-through, and adversarial headers.

use std::sync::Arc;

use super::*;
use crate::g711::{self, Law};

/// A RIFF/WAVE file from raw parts: `fmt` body, then extra chunks, then `data` with a claimed size.
fn riff(fmt: &[u8], extra: &[(&[u8; 4], &[u8])], data: &[u8], data_claim: u32) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, chunk) in extra {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        body.extend_from_slice(chunk);
        if chunk.len() % 2 == 1 {
            body.push(0);
        }
    }
    body.extend_from_slice(b"fmt ");
    body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    body.extend_from_slice(fmt);
    body.extend_from_slice(b"data");
    body.extend_from_slice(&data_claim.to_le_bytes());
    body.extend_from_slice(data);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn fmt(tag: u16, channels: u16, rate: u32, bits: u16, block_align: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&tag.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    f.extend_from_slice(&block_align.to_le_bytes());
    f.extend_from_slice(&bits.to_le_bytes());
    f
}

fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let align = channels * bits.div_ceil(8);
    riff(
        &fmt(tag, channels, rate, bits, align),
        &[],
        data,
        data.len() as u32,
    )
}

fn kind(bytes: &[u8]) -> PromptErrorKind {
    match load_bytes(bytes, "t.wav", Law::Ulaw) {
        Ok(p) => panic!("expected an error, got {} samples", p.samples()),
        Err(e) => {
            assert_eq!(e.file, "t.wav");
            e.kind
        }
    }
}

#[test]
fn frames_are_views_into_the_shared_bytes() {
    let data: Arc<[u8]> = Arc::from(vec![0x55u8; 400]);
    let p = Prompt::from_g711(Law::Ulaw, data.clone(), "x");
    assert_eq!(p.samples(), 400);
    assert_eq!(p.frames(160), 3);
    let f0 = p.frame(0, 160).expect("first frame");
    assert_eq!(f0.len(), 160);
    assert_eq!(f0.as_ptr(), data.as_ptr());
    assert_eq!(p.frame(2, 160).map(<[u8]>::len), Some(80));
    assert_eq!(p.frame(3, 160), None);
    assert_eq!(p.frame(usize::MAX, 160), None);
    assert_eq!(p.frame(0, 0), None);
    assert_eq!(p.frames(0), 0);
    assert_eq!(p.frame(0, 1000).map(<[u8]>::len), Some(400));
}

#[test]
fn duration_is_samples_at_8khz() {
    let p = Prompt::from_g711(Law::Alaw, Arc::from(vec![0xD5u8; 8000 + 4]), "x");
    assert_eq!(p.duration(), Duration::from_micros(1_000_500));
}

#[test]
fn to_law_shares_or_transcodes() {
    let codes: Vec<u8> = (0..=255).collect();
    let p = Prompt::from_g711(Law::Ulaw, Arc::from(codes.clone()), "x");
    let same = p.to_law(Law::Ulaw);
    assert!(Arc::ptr_eq(same.data(), p.data()));
    let a = p.to_law(Law::Alaw);
    assert_eq!(a.law(), Law::Alaw);
    assert_eq!(a.source(), "x");
    let mut want = vec![0u8; 256];
    g711::transcode(Law::Ulaw, Law::Alaw, &codes, &mut want).expect("same length");
    assert_eq!(&a.data()[..], &want[..]);
}

#[test]
fn ulaw_8k_mono_passes_through_byte_for_byte() {
    // 0x7f and 0xff both decode to 0; a decode/encode round trip would turn 0x7f into 0xff.
    let codes: Vec<u8> = (0..=255).cycle().take(1001).collect();
    let p = load_bytes(&wav(7, 1, 8000, 8, &codes), "t.wav", Law::Ulaw).expect("loads");
    assert_eq!(p.law(), Law::Ulaw);
    assert_eq!(&p.data()[..], &codes[..]);
    let alaw = load_bytes(&wav(6, 1, 8000, 8, &codes), "t.wav", Law::Alaw).expect("loads");
    assert_eq!(&alaw.data()[..], &codes[..]);
}

#[test]
fn alaw_to_ulaw_goes_through_the_table() {
    let codes: Vec<u8> = (0..=255).collect();
    let p = load_bytes(&wav(6, 1, 8000, 8, &codes), "t.wav", Law::Ulaw).expect("loads");
    let mut want = vec![0u8; 256];
    g711::transcode(Law::Alaw, Law::Ulaw, &codes, &mut want).expect("same length");
    assert_eq!(&p.data()[..], &want[..]);
}

#[test]
fn pcm16_8k_mono_is_encoded_sample_for_sample() {
    let samples: Vec<i16> = (0..2000)
        .map(|i| ((i * 37) % 65536 - 32768) as i16)
        .collect();
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let p = load_bytes(&wav(1, 1, 8000, 16, &bytes), "t.wav", Law::Alaw).expect("loads");
    let mut want = vec![0u8; samples.len()];
    g711::encode(Law::Alaw, &samples, &mut want).expect("same length");
    assert_eq!(&p.data()[..], &want[..]);
}

#[test]
fn stereo_8bit_pcm_is_averaged() {
    // 8-bit PCM is unsigned, 128 = 0. Left +64, right -64 -> silence; both +64 -> +0.5 full scale.
    let mut data = Vec::new();
    for _ in 0..10 {
        data.extend_from_slice(&[192, 64]);
    }
    for _ in 0..10 {
        data.extend_from_slice(&[192, 192]);
    }
    let p = load_bytes(&wav(1, 2, 8000, 8, &data), "t.wav", Law::Ulaw).expect("loads");
    assert_eq!(p.samples(), 20);
    assert!(p.data()[..10].iter().all(|&c| g711::ulaw_to_linear(c) == 0));
    let mut want = [0u8; 1];
    g711::encode(Law::Ulaw, &[16384], &mut want).expect("same length");
    assert!(p.data()[10..].iter().all(|&c| c == want[0]));
}

#[test]
fn odd_chunks_and_streamed_size_are_read() {
    let codes = [1u8, 2, 3, 4, 5];
    let f = fmt(7, 1, 8000, 8, 1);
    // A LIST chunk of odd length (padded) before fmt, and a data size of 0xffffffff ("until end of file").
    let bytes = riff(&f, &[(b"LIST", b"INFOabc")], &codes, u32::MAX);
    let p = load_bytes(&bytes, "t.wav", Law::Ulaw).expect("loads");
    assert_eq!(&p.data()[..], &codes);
}

#[test]
fn written_wav_reads_back_and_has_the_g711_layout() {
    let p = Prompt::from_g711(Law::Alaw, Arc::from(vec![0xD5u8, 1, 2]), "x");
    let mut out = Vec::new();
    write_wav(&p, &mut out).expect("writes");
    assert_eq!(&out[..4], b"RIFF");
    assert_eq!(
        u32::from_le_bytes([out[4], out[5], out[6], out[7]]) as usize,
        out.len() - 8
    );
    assert_eq!(&out[12..16], b"fmt ");
    assert_eq!(u32::from_le_bytes([out[16], out[17], out[18], out[19]]), 18);
    assert_eq!(u16::from_le_bytes([out[20], out[21]]), 6);
    assert_eq!(&out[38..42], b"fact");
    assert_eq!(out.len() % 2, 0, "odd data is padded");
    let back = load_bytes(&out, "back.wav", Law::Alaw).expect("reads back");
    assert_eq!(back.data(), p.data());
    let info = probe_bytes(&out, "back.wav").expect("probes");
    assert_eq!(info.encoding, SourceEncoding::Alaw);
    assert_eq!(
        (info.channels, info.sample_rate, info.frames),
        (1, 8000, Some(3))
    );
    assert_eq!(
        info.conversion(Law::Alaw),
        Conversion::PassThrough { law: Law::Alaw }
    );
    assert_eq!(
        info.conversion(Law::Ulaw),
        Conversion::Transcode {
            from: Law::Alaw,
            to: Law::Ulaw
        }
    );
}

#[test]
fn empty_and_non_audio_files_are_refused() {
    assert!(matches!(kind(b""), PromptErrorKind::Empty));
    assert!(matches!(
        kind(b"<html>nope</html>"),
        PromptErrorKind::NotAudio { .. }
    ));
    let msg = load_bytes(b"hello world", "page.html", Law::Ulaw)
        .expect_err("not audio")
        .to_string();
    assert_eq!(
        msg,
        "page.html: not an audio file (starts with 68 65 6c 6c 6f 20 77 6f)"
    );
}

#[test]
fn truncated_riff_header() {
    assert!(matches!(
        kind(b"RIFF\x10\0\0\0WA"),
        PromptErrorKind::Truncated {
            what: "riff header",
            needed: 12,
            available: 10
        }
    ));
}

#[test]
fn truncated_fmt_chunk() {
    let mut b = wav(1, 1, 8000, 16, &[0; 4]);
    b.truncate(12 + 8 + 6);
    assert!(
        matches!(
            kind(&b),
            PromptErrorKind::Truncated {
                what: "wav fmt chunk",
                ..
            }
        ),
        "{:?}",
        kind(&b)
    );
}

#[test]
fn unknown_format_tag() {
    let e = kind(&wav(0x11, 1, 8000, 4, &[0; 4]));
    assert!(
        matches!(
            e,
            PromptErrorKind::UnknownFormatTag {
                tag: 0x11,
                name: "IMA ADPCM"
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "unsupported wav format tag 0x0011 (IMA ADPCM)"
    );
}

#[test]
fn zero_channels() {
    let b = riff(&fmt(1, 0, 8000, 16, 0), &[], &[0; 4], 4);
    assert!(matches!(kind(&b), PromptErrorKind::ZeroChannels));
}

#[test]
fn data_chunk_claiming_2_gib() {
    let b = riff(&fmt(1, 1, 8000, 16, 2), &[], &[0; 16], 0x8000_0000);
    let e = kind(&b);
    assert!(
        matches!(
            e,
            PromptErrorKind::DataTooLong {
                claimed: 0x8000_0000,
                available: 16
            }
        ),
        "{e:?}"
    );
}

#[test]
fn header_oddities_are_typed() {
    assert!(matches!(
        kind(&wav(1, 1, 0, 16, &[0; 4])),
        PromptErrorKind::BadSampleRate(0)
    ));
    assert!(matches!(
        kind(&wav(1, 1, 8000, 12, &[0; 4])),
        PromptErrorKind::UnsupportedBits { bits: 12, .. }
    ));
    assert!(matches!(
        kind(&wav(7, 1, 8000, 16, &[0; 4])),
        PromptErrorKind::UnsupportedBits { .. }
    ));
    assert!(matches!(
        kind(&riff(&fmt(1, 2, 8000, 16, 2), &[], &[0; 4], 4)),
        PromptErrorKind::BadBlockAlign {
            found: 2,
            expected: 4,
            ..
        }
    ));
    let mut no_data = wav(1, 1, 8000, 16, &[]);
    no_data.truncate(no_data.len() - 8);
    assert!(matches!(
        kind(&no_data),
        PromptErrorKind::MissingChunk("data")
    ));
    assert!(matches!(
        kind(&wav(1, 1, 8000, 16, &[])),
        PromptErrorKind::NoSamples
    ));
    assert!(matches!(
        kind(b"RIFX\0\0\0\x04WAVE"),
        PromptErrorKind::UnsupportedContainer(_)
    ));
    assert!(matches!(
        kind(b"RIFF\0\0\0\x04AVI "),
        PromptErrorKind::UnsupportedContainer(_)
    ));
}

#[test]
fn extensible_with_a_foreign_guid_is_refused() {
    let mut f = fmt(0xFFFE, 1, 8000, 16, 2);
    f.extend_from_slice(&22u16.to_le_bytes());
    f.extend_from_slice(&16u16.to_le_bytes());
    f.extend_from_slice(&4u32.to_le_bytes());
    f.extend_from_slice(&[0xAB; 16]);
    let e = kind(&riff(&f, &[], &[0; 4], 4));
    assert!(matches!(e, PromptErrorKind::UnknownSubFormat(_)), "{e:?}");
}

#[test]
fn extensible_ulaw_is_read() {
    let mut f = fmt(0xFFFE, 1, 8000, 8, 1);
    f.extend_from_slice(&22u16.to_le_bytes());
    f.extend_from_slice(&8u16.to_le_bytes());
    f.extend_from_slice(&4u32.to_le_bytes());
    f.extend_from_slice(&[
        0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B,
        0x71,
    ]);
    let p = load_bytes(&riff(&f, &[], &[9, 8, 7], 3), "t.wav", Law::Ulaw).expect("loads");
    assert_eq!(&p.data()[..], &[9, 8, 7]);
}

/// Every prefix and many single-byte corruptions of valid files must give a result or a typed error, no panic.
#[test]
fn truncations_and_corruptions_never_panic() {
    let pcm: Vec<u8> = (0..600u32)
        .flat_map(|i| ((i * 97) as i16).to_le_bytes())
        .collect();
    let files = [
        wav(1, 2, 22050, 16, &pcm),
        wav(7, 1, 8000, 8, &pcm[..301]),
        wav(3, 1, 16000, 32, &[0; 64]),
    ];
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for file in &files {
        for cut in 0..file.len() {
            let _ = load_bytes(&file[..cut], "cut.wav", Law::Ulaw);
            let _ = probe_bytes(&file[..cut], "cut.wav");
        }
        for _ in 0..400 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut m = file.clone();
            let at = (seed % 64) as usize % m.len();
            m[at] = (seed >> 32) as u8;
            let _ = load_bytes(&m, "bad.wav", Law::Alaw);
        }
    }
}

#[test]
fn resampled_output_is_time_aligned_with_the_input() {
    // A 16 kHz click at 0.5 s must come out at 8 kHz sample 4000, not shifted by the filter delay.
    let mut samples = vec![0i16; 16000];
    samples[8000] = 30000;
    samples[8001] = 30000;
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let p = load_bytes(&wav(1, 1, 16000, 16, &bytes), "t.wav", Law::Ulaw).expect("loads");
    assert_eq!(p.samples(), 8000);
    let peak = p
        .data()
        .iter()
        .enumerate()
        .max_by_key(|(_, &c)| g711::ulaw_to_linear(c).unsigned_abs())
        .map(|(i, _)| i);
    assert!(matches!(peak, Some(3999..=4001)), "peak at {peak:?}");
}

#[test]
fn a_header_claiming_65535_channels_costs_no_more_than_its_bytes() {
    // G.711, 65,535 channels, two frames: loads (downmixed to two samples) without a per-channel-sized buffer.
    let channels = u16::MAX;
    let data = vec![0xFFu8; 2 * usize::from(channels)];
    let b = riff(
        &fmt(7, channels, 8000, 8, channels),
        &[],
        &data,
        data.len() as u32,
    );
    let p = load_bytes(&b, "t.wav", Law::Ulaw).expect("loads");
    assert_eq!(p.samples(), 2);
}
