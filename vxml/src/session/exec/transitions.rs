//! Transitions out of the running content: `<goto>`, `<submit>`, `<exit>` and `<return>` (2.0 §5.3.7-5.3.10), and
//! the call of a `<subdialog>` (2.0 §2.3.4).

use std::sync::Arc;

use super::namelist::with_query;
use super::FORM_ITEMS;
use crate::dom::{Document, NodeId};
use crate::io::Output;
use crate::request::{Body, FetchKind, Method};
use crate::session::{Event, Next, Session, SubdialogCall};

impl Session {
    pub(super) fn exec_goto(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        if let Some(item) = match (doc.attr(id, "nextitem"), doc.attr(id, "expritem")) {
            (Some(n), _) => Some(n.to_string()),
            (None, Some(x)) => Some(self.eval_string(x)?),
            _ => None,
        } {
            let cdoc = self.ctx().doc.clone();
            let dialog = self.ctx().dialog.as_ref().map(|d| d.id);
            let found = dialog.and_then(|d| {
                cdoc.elements(d).find(|i| {
                    FORM_ITEMS.contains(&cdoc.name(*i))
                        && cdoc.attr(*i, "name") == Some(item.as_str())
                })
            });
            let Some(target) = found else {
                return Err(Event {
                    name: "error.badfetch".into(),
                    message: Some(format!("goto: no form item named {item:?}")),
                });
            };
            if let Some(d) = self.ctxs.last_mut().and_then(|c| c.dialog.as_mut()) {
                d.next_item = Some(target);
            }
            self.abort_exec();
            return Ok(());
        }
        let Some(target) = self.literal_or_expr(doc, id, "next", "expr")? else {
            return Err(Event {
                name: "error.badfetch".into(),
                message: Some("<goto> without a target".into()),
            });
        };
        self.transition(doc, id, &target, Method::Get, None, false)
    }

    /// `goto`-style transition to a URI (menu choices, links).
    pub(crate) fn goto_uri(
        &mut self,
        doc: &Arc<Document>,
        id: NodeId,
        target: &str,
    ) -> Result<(), Event> {
        self.transition(doc, id, target, Method::Get, None, false)
    }

    /// Goes to a URI: `#dialog` in the current document, or fetches another document.
    fn transition(
        &mut self,
        doc: &Arc<Document>,
        id: NodeId,
        target: &str,
        method: Method,
        body: Option<Body>,
        submit: bool,
    ) -> Result<(), Event> {
        self.abort_exec();
        // `#dialog` names a dialog of the element's own document (RFC 3986 §5.4: a same-document reference): for
        // an element of the application root (a root `<link>`, a root catch) that is the root, which is loaded
        // as a document below.
        let same_doc = doc.url == self.ctx().doc.url;
        if let Some(frag) = target.trim().strip_prefix('#') {
            if method == Method::Get && body.is_none() && same_doc {
                self.next = Some(Next::EnterDialog(Some(frag.to_string())));
                return Ok(());
            }
        }
        let url = self.resolve_in(doc, target)?;
        let fragment = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.fragment().map(str::to_string));
        let fetch_url = url.split('#').next().unwrap_or(&url).to_string();
        let req = self.request(doc, id, fetch_url, FetchKind::Document, method, body);
        self.pending_fetchaudio = self.fetchaudio_for(doc, id);
        self.arm_fetchaudio_minimum(doc, id);
        self.next = Some(Next::Load {
            request: req,
            fragment,
            sub: None,
            submit,
        });
        Ok(())
    }

    pub(super) fn exec_submit(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        let Some(target) = self.literal_or_expr(doc, id, "next", "expr")? else {
            return Err(Event {
                name: "error.badfetch".into(),
                message: Some("<submit> without a target".into()),
            });
        };
        let names = match doc.attr(id, "namelist") {
            Some(n) => n.to_string(),
            None => {
                let cdoc = self.ctx().doc.clone();
                match self.ctx().dialog.as_ref().map(|d| d.id) {
                    Some(d) => cdoc
                        .elements(d)
                        .filter(|i| {
                            matches!(cdoc.name(*i), "field" | "record" | "transfer" | "subdialog")
                        })
                        .filter_map(|i| cdoc.attr(i, "name").map(str::to_string))
                        .collect::<Vec<_>>()
                        .join(" "),
                    None => String::new(),
                }
            }
        };
        let pairs = self.namelist(&names)?;
        let method = match doc.attr(id, "method").map(|m| m.to_ascii_lowercase()) {
            Some(m) if m == "post" => Method::Post,
            _ => Method::Get,
        };
        let multipart = doc.attr(id, "enctype") == Some("multipart/form-data");
        if method == Method::Get {
            let target = with_query(&target, &pairs);
            return self.transition(doc, id, &target, Method::Get, None, true);
        }
        let body = self.form_body(&pairs, multipart);
        self.transition(doc, id, &target, Method::Post, Some(body), true)
    }

    pub(super) fn exec_exit(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        let value = match (doc.attr(id, "expr"), doc.attr(id, "namelist")) {
            (Some(e), _) => {
                let v = self.eval(e)?;
                self.js.to_json(&v)
            }
            (None, Some(n)) => {
                let pairs = self.namelist(n)?;
                let m: serde_json::Map<String, serde_json::Value> = pairs
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
                Some(serde_json::Value::Object(m))
            }
            _ => None,
        };
        self.abort_exec();
        self.flush_prompts();
        self.out.push_back(Output::Exit { value });
        self.next = Some(Next::End(crate::io::EndReason::Exit));
        Ok(())
    }

    pub(super) fn exec_return(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        if self.ctxs.len() < 2 {
            return Err(Event {
                name: "error.semantic".into(),
                message: Some("<return> outside a subdialog".into()),
            });
        }
        let event = self.literal_or_expr(doc, id, "event", "eventexpr")?;
        let message = self.literal_or_expr(doc, id, "message", "messageexpr")?;
        let mut values = Vec::new();
        if let Some(n) = doc.attr(id, "namelist") {
            for name in n.split_whitespace() {
                let v = self.eval(name)?;
                values.push((name.to_string(), v));
            }
        }
        self.abort_exec();
        self.next = Some(Next::Return {
            values,
            event: event.map(|name| Event { name, message }),
        });
        Ok(())
    }

    /// A pending subdialog call: evaluates params and fetches (or enters) its target.
    pub(crate) fn call_subdialog(
        &mut self,
        doc: &Arc<Document>,
        item: NodeId,
    ) -> Result<(), Event> {
        let src = match (doc.attr(item, "src"), doc.attr(item, "srcexpr")) {
            (Some(s), _) => s.to_string(),
            (None, Some(x)) => self.eval_string(x)?,
            _ => {
                return Err(Event {
                    name: "error.badfetch".into(),
                    message: Some("<subdialog> without src".into()),
                })
            }
        };
        let mut params = Vec::new();
        for p in doc.children_named(item, "param").collect::<Vec<_>>() {
            let Some(name) = doc.attr(p, "name") else {
                continue;
            };
            let v = match (doc.attr(p, "expr"), doc.attr(p, "value")) {
                (Some(e), _) => self.eval(e)?,
                (None, Some(v)) => self.js.string(v),
                _ => self.js.undefined(),
            };
            params.push((name.to_string(), v));
        }
        let method = if doc
            .attr(item, "method")
            .map(|m| m.eq_ignore_ascii_case("post"))
            .unwrap_or(false)
        {
            Method::Post
        } else {
            Method::Get
        };
        // The namelist is sent as <submit> sends it (2.0 §2.3.4): in the query of a GET (before any fragment),
        // in the body of a POST (with the element's enctype).
        let pairs = match doc.attr(item, "namelist") {
            Some(n) => self.namelist(n)?,
            None => Vec::new(),
        };
        let target = if method == Method::Get && !target_is_fragment(&src) {
            with_query(&src, &pairs)
        } else {
            src
        };
        let body = (method == Method::Post).then(|| {
            self.form_body(
                &pairs,
                doc.attr(item, "enctype") == Some("multipart/form-data"),
            )
        });
        let url = if target_is_fragment(&target) {
            format!("{}{}", doc.url, target.trim())
        } else {
            self.resolve_in(doc, &target)?
        };
        let fragment = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.fragment().map(str::to_string));
        let fetch_url = url.split('#').next().unwrap_or(&url).to_string();
        let req = self.request(doc, item, fetch_url, FetchKind::Document, method, body);
        self.pending_fetchaudio = self.fetchaudio_for(doc, item);
        self.arm_fetchaudio_minimum(doc, item);
        self.next = Some(Next::Load {
            request: req,
            fragment,
            sub: Some(SubdialogCall { item, params }),
            submit: false,
        });
        Ok(())
    }
}

/// Whether a URI reference is a bare `#fragment` (a dialog of the same document).
fn target_is_fragment(uri: &str) -> bool {
    uri.trim_start().starts_with('#')
}
