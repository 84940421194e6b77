//! Where the `<mark>`s of a call's prompt queue sit in its audio (VoiceXML 2.1 §4), so the gateway can report each
//! one to the interpreter ([`Input::Mark`]) as playout passes it.
//!
//! The media engine plays a FIFO queue of prompts and reports only the end of the whole queue
//! ([`vxgate_media::engine::MediaEvent::PromptDone`], with how much was played), so mark positions are worked out
//! here from the prompts' lengths: a mark after prompt `k` is reached when prompt `k`'s audio ends, counting the
//! engine's silence between two queued prompts ([`vxgate_media::playout::PlayoutConfig::gap`]). Text has no TTS on
//! this platform and contributes no audio, so a mark after skipped text is reached when the audio before it ends.
//! Marks are reported on the wall clock as their time comes, before any DTMF that arrives later (a barge-in after a
//! mark then reports that mark); when the queue is cut short, marks beyond what was played are never reported.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use vxgate_media::prompt::Prompt;
use vxgate_vxml::io::Input;
use vxgate_vxml::session::Session;

/// The marks of the prompts queued to one call's media engine, with their offsets into the queue's audio.
#[derive(Debug)]
pub(crate) struct MarkTracker {
    /// The engine's silence between two queued prompts.
    gap: Duration,
    /// When the queue started playing; `None` while nothing with marks is laid out.
    start: Option<Instant>,
    /// The end of the audio laid out so far, from `start`.
    end: Duration,
    /// Whether any audio is laid out yet (the gap comes only between two prompts).
    any_audio: bool,
    /// Marks not reported yet, in play order: offset from `start`, name.
    pending: VecDeque<(Duration, String)>,
    /// The interpreter stopped playback: the engine's next interrupted `PromptDone` is for the stopped queue.
    stopping: bool,
}

impl MarkTracker {
    /// A tracker for an engine that puts `gap` of silence between queued prompts.
    pub fn new(gap: Duration) -> MarkTracker {
        MarkTracker {
            gap,
            start: None,
            end: Duration::ZERO,
            any_audio: false,
            pending: VecDeque::new(),
            stopping: false,
        }
    }

    /// `prompts` were queued to the engine at `now`; `marks` are (number of those prompts before the mark, name),
    /// in play order. A queue already playing is appended to, as the engine does.
    pub fn queued(&mut self, now: Instant, prompts: &[Prompt], marks: Vec<(usize, String)>) {
        if self.start.is_none() {
            self.start = Some(now);
            self.end = Duration::ZERO;
            self.any_audio = false;
        }
        let mut marks = marks.into_iter().peekable();
        for (i, p) in prompts.iter().enumerate() {
            while let Some((_, name)) = marks.next_if(|(k, _)| *k <= i) {
                self.pending.push_back((self.end, name));
            }
            // The engine drops empty prompts: no audio, no gap.
            if p.samples() > 0 {
                if self.any_audio {
                    self.end = self.end.saturating_add(self.gap);
                }
                self.end = self.end.saturating_add(p.duration());
                self.any_audio = true;
            }
        }
        for (_, name) in marks {
            self.pending.push_back((self.end, name));
        }
    }

    /// When the next mark is reached, if one is pending.
    pub fn next_due(&self) -> Option<Instant> {
        let start = self.start?;
        let (at, _) = self.pending.front()?;
        // Offsets are bounded by the prompts' lengths (at most minutes); a far-future instant is never due.
        Some(
            start
                .checked_add(*at)
                .unwrap_or(start + Duration::from_secs(86_400)),
        )
    }

    /// The marks reached by `now`, in order (removed).
    pub fn due(&mut self, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        while self.next_due().is_some_and(|t| t <= now) {
            if let Some((_, name)) = self.pending.pop_front() {
                out.push(name);
            }
        }
        out
    }

    /// The interpreter stopped playback ([`vxgate_vxml::Output::StopPlay`]): marks not reached are dropped.
    pub fn stop(&mut self) {
        self.clear();
        self.stopping = true;
    }

    /// The engine's queue ended after `played` of audio: the marks reached and not reported yet (all of them when
    /// it played to its end, those within `played` when it was cut short). `None` when this is the late end of a
    /// queue the interpreter stopped while newer prompts were queued since: playback goes on with those, so it is
    /// no `PlayDone` either.
    pub fn done(&mut self, played: Duration, interrupted: bool) -> Option<Vec<String>> {
        if interrupted && std::mem::take(&mut self.stopping) {
            // The stopped queue's marks were dropped at the stop.
            return if self.start.is_some() {
                None
            } else {
                Some(Vec::new())
            };
        }
        self.stopping = false;
        let names = std::mem::take(&mut self.pending)
            .into_iter()
            .filter(|(at, _)| !interrupted || *at <= played)
            .map(|(_, name)| name)
            .collect();
        self.clear();
        Some(names)
    }

    /// Forgets everything queued (the caller is gone, or playback was stopped).
    pub fn clear(&mut self) {
        self.start = None;
        self.end = Duration::ZERO;
        self.any_audio = false;
        self.pending.clear();
    }
}

/// Tells `session` that playback passed each of `names`, at `now`.
pub(crate) fn report(session: &mut Session, now: Instant, names: Vec<String>) {
    for name in names {
        tracing::debug!(mark = %name, "prompt mark reached");
        session.handle_input(now, Input::Mark { name });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vxgate_media::g711::Law;

    use super::*;

    const GAP: Duration = Duration::from_millis(100);

    fn audio(ms: usize) -> Prompt {
        Prompt::from_g711(Law::Ulaw, Arc::from(vec![0xffu8; ms * 8]), "test")
    }

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn marks_are_reached_at_the_end_of_the_audio_before_them_with_the_gap() {
        let t0 = Instant::now();
        let mut m = MarkTracker::new(GAP);
        // <mark a/> 1 s <mark b/> 2 s <mark c/>
        m.queued(
            t0,
            &[audio(1000), audio(2000)],
            vec![(0, "a".into()), (1, "b".into()), (2, "c".into())],
        );
        assert_eq!(m.next_due(), Some(t0));
        assert_eq!(m.due(t0), names(&["a"]));
        assert_eq!(m.next_due(), Some(at(t0, 1000)));
        assert!(m.due(at(t0, 999)).is_empty());
        assert_eq!(m.due(at(t0, 1000)), names(&["b"]));
        // c: 1000 + gap 100 + 2000.
        assert_eq!(m.next_due(), Some(at(t0, 3100)));
        assert!(m.due(at(t0, 3099)).is_empty());
        assert_eq!(
            m.done(Duration::from_millis(3100), false),
            Some(names(&["c"]))
        );
        assert_eq!(m.next_due(), None);
    }

    #[test]
    fn barge_in_reports_only_marks_within_what_was_played() {
        let t0 = Instant::now();
        let mut m = MarkTracker::new(GAP);
        m.queued(
            t0,
            &[audio(1000), audio(1000), audio(1000)],
            vec![(1, "one".into()), (2, "two".into()), (3, "end".into())],
        );
        assert_eq!(m.due(at(t0, 1050)), names(&["one"]));
        // The timer for "two" (at 2100 ms) has not fired, but the engine played past it before the digit.
        assert_eq!(
            m.done(Duration::from_millis(2120), true),
            Some(names(&["two"]))
        );
        assert_eq!(m.next_due(), None, "\"end\" was never reached");
    }

    #[test]
    fn text_without_audio_and_empty_prompts_add_no_time() {
        let t0 = Instant::now();
        let mut m = MarkTracker::new(GAP);
        // 500 ms, (text: nothing queued) <mark x/>, an empty prompt, <mark y/>, 500 ms <mark z/>
        m.queued(
            t0,
            &[audio(500), audio(0), audio(500)],
            vec![(1, "x".into()), (2, "y".into()), (3, "z".into())],
        );
        assert_eq!(m.due(at(t0, 500)), names(&["x", "y"]));
        assert_eq!(m.next_due(), Some(at(t0, 1100)));
    }

    #[test]
    fn a_queue_appended_while_playing_continues_after_the_gap() {
        let t0 = Instant::now();
        let mut m = MarkTracker::new(GAP);
        m.queued(t0, &[audio(1000)], vec![(1, "first".into())]);
        m.queued(at(t0, 200), &[audio(1000)], vec![(1, "second".into())]);
        assert_eq!(m.due(at(t0, 1000)), names(&["first"]));
        assert_eq!(m.next_due(), Some(at(t0, 2100)));
    }

    #[test]
    fn a_stop_drops_unreached_marks_and_its_late_prompt_done_spares_the_next_queue() {
        let t0 = Instant::now();
        let mut m = MarkTracker::new(GAP);
        m.queued(t0, &[audio(1000), audio(1000)], vec![(1, "old".into())]);
        m.stop();
        assert_eq!(m.next_due(), None);
        // The next prompts go out before the engine reports the stopped queue's end.
        m.queued(at(t0, 300), &[audio(400)], vec![(1, "new".into())]);
        assert_eq!(
            m.done(Duration::from_millis(300), true),
            None,
            "not the end of playback"
        );
        assert_eq!(m.next_due(), Some(at(t0, 700)));
        assert_eq!(
            m.done(Duration::from_millis(400), false),
            Some(names(&["new"]))
        );
        // A stop with nothing queued after it: its PromptDone ends playback.
        m.queued(t0, &[audio(1000)], vec![(1, "x".into())]);
        m.stop();
        assert_eq!(m.done(Duration::from_millis(10), true), Some(vec![]));
        assert_eq!(m.next_due(), None);
    }

    #[test]
    fn marks_with_no_audio_at_all_are_reached_at_once() {
        let t0 = Instant::now();
        let mut m = MarkTracker::new(GAP);
        m.queued(t0, &[], vec![(0, "only".into())]);
        assert_eq!(m.due(t0), names(&["only"]));
    }
}
