//! Documents: answers to fetches, application root handling (2.0 §1.5.2), entering dialogs, subdialog calls and
//! returns.

use std::sync::Arc;

use super::{
    Ctx, Dialog, Event, Exec, FetchPurpose, Frame, FrameKind, Next, Session, SubdialogCall, Then,
    Wait,
};
use crate::dom::{Document, NodeId, ROOT};
use crate::io::FetchId;
use crate::request::{FetchError, FetchResponse};
use crate::script::JsValue;

fn strip_fragment(u: &str) -> &str {
    u.split('#').next().unwrap_or(u)
}

impl Session {
    pub(super) fn on_fetched(&mut self, id: FetchId, result: Result<FetchResponse, FetchError>) {
        let ours = matches!(&self.wait, Some(Wait::Fetch { id: w, .. }) if *w == id);
        if !ours {
            tracing::debug!(?id, "stale fetch answer ignored");
            return;
        }
        let Some(result) = self.hold_for_fetchaudio(id, result) else {
            return;
        };
        if self.fetchaudio.is_some() {
            self.stop_fetchaudio();
        }
        let Some(Wait::Fetch { purpose, .. }) = self.wait.take() else {
            return;
        };
        match purpose {
            FetchPurpose::Document {
                fragment,
                sub,
                submit,
            } => match result {
                Err(e) => self.fetch_failed(e, "document"),
                Ok(resp) => match self.parse_document(resp) {
                    Err(msg) => self.badfetch(msg),
                    Ok(doc) => self.start_document(doc, fragment, sub, submit),
                },
            },
            FetchPurpose::AppRoot {
                leaf,
                fragment,
                sub,
            } => match result {
                Err(e) => self.fetch_failed(e, "application root"),
                Ok(resp) => match self.parse_document(resp) {
                    Err(msg) => self.badfetch(msg),
                    // An application root may not itself name a root (2.0 §1.5.2, IR assertion 81 and the 2.0
                    // errata: error.semantic).
                    Ok(root) if root.has(ROOT, "application") => {
                        let msg = format!(
                            "{}: the application root of {} names an application root itself",
                            root.url, leaf.url
                        );
                        self.log_line(&msg);
                        self.throw_event("error.semantic", Some(msg));
                    }
                    Ok(root) => self.install(leaf, Some(root), fragment, sub),
                },
            },
            FetchPurpose::Script { charset } => match result {
                Err(e) => self.fetch_failed(e, "script"),
                Ok(resp) => {
                    // The `charset` attribute, else the Content-Type's, else UTF-8 (2.0 §5.3.12).
                    let declared = charset.as_deref().or_else(|| {
                        resp.content_type
                            .as_deref()
                            .and_then(crate::fetch::charset::content_type_charset)
                    });
                    match crate::fetch::charset::decode(&resp.body, declared, false) {
                        Ok(body) => self.run_script_text(&body),
                        Err(e) if declared.is_some() => {
                            self.badfetch(format!("{}: script text: {e}", resp.url))
                        }
                        Err(_) => self.run_script_text(&String::from_utf8_lossy(&resp.body)),
                    }
                }
            },
            FetchPurpose::Data { name } => match result {
                Err(e) => self.fetch_failed(e, "data"),
                Ok(resp) => self.bind_data(name, &resp),
            },
            FetchPurpose::Grammar { index } => self.grammar_fetched(index, result),
        }
    }

    fn fetch_failed(&mut self, e: FetchError, what: &str) {
        let name = e.event_name();
        let msg = format!("{what} fetch failed: {e}");
        self.log_line(&msg);
        if self.ctxs.is_empty() {
            self.finish(crate::io::EndReason::Error(name));
            return;
        }
        self.throw_event(&name, Some(msg));
    }

    /// `error.badfetch` for a document that arrived but cannot be used.
    pub(crate) fn badfetch(&mut self, msg: String) {
        self.log_line(&msg);
        if self.ctxs.is_empty() {
            self.finish(crate::io::EndReason::Error("error.badfetch".into()));
            return;
        }
        self.throw_event("error.badfetch", Some(msg));
    }

    /// The fetched document as a valid tree: shared from the process-wide cache when this URL had exactly these
    /// bytes before ([`crate::dom::cache`]), else parsed, validated and cached.
    fn parse_document(&self, resp: FetchResponse) -> Result<Arc<Document>, String> {
        if resp.body.len() > self.cfg.max_document_bytes {
            return Err(format!(
                "{}: document is {} bytes, larger than the limit of {}",
                resp.url,
                resp.body.len(),
                self.cfg.max_document_bytes
            ));
        }
        let url = strip_fragment(&resp.url).to_string();
        let cache = crate::dom::cache::DocumentCache::global();
        if let Some(doc) = cache.lookup(&url, &resp.body) {
            return Ok(doc);
        }
        let declared = resp
            .content_type
            .as_deref()
            .and_then(crate::fetch::charset::content_type_charset);
        let text = crate::fetch::charset::decode(&resp.body, declared, true)
            .map_err(|e| format!("{url}: document text: {e}"))?;
        let doc = Document::parse(&url, text).map_err(|e| format!("bad document {e}"))?;
        crate::validate::validate(&doc).map_err(|e| format!("invalid document {e}"))?;
        Ok(cache.store(doc))
    }

    /// A fetched, valid document: sort out its application root, then initialise and run it.
    fn start_document(
        &mut self,
        doc: Arc<Document>,
        fragment: Option<String>,
        sub: Option<SubdialogCall>,
        submit: bool,
    ) {
        let app_attr = doc.attr(ROOT, "application").map(str::to_string);
        let cur_app = if sub.is_some() {
            None
        } else {
            self.ctxs.last().and_then(|c| c.app_url.clone())
        };
        match app_attr {
            Some(a) => {
                let root_url = match self.resolve_in(&doc, &a) {
                    Ok(u) => strip_fragment(&u).to_string(),
                    Err(ev) => return self.throw(ev),
                };
                if cur_app.as_deref() == Some(root_url.as_str()) {
                    // Same application: keep the root and its variables.
                    return self.install(doc, None, fragment, sub);
                }
                let cur_is_root = sub.is_none()
                    && self
                        .ctxs
                        .last()
                        .map(|c| c.app_url.is_none() && c.doc.url == root_url)
                        .unwrap_or(false);
                if cur_is_root {
                    // From the root document to one of its leaves: the root's variables become application ones.
                    let c = self.ctx_mut();
                    c.app_url = Some(root_url);
                    c.app_doc = Some(c.doc.clone());
                    c.app_scope = c.doc_scope.clone();
                    return self.install(doc, None, fragment, sub);
                }
                let req = self.request(
                    &doc,
                    ROOT,
                    root_url,
                    crate::request::FetchKind::Document,
                    crate::request::Method::Get,
                    None,
                );
                let id = self.fetch(req);
                self.wait = Some(Wait::Fetch {
                    id,
                    purpose: FetchPurpose::AppRoot {
                        leaf: doc,
                        fragment,
                        sub,
                    },
                });
            }
            None => {
                if sub.is_none() && !submit && cur_app.as_deref() == Some(doc.url.as_str()) {
                    // Leaf to its root by goto: the root is not re-initialised (2.0 §1.5.2; a submit reloads it).
                    let c = self.ctx_mut();
                    let app_scope = c.app_scope.clone();
                    c.doc = doc;
                    c.doc_scope = app_scope;
                    c.dialog = None;
                    c.exec = None;
                    self.next = Some(Next::EnterDialog(fragment));
                    return;
                }
                self.install(doc, None, fragment, sub);
            }
        }
    }

    /// Makes `leaf` the current document (pushing a new context for a subdialog). With `new_root`, a new
    /// application starts with that root document.
    fn install(
        &mut self,
        leaf: Arc<Document>,
        new_root: Option<Arc<Document>>,
        fragment: Option<String>,
        sub: Option<SubdialogCall>,
    ) {
        // Out of script memory: `error.semantic` in the document that asked for this one.
        let doc_scope = match self.new_scope(Some("document")) {
            Ok(s) => s,
            Err(ev) => return self.throw(ev),
        };
        let fresh_app = match (&new_root, &sub) {
            (None, None) if leaf.has(ROOT, "application") => None,
            _ => match self.new_scope(Some("application")) {
                Ok(s) => Some(s),
                Err(ev) => return self.throw(ev),
            },
        };
        let (app_url, app_doc, app_scope, keep_app) = match (&new_root, fresh_app) {
            (Some(root), Some(app)) => (Some(root.url.clone()), Some(root.clone()), app, false),
            (None, Some(app)) => (None, None, app, false),
            (_, None) => {
                let c = self.ctx();
                (
                    c.app_url.clone(),
                    c.app_doc.clone(),
                    c.app_scope.clone(),
                    true,
                )
            }
        };
        let new_level = sub.is_some();
        // A goto inside a subdialog stays in the subdialog's context (a subdialog may span documents).
        let caller_item = match &sub {
            Some(s) => Some(s.item),
            None => self.ctxs.last().and_then(|c| c.caller_item),
        };
        let params = sub.map(|s| s.params).unwrap_or_default();
        let ctx = Ctx {
            app_url,
            app_doc: app_doc.clone(),
            app_scope: app_scope.clone(),
            doc: leaf.clone(),
            doc_scope: doc_scope.clone(),
            dialog: None,
            exec: None,
            caller_item,
        };
        if new_level {
            self.ctxs.push(ctx);
        } else if let Some(top) = self.ctxs.last_mut() {
            *top = ctx;
        } else {
            self.ctxs.push(ctx);
        }
        self.params = params;
        if !keep_app {
            self.js.set(&app_scope, "lastresult$", &self.js.undefined());
        }
        if let (Some(root), false) = (new_root, keep_app) {
            // Initialise the root's variables and scripts in the application scope first.
            let c = self.ctx_mut();
            c.doc = root.clone();
            c.doc_scope = app_scope;
            c.exec = Some(Exec {
                frames: vec![Frame {
                    doc: root,
                    parent: ROOT,
                    idx: 0,
                    kind: FrameKind::DocInit,
                }],
                then: Then::AppInitDone { fragment },
                anon: None,
            });
            self.pending_leaf = Some((leaf, doc_scope));
            return;
        }
        let c = self.ctx_mut();
        c.exec = Some(Exec {
            frames: vec![Frame {
                doc: leaf,
                parent: ROOT,
                idx: 0,
                kind: FrameKind::DocInit,
            }],
            then: Then::DocInitDone { fragment },
            anon: None,
        });
    }

    /// Continues after an [`Exec`] completed.
    pub(crate) fn exec_done(&mut self, then: Then) {
        match then {
            Then::AppInitDone { fragment } => {
                if let Some((leaf, scope)) = self.pending_leaf.take() {
                    let c = self.ctx_mut();
                    c.doc = leaf.clone();
                    c.doc_scope = scope;
                    c.exec = Some(Exec {
                        frames: vec![Frame {
                            doc: leaf,
                            parent: ROOT,
                            idx: 0,
                            kind: FrameKind::DocInit,
                        }],
                        then: Then::DocInitDone { fragment },
                        anon: None,
                    });
                }
            }
            Then::DocInitDone { fragment } => self.next = Some(Next::EnterDialog(fragment)),
            Then::DialogInitDone => {
                // 2.0 §2.3.4: the parameters of a <subdialog> "must be declared as <var> elements in the form
                // executed as the subdialog or an error.semantic will be thrown".
                let left: Vec<String> = self.params.drain(..).map(|(k, _)| k).collect();
                if !left.is_empty() {
                    self.throw_event(
                        "error.semantic",
                        Some(format!(
                            "subdialog parameter(s) {} not declared by a <var> of the form",
                            left.join(", ")
                        )),
                    );
                }
            }
            Then::Fia => {}
        }
    }

    /// Enters a dialog of the current document: `#id`, or the first one.
    pub(crate) fn enter_dialog(&mut self, fragment: Option<String>) {
        let doc = self.ctx().doc.clone();
        let found = doc.elements(ROOT).find(|d| {
            matches!(doc.name(*d), "form" | "menu")
                && match &fragment {
                    Some(f) => doc.attr(*d, "id") == Some(f.as_str()),
                    None => true,
                }
        });
        let Some(dialog) = found else {
            let msg = match fragment {
                Some(f) => format!("{}: no dialog with id {f:?}", doc.url),
                None => format!("{}: document has no form or menu", doc.url),
            };
            return self.badfetch(msg);
        };
        self.enter_dialog_at(dialog);
    }

    /// Enters `dialog` (a form or menu of the current document): a fresh dialog scope, then its initialisation.
    pub(crate) fn enter_dialog_at(&mut self, dialog: NodeId) {
        let doc = self.ctx().doc.clone();
        // The old dialog is left before the new one is initialised (its scope goes with it).
        self.ctx_mut().dialog = None;
        let scope = match self.new_scope(Some("dialog")) {
            Ok(s) => s,
            Err(ev) => return self.throw(ev),
        };
        let c = self.ctx_mut();
        c.dialog = Some(Dialog {
            id: dialog,
            scope,
            prompt_counts: Default::default(),
            event_counts: Default::default(),
            next_item: None,
            current: None,
            queue_prompts: true,
            just_filled: Vec::new(),
        });
        c.exec = Some(Exec {
            frames: vec![Frame {
                doc,
                parent: dialog,
                idx: 0,
                kind: FrameKind::DialogInit,
            }],
            then: Then::DialogInitDone,
            anon: None,
        });
    }

    /// `<return>`: back to the calling context with the named values, or an event.
    pub(crate) fn do_return(&mut self, values: Vec<(String, JsValue)>, event: Option<Event>) {
        if self.ctxs.len() < 2 {
            return self.throw_event(
                "error.semantic",
                Some("<return> outside a subdialog".into()),
            );
        }
        let Some(done) = self.ctxs.pop() else { return };
        let Some(item) = done.caller_item else { return };
        if let Some(ev) = event {
            self.pending_event = Some((ev, Some(item)));
            return;
        }
        let obj = self.js.new_object();
        for (k, v) in &values {
            self.js.set_prop(&obj, k, v);
        }
        let name = self.item_var(item);
        let scope = self.ctx().dialog.as_ref().map(|d| d.scope.clone());
        if let Some(s) = scope {
            self.js.set(&s, &name, &obj);
        }
        self.run_filled(vec![item]);
    }

    /// Runs a fetched `<script src>` in the scope of the paused content, then resumes it.
    pub(crate) fn run_script_text(&mut self, body: &str) {
        let chain = self.chain();
        let refs: Vec<&crate::script::Scope> = chain.iter().collect();
        if let Err(e) = self.js.run_script(&refs, body) {
            let msg = format!("script error: {e}");
            self.log_line(&msg);
            self.throw_event("error.semantic", Some(msg));
        }
    }

    /// A `<data>` answer (2.1 §5): well-formed XML (else `error.badfetch`) that the requesting document may read
    /// (else `error.noauthorization`), exposed as a read-only DOM in the variable `name`.
    fn bind_data(&mut self, name: Option<String>, resp: &FetchResponse) {
        let declared = resp
            .content_type
            .as_deref()
            .and_then(crate::fetch::charset::content_type_charset);
        let tree = crate::fetch::charset::decode(&resp.body, declared, true)
            .and_then(|text| crate::xmldom::parse(&text));
        let tree = match tree {
            Ok(t) => t,
            Err(e) => {
                return self.badfetch(format!("{}: data is not well-formed xml: {e}", resp.url))
            }
        };
        let requester = self
            .ctxs
            .last()
            .and_then(|c| url::Url::parse(&c.doc.url).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        if !crate::xmldom::access_allowed(&tree, &requester) {
            let msg = format!(
                "{}: its access-control processing instruction denies {requester:?}",
                resp.url
            );
            self.log_line(&msg);
            return self.throw_event("error.noauthorization", Some(msg));
        }
        let dom = self.js.ensure_dom().and_then(|_| self.js.dom_from(&tree));
        match dom {
            Err(e) => self.throw_event("error.semantic", Some(e.0)),
            Ok(v) => {
                if let Some(n) = name {
                    let chain = self.chain();
                    if let Some(s) = chain.last() {
                        self.js.set(s, &n, &v);
                    }
                }
            }
        }
    }

    /// The variable that holds a form item's value (its `name`, or an internal one).
    pub(crate) fn item_var(&self, item: NodeId) -> String {
        let doc = &self.ctx().doc;
        match doc.attr(item, "name") {
            Some(n) => n.to_string(),
            None => format!("__vx_item{}", item.0),
        }
    }
}
