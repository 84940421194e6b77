//! `vxgate codec` and `vxgate bench codec` through the real binary, and G.711 against another crate.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use vxgate_media::g711::{self, reference, Law};

use crate::support::vxgate_bin;

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(vxgate_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vxgate");
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    // Write from another thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for vxgate");
    writer.join().expect("writer thread");
    out
}

fn every_sample_le() -> Vec<u8> {
    (i16::MIN..=i16::MAX)
        .flat_map(|s| s.to_le_bytes())
        .collect()
}

#[test]
fn encode_then_decode_round_trips_every_sample_through_the_binary() {
    let pcm = every_sample_le();
    for law in ["ulaw", "alaw"] {
        let enc = run(&["codec", "encode", "--law", law], &pcm);
        assert!(
            enc.status.success(),
            "{}",
            String::from_utf8_lossy(&enc.stderr)
        );
        assert_eq!(enc.stdout.len(), 65536);
        let l: Law = law.parse().unwrap();
        for (i, &c) in enc.stdout.iter().enumerate() {
            let x = i16::MIN.wrapping_add(i as i16);
            let want = match l {
                Law::Ulaw => reference::linear_to_ulaw(x),
                Law::Alaw => reference::linear_to_alaw(x),
            };
            assert_eq!(c, want, "{law} {x}");
        }
        let dec = run(&["codec", "decode", "--law", law], &enc.stdout);
        assert!(
            dec.status.success(),
            "{}",
            String::from_utf8_lossy(&dec.stderr)
        );
        assert_eq!(dec.stdout.len(), pcm.len());
        for (b, &c) in dec.stdout.chunks_exact(2).zip(&enc.stdout) {
            let want = match l {
                Law::Ulaw => reference::ulaw_to_linear(c),
                Law::Alaw => reference::alaw_to_linear(c),
            };
            assert_eq!(i16::from_le_bytes([b[0], b[1]]), want);
        }
    }
}

#[test]
fn pcmu_alias_and_silence() {
    let out = run(&["codec", "encode", "--law", "PCMU"], &[0, 0, 0, 0]);
    assert!(out.status.success());
    assert_eq!(out.stdout, [0xFF, 0xFF]);
}

#[test]
fn odd_pcm_byte_is_one_clear_error() {
    let out = run(&["codec", "encode", "--law", "alaw"], &[0, 0, 7]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("odd byte") && err.contains("3 bytes"), "{err}");
    assert_eq!(
        out.stdout,
        [0xD5],
        "the complete sample before the odd byte is still written"
    );
}

#[test]
fn unknown_law_is_rejected_naming_it() {
    let out = run(&["codec", "decode", "--law", "g722"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("g722"), "{err}");
}

#[test]
fn bench_codec_json_reports_every_case() {
    let out = run(&["bench", "codec", "--json", "--millis", "1"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["cpu_features"], g711::cpu_features());
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 8, "2 laws x 2 ops x 2 sizes");
    for r in rows {
        assert!(r["msamples_per_s"].as_f64().unwrap() > 0.0, "{r}");
        let ch = r["channels_per_core"].as_f64().unwrap();
        let ms = r["msamples_per_s"].as_f64().unwrap();
        assert!((ch - ms * 1e6 / 8000.0).abs() < 1e-6 * ch, "{r}");
    }
}

/// audio-codec 0.4.13 (the fastest G.711 crate on crates.io) negates negative samples instead of taking
/// G.191's one's complement, so its encoder differs from the ITU reference on negative inputs at quantization
/// step edges: 127 µ-law and 897 A-law inputs (its A-law also sends -8..=-1 to the *positive* code 0xD5).
/// Decoding agrees. This pins those counts; ours differs on none.
#[test]
fn audio_codec_differs_from_g191_and_we_do_not() {
    use audio_codec::{Decoder, Encoder};
    let pcm: Vec<i16> = (i16::MIN..=i16::MAX).collect();
    let mut theirs = vec![0u8; pcm.len()];
    let mut ours = vec![0u8; pcm.len()];
    let mut diffs = Vec::new();
    for (law, mut enc) in [
        (
            Law::Ulaw,
            Box::new(audio_codec::pcmu::PcmuEncoder::new()) as Box<dyn Encoder>,
        ),
        (
            Law::Alaw,
            Box::new(audio_codec::pcma::PcmaEncoder::new()) as Box<dyn Encoder>,
        ),
    ] {
        enc.encode_into(&pcm, &mut theirs).unwrap();
        g711::encode(law, &pcm, &mut ours).unwrap();
        let reference: Vec<u8> = pcm
            .iter()
            .map(|&x| match law {
                Law::Ulaw => reference::linear_to_ulaw(x),
                Law::Alaw => reference::linear_to_alaw(x),
            })
            .collect();
        assert_eq!(ours, reference, "{law}: ours must be bit-exact");
        let d = theirs
            .iter()
            .zip(&reference)
            .filter(|(a, b)| a != b)
            .count();
        let negative_only = pcm
            .iter()
            .zip(theirs.iter().zip(&reference))
            .filter(|(_, (a, b))| a != b)
            .all(|(&x, _)| x < 0);
        diffs.push((law, d, negative_only));
    }
    // Decoding agrees: both use the G.711 decoder output values.
    let codes: Vec<u8> = (0..=255).collect();
    let mut a = vec![0i16; 256];
    let mut b = vec![0i16; 256];
    audio_codec::pcmu::PcmuDecoder::new()
        .decode_into(&codes, &mut a)
        .unwrap();
    g711::decode_ulaw(&codes, &mut b).unwrap();
    assert_eq!(a, b);
    audio_codec::pcma::PcmaDecoder::new()
        .decode_into(&codes, &mut a)
        .unwrap();
    g711::decode_alaw(&codes, &mut b).unwrap();
    assert_eq!(a, b);
    eprintln!("audio-codec 0.4.13 vs G.191 encode: {diffs:?}");
    assert_eq!(diffs, [(Law::Ulaw, 127, true), (Law::Alaw, 897, true)]);
}
