//! Prompts end to end: `vxgate prompt convert|info` through the real binary (checked with `sox --i` when sox is
//! installed), resampling quality measured on tones, the shared cache, and every input format we claim.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use vxgate_media::g711::{self, Law};
use vxgate_media::prompt::{
    self, CacheKey, Container, Conversion, PromptCache, PromptErrorKind, SourceEncoding,
};

use crate::support::vxgate_bin;

fn vxgate(args: &[&str]) -> Output {
    Command::new(vxgate_bin())
        .args(args)
        .output()
        .expect("run vxgate")
}

fn sox_available() -> bool {
    Command::new("sox")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `sox --i -<field> file`, trimmed.
fn sox_field(field: &str, file: &Path) -> String {
    let out = Command::new("sox")
        .args(["--i", field])
        .arg(file)
        .output()
        .expect("run sox");
    assert!(
        out.status.success(),
        "sox --i {field} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A sine of `freq` Hz at `amp` full scale, `secs` long, at `rate`.
fn tone(freq: f64, amp: f64, rate: u32, secs: f64) -> Vec<f64> {
    let n = (f64::from(rate) * secs).round() as usize;
    (0..n)
        .map(|i| amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin())
        .collect()
}

fn write_pcm16(path: &Path, rate: u32, channels: &[Vec<f64>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..channels[0].len() {
        for ch in channels {
            w.write_sample((ch[i] * 32767.0).round() as i16)
                .expect("write sample");
        }
    }
    w.finalize().expect("finalize wav");
}

/// The prompt decoded to linear, full scale ±1.0.
fn linear(p: &prompt::Prompt) -> Vec<f64> {
    let mut pcm = vec![0i16; p.samples()];
    g711::decode(p.law(), p.data(), &mut pcm).expect("same length");
    pcm.iter().map(|&s| f64::from(s) / 32768.0).collect()
}

/// Amplitude of the `freq` component of `x` (8 kHz), by correlation with a sine and cosine (one DFT bin).
fn amplitude_at(x: &[f64], freq: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &s) in x.iter().enumerate() {
        let ph = 2.0 * PI * freq * i as f64 / 8000.0;
        re += s * ph.cos();
        im += s * ph.sin();
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|s| s * s).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.max(1e-12).log10()
}

/// Middle of the signal: leaves out the first and last 50 ms where the filter's edges ring.
fn middle(x: &[f64]) -> &[f64] {
    &x[400..x.len() - 400]
}

#[test]
fn convert_44k1_stereo_wav_to_ulaw_and_sox_reads_8khz_mono_ulaw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.wav");
    let output = dir.path().join("out.wav");
    let left = tone(1000.0, 0.5, 44100, 1.0);
    let right = tone(440.0, 0.25, 44100, 1.0);
    write_pcm16(&input, 44100, &[left, right]);

    let out = vxgate(&[
        "prompt",
        "convert",
        input.to_str().expect("utf-8 path"),
        output.to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "convert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Our own probe.
    let info = prompt::probe_file(&output).expect("probe output");
    assert_eq!(info.container, Container::Wav);
    assert_eq!(info.encoding, SourceEncoding::Ulaw);
    assert_eq!((info.channels, info.sample_rate), (1, 8000));
    assert_eq!(info.frames, Some(8000));
    assert_eq!(
        info.conversion(Law::Ulaw),
        Conversion::PassThrough { law: Law::Ulaw }
    );

    // Both tones survive the downmix at half their level.
    let p = prompt::load_file(&output, Law::Ulaw).expect("load output");
    let x = linear(&p);
    let a1k = amplitude_at(middle(&x), 1000.0);
    let a440 = amplitude_at(middle(&x), 440.0);
    assert!((a1k - 0.25).abs() < 0.01, "1 kHz amplitude {a1k}");
    assert!((a440 - 0.125).abs() < 0.01, "440 Hz amplitude {a440}");

    if !sox_available() {
        eprintln!("sox not on PATH: skipping the sox --i check");
        return;
    }
    assert_eq!(sox_field("-r", &output), "8000");
    assert_eq!(sox_field("-c", &output), "1");
    assert_eq!(sox_field("-e", &output), "u-law");
    assert_eq!(sox_field("-s", &output), "8000");
}

#[test]
fn convert_with_law_alaw_writes_an_alaw_wav() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.wav");
    let output = dir.path().join("out.wav");
    write_pcm16(&input, 16000, &[tone(700.0, 0.3, 16000, 0.5)]);
    let out = vxgate(&[
        "prompt",
        "convert",
        input.to_str().expect("utf-8 path"),
        output.to_str().expect("utf-8 path"),
        "--law",
        "alaw",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = prompt::probe_file(&output).expect("probe output");
    assert_eq!(info.encoding, SourceEncoding::Alaw);
    assert_eq!(
        (info.channels, info.sample_rate, info.frames),
        (1, 8000, Some(4000))
    );
    if sox_available() {
        assert_eq!(sox_field("-e", &output), "A-law");
        assert_eq!(sox_field("-r", &output), "8000");
    }
}

#[test]
fn info_prints_format_and_planned_conversion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.wav");
    let t = tone(1000.0, 0.5, 44100, 1.0);
    write_pcm16(&input, 44100, &[t.clone(), t]);
    let out = vxgate(&["prompt", "info", input.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "container:   wav",
        "encoding:    pcm integer",
        "channels:    2",
        "sample rate: 44100 Hz",
        "bits:        16",
        "duration:    1.000 s (44100 samples per channel)",
        "converts to: 8000 Hz mono u-law wav (decode, downmix 2 channels, resample 44100 -> 8000 Hz, encode)",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn convert_of_a_bad_file_fails_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("notes.wav");
    let output = dir.path().join("out.wav");
    std::fs::write(&input, b"this is not audio\n").expect("write");
    let out = vxgate(&[
        "prompt",
        "convert",
        input.to_str().expect("utf-8 path"),
        output.to_str().expect("utf-8 path"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(
        err.contains("notes.wav: not an audio file"),
        "stderr: {err}"
    );
    assert!(!output.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        1,
        "no temporary file left behind"
    );
}

/// A 1 kHz tone at 44.1 kHz comes out at 1 kHz and full level; a 6 kHz tone (above the 4 kHz Nyquist frequency of
/// the output) is removed instead of folding back to 2 kHz.
#[test]
fn resampling_keeps_the_band_and_rejects_above_nyquist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let load = |freq: f64, name: &str| {
        let path = dir.path().join(name);
        write_pcm16(&path, 44100, &[tone(freq, 0.5, 44100, 1.0)]);
        let p = prompt::load_file(&path, Law::Ulaw).expect("load tone");
        assert_eq!(p.samples(), 8000, "{freq} Hz: length");
        linear(&p)
    };

    let x = load(1000.0, "1k.wav");
    let mid = middle(&x);
    let peak = (10..=395)
        .map(|k| f64::from(k) * 10.0)
        .max_by(|&a, &b| amplitude_at(mid, a).total_cmp(&amplitude_at(mid, b)))
        .expect("non-empty scan");
    assert_eq!(peak, 1000.0, "strongest component");
    let level = db(amplitude_at(mid, 1000.0) / 0.5);
    assert!(level.abs() < 0.2, "1 kHz level {level:.2} dB");

    // The top of the telephone band passes.
    let x = load(3400.0, "3k4.wav");
    let level = db(amplitude_at(middle(&x), 3400.0) / 0.5);
    assert!(level.abs() < 1.0, "3.4 kHz level {level:.2} dB");

    // 6 kHz would alias to 8 - 6 = 2 kHz.
    let x = load(6000.0, "6k.wav");
    let total = db(rms(middle(&x)) / (0.5 / 2f64.sqrt()));
    let alias = db(amplitude_at(middle(&x), 2000.0) / 0.5);
    eprintln!("6 kHz tone: output energy {total:.1} dB, 2 kHz alias {alias:.1} dB");
    assert!(total < -50.0, "6 kHz output energy {total:.1} dB");
    assert!(alias < -60.0, "2 kHz alias {alias:.1} dB");
}

#[test]
fn every_pcm_depth_and_float_give_the_same_prompt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let signal = tone(800.0, 0.4, 16000, 0.5);
    let mut outputs = Vec::new();
    for (bits, format) in [
        (8, hound::SampleFormat::Int),
        (16, hound::SampleFormat::Int),
        (24, hound::SampleFormat::Int),
        (32, hound::SampleFormat::Int),
        (32, hound::SampleFormat::Float),
    ] {
        let path = dir.path().join(format!("{bits}-{format:?}.wav"));
        let spec = hound::WavSpec {
            channels: 3,
            sample_rate: 16000,
            bits_per_sample: bits,
            sample_format: format,
        };
        let mut w = hound::WavWriter::create(&path, spec).expect("create");
        for &s in &signal {
            for _ in 0..3 {
                match format {
                    hound::SampleFormat::Float => w.write_sample(s as f32),
                    hound::SampleFormat::Int => {
                        let full = f64::from(1u32 << (bits - 1)) - 1.0;
                        w.write_sample((s * full).round() as i32)
                    }
                }
                .expect("write");
            }
        }
        w.finalize().expect("finalize");
        let p = prompt::load_file(&path, Law::Alaw).expect("load");
        assert_eq!(p.samples(), 4000, "{bits}-bit {format:?}");
        outputs.push((bits, format, linear(&p)));
    }
    let (_, _, reference) = &outputs[3];
    for (bits, format, x) in &outputs {
        let a = amplitude_at(middle(x), 800.0);
        assert!(
            (a - 0.4).abs() < 0.01,
            "{bits}-bit {format:?}: amplitude {a}"
        );
        let diff = rms(&x
            .iter()
            .zip(reference)
            .map(|(a, b)| a - b)
            .collect::<Vec<_>>());
        // 8-bit source quantisation is about -48 dB; the others only differ by G.711 rounding.
        let limit = if *bits == 8 { 0.01 } else { 0.002 };
        assert!(diff < limit, "{bits}-bit {format:?}: rms difference {diff}");
    }
}

#[test]
fn load_bytes_and_load_file_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.wav");
    write_pcm16(&path, 11025, &[tone(500.0, 0.5, 11025, 0.3)]);
    let bytes = std::fs::read(&path).expect("read");
    let a = prompt::load_file(&path, Law::Ulaw).expect("file");
    let b = prompt::load_bytes(&bytes, "http://127.0.0.1/a.wav", Law::Ulaw).expect("bytes");
    assert_eq!(a.data(), b.data());
    assert_eq!(b.source(), "http://127.0.0.1/a.wav");
}

#[test]
fn cache_shares_one_copy_and_notices_a_changed_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hold.wav");
    write_pcm16(&path, 8000, &[tone(400.0, 0.5, 8000, 0.5)]);
    let cache = Arc::new(PromptCache::new());

    let threads: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            let path = path.clone();
            std::thread::spawn(move || cache.get_or_load_file(&path, Law::Ulaw).expect("load"))
        })
        .collect();
    let prompts: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    for p in &prompts {
        assert!(Arc::ptr_eq(p.data(), prompts[0].data()), "one shared copy");
    }
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.bytes(), 4000);

    // Another law is another entry; the same law is a hit.
    let a = cache.get_or_load_file(&path, Law::Alaw).expect("alaw");
    assert_eq!(a.law(), Law::Alaw);
    assert_eq!(cache.len(), 2);
    let again = cache.get_or_load_file(&path, Law::Ulaw).expect("hit");
    assert!(Arc::ptr_eq(again.data(), prompts[0].data()));

    // A new version of the file (different size) replaces the old entry.
    write_pcm16(&path, 8000, &[tone(400.0, 0.5, 8000, 0.25)]);
    let newer = cache.get_or_load_file(&path, Law::Ulaw).expect("reload");
    assert_eq!(newer.samples(), 2000);
    assert_eq!(cache.len(), 2, "old u-law version dropped");

    // URL keys carry HTTP validators.
    let key = CacheKey::for_url(
        "http://127.0.0.1/hold.wav",
        Some("\"v1\"".into()),
        None,
        Law::Ulaw,
    );
    cache.insert(key.clone(), newer.clone());
    assert!(cache
        .get(&key)
        .is_some_and(|p| Arc::ptr_eq(p.data(), newer.data())));
    let v2 = CacheKey::for_url(
        "http://127.0.0.1/hold.wav",
        Some("\"v2\"".into()),
        None,
        Law::Ulaw,
    );
    assert!(cache.get(&v2).is_none());
    cache.insert(v2.clone(), newer);
    assert!(cache.get(&key).is_none(), "v1 replaced by v2");

    // Errors name the file and are not cached.
    let missing = dir.path().join("missing.wav");
    let err = cache
        .get_or_load_file(&missing, Law::Ulaw)
        .expect_err("missing file");
    assert!(err.to_string().contains("missing.wav"), "{err}");
    assert!(matches!(err.kind, PromptErrorKind::Io(_)));
}

#[test]
fn global_cache_is_one_instance() {
    assert!(std::ptr::eq(PromptCache::global(), PromptCache::global()));
}

/// FLAC, MP3 and Ogg Vorbis made by sox (skipped without sox or its format handlers).
#[test]
fn compressed_formats_decode_through_symphonia() {
    if !sox_available() {
        eprintln!("sox not on PATH: skipping compressed formats");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let src: PathBuf = dir.path().join("src.wav");
    write_pcm16(
        &src,
        48000,
        &[tone(1000.0, 0.5, 48000, 1.0), tone(1000.0, 0.5, 48000, 1.0)],
    );
    for (ext, container, codec) in [
        ("flac", Container::Flac, "flac"),
        ("ogg", Container::Ogg, "vorbis"),
        ("mp3", Container::Mp3, "mp3"),
    ] {
        let file = dir.path().join(format!("t.{ext}"));
        let made = Command::new("sox")
            .arg(&src)
            .arg(&file)
            .output()
            .expect("run sox");
        if !made.status.success() {
            eprintln!(
                "sox cannot write {ext}: skipping ({})",
                String::from_utf8_lossy(&made.stderr).trim()
            );
            continue;
        }
        let info = prompt::probe_file(&file).expect("probe");
        assert_eq!(info.container, container);
        assert_eq!(info.encoding, SourceEncoding::Codec(codec.into()));
        assert_eq!((info.channels, info.sample_rate), (2, 48000), "{ext}");
        let p = prompt::load_file(&file, Law::Ulaw).expect("load");
        // Lossy codecs add encoder delay/padding: allow 100 ms.
        assert!(
            (7900..=8800).contains(&p.samples()),
            "{ext}: {} samples",
            p.samples()
        );
        let x = linear(&p);
        let a = amplitude_at(middle(&x), 1000.0);
        assert!((a - 0.5).abs() < 0.05, "{ext}: 1 kHz amplitude {a}");
    }
}
