//! Executable content (2.0 §5.3, 2.1 §5-6): one element per step, from the frame stack of the current [`Exec`].

use std::sync::Arc;
use std::time::Duration;

use super::{
    Event, Exec, FetchPurpose, Frame, FrameKind, Next, Session, SubdialogCall, Then, Wait,
};
use crate::dom::{Document, NodeId};
use crate::io::{Output, PromptItem};
use crate::request::{Body, FetchKind, Method};
use crate::script::JsValue;

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
    fn declare_item(&mut self, doc: &Arc<Document>, id: NodeId) {
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

    fn exec_assign(&mut self, doc: &Document, id: NodeId) -> Result<(), Event> {
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

    fn exec_clear(&mut self, doc: &Document, id: NodeId) -> Result<(), Event> {
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

    fn exec_if(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        let children = &doc.node(id).children;
        // Branch start indexes: 0 for the <if> itself, then after each <elseif>/<else>.
        let mut branch_cond = doc.attr(id, "cond").map(str::to_string);
        let mut start = 0usize;
        let mut i = 0usize;
        loop {
            let holds = match &branch_cond {
                None => true,
                Some(c) => self.eval_bool(c)?,
            };
            if holds {
                self.push_frame(Frame {
                    doc: doc.clone(),
                    parent: id,
                    idx: start,
                    kind: FrameKind::Branch,
                });
                return Ok(());
            }
            // Find the next elseif/else.
            loop {
                if i >= children.len() {
                    return Ok(());
                }
                let c = children[i];
                i += 1;
                match doc.name(c) {
                    "elseif" => {
                        branch_cond = Some(doc.attr(c, "cond").unwrap_or("false").to_string());
                        break;
                    }
                    "else" => {
                        branch_cond = None;
                        break;
                    }
                    _ => {}
                }
            }
            start = i;
        }
    }

    fn push_frame(&mut self, f: Frame) {
        if let Some(e) = self.ctxs.last_mut().and_then(|c| c.exec.as_mut()) {
            e.frames.push(f);
        }
    }

    /// `<prompt>` in executable content: queued now, with its `<value>`s evaluated now (2.0 §4.1).
    pub(crate) fn exec_prompt(
        &mut self,
        doc: &Arc<Document>,
        id: NodeId,
        check_cond: bool,
    ) -> Result<(), Event> {
        if check_cond && !self.cond(doc, id)? {
            return Ok(());
        }
        if let Some(b) = doc.attr(id, "bargein") {
            self.queue_bargein = b != "false";
        } else if let Some(b) = self.property(doc, Some(id), "bargein") {
            self.queue_bargein = b != "false";
        }
        let bargeintype = doc
            .attr(id, "bargeintype")
            .map(str::to_string)
            .or_else(|| self.property(doc, Some(id), "bargeintype"));
        if let Some(t) = bargeintype {
            self.queue_bargeintype = if t == "hotword" {
                crate::io::BargeInType::Hotword
            } else {
                crate::io::BargeInType::Speech
            };
        }
        if let Some(t) = doc.attr(id, "timeout").and_then(crate::event::parse_time) {
            self.prompt_timeout = Some(t);
        }
        let mut items = Vec::new();
        for c in doc.node(id).children.clone() {
            self.prompt_content(doc, c, &mut items)?;
        }
        self.queue.extend(items);
        Ok(())
    }

    /// Turns prompt content (text, audio, value, break, SSML) into prompt items.
    pub(crate) fn prompt_content(
        &mut self,
        doc: &Arc<Document>,
        id: NodeId,
        items: &mut Vec<PromptItem>,
    ) -> Result<(), Event> {
        if let Some(t) = doc.text(id) {
            let t = normalize(t);
            if !t.is_empty() {
                push_text(items, t);
            }
            return Ok(());
        }
        match doc.name(id) {
            "value" => {
                if let Some(e) = doc.attr(id, "expr") {
                    let s = self.eval_string(e)?;
                    push_text(items, s);
                }
            }
            "audio" => {
                let url = match (doc.attr(id, "src"), doc.attr(id, "expr")) {
                    (Some(s), _) => Some(s.to_string()),
                    (None, Some(x)) => {
                        let v = self.eval(x)?;
                        if self.js.is_undefined(&v) {
                            // 2.0 §4.1.3: an audio element whose expr evaluates to undefined is ignored, fallback
                            // content included.
                            return Ok(());
                        } else {
                            Some(self.js.to_string(&v).map_err(|e| Event {
                                name: "error.semantic".into(),
                                message: Some(e.0),
                            })?)
                        }
                    }
                    _ => None,
                };
                let mut fallback = Vec::new();
                for c in doc.node(id).children.clone() {
                    self.prompt_content(doc, c, &mut fallback)?;
                }
                match url {
                    Some(u) => {
                        let url = self.resolve_in(doc, &u)?;
                        let timeout = self.fetch_timeout(doc, id, FetchKind::Audio);
                        items.push(PromptItem::Audio {
                            url,
                            timeout,
                            fallback,
                        });
                    }
                    None => items.extend(fallback),
                }
            }
            "break" => {
                let d = doc
                    .attr(id, "time")
                    .and_then(crate::event::parse_time)
                    .unwrap_or_else(|| match doc.attr(id, "strength").or(doc.attr(id, "size")) {
                        Some("none") => Duration::ZERO,
                        Some("x-weak") => Duration::from_millis(100),
                        Some("weak") | Some("small") => Duration::from_millis(250),
                        Some("strong") | Some("large") => Duration::from_millis(1000),
                        Some("x-strong") => Duration::from_millis(1500),
                        _ => Duration::from_millis(500),
                    });
                items.push(PromptItem::Break(d));
            }
            "mark" => {
                let name = match (doc.attr(id, "name"), doc.attr(id, "nameexpr")) {
                    (Some(n), _) => n.to_string(),
                    (None, Some(x)) => self.eval_string(x)?,
                    _ => String::new(),
                };
                items.push(PromptItem::Mark(name));
            }
            "enumerate" => self.enumerate(doc, id, items)?,
            // `<foreach>` inside a prompt (2.1 §6.2): its content is rendered once per array element, in order,
            // with `item` set to that element.
            "foreach" => {
                let (Some(array), Some(item)) = (doc.attr(id, "array"), doc.attr(id, "item"))
                else {
                    return Ok(());
                };
                let (arr, len) = self.foreach_array(array, item)?;
                for i in 0..len {
                    let v = self.js.get_prop(&arr, &i.to_string());
                    if let Some(s) = self.scopes().last() {
                        self.js.set(s, item, &v);
                    }
                    for c in doc.node(id).children.clone() {
                        self.prompt_content(doc, c, items)?;
                    }
                }
            }
            "desc" | "metadata" | "lexicon" => {}
            _ => {
                for c in doc.node(id).children.clone() {
                    self.prompt_content(doc, c, items)?;
                }
            }
        }
        Ok(())
    }

    /// `<enumerate>` (2.0 §2.2.4): one rendering per choice/option, with `_prompt` and `_dtmf` set.
    fn enumerate(
        &mut self,
        doc: &Arc<Document>,
        id: NodeId,
        items: &mut Vec<PromptItem>,
    ) -> Result<(), Event> {
        let Some(owner) = doc.ancestor(id, &["menu", "field"]) else {
            return Ok(());
        };
        let choices = self.choices(doc, owner);
        for (dtmf, text, _) in choices {
            if doc.node(id).children.is_empty() {
                push_text(items, text.clone());
                continue;
            }
            let chain = self.chain();
            let Some(s) = chain.last() else { continue };
            self.js.set(s, "_prompt", &self.js.string(&text));
            self.js.set(s, "_dtmf", &self.js.string(&dtmf));
            for c in doc.node(id).children.clone() {
                self.prompt_content(doc, c, items)?;
            }
        }
        Ok(())
    }

    fn exec_goto(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
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

    /// The `(name, value)` pairs of a namelist (values as strings).
    pub(crate) fn namelist(&mut self, names: &str) -> Result<Vec<(String, String)>, Event> {
        let mut out = Vec::new();
        for n in names.split_whitespace() {
            let v = self.eval(n)?;
            let s = if self.js.type_name(&v) == "object" {
                match self.js.to_json(&v) {
                    Some(j) => j.to_string(),
                    None => self.js.to_string(&v).unwrap_or_default(),
                }
            } else {
                self.js.to_string(&v).map_err(|e| Event {
                    name: "error.semantic".into(),
                    message: Some(e.0),
                })?
            };
            out.push((n.to_string(), s));
        }
        Ok(out)
    }

    fn exec_submit(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
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

    /// The body of a POST (`<submit>`, `<data>`): `application/x-www-form-urlencoded`, or `multipart/form-data`
    /// with recordings as file parts (2.0 §5.3.8).
    fn form_body(&self, pairs: &[(String, String)], multipart: bool) -> Body {
        if multipart {
            let boundary = format!(
                "vxgate-{:016x}",
                self.next_fetch.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1
            );
            let mut bytes = Vec::new();
            for (k, v) in pairs {
                bytes.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                if let Some((audio, ty)) = self.recordings.get(k) {
                    bytes.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{k}\"; filename=\"{k}.wav\"\r\nContent-Type: {ty}\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    bytes.extend_from_slice(audio);
                } else {
                    bytes.extend_from_slice(
                        format!("Content-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}")
                            .as_bytes(),
                    );
                }
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            Body {
                content_type: format!("multipart/form-data; boundary={boundary}"),
                bytes,
            }
        } else {
            Body {
                content_type: "application/x-www-form-urlencoded".into(),
                bytes: form_urlencode(pairs).into_bytes(),
            }
        }
    }

    fn exec_exit(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
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

    fn exec_return(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
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

    fn exec_log(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        let mut text = String::new();
        if let Some(e) = doc.attr(id, "expr") {
            text.push_str(&self.eval_string(e)?);
        }
        for c in doc.node(id).children.clone() {
            if let Some(t) = doc.text(c) {
                text.push_str(t);
            } else if doc.name(c) == "value" {
                if let Some(e) = doc.attr(c, "expr") {
                    text.push_str(&self.eval_string(e)?);
                }
            }
        }
        let label = match (doc.attr(id, "label"), doc.attr(id, "labelexpr")) {
            (Some(l), _) => Some(l.to_string()),
            (None, Some(x)) => Some(self.eval_string(x)?),
            _ => None,
        };
        let text = normalize(&text);
        tracing::info!(target: "vxml", label = ?label, "log: {text}");
        self.out.push_back(Output::Log { label, text });
        Ok(())
    }

    pub(crate) fn exec_script(&mut self, doc: &Arc<Document>, id: NodeId) {
        let src = match (doc.attr(id, "src"), doc.attr(id, "srcexpr")) {
            (Some(s), _) => Ok(Some(s.to_string())),
            (None, Some(x)) => self.eval_string(x).map(Some),
            _ => Ok(None),
        };
        match src {
            Err(ev) => self.fail(doc, id, ev),
            Ok(Some(u)) => match self.resolve_in(doc, &u) {
                Err(ev) => self.fail(doc, id, ev),
                Ok(url) => {
                    let req = self.request(doc, id, url, FetchKind::Script, Method::Get, None);
                    let fid = self.fetch(req);
                    self.wait = Some(Wait::Fetch {
                        id: fid,
                        purpose: FetchPurpose::Script {
                            charset: doc.attr(id, "charset").map(str::to_string),
                        },
                    });
                }
            },
            Ok(None) => {
                let body = doc.text_content(id);
                let chain = self.chain();
                let refs: Vec<&crate::script::Scope> = chain.iter().collect();
                if let Err(e) = self.js.run_script(&refs, &body) {
                    self.fail(
                        doc,
                        id,
                        Event {
                            name: "error.semantic".into(),
                            message: Some(e.0),
                        },
                    );
                }
            }
        }
    }

    pub(crate) fn exec_data(&mut self, doc: &Arc<Document>, id: NodeId) {
        let r = (|| -> Result<(), Event> {
            let src = match (doc.attr(id, "src"), doc.attr(id, "srcexpr")) {
                (Some(s), _) => s.to_string(),
                (None, Some(x)) => self.eval_string(x)?,
                _ => {
                    return Err(Event {
                        name: "error.badfetch".into(),
                        message: Some("<data> without src".into()),
                    })
                }
            };
            let mut url = self.resolve_in(doc, &src)?;
            let pairs = match doc.attr(id, "namelist") {
                Some(n) => self.namelist(n)?,
                None => Vec::new(),
            };
            let post = doc
                .attr(id, "method")
                .map(|m| m.eq_ignore_ascii_case("post"))
                .unwrap_or(false);
            let (method, body) = if post {
                // 2.1 §5: enctype as for <submit>.
                let multipart = doc.attr(id, "enctype") == Some("multipart/form-data");
                (Method::Post, Some(self.form_body(&pairs, multipart)))
            } else {
                url = with_query(&url, &pairs);
                (Method::Get, None)
            };
            // A fragment names nothing the server sees.
            url.truncate(url.find('#').unwrap_or(url.len()));
            let req = self.request(doc, id, url, FetchKind::Data, method, body);
            let fid = self.fetch(req);
            let name = doc.attr(id, "name").map(str::to_string);
            self.wait = Some(Wait::Fetch {
                id: fid,
                purpose: FetchPurpose::Data { name },
            });
            Ok(())
        })();
        if let Err(ev) = r {
            self.fail(doc, id, ev);
        }
    }

    /// The array of a `<foreach>` and its length; `error.semantic` when `array` is not an ECMAScript array or
    /// `item` is not a variable name (2.1 §6).
    fn foreach_array(&mut self, array: &str, item: &str) -> Result<(JsValue, u32), Event> {
        if !is_identifier(item) {
            return Err(Event {
                name: "error.semantic".into(),
                message: Some(format!("foreach: item {item:?} is not a variable name")),
            });
        }
        let arr = self.eval(array)?;
        let is_array = {
            let chain = self.chain();
            let refs: Vec<&crate::script::Scope> = chain.iter().collect();
            let tmp = self.new_scope(None)?;
            self.js.set(&tmp, "__vx_a", &arr);
            let mut r = refs.clone();
            r.push(&tmp);
            self.js
                .eval_bool(&r, "Array.isArray(__vx_a)")
                .unwrap_or(false)
        };
        if !is_array {
            return Err(Event {
                name: "error.semantic".into(),
                message: Some(format!("foreach: {array:?} is not an array")),
            });
        }
        let len_v = self.js.get_prop(&arr, "length");
        let len = self
            .js
            .to_string(&len_v)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0);
        Ok((arr, len))
    }

    fn exec_foreach(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        let (Some(array), Some(item)) = (doc.attr(id, "array"), doc.attr(id, "item")) else {
            return Ok(());
        };
        let (arr, len) = self.foreach_array(array, item)?;
        self.push_frame(Frame {
            doc: doc.clone(),
            parent: id,
            idx: usize::MAX,
            kind: FrameKind::Foreach {
                array: arr,
                next: 0,
                len,
                item: item.to_string(),
            },
        });
        Ok(())
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

/// `uri` with the pairs added to its query (`?` or `&`), before any fragment.
fn with_query(uri: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return uri.to_string();
    }
    let (head, frag) = match uri.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (uri, None),
    };
    let sep = if head.contains('?') { '&' } else { '?' };
    let mut out = format!("{head}{sep}{}", form_urlencode(pairs));
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Whether `s` is an ECMAScript identifier (letters, digits, `_`, `$`; not starting with a digit).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

fn push_text(items: &mut Vec<PromptItem>, t: String) {
    if let Some(PromptItem::Text(prev)) = items.last_mut() {
        prev.push(' ');
        prev.push_str(&t);
    } else {
        items.push(PromptItem::Text(t));
    }
}

/// Collapses whitespace runs and trims.
pub(crate) fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `application/x-www-form-urlencoded` (WHATWG URL §5).
pub(crate) fn form_urlencode(pairs: &[(String, String)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}
