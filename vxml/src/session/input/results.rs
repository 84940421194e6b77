//! Processing a result (2.0 Appendix C, process phase): `lastresult$`, the shadow variables of the filled fields,
//! `<initial>` items, and the transition a link or a menu choice takes.

use serde_json::Value;

use super::Owner;
use crate::dom::{Document, NodeId};
use crate::session::Session;

/// The part of a result a slot names (2.0 §3.1.6.3): the property of that name, or, for a dotted slot such as
/// `order.size`, the property at that path.
fn slot_value<'a>(interp: &'a Value, slot: &str) -> Option<&'a Value> {
    let m = interp.as_object()?;
    if let Some(v) = m.get(slot) {
        return Some(v);
    }
    if !slot.contains('.') {
        return None;
    }
    slot.split('.')
        .try_fold(interp, |v, part| v.as_object()?.get(part))
}

impl Session {
    /// Assigns `application.lastresult$` (2.0 §5.1.5) with the mark information of 2.1 §4 when a mark was
    /// executed, which it returns for the form item's shadow variables.
    pub(super) fn set_lastresult(
        &mut self,
        item: NodeId,
        utterance: &str,
        interp: &Value,
        matched: bool,
    ) -> Option<crate::session::mark::MarkInfo> {
        let mark = self.now.and_then(|now| self.marks.take(now));
        let confidence = Value::from(if matched { 1.0 } else { 0.0 });
        let inputmode = Value::String("dtmf".into());
        let utterance = Value::String(utterance.to_string());
        let (markname, marktime) = match &mark {
            Some(m) => (Value::String(m.name.clone()), Value::from(m.time_ms)),
            None => (Value::Null, Value::Null),
        };
        // In key order, as the JSON object this used to be built from kept them.
        let mut fields: Vec<(&str, &Value)> = vec![
            ("confidence", &confidence),
            ("inputmode", &inputmode),
            ("interpretation", interp),
        ];
        if mark.is_some() {
            fields.push(("markname", &markname));
            fields.push(("marktime", &marktime));
        }
        fields.push(("utterance", &utterance));
        let no_recording = self.records_utterance(item);
        let arr = self.js.lastresult(&fields, no_recording);
        let app = self.ctx().app_scope.clone();
        self.js.set(&app, "lastresult$", &arr);
        mark
    }

    /// Whether the `recordutterance` property (2.1 §10) is true where `item` collects.
    fn records_utterance(&self, item: NodeId) -> bool {
        let doc = self.ctx().doc.clone();
        self.property(&doc, Some(item), "recordutterance")
            .is_some_and(|v| v.trim() == "true")
    }

    /// 2.1 §10: with `recordutterance` on, a result has `recording`, `recordingsize` and `recordingduration`, each
    /// undefined when no audio was collected. DTMF input is keys, not audio (and this platform has no speech
    /// input), so there is no utterance recording to expose: the three are declared and undefined.
    fn set_no_recording(&mut self, obj: &crate::script::JsValue) {
        let undef = self.js.undefined();
        for k in ["recording", "recordingsize", "recordingduration"] {
            self.js.set_prop(obj, k, &undef);
        }
    }

    /// 2.0 §2.3.3: "if any field item variable is set by user input, then all `<initial>` form item variables are
    /// set to true, before any `<filled>` actions are executed".
    fn set_initials(&mut self, doc: &Document) {
        let Some(dialog) = self.ctx().dialog.as_ref().map(|d| d.id) else {
            return;
        };
        for i in doc.children_named(dialog, "initial").collect::<Vec<_>>() {
            let name = self.item_var(i);
            self.set_dialog_var(&name, &self.js.boolean(true));
        }
    }

    /// Sets a field's shadow variables `name$` (2.0 §2.3.1) for a DTMF result.
    fn set_field_shadow(
        &mut self,
        field: NodeId,
        interp: &Value,
        utterance: &str,
        mark: Option<&crate::session::mark::MarkInfo>,
    ) {
        let name = self.item_var(field);
        let mut shadow = serde_json::json!({
            "utterance": utterance, "inputmode": "dtmf", "confidence": 1.0, "interpretation": interp,
        });
        if let (Some(m), Some(o)) = (mark, shadow.as_object_mut()) {
            o.insert("markname".into(), Value::String(m.name.clone()));
            o.insert("marktime".into(), Value::from(m.time_ms));
        }
        let shadow = self.js.from_json(&shadow);
        if self.records_utterance(field) {
            self.set_no_recording(&shadow);
        }
        self.set_dialog_var(&format!("{name}$"), &shadow);
    }

    /// Processes a match: fills the field (or the form's slots), sets shadow variables, runs `<filled>`; or takes
    /// the menu choice.
    pub(in crate::session) fn accept(
        &mut self,
        item: NodeId,
        owner: Owner,
        interp: Value,
        utterance: String,
    ) {
        let mark = self.set_lastresult(item, &utterance, &interp, true);
        self.apply_result(item, owner, interp, utterance, mark);
    }

    /// The process phase of Appendix C once `lastresult$` is set: a link or a choice transitions or throws, a
    /// document-scope grammar of another form leads there, else the item or the form's slots are filled.
    pub(in crate::session) fn apply_result(
        &mut self,
        item: NodeId,
        owner: Owner,
        interp: Value,
        utterance: String,
        mark: Option<crate::session::mark::MarkInfo>,
    ) {
        let doc = self.ctx().doc.clone();
        match owner {
            Owner::Choice(c) => self.take_transition(&doc, c, item),
            Owner::RemoteChoice { root, choice: id } | Owner::Link { root, link: id } => {
                if let Some(d) = self.owner_doc(root) {
                    self.take_transition(&d, id, item);
                }
            }
            Owner::Dialog { root, dialog } => self.carry_to(root, dialog, interp, utterance),
            Owner::Item(i) => {
                let name = self.item_var(i);
                let slot = doc.attr(i, "slot").unwrap_or(&name);
                let value = slot_value(&interp, slot)
                    .cloned()
                    .unwrap_or_else(|| interp.clone());
                let v = self.js.from_json(&value);
                self.set_dialog_var(&name, &v);
                self.set_field_shadow(i, &interp, &utterance, mark.as_ref());
                self.set_initials(&doc);
                self.run_filled(vec![i]);
            }
            Owner::Form => {
                let Some(dialog) = self.ctx().dialog.as_ref().map(|d| d.id) else {
                    return;
                };
                let mut filled = Vec::new();
                let fields: Vec<NodeId> = doc.children_named(dialog, "field").collect();
                for f in fields {
                    let name = self.item_var(f);
                    let slot = doc.attr(f, "slot").unwrap_or(&name).to_string();
                    if let Some(v) = slot_value(&interp, &slot) {
                        let jv = self.js.from_json(v);
                        self.set_dialog_var(&name, &jv);
                        // 2.0 §2.3.1 / Appendix C: a field filled from a form-level grammar has its shadow
                        // variables too (utterance, inputmode, confidence, interpretation).
                        self.set_field_shadow(f, &interp, &utterance, mark.as_ref());
                        filled.push(f);
                    }
                }
                if !filled.is_empty() {
                    self.set_initials(&doc);
                }
                self.run_filled(filled);
            }
        }
    }
}
