//! The Form Interpretation Algorithm (2.0 Appendix C): select a form item, collect it, process the result.

use std::sync::Arc;

use super::exec::FORM_ITEMS;
use super::{Event, Session, Wait};
use crate::dom::{Document, NodeId};
use crate::io::{EndReason, Output, TransferType};

/// Recording formats (2.0 Appendix E: raw mu-law and A-law, WAV; with the WAV aliases in use).
const RECORD_TYPES: &[&str] = &[
    "audio/basic",
    "audio/x-alaw-basic",
    "audio/x-wav",
    "audio/wav",
    "audio/wave",
];

impl Session {
    /// One iteration of the FIA's select and collect phases.
    pub(crate) fn fia_step(&mut self) {
        let doc = self.ctx().doc.clone();
        let Some(dialog) = self.ctx().dialog.as_ref().map(|d| d.id) else {
            return;
        };
        if doc.name(dialog) == "menu" {
            if let Some(d) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) {
                d.current = Some(dialog);
            }
            return self.start_collect(&doc, dialog);
        }
        if self.process_carried() {
            return;
        }
        let next = self
            .ctxs
            .last_mut()
            .and_then(|c| c.dialog.as_mut())
            .and_then(|d| d.next_item.take());
        let item = match next {
            Some(i) => Some(i),
            None => match self.select(&doc, dialog) {
                Ok(i) => i,
                Err(ev) => return self.throw(ev),
            },
        };
        let Some(item) = item else {
            // 2.0 §2.1.6.2.1: "If no guard condition is false, then the last iteration completed the form without
            // encountering an explicit transfer of control, so the FIA does an implicit <exit> operation" — in a
            // subdialog too (only <return> goes back to the caller; <exit> ends the session).
            return self.finish(EndReason::Exit);
        };
        if let Some(d) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) {
            d.current = Some(item);
        }
        match doc.name(item) {
            "block" => {
                // Appendix C suppresses prompt queuing only right after an iteration that ended in a catch without
                // <reprompt>: once a block has run, the next input item queues its prompts as usual.
                if let Some(d) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) {
                    d.queue_prompts = true;
                }
                let var = self.item_var(item);
                self.set_dialog_var(&var, &self.js.boolean(true));
                if let Err(ev) = self.run_content(doc, vec![item]) {
                    self.throw_from(ev, Some(item));
                }
            }
            "field" | "initial" => self.start_collect(&doc, item),
            "record" => self.start_record(&doc, item),
            "transfer" => self.start_transfer(&doc, item),
            "subdialog" => {
                if let Err(ev) = self.queue_item_prompts(&doc, item) {
                    return self.throw(ev);
                }
                if let Err(ev) = self.call_subdialog(&doc, item) {
                    self.throw(ev);
                }
            }
            "object" => {
                let ty = doc.attr(item, "type").unwrap_or("").to_string();
                let msg = format!(
                    "{}:{}: <object> type {ty:?} is not supported",
                    doc.url,
                    doc.pos(item)
                );
                self.log_line(&msg);
                self.throw(Event {
                    name: "error.unsupported.objecttype".into(),
                    message: Some(msg),
                });
            }
            _ => {}
        }
    }

    /// The first form item whose variable is undefined and whose `cond` holds.
    fn select(&mut self, doc: &Document, dialog: NodeId) -> Result<Option<NodeId>, Event> {
        let items: Vec<NodeId> = doc
            .elements(dialog)
            .filter(|i| FORM_ITEMS.contains(&doc.name(*i)))
            .collect();
        let Some(scope) = self.ctx().dialog.as_ref().map(|d| d.scope.clone()) else {
            return Ok(None);
        };
        for i in items {
            let var = self.item_var(i);
            let v = self.js.get(&scope, &var);
            if !self.js.is_undefined(&v) {
                continue;
            }
            if self.cond(doc, i)? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    pub(crate) fn set_dialog_var(&mut self, name: &str, v: &crate::script::JsValue) {
        if let Some(s) = self.ctx().dialog.as_ref().map(|d| d.scope.clone()) {
            self.js.set(&s, name, v);
        }
    }

    /// Queues the item's prompts chosen by its prompt counter (2.0 §4.1.6), unless the last iteration ended in a
    /// catch without `<reprompt>`.
    pub(crate) fn queue_item_prompts(
        &mut self,
        doc: &Arc<Document>,
        item: NodeId,
    ) -> Result<(), Event> {
        let Some(d) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) else {
            return Ok(());
        };
        if !d.queue_prompts {
            d.queue_prompts = true;
            return Ok(());
        }
        let counter = {
            let c = d.prompt_counts.entry(item).or_insert(0);
            *c += 1;
            *c
        };
        // 2.0 §4.1: besides <prompt>s, text, <audio>, <value> and <enumerate> written directly in the item are a
        // prompt whose <prompt> tags were omitted (count 1, no cond).
        let mut eligible = Vec::new();
        for p in doc.node(item).children.clone() {
            let implicit = match doc.text(p) {
                Some(t) => !t.trim().is_empty(),
                None => matches!(doc.name(p), "audio" | "value" | "enumerate"),
            };
            if implicit {
                eligible.push((p, 1));
                continue;
            }
            if doc.text(p).is_some() || doc.name(p) != "prompt" {
                continue;
            }
            if !self.cond(doc, p)? {
                continue;
            }
            let count = doc
                .attr(p, "count")
                .and_then(|c| c.trim().parse::<u32>().ok())
                .unwrap_or(1);
            if count <= counter {
                eligible.push((p, count));
            }
        }
        let Some(best) = eligible.iter().map(|(_, c)| *c).max() else {
            return Ok(());
        };
        // Consecutive implicit content is one prompt (its text runs together, as inside a <prompt>).
        let mut implicit = Vec::new();
        for (p, c) in eligible {
            if c != best {
                continue;
            }
            if doc.text(p).is_none() && doc.name(p) == "prompt" {
                self.queue.append(&mut implicit);
                self.exec_prompt(doc, p, false)?;
            } else {
                self.prompt_content(doc, p, &mut implicit)?;
            }
        }
        self.queue.append(&mut implicit);
        Ok(())
    }

    /// Menu choices and field options: `(dtmf, prompt text, element)` in order, with `dtmf="true"` numbering.
    pub(crate) fn choices(&self, doc: &Document, owner: NodeId) -> Vec<(String, String, NodeId)> {
        let auto = doc.name(owner) == "menu" && doc.attr(owner, "dtmf") == Some("true");
        let mut n = 0u32;
        let mut out = Vec::new();
        for c in doc.elements(owner) {
            if !matches!(doc.name(c), "choice" | "option") {
                continue;
            }
            let text = super::exec::normalize(
                &doc.node(c)
                    .children
                    .iter()
                    .filter_map(|x| doc.text(*x))
                    .collect::<String>(),
            );
            let dtmf = match doc.attr(c, "dtmf") {
                Some(d) => d.to_string(),
                None if auto => {
                    n += 1;
                    if n > 9 {
                        continue;
                    }
                    n.to_string()
                }
                None => String::new(),
            };
            out.push((dtmf, text, c));
        }
        out
    }

    fn start_record(&mut self, doc: &Arc<Document>, item: NodeId) {
        if self.hung_up {
            return self.finish(EndReason::Hangup);
        }
        let media_type = doc.attr(item, "type").unwrap_or("audio/x-wav").to_string();
        let base = media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !RECORD_TYPES.contains(&base.as_str()) {
            // 2.0 §2.3.6, type: the formats of Appendix E must be supported; another one is
            // error.unsupported.format.
            let msg = format!(
                "{}:{}: <record> type {media_type:?} is not supported",
                doc.url,
                doc.pos(item)
            );
            return self.throw_from(
                Event {
                    name: "error.unsupported.format".into(),
                    message: Some(msg),
                },
                Some(item),
            );
        }
        if let Err(ev) = self.queue_item_prompts(doc, item) {
            return self.throw(ev);
        }
        self.flush_prompts();
        let t = |a: &str, d: u64| {
            doc.attr(item, a)
                .and_then(crate::event::parse_time)
                .unwrap_or(std::time::Duration::from_secs(d))
        };
        self.out.push_back(Output::Record {
            maxtime: t("maxtime", 60),
            finalsilence: t("finalsilence", 3),
            dtmfterm: doc.attr(item, "dtmfterm") != Some("false"),
            beep: doc.attr(item, "beep") == Some("true"),
            media_type,
        });
        self.wait = Some(Wait::Record { item });
    }

    fn start_transfer(&mut self, doc: &Arc<Document>, item: NodeId) {
        if self.hung_up {
            return self.finish(EndReason::Hangup);
        }
        let r = (|| -> Result<(), Event> {
            self.queue_item_prompts(doc, item)?;
            let dest = match (doc.attr(item, "dest"), doc.attr(item, "destexpr")) {
                (Some(d), _) => d.to_string(),
                (None, Some(x)) => self.eval_string(x)?,
                _ => String::new(),
            };
            let aai = match (doc.attr(item, "aai"), doc.attr(item, "aaiexpr")) {
                (Some(a), _) => Some(a.to_string()),
                (None, Some(x)) => Some(self.eval_string(x)?),
                _ => None,
            };
            let kind = match doc.attr(item, "type") {
                Some("bridge") => TransferType::Bridge,
                Some("consultation") => TransferType::Consultation,
                Some("blind") => TransferType::Blind,
                _ if doc.attr(item, "bridge") == Some("true") => TransferType::Bridge,
                _ => TransferType::Blind,
            };
            let t = |a: &str, d: u64| {
                doc.attr(item, a)
                    .and_then(crate::event::parse_time)
                    .unwrap_or(std::time::Duration::from_secs(d))
            };
            self.flush_prompts();
            self.out.push_back(Output::Transfer {
                dest: dest.clone(),
                kind,
                connecttimeout: t("connecttimeout", 30),
                maxtime: t("maxtime", 0),
                aai,
            });
            self.wait = Some(Wait::Transfer { item, dest, kind });
            Ok(())
        })();
        if let Err(ev) = r {
            self.throw(ev);
        }
    }

    pub(super) fn on_record_done(
        &mut self,
        audio: Vec<u8>,
        media_type: String,
        duration: std::time::Duration,
        termchar: Option<char>,
        maxtime: bool,
    ) {
        let Some(Wait::Record { item }) = self.wait else {
            return;
        };
        self.wait = None;
        self.transitions = 0;
        if audio.is_empty() {
            return self.throw_from(
                Event {
                    name: "noinput".into(),
                    message: None,
                },
                Some(item),
            );
        }
        let name = self.item_var(item);
        let obj = self.js.from_json(&serde_json::json!({
            "type": media_type, "size": audio.len(), "duration": duration.as_millis() as u64
        }));
        let mut shadow = serde_json::json!({
            "duration": duration.as_millis() as u64,
            "size": audio.len(),
            "maxtime": maxtime,
        });
        // 2.0 §2.3.6: termchar is the key that ended the recording (dtmfterm), "otherwise it is undefined".
        if let (Some(c), Some(o)) = (termchar, shadow.as_object_mut()) {
            o.insert("termchar".into(), serde_json::Value::String(c.to_string()));
        }
        // 2.1 §4: a mark executed while the record's prompts played.
        let mark = self.now.and_then(|now| self.marks.take(now));
        if let (Some(m), Some(o)) = (mark, shadow.as_object_mut()) {
            o.insert("markname".into(), serde_json::Value::String(m.name));
            o.insert("marktime".into(), serde_json::Value::from(m.time_ms));
        }
        let shadow = self.js.from_json(&shadow);
        self.set_dialog_var(&name, &obj);
        self.set_dialog_var(&format!("{name}$"), &shadow);
        self.recordings.insert(name, (audio, media_type));
        self.run_filled(vec![item]);
    }

    pub(super) fn on_transfer_result(
        &mut self,
        outcome: crate::io::TransferOutcome,
        duration: std::time::Duration,
    ) {
        let Some(Wait::Transfer {
            item,
            ref dest,
            kind,
        }) = self.wait
        else {
            return;
        };
        let dest = dest.clone();
        self.wait = None;
        self.transitions = 0;
        if outcome == crate::io::TransferOutcome::Transferred && kind != TransferType::Bridge {
            self.transfer_dest = Some(dest);
            self.disconnected = true;
            return self.throw_from(
                Event {
                    name: "connection.disconnect.transfer".into(),
                    message: None,
                },
                Some(item),
            );
        }
        // 2.0 §2.3.7.3: an attempt that could not be made (no route, bad destination, refused by the protocol)
        // is an event thrown at the transfer item, which stays unfilled.
        if let crate::io::TransferOutcome::Error(event) = outcome {
            return self.throw_from(
                Event {
                    name: event,
                    message: Some(format!("transfer to {dest} failed")),
                },
                Some(item),
            );
        }
        let name = self.item_var(item);
        let v = self.js.string(outcome.value());
        let shadow = self
            .js
            .from_json(&serde_json::json!({ "duration": duration.as_secs_f64() }));
        self.set_dialog_var(&name, &v);
        self.set_dialog_var(&format!("{name}$"), &shadow);
        self.run_filled(vec![item]);
    }

    pub(super) fn on_hangup(&mut self) {
        self.drop_fetchaudio_hold();
        self.hung_up = true;
        self.disconnected = true;
        self.timers.stop_all();
        self.playing = false;
        if self.ctxs.is_empty() {
            return self.finish(EndReason::Hangup);
        }
        self.wait = None;
        self.throw_event("connection.disconnect.hangup", None);
    }

    /// Runs the `<filled>` actions triggered by newly filled items (2.0 §2.4): the items' own and the form's whose
    /// mode/namelist are satisfied, all in document order (Appendix C: "for each `<filled>` action in document
    /// order"), so a form-level `<filled>` written before a field runs before the field's own.
    pub(crate) fn run_filled(&mut self, filled: Vec<NodeId>) {
        let doc = self.ctx().doc.clone();
        let Some(dialog) = self.ctx().dialog.as_ref().map(|d| d.id) else {
            return;
        };
        let mut parents = Vec::new();
        for i in &filled {
            parents.extend(doc.children_named(*i, "filled"));
        }
        let scope = self.ctx().dialog.as_ref().map(|d| d.scope.clone());
        let inputs: Vec<NodeId> = doc
            .elements(dialog)
            .filter(|i| {
                matches!(
                    doc.name(*i),
                    "field" | "record" | "transfer" | "subdialog" | "object"
                )
            })
            .collect();
        for f in doc.children_named(dialog, "filled").collect::<Vec<_>>() {
            let names: Vec<String> = match doc.attr(f, "namelist") {
                Some(n) => n.split_whitespace().map(str::to_string).collect(),
                None => inputs.iter().map(|i| self.item_var(*i)).collect(),
            };
            let any_just = filled.iter().any(|i| names.contains(&self.item_var(*i)));
            if !any_just {
                continue;
            }
            let all = doc.attr(f, "mode") != Some("any");
            if all {
                let complete = names.iter().all(|n| {
                    scope
                        .as_ref()
                        .map(|s| !self.js.is_undefined(&self.js.get(s, n)))
                        .unwrap_or(false)
                });
                if !complete {
                    continue;
                }
            }
            parents.push(f);
        }
        // The arena holds elements in document order.
        parents.sort_by_key(|p| p.0);
        let origin = filled.first().copied();
        if let Some(d) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) {
            d.just_filled = filled;
        }
        if !parents.is_empty() {
            if let Err(ev) = self.run_content(doc, parents) {
                self.throw_from(ev, origin);
            }
        }
    }
}
