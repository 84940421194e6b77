//! Which grammars are active while the interpreter waits for input, in precedence order (VoiceXML 2.0 §3.1.4),
//! and what a match of a grammar that is not the current item's does: `<link>` (2.0 §2.5), document-scope form
//! and menu grammars (2.0 §3.1.3).
//!
//! Collecting for a field item activates, highest precedence first:
//! 1. the item's own grammars (`type`, `<option>`s, `<grammar>`s) and the grammars of `<link>`s inside it;
//! 2. the grammars of its form and of the form's `<link>`s (for a menu: its choices, then its links);
//! 3. the `<link>`s of the document and the document-scope grammars of its other forms and menus;
//! 4. the same for the application root document.
//!
//! Within one level, document order decides (the first grammar wins). A modal item (`modal="true"`) turns off all
//! but its own grammars. The order of the list built here is the precedence: the collector keeps the first
//! complete match.

use std::sync::Arc;

use serde_json::Value;

use super::input::{Owner, Spec};
use super::{Event, Next, Session};
use crate::dom::{Document, NodeId, ROOT};
use crate::grammar::Grammar;

/// A recognition result carried into the form whose document-scope grammar matched (2.0 Appendix C: "transition
/// to that `<form>`, carrying the utterance to the new FIA").
pub(crate) struct Carried {
    /// The document the form is in.
    pub url: String,
    /// The form.
    pub dialog: NodeId,
    /// The result.
    pub interp: Value,
    /// The keys.
    pub utterance: String,
}

impl Session {
    /// The grammars active while collecting `item` (a field, `<initial>` or a menu), in precedence order.
    pub(super) fn grammar_specs(
        &mut self,
        doc: &Arc<Document>,
        item: NodeId,
    ) -> Result<Vec<Spec>, Event> {
        let mut specs = Vec::new();
        let name = doc.name(item);
        if name == "menu" {
            // 2.0 §2.2: each choice's dtmf sequence (or its number with dtmf="true") and grammars.
            for (dtmf, _, c) in self.choices(doc, item) {
                if !dtmf.is_empty() {
                    specs.push(Spec::Ready(dtmf_grammar(&dtmf), Owner::Choice(c)));
                }
                for g in doc.children_named(c, "grammar").collect::<Vec<_>>() {
                    self.grammar_spec(doc, g, Owner::Choice(c), &mut specs)?;
                }
            }
            for l in doc.children_named(item, "link").collect::<Vec<_>>() {
                self.link_specs(doc, l, false, &mut specs)?;
            }
            self.document_specs(doc, false, Some(item), &mut specs)?;
            return self.root_specs(doc, &mut specs).map(|_| specs);
        }
        // 1. The item's own grammars: the builtin type and the options first, then its grammars and links.
        if name == "field" {
            if let Some(t) = doc.attr(item, "type") {
                match Grammar::builtin(t) {
                    Ok(g) => specs.push(Spec::Ready(g, Owner::Item(item))),
                    Err(e) => {
                        return Err(Event {
                            name: "error.unsupported.builtin".into(),
                            message: Some(format!("builtin type {t:?}: {e}")),
                        })
                    }
                }
            }
            let options: Vec<(String, Value)> = doc
                .children_named(item, "option")
                .filter_map(|o| {
                    let dtmf = doc.attr(o, "dtmf")?.to_string();
                    let value = doc
                        .attr(o, "value")
                        .map(str::to_string)
                        .unwrap_or_else(|| super::exec::normalize(&doc.text_content(o)));
                    Some((dtmf, Value::String(value)))
                })
                .collect();
            if !options.is_empty() {
                specs.push(Spec::Ready(
                    Grammar::from_alternatives(&options),
                    Owner::Item(item),
                ));
            }
        }
        for c in doc.elements(item).collect::<Vec<_>>() {
            match doc.name(c) {
                "grammar" if name == "field" => {
                    self.grammar_spec(doc, c, Owner::Item(item), &mut specs)?
                }
                "link" => self.link_specs(doc, c, false, &mut specs)?,
                _ => {}
            }
        }
        // 2.0 §2.3.1 (modal): only the item's own grammars while it waits.
        if doc.attr(item, "modal") == Some("true") {
            return Ok(specs);
        }
        // 2. The form's grammars (mixed initiative) and links, in document order.
        let form = doc.parent(item);
        if let Some(form) = form {
            for c in doc.elements(form).collect::<Vec<_>>() {
                match doc.name(c) {
                    "grammar" => self.grammar_spec(doc, c, Owner::Form, &mut specs)?,
                    "link" => self.link_specs(doc, c, false, &mut specs)?,
                    _ => {}
                }
            }
        }
        // 3. and 4.
        self.document_specs(doc, false, form, &mut specs)?;
        self.root_specs(doc, &mut specs)?;
        Ok(specs)
    }

    /// Level 4: the application root's links and document-scope grammars, unless `doc` is the root itself.
    fn root_specs(&mut self, doc: &Arc<Document>, specs: &mut Vec<Spec>) -> Result<(), Event> {
        let Some(app) = self.ctx().app_doc.clone() else {
            return Ok(());
        };
        if app.url == doc.url {
            return Ok(());
        }
        self.document_specs(&app, true, None, specs)
    }

    /// The document-level links of `doc` and the document-scope grammars of its dialogs other than `current`, in
    /// document order (2.0 §3.1.3: a grammar's own `scope` wins over its form's).
    fn document_specs(
        &mut self,
        doc: &Arc<Document>,
        root: bool,
        current: Option<NodeId>,
        specs: &mut Vec<Spec>,
    ) -> Result<(), Event> {
        for d in doc.elements(ROOT).collect::<Vec<_>>() {
            if Some(d) == current {
                continue;
            }
            match doc.name(d) {
                "link" => self.link_specs(doc, d, root, specs)?,
                "form" => {
                    let default = doc.attr(d, "scope").unwrap_or("dialog");
                    for g in doc.children_named(d, "grammar").collect::<Vec<_>>() {
                        if doc.attr(g, "scope").unwrap_or(default) == "document" {
                            let owner = Owner::Dialog { root, dialog: d };
                            self.grammar_spec(doc, g, owner, specs)?;
                        }
                    }
                }
                "menu" if doc.attr(d, "scope") == Some("document") => {
                    for (dtmf, _, c) in self.choices(doc, d) {
                        let owner = Owner::RemoteChoice { root, choice: c };
                        if !dtmf.is_empty() {
                            specs.push(Spec::Ready(dtmf_grammar(&dtmf), owner));
                        }
                        for g in doc.children_named(c, "grammar").collect::<Vec<_>>() {
                            self.grammar_spec(doc, g, owner, specs)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A `<link>`'s grammars: its `dtmf` sequence (2.0 §2.5: a simple DTMF grammar, whitespace optional) and its
    /// `<grammar>` children.
    fn link_specs(
        &mut self,
        doc: &Arc<Document>,
        link: NodeId,
        root: bool,
        specs: &mut Vec<Spec>,
    ) -> Result<(), Event> {
        let owner = Owner::Link { root, link };
        if let Some(d) = doc.attr(link, "dtmf") {
            specs.push(Spec::Ready(dtmf_grammar(d), owner));
        }
        for g in doc.children_named(link, "grammar").collect::<Vec<_>>() {
            self.grammar_spec(doc, g, owner, specs)?;
        }
        Ok(())
    }

    /// The current document, or the application root (`root`).
    pub(super) fn owner_doc(&self, root: bool) -> Option<Arc<Document>> {
        let c = self.ctxs.last()?;
        if root {
            c.app_doc.clone()
        } else {
            Some(c.doc.clone())
        }
    }

    /// A `<link>` (2.0 §2.5) or `<choice>` (2.0 §2.2) matched while collecting `item`: `application.lastresult$` is
    /// already set and no form item is filled. With `event`/`eventexpr` the event (and `message`/`messageexpr`) is
    /// thrown where execution is, the item, not where the element is; otherwise it is a `<goto>` to
    /// `next`/`expr`, relative to the element's own document.
    pub(super) fn take_transition(&mut self, doc: &Arc<Document>, id: NodeId, item: NodeId) {
        let r = (|| -> Result<(), Event> {
            let event = self.literal_or_expr(doc, id, "event", "eventexpr")?;
            if let Some(name) = event {
                let message = self.literal_or_expr(doc, id, "message", "messageexpr")?;
                return Err(Event { name, message });
            }
            let target = match self.literal_or_expr(doc, id, "next", "expr")? {
                Some(t) => t,
                None => {
                    return Err(Event {
                        name: "error.badfetch".into(),
                        message: Some(format!(
                            "{}:{}: <{}> without a target",
                            doc.url,
                            doc.pos(id),
                            doc.name(id)
                        )),
                    })
                }
            };
            tracing::debug!(at = %doc.pos(id), %target, "{}", doc.name(id));
            self.goto_uri(doc, id, &target)
        })();
        if let Err(ev) = r {
            self.throw_from(ev, Some(item));
        }
    }

    /// A document-scope grammar of another form matched: go to that form (in the application root when the
    /// grammar is the root's) and give it the result once it is initialised.
    pub(super) fn carry_to(
        &mut self,
        root: bool,
        dialog: NodeId,
        interp: Value,
        utterance: String,
    ) {
        let Some(doc) = self.owner_doc(root) else {
            return;
        };
        if root && self.ctx().doc.url != doc.url {
            // Leaf to root: the root is already loaded and initialised, so it is not fetched again (2.0 §1.5.2).
            let c = self.ctx_mut();
            c.doc = doc.clone();
            c.doc_scope = c.app_scope.clone();
            c.dialog = None;
            c.exec = None;
        }
        self.carry = Some(Carried {
            url: doc.url.clone(),
            dialog,
            interp,
            utterance,
        });
        self.next = Some(Next::EnterDialogAt(dialog));
    }

    /// The FIA's first iteration in a form entered by a document-scope grammar match: process that result as a
    /// form-level match. True when it did.
    pub(super) fn process_carried(&mut self) -> bool {
        let Some(c) = self.carry.take() else {
            return false;
        };
        let here = self.ctxs.last().and_then(|x| {
            let d = x.dialog.as_ref()?;
            Some((x.doc.url.clone(), d.id))
        });
        if here != Some((c.url.clone(), c.dialog)) {
            // Execution went elsewhere (an event during the form's initialisation): the result is dropped.
            return false;
        }
        // lastresult$ was set when the grammar matched.
        self.apply_result(c.dialog, Owner::Form, c.interp, c.utterance, None);
        true
    }
}

/// The grammar of a `dtmf` attribute (`<choice dtmf>`, `<link dtmf>`): the key sequence, whitespace optional, its
/// interpretation the keys themselves.
fn dtmf_grammar(keys: &str) -> Grammar {
    let compact: String = keys.chars().filter(|c| !c.is_whitespace()).collect();
    Grammar::from_alternatives(&[(compact.clone(), Value::String(compact))])
}
