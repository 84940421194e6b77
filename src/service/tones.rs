//! The gateway's local media ("flash:" files on IOS): ringback, the error tone, critical_error and hold music.
//!
//! A fresh install needs no audio files: each is synthesized at start (tones by their telephony definitions) and
//! encoded to G.711 once. A file of the same name in the configured media folder replaces the built-in one; the
//! built-ins are also written there as WAV when the folder is given and the file is missing, so operators can see and
//! replace them.

use std::collections::HashMap;
use std::f64::consts::TAU;
use std::path::Path;
use std::sync::Arc;

use tracing::{info, warn};
use vxgate_media::g711::{self, Law};
use vxgate_media::prompt::{self, Prompt};

/// Sample rate of everything here.
const RATE: f64 = 8000.0;

/// `ringback.wav`: North American audible ringing, 440 + 480 Hz, 2 s on / 4 s off (one 6 s cycle; ANSI T1.401).
pub const RINGBACK: &str = "ringback.wav";
/// `errortone.wav`: reorder (fast busy), 480 + 620 Hz, 0.25 s on / 0.25 s off, 3 s.
pub const ERROR_TONE: &str = "errortone.wav";
/// `critical_error.wav`: the special information tone (ITU-T E.180 SIT: 950 / 1400 / 1800 Hz, 330 ms each), then
/// 1 s of silence.
pub const CRITICAL_ERROR: &str = "critical_error.wav";
/// `callback_later.wav`: the survivability service's "call back later" announcement when no call server answers:
/// the E.180 SIT twice (a recorded message in the media folder replaces it).
pub const CALLBACK_LATER: &str = "callback_later.wav";
/// `holdmusic.wav`: a gentle 8 s arpeggio, looped while a caller waits in queue.
pub const HOLD_MUSIC: &str = "holdmusic.wav";

/// One segment of a tone plan: frequencies (Hz) played together for `ms` milliseconds (none = silence).
struct Segment(&'static [f64], u32);

fn synth(plan: &[Segment], amplitude: f64) -> Vec<i16> {
    let mut out = Vec::new();
    for Segment(freqs, ms) in plan {
        let n = (*ms as f64 * RATE / 1000.0) as usize;
        // 5 ms raised-cosine ramps keep the segment edges click-free.
        let ramp = (0.005 * RATE) as usize;
        for i in 0..n {
            let t = i as f64 / RATE;
            let env = if i < ramp {
                0.5 - 0.5 * (std::f64::consts::PI * i as f64 / ramp as f64).cos()
            } else if n - i < ramp {
                0.5 - 0.5 * (std::f64::consts::PI * (n - i) as f64 / ramp as f64).cos()
            } else {
                1.0
            };
            let v: f64 = freqs.iter().map(|f| (TAU * f * t).sin()).sum();
            out.push((v * amplitude * env).round().clamp(-32768.0, 32767.0) as i16);
        }
    }
    out
}

/// The linear PCM (8 kHz) of a built-in, by file name.
pub fn builtin_pcm(name: &str) -> Option<Vec<i16>> {
    const NOTES: [f64; 8] = [261.63, 329.63, 392.0, 523.25, 392.0, 329.63, 293.66, 349.23];
    Some(match name {
        RINGBACK => synth(
            &[Segment(&[440.0, 480.0], 2000), Segment(&[], 4000)],
            3000.0,
        ),
        ERROR_TONE => {
            let plan: Vec<Segment> = (0..6)
                .flat_map(|_| [Segment(&[480.0, 620.0], 250), Segment(&[], 250)])
                .collect();
            synth(&plan, 3000.0)
        }
        CRITICAL_ERROR => synth(
            &[
                Segment(&[950.0], 330),
                Segment(&[1400.0], 330),
                Segment(&[1800.0], 330),
                Segment(&[], 1000),
            ],
            5000.0,
        ),
        CALLBACK_LATER => {
            let sit = [
                Segment(&[950.0], 330),
                Segment(&[1400.0], 330),
                Segment(&[1800.0], 330),
                Segment(&[], 500),
            ];
            let mut pcm = synth(&sit, 5000.0);
            pcm.extend(synth(&sit, 5000.0));
            pcm
        }
        HOLD_MUSIC => {
            let mut pcm = Vec::new();
            for f in NOTES {
                // Each note 1 s: a fifth above at half level makes it less beep-like.
                let n = RATE as usize;
                for i in 0..n {
                    let t = i as f64 / RATE;
                    let decay = (-2.5 * t).exp();
                    let v = (TAU * f * t).sin() + 0.5 * (TAU * f * 1.5 * t).sin();
                    pcm.push((v * 4000.0 * decay) as i16);
                }
            }
            pcm
        }
        _ => return None,
    })
}

/// Every built-in name.
pub const BUILTINS: [&str; 5] = [
    RINGBACK,
    ERROR_TONE,
    CRITICAL_ERROR,
    CALLBACK_LATER,
    HOLD_MUSIC,
];

/// The local media, in both laws, shared by every call.
#[derive(Debug, Clone, Default)]
pub struct LocalMedia {
    prompts: HashMap<(String, Law), Prompt>,
}

impl LocalMedia {
    /// Loads (or synthesizes) every local prompt. `dir` files override the built-ins; missing built-ins are written
    /// there as µ-law WAV when `dir` is given.
    pub fn load(dir: Option<&Path>) -> LocalMedia {
        let mut prompts = HashMap::new();
        for name in BUILTINS {
            for law in [Law::Ulaw, Law::Alaw] {
                let from_file = dir.map(|d| d.join(name)).filter(|p| p.is_file()).and_then(|p| {
                    prompt::load_file(&p, law)
                        .map_err(|e| warn!(file = %p.display(), error = %e, "local media unreadable; using built-in"))
                        .ok()
                });
                let prompt = match from_file {
                    Some(p) => p,
                    None => {
                        // Built-in names always have a plan (BUILTINS is the list of them).
                        let pcm = builtin_pcm(name).unwrap_or_default();
                        let mut codes = vec![0u8; pcm.len()];
                        // Same length by construction.
                        g711::encode(law, &pcm, &mut codes).ok();
                        Prompt::from_g711(law, Arc::from(codes), format!("flash:{name}"))
                    }
                };
                prompts.insert((name.to_string(), law), prompt);
            }
            if let Some(d) = dir {
                let path = d.join(name);
                if !path.exists() {
                    if let Some(p) = prompts.get(&(name.to_string(), Law::Ulaw)) {
                        let written = std::fs::create_dir_all(d)
                            .and_then(|_| std::fs::File::create(&path))
                            .and_then(|f| prompt::write_wav(p, std::io::BufWriter::new(f)));
                        match written {
                            Ok(()) => info!(file = %path.display(), "wrote built-in local media"),
                            Err(e) => {
                                warn!(file = %path.display(), error = %e, "cannot write built-in local media")
                            }
                        }
                    }
                }
            }
        }
        LocalMedia { prompts }
    }

    /// The prompt `name` (e.g. `ringback.wav`, also accepted as `flash:ringback.wav`) in `law`.
    pub fn get(&self, name: &str, law: Law) -> Option<Prompt> {
        let name = name.strip_prefix("flash:").unwrap_or(name);
        self.prompts.get(&(name.to_string(), law)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_have_their_durations() {
        let secs = |name| builtin_pcm(name).map(|p| p.len() as f64 / RATE);
        assert_eq!(secs(RINGBACK), Some(6.0));
        assert_eq!(secs(ERROR_TONE), Some(3.0));
        assert!((secs(CRITICAL_ERROR).unwrap_or(0.0) - 1.99).abs() < 0.01);
        assert_eq!(secs(HOLD_MUSIC), Some(8.0));
        assert_eq!(builtin_pcm("nope.wav"), None);
    }

    #[test]
    fn ringback_is_on_then_silent() {
        let pcm = builtin_pcm(RINGBACK).unwrap_or_default();
        let energy = |a: usize, b: usize| {
            pcm[a..b].iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / (b - a) as f64
        };
        assert!(energy(1000, 15000) > 1e6);
        assert_eq!(energy(17000, 47000), 0.0);
    }

    #[test]
    fn folder_files_override_and_builtins_are_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let media = LocalMedia::load(Some(dir.path()));
        assert!(dir.path().join(RINGBACK).is_file());
        let p = media.get("flash:ringback.wav", Law::Alaw).expect("present");
        assert_eq!(p.samples(), 48000);
        // A second load reads the written file back: same audio.
        let again = LocalMedia::load(Some(dir.path()));
        assert_eq!(
            again.get(RINGBACK, Law::Ulaw).map(|p| p.samples()),
            Some(48000)
        );
    }
}
