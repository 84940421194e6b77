//! Per-call prompt queue: pre-encoded frames paced out as RTP payloads, barge-in, PromptDone.
//!
//! A call's playout is a queue of shared [`Prompt`]s (the same `Arc` bytes for every caller hearing them). Each
//! ptime the media engine asks for one frame; the playout copies it out of the prompt — transcoding µ-law ↔ A-law
//! on the way when the call's codec differs from the cached prompt's — and puts a configurable stretch of silence
//! between prompts. When the queue runs dry, or a DTMF digit barges in, or the call stops it, a
//! [`PlayoutEvent::PromptDone`] says how much was played. Sans-IO: no clock; time is counted in samples.

use std::collections::VecDeque;
use std::time::Duration;

use crate::g711::{self, Law};
use crate::prompt::Prompt;

/// Samples per second of G.711 and of every prompt.
const RATE: u64 = 8000;

/// Playout settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayoutConfig {
    /// Silence inserted between two queued prompts.
    pub gap: Duration,
}

impl Default for PlayoutConfig {
    fn default() -> Self {
        PlayoutConfig {
            gap: Duration::from_millis(100),
        }
    }
}

/// What the playout reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayoutEvent {
    /// The queue ended: `played` is the audio time sent since it started (prompts and the silence between them);
    /// `interrupted` when barge-in or a stop cut it short.
    PromptDone {
        /// Time played.
        played: Duration,
        /// Cut short by barge-in or stop.
        interrupted: bool,
    },
}

/// What [`Playout::fill`] put in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Prompt audio (possibly with silence where a prompt ended or between prompts).
    Audio,
    /// Nothing is playing; the frame holds silence of the call's law.
    Idle,
}

#[derive(Debug)]
struct Queued {
    prompt: Prompt,
    barge_in: bool,
}

#[derive(Debug)]
struct Cursor {
    prompt: Prompt,
    barge_in: bool,
    offset: usize,
}

/// The prompt queue of one call.
#[derive(Debug)]
pub struct Playout {
    law: Law,
    gap_samples: u64,
    queue: VecDeque<Queued>,
    current: Option<Cursor>,
    gap_left: u64,
    active: bool,
    played: u64,
    event: Option<PlayoutEvent>,
}

impl Playout {
    /// An idle playout for a call whose RTP carries `law`.
    pub fn new(law: Law, cfg: PlayoutConfig) -> Playout {
        Playout {
            law,
            gap_samples: (cfg.gap.as_nanos() * u128::from(RATE) / 1_000_000_000) as u64,
            queue: VecDeque::new(),
            current: None,
            gap_left: 0,
            active: false,
            played: 0,
            event: None,
        }
    }

    /// The law frames are produced in.
    pub fn law(&self) -> Law {
        self.law
    }

    /// Changes the call's law (re-negotiation); queued prompts are transcoded as they play.
    pub fn set_law(&mut self, law: Law) {
        self.law = law;
    }

    /// Appends prompts to the queue. With `barge_in`, the first DTMF digit while one of them plays stops the
    /// whole queue.
    pub fn play(&mut self, prompts: impl IntoIterator<Item = Prompt>, barge_in: bool) {
        let before = self.queue.len();
        self.queue.extend(
            prompts
                .into_iter()
                .filter(|p| p.samples() > 0)
                .map(|prompt| Queued { prompt, barge_in }),
        );
        if self.queue.len() > before && !self.active {
            self.active = true;
            self.played = 0;
        }
    }

    /// Something is queued or playing.
    pub fn is_playing(&self) -> bool {
        self.active
    }

    /// Stops and empties the queue; reports `PromptDone { interrupted: true }` if anything was playing.
    pub fn stop(&mut self) {
        if self.active {
            self.finish(true);
        }
    }

    /// A DTMF digit arrived: if the prompt playing now (or, between prompts, the next one) allows barge-in, the
    /// queue stops. Returns whether it did.
    pub fn dtmf(&mut self) -> bool {
        let bargeable = match &self.current {
            Some(c) => c.barge_in,
            None => self.active && self.queue.front().is_some_and(|q| q.barge_in),
        };
        if bargeable {
            self.finish(true);
        }
        bargeable
    }

    /// The pending event, if any.
    pub fn poll_event(&mut self) -> Option<PlayoutEvent> {
        self.event.take()
    }

    fn finish(&mut self, interrupted: bool) {
        self.queue.clear();
        self.current = None;
        self.gap_left = 0;
        self.active = false;
        self.event = Some(PlayoutEvent::PromptDone {
            played: Duration::from_nanos(self.played * (1_000_000_000 / RATE)),
            interrupted,
        });
    }

    /// Fills `out` (one frame: as many samples as bytes) with the next audio of the queue in the call's law.
    /// Allocates nothing.
    pub fn fill(&mut self, out: &mut [u8]) -> Fill {
        let silence = self.law.silence();
        if !self.active {
            out.fill(silence);
            return Fill::Idle;
        }
        let mut pos = 0;
        while pos < out.len() {
            if self.gap_left > 0 {
                let n = (self.gap_left as usize).min(out.len() - pos);
                out[pos..pos + n].fill(silence);
                self.gap_left -= n as u64;
                pos += n;
                continue;
            }
            if let Some(cur) = self.current.as_mut() {
                let data = cur.prompt.data();
                let n = (data.len() - cur.offset).min(out.len() - pos);
                let src = &data[cur.offset..cur.offset + n];
                let dst = &mut out[pos..pos + n];
                if cur.prompt.law() == self.law {
                    dst.copy_from_slice(src);
                } else if g711::transcode(cur.prompt.law(), self.law, src, dst).is_err() {
                    // Both slices have n bytes; cannot happen, but silence beats garbage.
                    dst.fill(silence);
                }
                cur.offset += n;
                pos += n;
                if cur.offset >= data.len() {
                    self.current = None;
                    if !self.queue.is_empty() {
                        self.gap_left = self.gap_samples;
                    }
                }
                continue;
            }
            match self.queue.pop_front() {
                Some(q) => {
                    self.current = Some(Cursor {
                        prompt: q.prompt,
                        barge_in: q.barge_in,
                        offset: 0,
                    })
                }
                None => break,
            }
        }
        self.played += pos as u64;
        out[pos..].fill(silence);
        if self.current.is_none() && self.queue.is_empty() && self.gap_left == 0 {
            self.finish(false);
        }
        Fill::Audio
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn prompt(law: Law, bytes: Vec<u8>) -> Prompt {
        Prompt::from_g711(law, Arc::from(bytes), "test")
    }

    fn ramp(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn frames_with_silence_between_prompts_and_done() {
        let mut p = Playout::new(
            Law::Ulaw,
            PlayoutConfig {
                gap: Duration::from_millis(10),
            },
        );
        p.play(
            [
                prompt(Law::Ulaw, ramp(200)),
                prompt(Law::Ulaw, vec![7; 100]),
            ],
            false,
        );
        let mut frame = [0u8; 160];
        let mut all = Vec::new();
        while p.is_playing() {
            assert_eq!(p.fill(&mut frame), Fill::Audio);
            all.extend_from_slice(&frame);
        }
        // 200 + 80 silence + 100 = 380 samples: three frames, the last padded with silence
        assert_eq!(all.len(), 480);
        assert_eq!(&all[..200], &ramp(200)[..]);
        assert!(all[200..280].iter().all(|&b| b == 0xff));
        assert!(all[280..380].iter().all(|&b| b == 7));
        assert!(all[380..].iter().all(|&b| b == 0xff));
        assert_eq!(
            p.poll_event(),
            Some(PlayoutEvent::PromptDone {
                played: Duration::from_micros(47_500),
                interrupted: false
            })
        );
        assert_eq!(p.fill(&mut frame), Fill::Idle);
        assert_eq!(p.poll_event(), None);
    }

    #[test]
    fn barge_in_stops_the_queue() {
        let mut p = Playout::new(Law::Alaw, PlayoutConfig::default());
        p.play(
            [prompt(Law::Alaw, ramp(8000)), prompt(Law::Alaw, ramp(8000))],
            true,
        );
        let mut frame = [0u8; 160];
        for _ in 0..10 {
            p.fill(&mut frame);
        }
        assert!(p.dtmf());
        assert_eq!(
            p.poll_event(),
            Some(PlayoutEvent::PromptDone {
                played: Duration::from_millis(200),
                interrupted: true
            })
        );
        assert!(!p.is_playing());
        assert_eq!(p.fill(&mut frame), Fill::Idle);
        assert!(frame.iter().all(|&b| b == 0xd5));
    }

    #[test]
    fn no_barge_in_keeps_playing() {
        let mut p = Playout::new(Law::Ulaw, PlayoutConfig::default());
        p.play([prompt(Law::Ulaw, ramp(800))], false);
        let mut frame = [0u8; 160];
        p.fill(&mut frame);
        assert!(!p.dtmf());
        assert!(p.is_playing());
        assert_eq!(p.poll_event(), None);
    }

    #[test]
    fn stop_reports_interrupted_and_idle_stop_reports_nothing() {
        let mut p = Playout::new(Law::Ulaw, PlayoutConfig::default());
        p.stop();
        assert_eq!(p.poll_event(), None);
        p.play([prompt(Law::Ulaw, ramp(800))], false);
        p.stop();
        assert_eq!(
            p.poll_event(),
            Some(PlayoutEvent::PromptDone {
                played: Duration::ZERO,
                interrupted: true
            })
        );
    }

    #[test]
    fn transcodes_when_the_call_law_differs() {
        let src = ramp(160);
        let mut p = Playout::new(Law::Alaw, PlayoutConfig::default());
        p.play([prompt(Law::Ulaw, src.clone())], false);
        let mut frame = [0u8; 160];
        p.fill(&mut frame);
        let mut want = [0u8; 160];
        g711::transcode(Law::Ulaw, Law::Alaw, &src, &mut want).unwrap();
        assert_eq!(frame, want);
        // µ-law silence 0xFF becomes A-law 0xD5
        let mut p = Playout::new(Law::Alaw, PlayoutConfig::default());
        p.play([prompt(Law::Ulaw, vec![0xff; 160])], false);
        p.fill(&mut frame);
        assert!(frame.iter().all(|&b| b == 0xd5));
    }

    #[test]
    fn empty_prompts_are_skipped() {
        let mut p = Playout::new(Law::Ulaw, PlayoutConfig::default());
        p.play([prompt(Law::Ulaw, vec![])], true);
        assert!(!p.is_playing());
    }
}
