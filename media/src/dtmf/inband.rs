//! In-band DTMF detection: tone pairs found in decoded 8 kHz audio, for peers that send no telephone-events.
//!
//! Method. The audio is cut into 5 ms sub-blocks (40 samples). For each sub-block we keep its energy and its
//! partial DFT at the eight DTMF frequencies and their second harmonics, phase-referenced to the absolute sample
//! index (a Goertzel-style single-bin DFT). Four sub-blocks make a 20 ms analysis window (50 Hz bins), stepped every
//! 5 ms. A window *hits* a digit when, for the strongest tone of each group:
//! - frequency: the phase advance between consecutive windows measures the tone's true frequency; it must lie within
//!   ±2.5 % of the nominal one (ITU-T Q.24: accept ±1.5 %, reject beyond ±3.5 %);
//! - level: each tone above [`InbandConfig::min_amplitude`];
//! - twist: the low tone at most `normal_twist_db` (8 dB) above the high one — lines lose more at high frequencies —
//!   and the high tone at most `reverse_twist_db` (4 dB) above the low one (the usual +4/-8 dB receiver limits),
//!   judged on the amplitudes averaged over the tone's hits (a window only has to lie within 3 dB more);
//! - purity: the two tones hold at least `energy_fraction` of the window's energy (speech and music spread theirs),
//!   each is 6 dB above the other tones of its group, and neither has a second harmonic above `harmonic_db` below
//!   it (voice and instruments have harmonics; DTMF tones are pure);
//! - steadiness: both frequencies stay within 0.6 % (at least 6 Hz) from the second hit (the first straddles the
//!   onset) to the report, so a sweep or glissando crossing a key's pair is not a digit.
//!
//! Timing (Q.24): the tone's extent is measured on the sub-blocks whose energy exceeds half the tone's, so a tone is
//! timed to about ±2.5 ms. A digit is reported once its tone has lasted `min_tone` (35 ms by default: 40 ms tones
//! are accepted, 30 ms ones rejected) with at least four hits; it ends after `min_pause` of low energy (interruptions
//! shorter than that are bridged) or when another digit takes over. The same key pressed twice needs that pause in
//! between to count twice.
//!
//! The detector is plain arithmetic on sample counts (sans-IO); the engine decides per call whether to run it.

use std::f64::consts::PI;
use std::time::Duration;

use super::Digit;

/// Low-group (row) frequencies in Hz (ITU-T Q.23).
pub const LOW_FREQS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies in Hz (ITU-T Q.23).
pub const HIGH_FREQS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

const RATE: f64 = 8000.0;
/// Samples per sub-block (5 ms).
const BLOCK: usize = 40;
/// Sub-blocks per analysis window (20 ms).
const WINDOW: usize = 4;
/// Sub-blocks of history kept (window + the previous window's first block + scan-back room).
const RING: usize = 10;
/// Analysed frequencies: 8 fundamentals then their 8 second harmonics.
const NFREQ: usize = 16;
/// How far beyond the twist limits a single window may measure and still count as a hit; the limits apply to the
/// tone's average twist. Wide enough that the average is not biased by keeping only the windows that measured
/// within the limits (1 dB or less let the chant of `speech_like_vowels_give_no_digits`, just beyond 8 dB, through).
const TWIST_GATE_SLACK_DB: f64 = 3.0;
/// Hits needed before a digit is reported: the onset hit, the steadiness reference, and two more so that the
/// reference and the latest hit lie 10 ms apart.
const MIN_HITS: u32 = 4;

/// Detector thresholds. The defaults follow ITU-T Q.24 and common practice.
#[derive(Debug, Clone)]
pub struct InbandConfig {
    /// Minimum amplitude of each tone, in 16-bit PCM units (default 300, about -40 dBFS per tone).
    pub min_amplitude: f64,
    /// Normal twist: how far the low-group tone may exceed the high-group one, in dB (default 8).
    pub normal_twist_db: f64,
    /// Reverse twist: how far the high-group tone may exceed the low-group one, in dB (default 4).
    pub reverse_twist_db: f64,
    /// Accepted relative frequency deviation (default 0.025, between Q.24's 1.5 % accept and 3.5 % reject).
    pub freq_tolerance: f64,
    /// Share of the window's energy the two tones must hold (default 0.75).
    pub energy_fraction: f64,
    /// How far below its fundamental a second harmonic must stay, in dB (default 15).
    pub harmonic_db: f64,
    /// Shortest tone reported (default 35 ms: Q.24's 40 ms accepted, 30 ms rejected; measured to 5 ms).
    pub min_tone: Duration,
    /// Shortest pause that ends a tone (default 25 ms; Q.24 requires a 40 ms pause to be seen).
    pub min_pause: Duration,
}

impl Default for InbandConfig {
    fn default() -> Self {
        InbandConfig {
            min_amplitude: 300.0,
            normal_twist_db: 8.0,
            reverse_twist_db: 4.0,
            freq_tolerance: 0.025,
            energy_fraction: 0.75,
            harmonic_db: 15.0,
            min_tone: Duration::from_millis(35),
            min_pause: Duration::from_millis(25),
        }
    }
}

/// The magnitude response of an `n`-sample rectangular-window DFT bin to a tone `dev_hz` away from it:
/// |sin(πδ) / (n sin(πδ/n))| with δ = dev_hz · n / 8000 (in bins).
fn rect_response(dev_hz: f64, n: f64) -> f64 {
    let delta = dev_hz * n / RATE;
    if delta.abs() < 1e-9 {
        return 1.0;
    }
    ((PI * delta).sin() / (n * (PI * delta / n).sin())).abs()
}

/// Whether the tone pair kept its frequencies between two hits: a DTMF tone is steady, a glissando or a sweep
/// passing through a key's pair is not (it drifts 5 to 10 Hz within the 10 ms between the reference hit and a
/// report). The margin, 0.6 % (at least 6 Hz), covers the scatter of the one-block phase-advance estimate: the
/// other tone of the pair leaks into each bin (941 + 1209 Hz lie 5.6 bins apart) and moves a tone's estimate by up to
/// ±5 Hz from window to window when it sits 1.5 % off nominal.
fn steady(a: (f64, f64), b: (f64, f64)) -> bool {
    let ok = |x: f64, y: f64| (x - y).abs() <= (0.006 * x).max(6.0);
    ok(a.0, b.0) && ok(a.1, b.1)
}

/// A complex number, just what the DFT needs.
#[derive(Debug, Clone, Copy, Default)]
struct C {
    re: f64,
    im: f64,
}

impl C {
    fn mul(self, o: C) -> C {
        C {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }
    fn add(self, o: C) -> C {
        C {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }
    fn conj(self) -> C {
        C {
            re: self.re,
            im: -self.im,
        }
    }
    fn norm2(self) -> f64 {
        self.re * self.re + self.im * self.im
    }
    fn arg(self) -> f64 {
        self.im.atan2(self.re)
    }
}

/// One finished sub-block.
#[derive(Debug, Clone, Copy, Default)]
struct Block {
    energy: f64,
    bins: [C; NFREQ],
}

/// A window's verdict.
#[derive(Debug, Clone, Copy)]
struct Hit {
    digit: Digit,
    /// Expected energy of a sub-block fully inside the tone.
    block_energy: f64,
    /// Measured (low, high) frequencies in Hz.
    freqs: (f64, f64),
    /// Measured (low, high) amplitudes.
    amps: (f64, f64),
}

/// The tone being followed.
#[derive(Debug)]
struct Tone {
    digit: Digit,
    /// Index of the first sub-block that may belong to the tone.
    first_block: u64,
    /// Energies of the sub-blocks from `first_block` on (kept until the digit is reported).
    energies: Vec<f64>,
    /// The largest expected sub-block energy seen in a hit.
    block_energy: f64,
    hits: u32,
    /// Frequencies measured by the reference hit (the second: the first one's window pair straddles the tone's
    /// onset and measures a frequency pulled towards nominal) and by the latest hit.
    first_freqs: (f64, f64),
    last_freqs: (f64, f64),
    /// Sums of the hits' (low, high) amplitudes: the tone's twist, free of the window-to-window scatter.
    amp_sums: (f64, f64),
    last_hit: u64,
    off_run: u32,
    reported: bool,
}

/// In-band DTMF detector for one 8 kHz audio stream.
#[derive(Debug)]
pub struct InbandDetector {
    cfg: InbandConfig,
    freqs: [f64; NFREQ],
    /// Goertzel coefficient 2·cos ω of each frequency.
    coefs: [f64; NFREQ],
    /// e^{-jω} of each frequency.
    w1: [C; NFREQ],
    /// e^{-jωL}: one block's rotation.
    w_block: [C; NFREQ],
    /// e^{-jω(n0+L-1)} for the current block starting at sample n0: turns a Goertzel result into a DFT term
    /// referenced to absolute sample 0.
    rot: [C; NFREQ],
    /// Goertzel state of the current block.
    s1: [f64; NFREQ],
    s2: [f64; NFREQ],
    /// Samples consumed so far.
    samples: u64,
    /// The sub-block being filled.
    acc: Block,
    /// Finished sub-blocks, newest at index `blocks % RING`.
    ring: [Block; RING],
    /// Finished sub-blocks so far.
    blocks: u64,
    tone: Option<Tone>,
    /// First sub-block after the last tone (a new tone's extent never reaches back before it).
    free_from: u64,
    min_tone_blocks: usize,
    min_pause_blocks: u32,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDetector {
    /// A detector with the default (Q.24) thresholds.
    pub fn new() -> InbandDetector {
        Self::with_config(InbandConfig::default())
    }

    /// A detector with the given thresholds.
    pub fn with_config(cfg: InbandConfig) -> InbandDetector {
        let mut freqs = [0.0; NFREQ];
        for (i, f) in LOW_FREQS.iter().chain(HIGH_FREQS.iter()).enumerate() {
            freqs[i] = *f;
            freqs[i + 8] = 2.0 * f;
        }
        let cis = |turns: f64| C {
            re: (2.0 * PI * turns).cos(),
            im: -(2.0 * PI * turns).sin(),
        };
        let coefs = freqs.map(|f| 2.0 * (2.0 * PI * f / RATE).cos());
        let w1 = freqs.map(|f| cis(f / RATE));
        let w_block = freqs.map(|f| cis(f * BLOCK as f64 / RATE));
        let rot = freqs.map(|f| cis(f * (BLOCK - 1) as f64 / RATE));
        let block_ms = 1000.0 * BLOCK as f64 / RATE;
        let min_tone_blocks = (cfg.min_tone.as_secs_f64() * 1000.0 / block_ms)
            .round()
            .max(1.0) as usize;
        let min_pause_blocks = (cfg.min_pause.as_secs_f64() * 1000.0 / block_ms)
            .round()
            .max(1.0) as u32;
        let mut d = InbandDetector {
            cfg,
            freqs,
            coefs,
            w1,
            w_block,
            rot,
            s1: [0.0; NFREQ],
            s2: [0.0; NFREQ],
            samples: 0,
            acc: Block::default(),
            ring: [Block::default(); RING],
            blocks: 0,
            tone: None,
            free_from: 0,
            min_tone_blocks,
            min_pause_blocks,
        };
        d.start_block();
        d
    }

    /// Forgets the audio so far (sample indices restart at 0).
    pub fn reset(&mut self) {
        *self = Self::with_config(self.cfg.clone());
    }

    /// Samples consumed so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Feeds 8 kHz 16-bit PCM; returns each digit detected, with the sample index (counted from the first sample
    /// ever fed) where its tone started. A digit is returned once, about `min_tone` after its tone started.
    pub fn process(&mut self, pcm: &[i16]) -> Vec<(Digit, u64)> {
        let mut found = Vec::new();
        let mut rest = pcm;
        while !rest.is_empty() {
            let pos = (self.samples % BLOCK as u64) as usize;
            let (chunk, tail) = rest.split_at((BLOCK - pos).min(rest.len()));
            rest = tail;
            // Goertzel, one frequency at a time so its state stays in registers.
            for k in 0..NFREQ {
                let (c, mut a, mut b) = (self.coefs[k], self.s1[k], self.s2[k]);
                for &x in chunk {
                    let s0 = f64::from(x) + c * a - b;
                    b = a;
                    a = s0;
                }
                self.s1[k] = a;
                self.s2[k] = b;
            }
            self.acc.energy += chunk
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>();
            self.samples += chunk.len() as u64;
            if pos + chunk.len() == BLOCK {
                self.close_goertzel();
                self.finish_block(&mut found);
                self.start_block();
            }
        }
        found
    }

    /// Turns the Goertzel state into the block's DFT terms, referenced to absolute sample 0:
    /// s1 − e^{-jω}·s2 = Σ x\[n\] e^{jω(L−1−n)}, times e^{-jω(n0+L−1)}.
    fn close_goertzel(&mut self) {
        for k in 0..NFREQ {
            let y = C {
                re: self.s1[k] - self.w1[k].re * self.s2[k],
                im: -self.w1[k].im * self.s2[k],
            };
            self.acc.bins[k] = self.rot[k].mul(y);
            // Advance to the next block; renormalise so rounding never grows the magnitude.
            let r = self.rot[k].mul(self.w_block[k]);
            let m = r.norm2().sqrt();
            self.rot[k] = C {
                re: r.re / m,
                im: r.im / m,
            };
        }
    }

    fn start_block(&mut self) {
        self.s1 = [0.0; NFREQ];
        self.s2 = [0.0; NFREQ];
        self.acc = Block::default();
    }

    fn block(&self, index: u64) -> &Block {
        &self.ring[(index % RING as u64) as usize]
    }

    fn window(&self, last: u64) -> Block {
        let mut w = Block::default();
        for i in 0..WINDOW as u64 {
            let b = self.block(last - i);
            w.energy += b.energy;
            for k in 0..NFREQ {
                w.bins[k] = w.bins[k].add(b.bins[k]);
            }
        }
        w
    }

    fn finish_block(&mut self, found: &mut Vec<(Digit, u64)>) {
        let index = self.blocks;
        self.ring[(index % RING as u64) as usize] = self.acc;
        self.blocks += 1;
        let hit = if index >= WINDOW as u64 {
            let cur = self.window(index);
            let prev = self.window(index - 1);
            self.classify(&cur, &prev)
        } else {
            None
        };
        self.track(index, hit, found);
    }

    /// The window's digit, if it passes every test.
    fn classify(&self, w: &Block, prev: &Block) -> Option<Hit> {
        let n = (BLOCK * WINDOW) as f64;
        // Too quiet to hold two tones at the minimum level: the usual case, decided cheaply.
        if w.energy <= 0.0 || w.energy < n * self.cfg.min_amplitude * self.cfg.min_amplitude {
            return None;
        }
        let best = |range: std::ops::Range<usize>| -> Option<(usize, f64)> {
            let (mut k, mut p, mut second) = (range.start, -1.0f64, 0.0f64);
            for i in range {
                let q = w.bins[i].norm2();
                if q > p {
                    second = p.max(0.0);
                    (k, p) = (i, q);
                } else if q > second {
                    second = q;
                }
            }
            // 6 dB above the group's other tones.
            (p > 0.0 && p >= 4.0 * second).then_some((k, p))
        };
        let (lo, lo_p) = best(0..4)?;
        let (hi, hi_p) = best(4..8)?;
        // Per tone: bin, true frequency (Hz), amplitude (corrected for the window's loss off-centre).
        let mut tones = [(0usize, 0.0f64, 0.0f64); 2];
        for (slot, (k, p)) in [(lo, lo_p), (hi, hi_p)].into_iter().enumerate() {
            // True frequency from the phase advance over one sub-block (unambiguous to ±100 Hz).
            let dphi = w.bins[k].mul(prev.bins[k].conj()).arg();
            let dev_hz = dphi * RATE / (2.0 * PI * BLOCK as f64);
            if dev_hz.abs() > self.cfg.freq_tolerance * self.freqs[k] {
                return None;
            }
            let resp = rect_response(dev_hz, n);
            if resp < 0.1 {
                return None;
            }
            tones[slot] = (k, self.freqs[k] + dev_hz, 2.0 * p.sqrt() / n / resp);
        }
        // Second harmonics: what the bin at 2f holds beyond the other tone's leakage into it (2 × 852 Hz lies
        // 71 Hz from 1633 Hz) must stay `harmonic_db` below the fundamental.
        let limit = 10f64.powf(-self.cfg.harmonic_db / 20.0);
        for (me, other) in [(0, 1), (1, 0)] {
            let (k, _, a) = tones[me];
            let (_, f_other, a_other) = tones[other];
            let h = 2.0 * w.bins[k + 8].norm2().sqrt() / n;
            let leak = 1.1 * a_other * rect_response(f_other - 2.0 * self.freqs[k], n);
            if h - leak > limit * a {
                return None;
            }
        }
        let amps = [tones[0].2, tones[1].2];
        let [a_lo, a_hi] = amps;
        if a_lo < self.cfg.min_amplitude || a_hi < self.cfg.min_amplitude {
            return None;
        }
        let high_over_low_db = 20.0 * (a_hi / a_lo).log10();
        // A loose gate per window; the limits themselves apply to the tone's average (`track`).
        if high_over_low_db > self.cfg.reverse_twist_db + TWIST_GATE_SLACK_DB
            || -high_over_low_db > self.cfg.normal_twist_db + TWIST_GATE_SLACK_DB
        {
            return None;
        }
        let tone_energy = (a_lo * a_lo + a_hi * a_hi) * n / 2.0;
        if tone_energy < self.cfg.energy_fraction * w.energy {
            return None;
        }
        let digit = Digit::from_keypad(lo, hi - 4)?;
        Some(Hit {
            digit,
            block_energy: tone_energy / WINDOW as f64,
            freqs: (tones[0].1, tones[1].1),
            amps: (a_lo, a_hi),
        })
    }

    /// Follows tones from sub-block to sub-block; reports each digit once.
    fn track(&mut self, index: u64, hit: Option<Hit>, found: &mut Vec<(Digit, u64)>) {
        // A different digit takes over: the current tone ends here.
        if let (Some(t), Some(h)) = (&self.tone, hit) {
            if t.digit != h.digit {
                self.free_from = index + 1 - WINDOW as u64;
                self.tone = None;
            }
        }
        let e = self.block(index).energy;
        // The tone may have begun up to two windows back (the first windows over its onset fail the purity tests),
        // but not inside the previous tone.
        let back = (2 * WINDOW as u64).min(RING as u64 - 1);
        let first = index.saturating_sub(back).max(self.free_from);
        let ring = &self.ring;
        let history = || -> Vec<f64> {
            (first..=index)
                .map(|b| ring[(b % RING as u64) as usize].energy)
                .collect()
        };
        match (&mut self.tone, hit) {
            (None, None) => {}
            (None, Some(h)) => {
                let energies = history();
                self.tone = Some(Tone {
                    digit: h.digit,
                    first_block: first,
                    energies,
                    block_energy: h.block_energy,
                    hits: 1,
                    first_freqs: h.freqs,
                    last_freqs: h.freqs,
                    amp_sums: h.amps,
                    last_hit: index,
                    off_run: 0,
                    reported: false,
                });
            }
            (Some(t), h) => {
                if let Some(h) = h {
                    t.hits += 1;
                    if t.hits == 2 {
                        // The first hit's `prev` window held only part of the tone: its phase advance is off by
                        // twice the missing share times the tone's offset, several Hz for a tone 1.5 % off nominal
                        // (Q.24 requires those accepted). The second hit is the reference.
                        t.first_freqs = h.freqs;
                    }
                    t.last_freqs = h.freqs;
                    t.amp_sums = (t.amp_sums.0 + h.amps.0, t.amp_sums.1 + h.amps.1);
                    t.last_hit = index;
                    t.block_energy = t.block_energy.max(h.block_energy);
                }
                if !t.reported {
                    t.energies.push(e);
                }
                if e > 0.5 * t.block_energy {
                    t.off_run = 0;
                } else {
                    t.off_run += 1;
                }
                // Ended by a pause, or by something that is not this tone for two windows.
                if t.off_run >= self.min_pause_blocks || index > t.last_hit + 2 * WINDOW as u64 {
                    self.free_from = index + 1;
                    self.tone = None;
                    return;
                }
            }
        }
        let min_tone = self.min_tone_blocks;
        if let Some(t) = self.tone.as_mut() {
            // Twist on the amplitudes summed over the hits: one window's estimate scatters by about ±1 dB (the other
            // tone leaks into each bin), so a per-window limit let a tone 1 dB beyond it through on a lucky window
            // and lost one at the limit on an unlucky one.
            let twist_db = 20.0 * (t.amp_sums.1 / t.amp_sums.0).log10();
            let twist_ok =
                twist_db <= self.cfg.reverse_twist_db && -twist_db <= self.cfg.normal_twist_db;
            if !t.reported && t.hits >= MIN_HITS && twist_ok && steady(t.first_freqs, t.last_freqs)
            {
                // The tone's extent: sub-blocks above half its energy, up to one past the last hit window.
                let limit = ((t.last_hit + 1 - t.first_block) as usize + 1).min(t.energies.len());
                let on: Vec<usize> = (0..limit)
                    .filter(|&i| t.energies.get(i).is_some_and(|&e| e > 0.5 * t.block_energy))
                    .collect();
                if on.len() >= min_tone {
                    let first_on = on.first().copied().unwrap_or(0); // on is non-empty: len >= min_tone >= 1
                    let block = t.first_block + first_on as u64;
                    // Refine the onset inside its sub-block by the share of the tone's energy it holds.
                    let cover = (t.energies.get(first_on).copied().unwrap_or(0.0) / t.block_energy)
                        .clamp(0.0, 1.0);
                    let start =
                        block * BLOCK as u64 + ((1.0 - cover) * BLOCK as f64).round() as u64;
                    found.push((t.digit, start));
                    t.reported = true;
                    t.energies = Vec::new();
                    tracing::debug!(digit = %t.digit, start, "in-band dtmf digit");
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "inband_tests.rs"]
mod tests;
