//! Listening for keys: the collect timeouts (2.0 §6.3.3), barge-in and type-ahead, the digit-by-digit match
//! against the active grammars, and the timers that end a collection with a match, `nomatch` or `noinput`.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Owner;
use crate::dom::{Document, NodeId};
use crate::grammar::{Grammar, MatchResult};
use crate::io::{CollectTimeouts, Output, PromptItem};
use crate::session::{Event, Session, Wait};
use crate::timer::Timer;

/// A collection in progress.
pub struct Collecting {
    item: NodeId,
    grammars: Vec<(Grammar, Owner)>,
    digits: String,
    timeouts: CollectTimeouts,
    noinput_armed: bool,
    complete: Option<(usize, Value, String)>,
}

impl std::fmt::Debug for Collecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collecting")
            .field("digits", &self.digits)
            .finish()
    }
}

impl Session {
    fn timeouts(&self, doc: &Document, item: NodeId) -> CollectTimeouts {
        let t = |name: &str, d: Duration| {
            self.property(doc, Some(item), name)
                .and_then(|v| crate::event::parse_time(&v))
                .unwrap_or(d)
        };
        let termchar = match self.property(doc, Some(item), "termchar") {
            Some(s) => s.chars().next(),
            None => Some('#'),
        };
        CollectTimeouts {
            timeout: self
                .prompt_timeout
                .unwrap_or_else(|| t("timeout", Duration::from_secs(5))),
            interdigittimeout: t("interdigittimeout", Duration::from_secs(3)),
            termtimeout: t("termtimeout", Duration::ZERO),
            termchar,
        }
    }

    pub(super) fn listen(&mut self, item: NodeId, mut grammars: Vec<(Grammar, Owner)>) {
        let doc = self.ctx().doc.clone();
        let timeouts = self.timeouts(&doc, item);
        // inputmodes without "dtmf" (2.0 §6.3.6): keys are not recognised, so no DTMF grammar is active.
        if let Some(modes) = self.property(&doc, Some(item), "inputmodes") {
            if !modes.split_whitespace().any(|m| m == "dtmf") {
                grammars.clear();
            }
        }
        self.prompt_timeout = None;
        self.flush_prompts();
        self.out.push_back(Output::Collect {
            timeouts,
            grammars: grammars.len(),
        });
        self.wait = Some(Wait::Input(Box::new(Collecting {
            item,
            grammars,
            digits: String::new(),
            timeouts,
            noinput_armed: false,
            complete: None,
        })));
        if let Some(now) = self.now {
            if !self.playing {
                self.arm_noinput(now);
            }
            self.drain_typeahead(now);
        }
    }

    fn arm_noinput(&mut self, now: Instant) {
        if let Some(Wait::Input(c)) = self.wait.as_mut() {
            if !c.noinput_armed && c.digits.is_empty() {
                c.noinput_armed = true;
                let at = now + c.timeouts.timeout;
                self.timers.set(Timer::NoInput, at);
            }
        }
    }

    fn drain_typeahead(&mut self, now: Instant) {
        while matches!(self.wait, Some(Wait::Input(_))) {
            let Some(c) = self.typeahead.pop_front() else {
                break;
            };
            if self.playing && self.queue_bargein_active {
                self.out.push_back(Output::StopPlay);
                self.playing = false;
                self.marks.stopped(now);
            }
            self.digit(now, c);
        }
    }

    pub(in crate::session) fn on_play_done(&mut self, now: Instant) {
        if self.playing && !self.fetchaudio_playing {
            self.marks.stopped(now);
        }
        self.playing = false;
        self.fetchaudio_playing = false;
        if matches!(self.wait, Some(Wait::Input(_))) {
            self.arm_noinput(now);
            self.drain_typeahead(now);
        }
    }

    pub(in crate::session) fn on_dtmf(&mut self, now: Instant, c: char) {
        self.transitions = 0;
        if matches!(self.wait, Some(Wait::Input(_))) {
            if self.playing {
                if !self.queue_bargein_active {
                    tracing::debug!(digit = %c, "digit ignored: bargein is off");
                    return;
                }
                self.out.push_back(Output::StopPlay);
                self.playing = false;
                self.marks.stopped(now);
            }
            self.digit(now, c);
        } else {
            self.typeahead.push_back(c);
        }
    }

    fn digit(&mut self, now: Instant, c: char) {
        self.timers.stop(Timer::NoInput);
        let Some(Wait::Input(col)) = self.wait.as_mut() else {
            return;
        };
        if Some(c) == col.timeouts.termchar {
            // The termchar ends a complete input. Otherwise, when an active grammar takes the key itself (a
            // `<choice dtmf="#">`, a grammar ending in `#`), it is input like any other key; failing that it ends
            // the input, which is then incomplete (nomatch).
            let takes_it = {
                let keys = format!("{}{c}", col.digits);
                col.grammars
                    .iter()
                    .any(|(g, _)| !matches!(g.matches(&keys), MatchResult::NoMatch))
            };
            if col.complete.is_some() || !takes_it {
                if col.digits.is_empty() {
                    return self.nomatch();
                }
                return self.finish_collect();
            }
        }
        col.digits.push(c);
        let mut complete = None;
        let mut pending = false;
        for (i, (g, _)) in col.grammars.iter().enumerate() {
            match g.matches(&col.digits) {
                MatchResult::NoMatch => {}
                MatchResult::Partial => pending = true,
                MatchResult::Complete {
                    interpretation,
                    utterance,
                    can_extend,
                } => {
                    if can_extend {
                        pending = true;
                    }
                    if complete.is_none() {
                        complete = Some((i, interpretation, utterance));
                    }
                }
            }
        }
        let has_complete = complete.is_some();
        col.complete = complete;
        if !has_complete && !pending {
            return self.nomatch();
        }
        if has_complete && !pending {
            let tt = col.timeouts.termtimeout;
            if col.timeouts.termchar.is_some() && !tt.is_zero() {
                self.timers.set(Timer::InterDigit, now + tt);
                return;
            }
            return self.finish_collect();
        }
        let at = now + col.timeouts.interdigittimeout;
        self.timers.set(Timer::InterDigit, at);
    }

    pub(in crate::session) fn on_timers(&mut self, now: Instant) {
        if self.timers.expired(Timer::FetchAudioMinimum, now) {
            self.fetchaudio_minimum_reached();
        }
        if self.timers.expired(Timer::FetchAudio, now) {
            if let (Some((url, timeout)), Some(Wait::Fetch { .. })) =
                (self.fetchaudio.clone(), &self.wait)
            {
                // Played without barge-in until the document arrives (2.0 §6.1.1).
                self.playing = true;
                self.fetchaudio_playing = true;
                self.fetchaudio_started(now);
                self.out.push_back(Output::Play {
                    prompts: vec![PromptItem::Audio {
                        url,
                        timeout,
                        fallback: Vec::new(),
                    }],
                    bargein: false,
                    bargeintype: crate::io::BargeInType::Speech,
                });
            }
        }
        if !matches!(self.wait, Some(Wait::Input(_))) {
            self.timers.stop(Timer::NoInput);
            self.timers.stop(Timer::InterDigit);
            return;
        }
        if self.timers.expired(Timer::InterDigit, now) {
            return self.finish_collect();
        }
        if self.timers.expired(Timer::NoInput, now) {
            let Some(Wait::Input(col)) = self.wait.take() else {
                return;
            };
            self.end_listening();
            self.throw_from(
                Event {
                    name: "noinput".into(),
                    message: None,
                },
                Some(col.item),
            );
        }
    }

    fn end_listening(&mut self) {
        self.timers.stop_all();
        self.out.push_back(Output::StopCollect);
    }

    fn nomatch(&mut self) {
        let Some(Wait::Input(col)) = self.wait.take() else {
            return;
        };
        self.end_listening();
        self.set_lastresult(col.item, &col.digits, &Value::Null, false);
        self.throw_from(
            Event {
                name: "nomatch".into(),
                message: None,
            },
            Some(col.item),
        );
    }

    fn finish_collect(&mut self) {
        let Some(Wait::Input(col)) = self.wait.take() else {
            return;
        };
        let Some((gi, interp, utterance)) = col.complete.clone() else {
            self.wait = Some(Wait::Input(col));
            return self.nomatch();
        };
        self.end_listening();
        let owner = col
            .grammars
            .get(gi)
            .map(|(_, o)| *o)
            .unwrap_or(Owner::Item(col.item));
        self.accept(col.item, owner, interp, utterance);
    }

    /// Playback passed a `<mark>` (reported by the player).
    pub(in crate::session) fn on_mark(&mut self, now: Instant, name: String) {
        if self.playing && !self.fetchaudio_playing {
            self.marks.reached(now, name);
        }
    }
}
