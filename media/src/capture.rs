//! Capture for recording (VoiceXML `<record>`): the caller's RTP audio to a 16-bit PCM WAV.
//!
//! Incoming G.711 packets go through a small [`JitterBuffer`] (reordered by sequence number, duplicates dropped,
//! gaps filled with silence), are decoded to 16-bit PCM and appended to the recording. Recording stops at the
//! first of:
//! - `max_duration` of audio (VoiceXML `maxtime`); the recording is cut at exactly that length;
//! - `final_silence` of silence after speech was heard (`finalsilence`): an energy detector on 10 ms frames, or no
//!   packet at all for that long;
//! - no speech within `no_input_timeout` (`timeout`, reported as no input);
//! - a DTMF key, when `dtmf_term` is set (`dtmfterm`);
//! - the caller's [`Capture::stop`].
//!
//! Sans-IO: packets and `now` come from the media engine; [`Capture::next_timeout`] says when to call
//! [`Capture::poll_timeout`] (needed when packets stop arriving).

mod jitter;

use std::io::Cursor;
use std::time::{Duration, Instant};

use crate::dtmf::Digit;
use crate::g711::{self, Law};

pub use jitter::{JitterBuffer, Released, MAX_GAP};

/// Samples per second of the recording.
pub const RATE: u32 = 8000;
/// Samples per energy-detector frame (10 ms).
const FRAME: usize = 80;

/// What to record and when to stop.
#[derive(Debug, Clone)]
pub struct CaptureConfig {
    /// The G.711 law of the incoming audio.
    pub law: Law,
    /// Longest recording (VoiceXML `maxtime`).
    pub max_duration: Duration,
    /// Silence after speech that ends the recording (`finalsilence`).
    pub final_silence: Duration,
    /// How long to wait for speech before giving up (`timeout`); `None` waits until `max_duration`.
    pub no_input_timeout: Option<Duration>,
    /// Stop on a DTMF key (`dtmfterm`).
    pub dtmf_term: bool,
    /// A 10 ms frame whose RMS level is above this (dBFS) is speech; below, silence. Default -40 dBFS.
    pub speech_threshold_dbfs: f64,
    /// Packets held for reordering (default 4, 80 ms at 20 ms ptime).
    pub jitter_depth: usize,
}

impl CaptureConfig {
    /// Defaults for a law: 30 s max, 1.5 s final silence, 5 s no-input timeout, stop on DTMF, -40 dBFS, 4 packets.
    pub fn new(law: Law) -> CaptureConfig {
        CaptureConfig {
            law,
            max_duration: Duration::from_secs(30),
            final_silence: Duration::from_millis(1500),
            no_input_timeout: Some(Duration::from_secs(5)),
            dtmf_term: true,
            speech_threshold_dbfs: -40.0,
            jitter_depth: 4,
        }
    }
}

/// Why the recording stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `max_duration` reached (VoiceXML `maxtime` shadow variable true).
    MaxTime,
    /// Silence after speech.
    FinalSilence,
    /// No speech before the no-input timeout (VoiceXML `noinput`).
    NoInput,
    /// A DTMF key ended it (`termchar`).
    Dtmf(Digit),
    /// The caller stopped it (hangup, `<exit>`, ...).
    Stopped,
}

/// A finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// 8 kHz mono 16-bit samples.
    pub samples: Vec<i16>,
    /// Why it stopped.
    pub reason: StopReason,
    /// Whether speech was heard.
    pub heard_speech: bool,
    /// Packets dropped as duplicates.
    pub duplicates: u64,
    /// Packets dropped as too late to reorder.
    pub late: u64,
}

impl Recording {
    /// Length of the audio.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.samples.len() as u64 * 1_000_000_000 / u64::from(RATE))
    }

    /// The recording as a WAV file (PCM, 16-bit, 8 kHz, mono).
    pub fn to_wav(&self) -> Result<Vec<u8>, hound::Error> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut buf = Cursor::new(Vec::with_capacity(44 + 2 * self.samples.len()));
        {
            let mut w = hound::WavWriter::new(&mut buf, spec)?;
            let mut w16 = w.get_i16_writer(u32::try_from(self.samples.len()).unwrap_or(u32::MAX));
            for &s in &self.samples {
                w16.write_sample(s);
            }
            w16.flush()?;
            w.finalize()?;
        }
        Ok(buf.into_inner())
    }
}

/// One recording in progress.
#[derive(Debug)]
pub struct Capture {
    cfg: CaptureConfig,
    jitter: JitterBuffer,
    samples: Vec<i16>,
    max_samples: usize,
    started: Instant,
    last_packet: Instant,
    /// Samples of the current 10 ms frame already in `samples` but not yet judged.
    frame_from: usize,
    threshold_energy: f64,
    heard_speech: bool,
    /// Consecutive voiced frames (speech starts after 3, i.e. 30 ms).
    voiced_run: u32,
    /// Samples of silence since the last voiced frame.
    silence_run: usize,
    stopped: Option<StopReason>,
    decode_buf: Vec<i16>,
}

impl Capture {
    /// Starts a recording at `now`.
    pub fn new(now: Instant, cfg: CaptureConfig) -> Capture {
        let max_samples = (cfg.max_duration.as_nanos() * u128::from(RATE) / 1_000_000_000) as usize;
        // RMS above threshold ⇔ frame energy above FRAME · (32768 · 10^(dB/20))².
        let amp = 32768.0 * 10f64.powf(cfg.speech_threshold_dbfs / 20.0);
        let threshold_energy = FRAME as f64 * amp * amp;
        Capture {
            jitter: JitterBuffer::new(cfg.jitter_depth),
            samples: Vec::with_capacity(max_samples.min(RATE as usize * 60)),
            max_samples,
            started: now,
            last_packet: now,
            frame_from: 0,
            threshold_energy,
            heard_speech: false,
            voiced_run: 0,
            silence_run: 0,
            stopped: None,
            decode_buf: Vec::new(),
            cfg,
        }
    }

    /// Why it stopped, once it has.
    pub fn stopped(&self) -> Option<StopReason> {
        self.stopped
    }

    /// Samples recorded so far (released from the jitter buffer).
    pub fn samples(&self) -> usize {
        self.samples.len()
    }

    /// Handles one audio packet of the call's law (the caller routes telephone-events elsewhere). Returns the stop
    /// reason if this packet ended the recording.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        payload: &[u8],
    ) -> Option<StopReason> {
        if self.stopped.is_some() {
            return None;
        }
        self.last_packet = now;
        for r in self.jitter.push(seq, timestamp, payload) {
            self.append(&r);
            if self.stopped.is_some() {
                break;
            }
        }
        self.stopped
    }

    /// A DTMF key was pressed: ends the recording if `dtmf_term` is set.
    pub fn handle_dtmf(&mut self, digit: Digit) -> Option<StopReason> {
        if self.stopped.is_none() && self.cfg.dtmf_term {
            self.stopped = Some(StopReason::Dtmf(digit));
            return self.stopped;
        }
        None
    }

    /// Stops the recording now.
    pub fn stop(&mut self) {
        if self.stopped.is_none() {
            self.stopped = Some(StopReason::Stopped);
        }
    }

    /// When [`Self::poll_timeout`] should next be called.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.stopped.is_some() {
            return None;
        }
        let mut t = self.started + self.cfg.max_duration;
        if self.heard_speech {
            t = t.min(self.silence_deadline());
        } else if let Some(ni) = self.cfg.no_input_timeout {
            t = t.min(self.started + ni);
        }
        Some(t)
    }

    /// Ends the recording on the wall clock when the audio cannot (packets stopped arriving).
    pub fn poll_timeout(&mut self, now: Instant) -> Option<StopReason> {
        if self.stopped.is_some() {
            return None;
        }
        if self.heard_speech && now >= self.silence_deadline() {
            self.stopped = Some(StopReason::FinalSilence);
        } else if !self.heard_speech
            && self
                .cfg
                .no_input_timeout
                .is_some_and(|ni| now >= self.started + ni)
        {
            self.stopped = Some(StopReason::NoInput);
        } else if now >= self.started + self.cfg.max_duration {
            self.stopped = Some(StopReason::MaxTime);
        }
        self.stopped
    }

    /// When packets stopped coming after speech: the final silence is what the audio already held after the last
    /// voiced frame plus the time without packets, so the wait is shortened by the silence already heard (a caller
    /// who went quiet and then stopped sending, DTX, must not get the full `final_silence` twice).
    fn silence_deadline(&self) -> Instant {
        let heard = Duration::from_nanos(self.silence_run as u64 * 1_000_000_000 / u64::from(RATE));
        self.last_packet + self.cfg.final_silence.saturating_sub(heard)
    }

    /// Finishes: a recording stopped by the caller or by DTMF also gets the audio still in the jitter buffer.
    pub fn finish(mut self) -> Recording {
        if matches!(
            self.stopped,
            None | Some(StopReason::Stopped | StopReason::Dtmf(_))
        ) {
            let reason = self.stopped;
            self.stopped = None;
            for r in self.jitter.flush() {
                self.append(&r);
                if self.stopped.is_some() {
                    break;
                }
            }
            // Flushing may hit max time; otherwise keep the original reason.
            if self.stopped != Some(StopReason::MaxTime) {
                self.stopped = reason;
            }
        }
        Recording {
            samples: self.samples,
            reason: self.stopped.unwrap_or(StopReason::Stopped),
            heard_speech: self.heard_speech,
            duplicates: self.jitter.duplicates(),
            late: self.jitter.late(),
        }
    }

    fn append(&mut self, r: &Released) {
        let gap = r.gap as usize;
        self.samples.extend(std::iter::repeat_n(0i16, gap));
        self.decode_buf.resize(r.payload.len(), 0);
        // decode_buf was just sized to the payload: lengths match.
        let _ = g711::decode(self.cfg.law, &r.payload, &mut self.decode_buf);
        self.samples.extend_from_slice(&self.decode_buf);
        if self.samples.len() >= self.max_samples {
            self.samples.truncate(self.max_samples);
            self.judge_frames();
            self.stopped = Some(StopReason::MaxTime);
            return;
        }
        self.judge_frames();
    }

    /// Runs the energy detector on every complete 10 ms frame not yet judged.
    fn judge_frames(&mut self) {
        while self.frame_from + FRAME <= self.samples.len() {
            let frame = &self.samples[self.frame_from..self.frame_from + FRAME];
            let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            self.frame_from += FRAME;
            if energy > self.threshold_energy {
                self.voiced_run += 1;
                self.silence_run = 0;
                if self.voiced_run >= 3 {
                    self.heard_speech = true;
                }
            } else {
                self.voiced_run = 0;
                self.silence_run += FRAME;
            }
            if self.stopped.is_none() {
                let elapsed = Duration::from_nanos(self.frame_from as u64 * 125_000);
                let silence = Duration::from_nanos(self.silence_run as u64 * 125_000);
                if self.heard_speech && silence >= self.cfg.final_silence {
                    self.stopped = Some(StopReason::FinalSilence);
                } else if !self.heard_speech
                    && self.cfg.no_input_timeout.is_some_and(|ni| elapsed >= ni)
                {
                    self.stopped = Some(StopReason::NoInput);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "capture/tests.rs"]
mod tests;
