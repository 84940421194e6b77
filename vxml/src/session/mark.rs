//! `<mark>` during prompt playback (VoiceXML 2.1 §4): which mark playback passed last before barge-in or the end
//! of playback, and how long before.
//!
//! When `application.lastresult$` is assigned and a mark has been executed, `lastresult$.markname` is the name of
//! the mark executed last before barge-in (or the end of playback) and `lastresult$.marktime` the milliseconds
//! from that mark to the barge-in (or the end of playback); a form item's `name$.markname`/`name$.marktime` get
//! the same values. Only the player knows when text or audio of unknown length has been played, so it reports
//! each mark it passes as [`crate::Input::Mark`]. Marks that come before any text or audio of a queue (after
//! nothing but other marks and `<break>`s) are at a known offset from the start of playback, so the session
//! places those itself; a player that reports them too changes nothing.

use std::time::{Duration, Instant};

use crate::io::PromptItem;

/// The mark state of one session.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    /// Marks of the queue being played that sit at a known time (before any text or audio).
    scheduled: Vec<(Instant, String)>,
    /// The mark executed last, and when.
    last: Option<(String, Instant)>,
    /// When playback stopped (barge-in or its end) after `last`; `None` while it plays on.
    stopped: Option<Instant>,
}

/// What a recognition result carries about marks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MarkInfo {
    /// `markname`.
    pub name: String,
    /// `marktime`, in milliseconds.
    pub time_ms: u64,
}

impl Marks {
    /// A queue starts playing at `now`.
    pub fn started(&mut self, now: Instant, prompts: &[PromptItem]) {
        self.settle(now);
        self.scheduled.clear();
        let mut at = Duration::ZERO;
        for p in prompts {
            match p {
                PromptItem::Mark(name) => {
                    // A mark behind absurdly long breaks is never reached.
                    if let Some(t) = now.checked_add(at) {
                        self.scheduled.push((t, name.clone()));
                    }
                }
                PromptItem::Break(d) => at = at.saturating_add(*d),
                PromptItem::Text(_) | PromptItem::Audio { .. } => break,
            }
        }
        if self.last.is_some() || !self.scheduled.is_empty() {
            self.stopped = None;
        }
    }

    /// The player reports that playback passed mark `name` at `now`.
    pub fn reached(&mut self, now: Instant, name: String) {
        self.settle(now);
        self.last = Some((name, now));
        self.stopped = None;
    }

    /// Playback ended or was barged in on at `now`.
    pub fn stopped(&mut self, now: Instant) {
        self.settle(now);
        // Scheduled marks not reached by now were never executed.
        self.scheduled.clear();
        if self.last.is_some() && self.stopped.is_none() {
            self.stopped = Some(now);
        }
    }

    /// The mark information for a result assigned at `now` (consumed: the next result needs a new mark).
    pub fn take(&mut self, now: Instant) -> Option<MarkInfo> {
        self.settle(now);
        let (name, at) = self.last.take()?;
        let end = self.stopped.take().unwrap_or(now);
        Some(MarkInfo {
            name,
            time_ms: end.saturating_duration_since(at).as_millis() as u64,
        })
    }

    /// Scheduled marks whose time has come are executed.
    fn settle(&mut self, now: Instant) {
        let due = self.scheduled.iter().rposition(|(at, _)| *at <= now);
        if let Some(i) = due {
            let rest = self.scheduled.split_off(i + 1);
            if let Some((at, name)) = self.scheduled.pop() {
                self.last = Some((name, at));
            }
            self.scheduled = rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn leading_marks_are_placed_by_their_breaks() {
        let t0 = Instant::now();
        let mut m = Marks::default();
        let q = vec![
            PromptItem::Mark("a".into()),
            PromptItem::Break(Duration::from_millis(500)),
            PromptItem::Mark("b".into()),
            PromptItem::Text("hello".into()),
            PromptItem::Mark("c".into()),
        ];
        m.started(t0, &q);
        // Barge-in at 300 ms: "b" (at 500 ms) was never reached.
        m.stopped(ms(t0, 300));
        assert_eq!(
            m.take(ms(t0, 900)),
            Some(MarkInfo {
                name: "a".into(),
                time_ms: 300
            })
        );
        assert_eq!(m.take(ms(t0, 900)), None, "consumed");
        m.started(t0, &q);
        m.stopped(ms(t0, 700));
        assert_eq!(
            m.take(ms(t0, 800)).map(|i| (i.name, i.time_ms)),
            Some(("b".into(), 200))
        );
    }

    #[test]
    fn reported_marks_win_and_time_runs_to_the_barge_in() {
        let t0 = Instant::now();
        let mut m = Marks::default();
        m.started(
            t0,
            &[PromptItem::Text("x".into()), PromptItem::Mark("m".into())],
        );
        assert_eq!(m.take(ms(t0, 10)), None, "no mark passed yet");
        m.started(
            t0,
            &[PromptItem::Text("x".into()), PromptItem::Mark("m".into())],
        );
        m.reached(ms(t0, 1_200), "m".into());
        m.stopped(ms(t0, 1_450));
        assert_eq!(m.take(ms(t0, 5_000)).map(|i| i.time_ms), Some(250));
    }
}
