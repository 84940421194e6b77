//! In-band detector: known tones, Q.24 limits, and signals that must give nothing.

use super::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// Appends `ms` of a tone pair (frequencies scaled by `1 + dev_lo` / `1 + dev_hi`, amplitudes `a_lo`, `a_hi`).
fn tone(out: &mut Vec<f64>, d: Digit, ms: f64, a_lo: f64, a_hi: f64, dev_lo: f64, dev_hi: f64) {
    let (fl, fh) = d.frequencies();
    let n = (ms * 8.0).round() as usize;
    let base = out.len();
    for i in 0..n {
        let t = (base + i) as f64 / RATE;
        let x = a_lo * (2.0 * PI * fl * (1.0 + dev_lo) * t).sin()
            + a_hi * (2.0 * PI * fh * (1.0 + dev_hi) * t + 0.3).sin();
        out.push(x);
    }
}

fn silence(out: &mut Vec<f64>, ms: f64) {
    let n = (ms * 8.0).round() as usize;
    out.extend(std::iter::repeat_n(0.0, n));
}

fn pcm(x: &[f64]) -> Vec<i16> {
    x.iter()
        .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn detect(x: &[f64]) -> Vec<(Digit, u64)> {
    InbandDetector::new().process(&pcm(x))
}

fn keys(found: &[(Digit, u64)]) -> String {
    found.iter().map(|f| f.0.to_char()).collect()
}

const A: f64 = 6000.0; // about -14.7 dBFS per tone

#[test]
fn every_key_is_detected_with_its_start() {
    let mut x = Vec::new();
    let mut starts = Vec::new();
    silence(&mut x, 37.0);
    for d in Digit::ALL {
        starts.push(x.len() as u64);
        tone(&mut x, d, 80.0, A, A, 0.0, 0.0);
        silence(&mut x, 63.0);
    }
    let found = detect(&x);
    assert_eq!(keys(&found), "0123456789*#ABCD");
    for (f, s) in found.iter().zip(&starts) {
        assert!(f.1.abs_diff(*s) <= 40, "start {} vs {}", f.1, s);
    }
}

#[test]
fn chunking_does_not_matter() {
    let mut x = Vec::new();
    for d in [Digit::D5, Digit::D8, Digit::D5] {
        tone(&mut x, d, 70.0, A, A, 0.0, 0.0);
        silence(&mut x, 50.0);
    }
    let whole = detect(&x);
    let samples = pcm(&x);
    let mut det = InbandDetector::new();
    let mut parts = Vec::new();
    for chunk in samples.chunks(37) {
        parts.extend(det.process(chunk));
    }
    assert_eq!(keys(&whole), "585");
    assert_eq!(whole, parts);
    assert_eq!(det.samples(), samples.len() as u64);
}

#[test]
fn q24_tone_duration_limits() {
    for offset in [0.0, 1.3, 2.5, 3.1, 4.4] {
        for (ms, want) in [
            (25.0, ""),
            (30.0, ""),
            (40.0, "1"),
            (45.0, "1"),
            (50.0, "1"),
        ] {
            let mut x = Vec::new();
            silence(&mut x, 20.0 + offset);
            tone(&mut x, Digit::D1, ms, A, A, 0.0, 0.0);
            silence(&mut x, 100.0);
            assert_eq!(
                keys(&detect(&x)),
                want,
                "{ms} ms tone at offset {offset} ms"
            );
        }
    }
}

#[test]
fn q24_pause_limits() {
    for (pause, want) in [(40.0, "77"), (60.0, "77"), (10.0, "7"), (5.0, "7")] {
        let mut x = Vec::new();
        silence(&mut x, 10.0);
        tone(&mut x, Digit::D7, 60.0, A, A, 0.0, 0.0);
        silence(&mut x, pause);
        tone(&mut x, Digit::D7, 60.0, A, A, 0.0, 0.0);
        silence(&mut x, 60.0);
        assert_eq!(keys(&detect(&x)), want, "{pause} ms pause");
    }
    // A different key straight after, no pause.
    let mut x = Vec::new();
    tone(&mut x, Digit::D2, 60.0, A, A, 0.0, 0.0);
    tone(&mut x, Digit::D3, 60.0, A, A, 0.0, 0.0);
    silence(&mut x, 40.0);
    assert_eq!(keys(&detect(&x)), "23");
}

#[test]
fn q24_frequency_tolerance() {
    for d in [Digit::D1, Digit::D9, Digit::D, Digit::Star] {
        for dev in [-0.015, 0.015] {
            for (dl, dh) in [(dev, 0.0), (0.0, dev), (dev, dev), (dev, -dev)] {
                let mut x = Vec::new();
                tone(&mut x, d, 80.0, A, A, dl, dh);
                silence(&mut x, 50.0);
                assert_eq!(
                    keys(&detect(&x)),
                    d.to_char().to_string(),
                    "{d} off by {dl}/{dh}"
                );
            }
        }
        for dev in [-0.035, 0.035, 0.05, -0.06] {
            for (dl, dh) in [(dev, 0.0), (0.0, dev)] {
                let mut x = Vec::new();
                tone(&mut x, d, 80.0, A, A, dl, dh);
                silence(&mut x, 50.0);
                assert_eq!(
                    keys(&detect(&x)),
                    "",
                    "{d} off by {dl}/{dh} must be rejected"
                );
            }
        }
    }
}

#[test]
fn twist_limits() {
    let db = |v: f64| 10f64.powf(v / 20.0);
    for (hi_over_lo_db, ok) in [
        (0.0, true),
        (3.0, true),
        (-6.0, true),
        (-7.5, true),
        (6.0, false),
        (-10.0, false),
    ] {
        let mut x = Vec::new();
        tone(
            &mut x,
            Digit::D6,
            80.0,
            4000.0,
            4000.0 * db(hi_over_lo_db),
            0.0,
            0.0,
        );
        silence(&mut x, 50.0);
        assert_eq!(keys(&detect(&x)) == "6", ok, "twist {hi_over_lo_db} dB");
    }
}

#[test]
fn level_limits() {
    for (a, ok) in [
        (8000.0, true),
        (1000.0, true),
        (500.0, true),
        (100.0, false),
    ] {
        let mut x = Vec::new();
        tone(&mut x, Digit::D4, 80.0, a, a, 0.0, 0.0);
        silence(&mut x, 50.0);
        assert_eq!(keys(&detect(&x)) == "4", ok, "amplitude {a}");
    }
}

#[test]
fn tone_in_noise_is_found_noise_alone_is_not() {
    let mut rng = StdRng::seed_from_u64(7);
    // 20 s of loud white noise: nothing.
    let noise: Vec<f64> = (0..160_000)
        .map(|_| rng.random_range(-12000.0..12000.0))
        .collect();
    assert_eq!(detect(&noise), vec![]);
    // Tones 20 dB above the noise: found.
    let mut x = Vec::new();
    for d in [Digit::D1, Digit::D2, Digit::D3] {
        tone(&mut x, d, 70.0, A, A, 0.0, 0.0);
        silence(&mut x, 70.0);
    }
    let level = A / 10.0;
    for v in x.iter_mut() {
        *v += rng.random_range(-level..level) * 1.7;
    }
    assert_eq!(keys(&detect(&x)), "123");
}

#[test]
fn music_like_signals_give_no_digits() {
    // Chords of harmonic-rich notes (piano-like partials, decaying), arpeggios and a slow sweep across the DTMF band.
    let mut x = Vec::new();
    let notes = |midi: f64| 440.0 * 2f64.powf((midi - 69.0) / 12.0);
    let chords: [&[f64]; 6] = [
        &[60.0, 64.0, 67.0],
        &[65.0, 69.0, 72.0],
        &[77.0, 84.0],       // F5 + C6: near 697 and 1047 Hz
        &[77.0, 87.0],       // F5 + D#6: 698 + 1245 Hz, two near-DTMF notes
        &[78.0, 89.0, 93.0], // F#5, F6, A6
        &[57.0, 81.0, 88.0],
    ];
    for chord in chords {
        let n = 8000;
        for i in 0..n {
            let t = i as f64 / RATE;
            let env = (-3.0 * t).exp();
            let mut v = 0.0;
            for &m in chord {
                let f = notes(m);
                for h in 1..=6 {
                    let fh = f * h as f64;
                    if fh < 3900.0 {
                        v += 3000.0 / h as f64 * env * (2.0 * PI * fh * t).sin();
                    }
                }
            }
            x.push(v);
        }
    }
    // Sweep 600 → 1700 Hz over 2 s, plus its octave.
    for i in 0..16_000 {
        let t = i as f64 / RATE;
        let ph = 2.0 * PI * (600.0 * t + 1100.0 * t * t / 4.0);
        x.push(6000.0 * ph.sin() + 3000.0 * (2.0 * ph).sin());
    }
    // Two pure glissandi a DTMF-like distance apart, moving at 1600 and 2400 Hz/s (never within tolerance of a
    // pair for 40 ms), repeated.
    for _ in 0..8 {
        for i in 0..2000 {
            let t = i as f64 / RATE;
            let p1 = 2.0 * PI * (600.0 * t + 800.0 * t * t);
            let p2 = 2.0 * PI * (1150.0 * t + 1200.0 * t * t);
            x.push(5000.0 * p1.sin() + 5000.0 * p2.sin());
        }
    }
    assert_eq!(detect(&x), vec![]);
}

#[test]
fn harmonics_make_a_tone_pair_not_a_digit() {
    let mut x = Vec::new();
    let (fl, fh) = Digit::D5.frequencies();
    for i in 0..1600 {
        let t = i as f64 / RATE;
        let s = |f: f64| (2.0 * PI * f * t).sin() + 0.5 * (2.0 * PI * 2.0 * f * t).sin();
        x.push(4000.0 * (s(fl) + s(fh)));
    }
    assert_eq!(detect(&x), vec![]);
}

#[test]
fn sweeps_crossing_a_key_pair_give_no_digits() {
    // Like `sox synth 3 sine 300-3000 synth 3 sine mix 3000-300`: two exponential sweeps that pass within tolerance
    // of 697 + 1336 Hz ("2") and 770 + 1209 Hz ("4") for over 40 ms.
    let n = 24_000;
    let k = (10f64).ln() / 3.0;
    let x: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let up = 2.0 * PI * 300.0 * ((k * t).exp() - 1.0) / k;
            let down = 2.0 * PI * 3000.0 * (1.0 - (-k * t).exp()) / k;
            8000.0 * up.sin() + 8000.0 * down.sin()
        })
        .collect();
    assert_eq!(detect(&x), vec![]);
}

/// A long keyed sequence (3 minutes: 1, 5, # repeated, 100 ms tones, 233 ms pauses) gives every digit once, in
/// order, with no drift in the detector's state. Its cost is `cargo bench --bench dtmf`.
#[test]
fn long_keyed_sequence_every_digit_once() {
    let mut x = Vec::new();
    for _ in 0..60 {
        for d in [Digit::D1, Digit::D5, Digit::Pound] {
            tone(&mut x, d, 100.0, A, A, 0.0, 0.0);
            silence(&mut x, 233.3);
        }
    }
    let samples = pcm(&x);
    let mut det = InbandDetector::new();
    let mut found = Vec::new();
    for frame in samples.chunks(160) {
        found.extend(det.process(frame));
    }
    assert_eq!(keys(&found), "15#".repeat(60));
}

#[test]
fn speech_like_vowels_give_no_digits() {
    // Additive vowels: harmonics of a moving pitch (85-260 Hz, with intonation and vibrato) shaped by formants,
    // several placed on DTMF frequencies (/a/ 730 + 1090 Hz, /ae/ 660 + 1720, /o/ 570 + 840, /u/ 300 + 870, /i/ 270
    // + 2290, and a "vowel" with formants exactly at 697 and 1209 Hz): the classic talk-off case. 174 Hz puts
    // harmonics 4 and 7 within 0.1 % of 697 and 1209 Hz.
    let vowels: [(f64, f64, f64); 6] = [
        (730.0, 1090.0, 2440.0),
        (660.0, 1720.0, 2410.0),
        (570.0, 840.0, 2410.0),
        (300.0, 870.0, 2240.0),
        (270.0, 2290.0, 3010.0),
        (697.0, 1209.0, 2500.0),
    ];
    let mut x = Vec::new();
    for (vi, &(f1, f2, f3)) in vowels.iter().enumerate() {
        // Intonation (15 % swing) or a near-monotone chant (1 % vibrato): the harder case for talk-off.
        for (base, swing) in [
            (85.0, 0.15),
            (120.0, 0.15),
            (180.0, 0.15),
            (260.0, 0.15),
            (100.0, 0.0),
            (174.0, 0.0),
        ] {
            let n = 3200; // 400 ms
            let mut phases = [0.0f64; 48];
            for i in 0..n {
                let t = i as f64 / RATE;
                let f0 = base
                    * (1.0
                        + swing * (2.0 * PI * 1.5 * t).sin()
                        + 0.01 * (2.0 * PI * 5.5 * t).sin())
                    + vi as f64;
                let mut v = 0.0;
                for (h, ph) in phases.iter_mut().enumerate() {
                    let f = f0 * (h + 1) as f64;
                    if f > 3800.0 {
                        break;
                    }
                    *ph += 2.0 * PI * f / RATE;
                    let gain = |fc: f64, bw: f64| 1.0 / (1.0 + ((f - fc) / bw).powi(2));
                    let a = gain(f1, 60.0) + 0.7 * gain(f2, 80.0) + 0.3 * gain(f3, 120.0);
                    v += a * ph.sin() / (h + 1) as f64;
                }
                x.push(9000.0 * v);
            }
        }
    }
    // The case is a real one: without the purity tests (energy share, second harmonics) the chant talks off.
    let loose = InbandConfig {
        harmonic_db: -100.0,
        energy_fraction: 0.3,
        ..InbandConfig::default()
    };
    assert!(!InbandDetector::with_config(loose)
        .process(&pcm(&x))
        .is_empty());
    assert_eq!(detect(&x), vec![]);
}

#[test]
fn fastest_q24_dialling_through_ulaw() {
    // 40 ms tones, 40 ms pauses (12.5 digits/s), tones at -25 dBm0 (per tone, µ-law 0 dBm0 ≈ 3.17 dBFS below
    // full-scale sine), the high tone 2 dB above the low one, through a µ-law encode/decode.
    let a = 32767.0 * 10f64.powf(-(25.0 + 3.17) / 20.0);
    let want = "1234567890*#ABCD5555";
    for offset in [0.0, 2.1, 3.7] {
        let mut x = Vec::new();
        silence(&mut x, 40.0 + offset);
        for c in want.chars() {
            tone(
                &mut x,
                Digit::from_char(c).unwrap(),
                40.0,
                a,
                a * 1.26,
                0.0,
                0.0,
            );
            silence(&mut x, 40.0);
        }
        let coded: Vec<i16> = pcm(&x)
            .iter()
            .map(|&s| crate::g711::ulaw_to_linear(crate::g711::linear_to_ulaw(s)))
            .collect();
        let found = InbandDetector::new().process(&coded);
        assert_eq!(keys(&found), want, "offset {offset} ms");
    }
}

/// Q.24's fastest dialling, 40 ms tones and 40 ms pauses, with the tones up to 1.5 % off nominal (to be accepted)
/// and starting anywhere relative to the detector's 5 ms sub-blocks. The steadiness test used to take the first
/// hit, whose window pair straddles the onset, as its reference: a third of these sequences lost digits.
#[test]
fn q24_short_off_nominal_tones_anywhere_in_the_stream() {
    let mut lost = Vec::new();
    let mut total = 0;
    for d in [
        Digit::D1,
        Digit::D5,
        Digit::D9,
        Digit::D,
        Digit::Star,
        Digit::D0,
    ] {
        for lead in 0..20 {
            for dev in [0.015, -0.015, 0.01, 0.0] {
                for (dl, dh) in [(dev, dev), (dev, -dev), (dev, 0.0), (0.0, dev)] {
                    let mut x = Vec::new();
                    silence(&mut x, 100.0 + f64::from(lead) * 0.77);
                    for _ in 0..3 {
                        tone(&mut x, d, 40.0, A, A, dl, dh);
                        silence(&mut x, 40.0);
                    }
                    total += 1;
                    let got = keys(&detect(&x));
                    if got != std::iter::repeat_n(d.to_char(), 3).collect::<String>() {
                        lost.push(format!("{d} lead {lead} off {dl}/{dh}: {got:?}"));
                    }
                }
            }
        }
    }
    // The one-block frequency estimate scatters by a few Hz on the closest pairs (941 Hz with 1209 or 1336 Hz): 19
    // of the 1920 sequences lose a digit (783 before the fix); allow 2 %.
    assert!(
        lost.len() * 50 <= total,
        "{} of {total} lost digits: {lost:#?}",
        lost.len()
    );
    // 100 ms tones (Q.24's usual test length) are never missed.
    for d in [Digit::D1, Digit::D, Digit::Star, Digit::Pound] {
        for lead in 0..40 {
            for dev in [0.015, -0.015] {
                let mut x = Vec::new();
                silence(&mut x, 100.0 + f64::from(lead) * 0.33);
                tone(&mut x, d, 100.0, A, A, dev, dev);
                silence(&mut x, 50.0);
                assert_eq!(
                    keys(&detect(&x)),
                    d.to_char().to_string(),
                    "{d} lead {lead} off {dev}"
                );
            }
        }
    }
}

/// Twist is judged on the tone, not on its luckiest window: 1 dB beyond either limit is rejected wherever the tone
/// starts (a per-window limit let a 100 ms tone at 9 dB normal twist through in 10 of 80 starts), 1 dB inside is
/// accepted.
#[test]
fn twist_judged_on_the_whole_tone() {
    let db = |v: f64| 10f64.powf(v / 20.0);
    for (hi_over_lo_db, ok) in [(-9.0, false), (5.0, false), (-7.0, true), (3.0, true)] {
        for ms in [50.0, 100.0] {
            for d in [
                Digit::D1,
                Digit::D5,
                Digit::D9,
                Digit::D,
                Digit::Star,
                Digit::D0,
                Digit::Pound,
                Digit::D3,
            ] {
                for lead in 0..10 {
                    let mut x = Vec::new();
                    silence(&mut x, 100.0 + f64::from(lead) * 0.61);
                    tone(&mut x, d, ms, A, A * db(hi_over_lo_db), 0.0, 0.0);
                    silence(&mut x, 50.0);
                    assert_eq!(
                        !keys(&detect(&x)).is_empty(),
                        ok,
                        "{d} {ms} ms, twist {hi_over_lo_db} dB, start {lead}"
                    );
                }
            }
        }
    }
}
