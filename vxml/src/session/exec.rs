//! Executable content (2.0 §5.3, 2.1 §5-6): one element per step, from the frame stack of the current [`Exec`].
//!
//! This module steps the frame stack, dispatches each element to the submodule of its family and raises the events
//! that abort the content being run.

mod fetches;
mod flow;
mod log;
mod namelist;
mod prompts;
mod transitions;
mod vars;

use std::sync::Arc;

use super::{Event, Exec, Frame, FrameKind, Session, Then};
use crate::dom::{Document, NodeId};
use crate::io::{Output, PromptItem};

pub(crate) use prompts::normalize;

/// Form items (2.0 §2.1.2).
pub(crate) const FORM_ITEMS: &[&str] = &[
    "field",
    "record",
    "transfer",
    "subdialog",
    "object",
    "block",
    "initial",
];

impl Session {
    /// Runs one step of the current executable content.
    pub(crate) fn step_exec(&mut self) {
        let Some(ctx) = self.ctxs.last_mut() else {
            return;
        };
        let Some(exec) = ctx.exec.as_mut() else {
            return;
        };
        let Some(frame) = exec.frames.last_mut() else {
            let then = exec.then.clone();
            ctx.exec = None;
            self.exec_done(then);
            return;
        };
        if frame.idx == 0 && matches!(frame.kind, FrameKind::Scoped) {
            frame.kind = FrameKind::Plain;
            match self.new_scope(None) {
                Ok(anon) => {
                    if let Some(e) = self.ctxs.last_mut().and_then(|c| c.exec.as_mut()) {
                        e.anon = Some(anon);
                    }
                }
                Err(ev) => self.throw(ev),
            }
            return;
        }
        let doc = frame.doc.clone();
        let children = &doc.node(frame.parent).children;
        if frame.idx >= children.len() {
            if let FrameKind::Foreach {
                array,
                next,
                len,
                item,
            } = &mut frame.kind
            {
                if *next < *len {
                    let v = self.js.get_prop(array, &next.to_string());
                    *next += 1;
                    frame.idx = 0;
                    let item = item.clone();
                    let chain = self.chain();
                    if let Some(s) = chain.last() {
                        self.js.set(s, &item, &v);
                    }
                    return;
                }
            }
            exec.frames.pop();
            return;
        }
        let id = children[frame.idx];
        frame.idx += 1;
        let kind = frame.kind.clone();
        let name = doc.name(id);
        match kind {
            FrameKind::Branch if matches!(name, "elseif" | "else") => {
                exec.frames.pop();
            }
            FrameKind::DocInit => match name {
                "var" => self.exec_var(&doc, id),
                "script" => self.exec_script(&doc, id),
                "data" => self.exec_data(&doc, id),
                _ => {}
            },
            FrameKind::DialogInit => match name {
                "var" => self.exec_var(&doc, id),
                "script" => self.exec_script(&doc, id),
                "data" => self.exec_data(&doc, id),
                n if FORM_ITEMS.contains(&n) => self.declare_item(&doc, id),
                _ => {}
            },
            _ => self.exec_element(&doc, id),
        }
    }

    /// Throws an event from the content being executed (aborting it).
    pub(crate) fn throw(&mut self, ev: Event) {
        let origin = self
            .ctxs
            .last()
            .and_then(|c| c.dialog.as_ref().and_then(|d| d.current));
        self.throw_from(ev, origin);
    }

    /// Throws `name` with an optional message.
    pub(crate) fn throw_event(&mut self, name: &str, message: Option<String>) {
        self.throw(Event {
            name: name.to_string(),
            message,
        });
    }

    pub(crate) fn throw_from(&mut self, ev: Event, origin: Option<NodeId>) {
        tracing::debug!(event = %ev.name, message = ?ev.message, "throw");
        if let Some(c) = self.ctxs.last_mut() {
            c.exec = None;
        }
        self.next = None;
        self.pending_event = Some((ev, origin));
    }

    fn origin_of(&self, doc: &Arc<Document>, id: NodeId) -> Option<NodeId> {
        let c = self.ctxs.last()?;
        if Arc::ptr_eq(doc, &c.doc) {
            Some(id)
        } else {
            c.dialog.as_ref().and_then(|d| d.current)
        }
    }

    fn abort_exec(&mut self) {
        if let Some(c) = self.ctxs.last_mut() {
            c.exec = None;
        }
    }

    fn fail(&mut self, doc: &Arc<Document>, id: NodeId, ev: Event) {
        let origin = self.origin_of(doc, id);
        if ev.name == "error.semantic" {
            let msg = format!(
                "{}:{}: <{}>: {}",
                doc.url,
                doc.pos(id),
                doc.name(id),
                ev.message.clone().unwrap_or_default()
            );
            self.log_line(&msg);
        }
        self.throw_from(ev, origin);
    }

    fn exec_element(&mut self, doc: &Arc<Document>, id: NodeId) {
        if let Some(t) = doc.text(id) {
            let t = normalize(t);
            if !t.is_empty() {
                self.queue.push(PromptItem::Text(t));
            }
            return;
        }
        let r = match doc.name(id) {
            "var" => {
                self.exec_var(doc, id);
                Ok(())
            }
            "assign" => self.exec_assign(doc, id),
            "clear" => self.exec_clear(doc, id),
            "if" => self.exec_if(doc, id),
            "prompt" => self.exec_prompt(doc, id, true),
            "audio" | "value" | "break" | "mark" | "emphasis" | "prosody" | "say-as" | "voice"
            | "sub" | "p" | "s" | "paragraph" | "sentence" | "phoneme" | "enumerate" => {
                let mut items = Vec::new();
                let r = self.prompt_content(doc, id, &mut items);
                self.queue.extend(items);
                r
            }
            "goto" => self.exec_goto(doc, id),
            "submit" => self.exec_submit(doc, id),
            "exit" => self.exec_exit(doc, id),
            "return" => self.exec_return(doc, id),
            "disconnect" => {
                // 2.1 §3: the namelist's variables go back to the interpreter context; an undeclared one is
                // error.semantic (and the call stays up).
                if let Some(n) = doc.attr(id, "namelist") {
                    if let Err(ev) = self.namelist(n) {
                        return self.fail(doc, id, ev);
                    }
                }
                self.flush_prompts();
                self.out.push_back(Output::Disconnect);
                self.disconnected = true;
                Err(Event {
                    name: "connection.disconnect.hangup".into(),
                    message: None,
                })
            }
            "throw" => {
                let name = self
                    .literal_or_expr(doc, id, "event", "eventexpr")
                    .map(|n| n.unwrap_or_else(|| "error.semantic".to_string()));
                let message = self.literal_or_expr(doc, id, "message", "messageexpr");
                match (name, message) {
                    (Ok(n), Ok(m)) => Err(Event {
                        name: n,
                        message: m,
                    }),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            }
            "reprompt" => {
                if let Some(d) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) {
                    d.queue_prompts = true;
                }
                Ok(())
            }
            "log" => self.exec_log(doc, id),
            "script" => {
                self.exec_script(doc, id);
                Ok(())
            }
            "data" => {
                self.exec_data(doc, id);
                Ok(())
            }
            "foreach" => self.exec_foreach(doc, id),
            _ => Ok(()),
        };
        if let Err(ev) = r {
            self.fail(doc, id, ev);
        }
    }

    fn push_frame(&mut self, f: Frame) {
        if let Some(e) = self.ctxs.last_mut().and_then(|c| c.exec.as_mut()) {
            e.frames.push(f);
        }
    }

    /// Starts executing the children of `parents` in a fresh anonymous scope, then back to the FIA. Fails (with
    /// `error.semantic`) only when the script heap is full.
    pub(crate) fn run_content(
        &mut self,
        doc: Arc<Document>,
        parents: Vec<NodeId>,
    ) -> Result<(), Event> {
        let anon = self.new_scope(None)?;
        // The first runs in `anon`; each later one starts its own (2.0 §5.1.2: every <filled> is a scope).
        let frames = parents
            .into_iter()
            .enumerate()
            .rev()
            .map(|(i, p)| Frame {
                doc: doc.clone(),
                parent: p,
                idx: 0,
                kind: if i == 0 {
                    FrameKind::Plain
                } else {
                    FrameKind::Scoped
                },
            })
            .collect();
        if let Some(c) = self.ctxs.last_mut() {
            c.exec = Some(Exec {
                frames,
                then: Then::Fia,
                anon: Some(anon),
            });
        }
        Ok(())
    }

    /// A new scope object, or `error.semantic` (with the reason in `_message`) when the script heap is full.
    pub(crate) fn new_scope(&mut self, name: Option<&str>) -> Result<crate::script::Scope, Event> {
        self.js.new_scope(name).map_err(|e| {
            let msg = format!("out of script memory: {e}");
            self.log_line(&msg);
            Event {
                name: "error.semantic".into(),
                message: Some(msg),
            }
        })
    }
}
