//! `<var>`, `<assign>` and `<clear>` (2.0 §5.3.1-5.3.3), and the form item variables declared by dialog
//! initialisation.

use std::sync::Arc;

use super::FORM_ITEMS;
use crate::dom::{Document, NodeId};
use crate::session::{Event, Session, Then};

impl Session {
    /// `<var>`: declares in the innermost scope; in dialog initialisation a subdialog `<param>` overrides `expr`.
    pub(crate) fn exec_var(&mut self, doc: &Arc<Document>, id: NodeId) {
        let Some(name) = doc.attr(id, "name") else {
            return;
        };
        // 2.0 §5.1.1: a declaration may not carry a scope prefix (`document.x`) or be anything but a variable name.
        if !is_identifier(name) {
            let ev = Event {
                name: "error.semantic".into(),
                message: Some(format!("<var name={name:?}>: not a variable name")),
            };
            return self.fail(doc, id, ev);
        }
        let name = name.to_string();
        let dialog_init = self
            .ctxs
            .last()
            .and_then(|c| c.exec.as_ref())
            .map(|e| matches!(e.then, Then::DialogInitDone))
            .unwrap_or(false);
        let param = if dialog_init {
            self.params
                .iter()
                .position(|(k, _)| *k == name)
                .map(|i| self.params.remove(i).1)
        } else {
            None
        };
        let value = match (param, doc.attr(id, "expr")) {
            (Some(p), _) => p,
            (None, Some(e)) => match self.eval(e) {
                Ok(v) => v,
                Err(ev) => return self.fail(doc, id, ev),
            },
            // 2.0 §5.3.1: "If there is no expr attribute, the variable retains its current value, if any."
            (None, None) => match self.scopes().last() {
                Some(s) if self.js.has(s, &name) => return,
                _ => self.js.undefined(),
            },
        };
        if let Some(s) = self.scopes().last() {
            self.js.set(s, &name, &value);
        }
    }

    /// Declares a form item's variable (and initialises it from `expr`) during dialog initialisation.
    pub(super) fn declare_item(&mut self, doc: &Arc<Document>, id: NodeId) {
        let name = self.item_var(id);
        let value = match doc.attr(id, "expr") {
            Some(e) => match self.eval(e) {
                Ok(v) => v,
                Err(ev) => return self.fail(doc, id, ev),
            },
            None => self.js.undefined(),
        };
        if let Some(s) = self.scopes().last() {
            self.js.set(s, &name, &value);
            if matches!(doc.name(id), "field" | "record" | "transfer" | "subdialog") {
                self.js.set(s, &format!("{name}$"), &self.js.undefined());
            }
        }
    }

    pub(super) fn exec_assign(&mut self, doc: &Document, id: NodeId) -> Result<(), Event> {
        let (Some(name), Some(expr)) = (doc.attr(id, "name"), doc.attr(id, "expr")) else {
            return Ok(());
        };
        let v = self.eval(expr)?;
        self.scopes()
            .with(|chain| self.js.assign(chain, name, &v))
            .map_err(|e| Event {
                name: "error.semantic".into(),
                message: Some(e.0),
            })
    }

    pub(super) fn exec_clear(&mut self, doc: &Document, id: NodeId) -> Result<(), Event> {
        let cdoc = self.ctx().doc.clone();
        let Some(dialog) = self.ctx().dialog.as_ref().map(|d| d.id) else {
            return Ok(());
        };
        let items: Vec<NodeId> = cdoc
            .elements(dialog)
            .filter(|i| FORM_ITEMS.contains(&cdoc.name(*i)))
            .collect();
        let names: Vec<String> = match doc.attr(id, "namelist") {
            Some(n) => n.split_whitespace().map(str::to_string).collect(),
            None => items.iter().map(|i| self.item_var(*i)).collect(),
        };
        let undef = self.js.undefined();
        for n in names {
            let item = items.iter().copied().find(|i| self.item_var(*i) == n);
            let chain = self.chain();
            let refs: Vec<&crate::script::Scope> = chain.iter().collect();
            self.js.assign(&refs, &n, &undef).map_err(|e| Event {
                name: "error.semantic".into(),
                message: Some(e.0),
            })?;
            if let (Some(item), Some(d)) =
                (item, self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()))
            {
                d.prompt_counts.remove(&item);
                d.event_counts.retain(|(k, _), _| *k != Some(item));
            }
        }
        Ok(())
    }
}

/// Whether `s` is an ECMAScript identifier (letters, digits, `_`, `$`; not starting with a digit).
pub(super) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}
