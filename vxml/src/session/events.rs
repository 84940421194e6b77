//! Event dispatch (2.0 §5.2): catch selection through the scope chain, counts, conditions, default handlers.

use std::sync::Arc;

use super::exec::FORM_ITEMS;
use super::{Event, Exec, Frame, FrameKind, Session, Then};
use crate::dom::{Document, NodeId, ROOT};
use crate::event::{counted_as, counted_names, shorthand};
use crate::io::EndReason;

const CATCHES: &[&str] = &["catch", "error", "help", "noinput", "nomatch"];

impl Session {
    /// Finds and runs the handler for `ev`, thrown at `origin` (an element of the current document).
    pub(crate) fn dispatch_event(&mut self, ev: Event, origin: Option<NodeId>) {
        if self.ctxs.is_empty() {
            return self.finish(EndReason::Error(ev.name));
        }
        let doc = self.ctx().doc.clone();
        let item = self.ctx().dialog.as_ref().and_then(|d| d.current);
        let start = origin
            .or(item)
            .or_else(|| self.ctx().dialog.as_ref().map(|d| d.id))
            .unwrap_or(ROOT);
        // Event counters are kept per form item, for events thrown while visiting it or running its <filled>; the
        // form's (or menu's) own counters take events of dialog initialisation and form-level <filled> (2.0
        // §5.2.2). They are incremented for the full event name and every prefix of it ("event.foo.1" counts for
        // "event.foo.1", "event.foo" and "event").
        let counter_item = match (origin, self.ctx().dialog.as_ref()) {
            (Some(o), Some(d)) if doc.name(d.id) != "menu" && doc.is_within(o, d.id) => {
                let mut cur = Some(o);
                let mut found = None;
                while let Some(e) = cur.filter(|e| *e != d.id) {
                    if FORM_ITEMS.contains(&doc.name(e)) {
                        found = Some(e);
                        break;
                    }
                    if CATCHES.contains(&doc.name(e)) {
                        // A handler runs "as if by copy" in the item being visited (§5.2.4).
                        found = item;
                        break;
                    }
                    cur = doc.parent(e);
                }
                found
            }
            _ => item,
        };
        if let Some(d) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) {
            for n in counted_names(&ev.name) {
                *d.event_counts
                    .entry((counter_item, n.to_string()))
                    .or_insert(0) += 1;
            }
        }
        let count_of = |s: &Session, name: &str| -> u32 {
            s.ctxs
                .last()
                .and_then(|c| c.dialog.as_ref())
                .and_then(|d| {
                    d.event_counts
                        .get(&(counter_item, name.to_string()))
                        .copied()
                })
                .unwrap_or(1)
        };
        // Candidates: catches of each enclosing element from the origin out, then the application root's.
        let mut candidates: Vec<(Arc<Document>, NodeId)> = Vec::new();
        let mut cur = Some(start);
        while let Some(e) = cur {
            for c in doc.elements(e) {
                if CATCHES.contains(&doc.name(c)) {
                    candidates.push((doc.clone(), c));
                }
            }
            cur = doc.parent(e);
        }
        if let Some(app) = self.ctx().app_doc.clone() {
            if !Arc::ptr_eq(&app, &doc) {
                for c in app.elements(ROOT) {
                    if CATCHES.contains(&app.name(c)) {
                        candidates.push((app.clone(), c));
                    }
                }
            }
        }
        // Expose _event/_message while evaluating the catches' conditions. With the script heap full, drop the
        // engine's caches and try again; failing that the handler still runs, without its anonymous scope (and so
        // without `_event`), rather than losing the event.
        let anon = match self.js.new_scope(None) {
            Ok(a) => Some(a),
            Err(_) => {
                self.js.relieve_memory();
                match self.js.new_scope(None) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        let msg = format!(
                            "out of script memory: {e}; handling {} without _event",
                            ev.name
                        );
                        self.log_line(&msg);
                        None
                    }
                }
            }
        };
        if let Some(anon) = &anon {
            self.js.set(anon, "_event", &self.js.string(&ev.name));
            let msg = match &ev.message {
                Some(m) => self.js.string(m),
                None => self.js.undefined(),
            };
            self.js.set(anon, "_message", &msg);
        }
        let mut matching: Vec<(Arc<Document>, NodeId, u32)> = Vec::new();
        for (d, c) in candidates {
            let names = match d.attr(c, "event") {
                Some(n) => n.to_string(),
                None => shorthand(d.name(c)).unwrap_or("").to_string(),
            };
            // A catch is chosen by the counter of the name it matched the event with (2.0 §5.2.2, §5.2.4).
            let Some(counted) = counted_as(&names, &ev.name) else {
                continue;
            };
            let count = count_of(self, counted);
            if let Some(cond) = d.attr(c, "cond") {
                let mut chain = self.chain();
                chain.extend(anon.clone());
                let refs: Vec<&crate::script::Scope> = chain.iter().collect();
                if !self.js.eval_bool(&refs, cond).unwrap_or(false) {
                    continue;
                }
            }
            let n = d
                .attr(c, "count")
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(1);
            if n <= count {
                matching.push((d, c, n));
            }
        }
        // The "correct count" is the highest count still on the list; the first catch in scope and document order
        // with it is selected (2.0 §5.2.4).
        let best = matching.iter().map(|(_, _, n)| *n).max();
        let chosen = best.and_then(|b| matching.into_iter().find(|(_, _, n)| *n == b));
        match chosen {
            Some((d, c, _)) => {
                tracing::debug!(event = %ev.name, at = %d.pos(c), "catch");
                if let Some(dl) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) {
                    dl.queue_prompts = false;
                }
                let c_ctx = self.ctx_mut();
                c_ctx.exec = Some(Exec {
                    frames: vec![Frame {
                        doc: d,
                        parent: c,
                        idx: 0,
                        kind: FrameKind::Plain,
                    }],
                    then: Then::Fia,
                    anon,
                });
            }
            None => self.default_handler(ev),
        }
    }

    /// The platform's default handlers (2.0 §5.2.5).
    fn default_handler(&mut self, ev: Event) {
        let name = ev.name.as_str();
        let first = name.split('.').next().unwrap_or(name);
        match first {
            "noinput" | "nomatch" | "help" | "maxspeechtimeout" => {
                if let Some(d) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) {
                    d.queue_prompts = true;
                }
            }
            "cancel" => {}
            "connection" => {
                let reason = if name.starts_with("connection.disconnect.transfer") {
                    EndReason::Transfer(self.transfer_dest.clone().unwrap_or_default())
                } else if self.hung_up {
                    EndReason::Hangup
                } else if self.disconnected {
                    EndReason::Disconnect
                } else {
                    EndReason::Error(name.to_string())
                };
                self.finish(reason);
            }
            "exit" => self.finish(EndReason::Exit),
            _ => {
                let msg = match &ev.message {
                    Some(m) => format!("uncaught event {name}: {m}"),
                    None => format!("uncaught event {name}"),
                };
                self.log_line(&msg);
                self.finish(EndReason::Error(name.to_string()));
            }
        }
    }
}
