//! The main loop: one step at a time (a pending event, executable content, the next transition, the FIA) until the
//! session has to wait, and what any step may emit (fetches, queued prompts, the end of the session).

use std::time::Instant;

use super::{FetchPurpose, Next, Session, Wait};
use crate::io::{EndReason, FetchId, Output};
use crate::request::FetchRequest;

impl Session {
    /// Runs the interpreter until it has to wait.
    pub(super) fn run(&mut self, now: Instant) {
        self.now = Some(now);
        self.steps = 0;
        while !self.ended && self.wait.is_none() {
            self.steps += 1;
            if self.steps > self.cfg.max_steps {
                self.steps = 0;
                self.overruns += 1;
                if self.overruns > 1 {
                    self.log_line("runaway dialog: ending the session");
                    self.finish(EndReason::Error("error.semantic".into()));
                    break;
                }
                if let Some(c) = self.ctxs.last_mut() {
                    c.exec = None;
                }
                self.next = None;
                let msg = format!(
                    "dialog loop: {} steps without waiting for the caller",
                    self.cfg.max_steps
                );
                self.log_line(&msg);
                self.throw_event("error.semantic", Some(msg));
                continue;
            }
            if let Some((ev, origin)) = self.pending_event.take() {
                self.dispatch_event(ev, origin);
                continue;
            }
            if self.ctxs.last().map(|c| c.exec.is_some()).unwrap_or(false) {
                self.step_exec();
                continue;
            }
            if let Some(n) = self.next.take() {
                self.do_next(n);
                continue;
            }
            if self
                .ctxs
                .last()
                .map(|c| c.dialog.is_some())
                .unwrap_or(false)
            {
                self.fia_step();
                continue;
            }
            // Nothing left to do: the document ran to its end.
            self.finish(EndReason::Exit);
        }
    }

    fn do_next(&mut self, n: Next) {
        match n {
            Next::Load {
                request,
                fragment,
                sub,
                submit,
            } => {
                self.transitions += 1;
                if self.transitions > self.cfg.max_transitions {
                    let msg = format!(
                        "document loop: {} transitions without caller input (last {})",
                        self.cfg.max_transitions, request.url
                    );
                    self.log_line(&msg);
                    self.finish(EndReason::Error("error.badfetch".into()));
                    return;
                }
                self.flush_prompts();
                let id = self.fetch(request);
                if let (Some((url, delay, timeout)), Some(now)) =
                    (self.pending_fetchaudio.take(), self.now)
                {
                    self.timers
                        .set(crate::timer::Timer::FetchAudio, now + delay);
                    self.fetchaudio = Some((url, timeout));
                }
                self.wait = Some(Wait::Fetch {
                    id,
                    purpose: FetchPurpose::Document {
                        fragment,
                        sub,
                        submit,
                    },
                });
            }
            Next::EnterDialog(frag) => self.enter_dialog(frag),
            Next::EnterDialogAt(dialog) => self.enter_dialog_at(dialog),
            Next::Return { values, event } => self.do_return(values, event),
            Next::End(reason) => self.finish(reason),
        }
    }

    /// Emits a fetch and returns its id.
    pub(crate) fn fetch(&mut self, request: FetchRequest) -> FetchId {
        self.next_fetch += 1;
        let id = FetchId(self.next_fetch);
        tracing::debug!(url = %request.url, kind = ?request.kind, "fetch");
        self.out.push_back(Output::Fetch { id, request });
        id
    }

    /// Plays what is queued (2.0 §4.1.8: prompts are played when the interpreter waits or fetches).
    pub(crate) fn flush_prompts(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        let prompts = std::mem::take(&mut self.queue);
        if let Some(now) = self.now {
            self.marks.started(now, &prompts);
        }
        self.playing = true;
        self.queue_bargein_active = self.queue_bargein;
        self.out.push_back(Output::Play {
            prompts,
            bargein: self.queue_bargein,
            bargeintype: self.queue_bargeintype,
        });
        self.queue_bargein = true;
    }

    /// Ends the session: plays what is queued, then `End`.
    pub(crate) fn finish(&mut self, reason: EndReason) {
        if self.ended {
            return;
        }
        self.flush_prompts();
        self.timers.stop_all();
        if let Some(c) = self.ctxs.last_mut() {
            c.exec = None;
        }
        let reason = match reason {
            EndReason::Exit if self.hung_up => EndReason::Hangup,
            EndReason::Exit if self.disconnected => EndReason::Disconnect,
            r => r,
        };
        self.out.push_back(Output::End(reason.clone()));
        self.end_reason = Some(reason);
        self.ended = true;
        self.wait = None;
    }

    pub(crate) fn log_line(&mut self, text: &str) {
        tracing::info!(target: "vxml", "{text}");
        self.out.push_back(Output::Log {
            label: Some("vxgate".into()),
            text: text.to_string(),
        });
    }
}
