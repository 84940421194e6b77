//! One VoiceXML session: the interpreter context of 2.0 §1.5, as a sans-IO state machine.
//!
//! The platform (gateway call task, load generator, `vxgate run-vxml`, tests) drives it:
//! [`Session::handle_input`] and [`Session::handle_timeout`] feed it, [`Session::poll_output`] drains what it asks
//! for, [`Session::poll_timeout`] says when to wake it. It never reads a clock and never does I/O: documents,
//! scripts, grammars and data arrive as [`Input::Fetched`] answers to [`Output::Fetch`] requests.
//!
//! The main loop ([`Session::run`]) executes one step at a time: executable content is run from an explicit frame
//! stack (so a `<script src>` fetch can suspend it mid-way), events are dispatched through the scope chain of
//! catch elements, and the Form Interpretation Algorithm of 2.0 Appendix C selects and collects form items.

mod activate;
mod docs;
mod events;
mod exec;
mod fetchaudio;
mod fia;
mod input;
mod mark;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dom::{Document, NodeId};
use crate::io::{BargeInType, EndReason, FetchId, Input, Output, PromptItem};
use crate::request::{Body, FetchKind, FetchRequest, Method};
use crate::script::{JsValue, Scope, ScriptEngine, ScriptLimits};
use crate::timer::Timers;

pub use input::Collecting;

/// Configuration of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// fetchtimeout when neither the element nor a property sets one (the gateway uses 7 s, as CVP does).
    pub fetchtimeout: Duration,
    /// Script engine limits.
    pub script: ScriptLimits,
    /// Largest document accepted; bigger ones raise `error.badfetch`.
    pub max_document_bytes: usize,
    /// Interpreter steps allowed without waiting for the caller or the network (catches `<goto>` loops within a
    /// document); exceeding it raises `error.semantic`, and a second time ends the session.
    pub max_steps: u32,
    /// Document transitions allowed without any caller interaction (catches `<goto>` loops across documents).
    pub max_transitions: u32,
    /// The `session.*` variables.
    pub vars: SessionVars,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            fetchtimeout: Duration::from_secs(7),
            script: ScriptLimits::default(),
            max_document_bytes: 4 << 20,
            max_steps: 20_000,
            max_transitions: 200,
            vars: SessionVars::default(),
        }
    }
}

/// The `session.connection.*` variables (2.0 §5.1.4).
#[derive(Debug, Clone, Default)]
pub struct SessionVars {
    /// `session.connection.local.uri` (the called party).
    pub local_uri: String,
    /// `session.connection.remote.uri` (the caller).
    pub remote_uri: String,
    /// `session.connection.protocol.name`, e.g. `sip`.
    pub protocol_name: String,
    /// `session.connection.protocol.version`, e.g. `2.0`.
    pub protocol_version: String,
    /// SIP request headers, exposed as `session.connection.protocol.sip.headers` (name → value, names lowercase)
    /// and `session.connection.protocol.sip.requesturi`.
    pub sip_headers: Vec<(String, String)>,
    /// The request URI of the INVITE.
    pub request_uri: String,
    /// `session.connection.aai`.
    pub aai: Option<String>,
    /// `session.connection.redirect`: the redirecting URIs, most recent first.
    pub redirect: Vec<String>,
}

/// An event in flight.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub name: String,
    pub message: Option<String>,
}

/// A resumable piece of executable content: run `parent`'s children from `idx`.
#[derive(Clone)]
pub(crate) struct Frame {
    pub doc: Arc<Document>,
    pub parent: NodeId,
    pub idx: usize,
    pub kind: FrameKind,
}

#[derive(Clone)]
pub(crate) enum FrameKind {
    /// Plain content (block, filled, catch, if-branch of an `<else>`).
    Plain,
    /// Plain content that starts a fresh anonymous scope when it starts (the second and later `<filled>` run for
    /// one input: 2.0 §5.1.2 gives each its own).
    Scoped,
    /// The branch of an `<if>`: stop at the next `<elseif>`/`<else>`.
    Branch,
    /// One iteration of `<foreach>` (2.1): array, next index, item variable name.
    Foreach {
        array: JsValue,
        next: u32,
        len: u32,
        item: String,
    },
    /// `<vxml>` initialisation: only var, script, data (and catch/property/meta are skipped).
    DocInit,
    /// Dialog initialisation: var, script, and form item variables.
    DialogInit,
}

/// What to do when an [`Exec`] finishes without a transition.
#[derive(Clone, Debug)]
pub(crate) enum Then {
    /// The application root has been initialised: now initialise the leaf.
    AppInitDone { fragment: Option<String> },
    /// The document has been initialised: enter the dialog.
    DocInitDone { fragment: Option<String> },
    /// The dialog has been initialised: run the FIA.
    DialogInitDone,
    /// A form item's content (block, filled) finished: back to the FIA.
    Fia,
}

/// Executable content in progress.
pub(crate) struct Exec {
    pub frames: Vec<Frame>,
    pub then: Then,
    /// The scope the content runs in when it is not the dialog's (anonymous scope of block/filled/catch).
    pub anon: Option<Scope>,
}

/// One form or menu being interpreted.
pub(crate) struct Dialog {
    pub id: NodeId,
    pub scope: Scope,
    pub prompt_counts: HashMap<NodeId, u32>,
    pub event_counts: HashMap<(Option<NodeId>, String), u32>,
    pub next_item: Option<NodeId>,
    pub current: Option<NodeId>,
    /// False after a catch that did not `<reprompt>`: the next collection queues no prompts (Appendix C).
    pub queue_prompts: bool,
    /// Form items filled by the last input (for `<filled>` with mode/namelist).
    pub just_filled: Vec<NodeId>,
}

/// An execution context: the documents and scopes of one (sub)dialog level.
pub(crate) struct Ctx {
    pub app_url: Option<String>,
    pub app_doc: Option<Arc<Document>>,
    pub app_scope: Scope,
    pub doc: Arc<Document>,
    pub doc_scope: Scope,
    pub dialog: Option<Dialog>,
    pub exec: Option<Exec>,
    /// For a subdialog context: the `<subdialog>` item in the caller.
    pub caller_item: Option<NodeId>,
}

/// Why a fetch was asked for.
pub(crate) enum FetchPurpose {
    /// A document to run (goto, submit, link, menu choice) or a subdialog's document.
    Document {
        fragment: Option<String>,
        sub: Option<SubdialogCall>,
        submit: bool,
    },
    /// The application root of a fetched leaf.
    AppRoot {
        leaf: Arc<Document>,
        fragment: Option<String>,
        sub: Option<SubdialogCall>,
    },
    /// `<script src>`: run it in the current scope and carry on; `charset` is the element's (2.0 §5.3.12).
    Script { charset: Option<String> },
    /// `<data>`: parse and bind to `name`.
    Data { name: Option<String> },
    /// An external grammar for the collection being prepared.
    Grammar { index: usize },
}

/// A pending `<subdialog>` call.
pub(crate) struct SubdialogCall {
    pub item: NodeId,
    pub params: Vec<(String, JsValue)>,
}

/// What the session is waiting for.
pub(crate) enum Wait {
    Fetch {
        id: FetchId,
        purpose: FetchPurpose,
    },
    Input(Box<Collecting>),
    Record {
        item: NodeId,
    },
    Transfer {
        item: NodeId,
        dest: String,
        kind: crate::io::TransferType,
    },
}

/// One VoiceXML interpreter session. See the module docs for how to drive it.
pub struct Session {
    cfg: SessionConfig,
    out: VecDeque<Output>,
    timers: Timers,
    ctxs: Vec<Ctx>,
    pending_event: Option<(Event, Option<NodeId>)>,
    next: Option<Next>,
    wait: Option<Wait>,
    queue: Vec<PromptItem>,
    queue_bargein: bool,
    queue_bargeintype: BargeInType,
    playing: bool,
    typeahead: VecDeque<char>,
    next_fetch: u64,
    ended: bool,
    end_reason: Option<EndReason>,
    disconnected: bool,
    now: Option<Instant>,
    steps: u32,
    overruns: u32,
    transitions: u32,
    prep: Option<input::Prep>,
    recordings: HashMap<String, (Vec<u8>, String)>,
    start_url: String,
    /// The last base URL [`Session::resolve`] parsed (a page resolves many URIs against one base).
    base_url: std::cell::RefCell<Option<(String, url::Url)>>,
    params: Vec<(String, JsValue)>,
    pending_leaf: Option<(Arc<Document>, Scope)>,
    prompt_timeout: Option<Duration>,
    hung_up: bool,
    transfer_dest: Option<String>,
    queue_bargein_active: bool,
    /// `fetchaudio` for the document fetch about to be issued: (url, delay, fetchtimeout).
    pending_fetchaudio: Option<(String, Duration, Duration)>,
    /// `fetchaudio` armed or playing for the outstanding fetch.
    fetchaudio: Option<(String, Duration)>,
    fetchaudio_playing: bool,
    /// `fetchaudiominimum` for the outstanding document fetch (2.0 §6.3.5).
    fa_hold: fetchaudio::Hold,
    /// A result for the form a document-scope grammar led to (2.0 Appendix C).
    carry: Option<activate::Carried>,
    /// `<mark>`s passed during playback (2.1 §4).
    marks: mark::Marks,
    // Last: every script handle above must be dropped before the engine that owns the runtime.
    js: ScriptEngine,
}

/// Something to do once the current step finishes.
pub(crate) enum Next {
    /// Fetch and run a document.
    Load {
        request: FetchRequest,
        fragment: Option<String>,
        sub: Option<SubdialogCall>,
        submit: bool,
    },
    /// Enter a dialog of the current document by id (`#id`), or the first one.
    EnterDialog(Option<String>),
    /// Enter this dialog (form or menu) of the current document.
    EnterDialogAt(NodeId),
    /// Return from a subdialog with these values (or an event).
    Return {
        values: Vec<(String, JsValue)>,
        event: Option<Event>,
    },
    /// End the session.
    End(EndReason),
}

impl Session {
    /// A session that will start by fetching `url` (the first [`Output`] is its [`Output::Fetch`]).
    pub fn new(cfg: SessionConfig, url: &str) -> Result<Session, crate::script::ScriptError> {
        let js = ScriptEngine::new(cfg.script)?;
        let mut s = Session {
            js,
            out: VecDeque::new(),
            timers: Timers::default(),
            ctxs: Vec::new(),
            pending_event: None,
            next: None,
            wait: None,
            queue: Vec::new(),
            queue_bargein: true,
            queue_bargeintype: BargeInType::Speech,
            playing: false,
            typeahead: VecDeque::new(),
            next_fetch: 0,
            ended: false,
            end_reason: None,
            disconnected: false,
            now: None,
            steps: 0,
            overruns: 0,
            transitions: 0,
            prep: None,
            recordings: HashMap::new(),
            start_url: url.to_string(),
            base_url: std::cell::RefCell::new(None),
            params: Vec::new(),
            pending_leaf: None,
            prompt_timeout: None,
            hung_up: false,
            transfer_dest: None,
            queue_bargein_active: true,
            pending_fetchaudio: None,
            fetchaudio: None,
            fetchaudio_playing: false,
            fa_hold: fetchaudio::Hold::default(),
            carry: None,
            marks: mark::Marks::default(),
            cfg,
        };
        s.install_session_vars();
        let request = FetchRequest {
            url: url.to_string(),
            method: Method::Get,
            body: None,
            timeout: s.cfg.fetchtimeout,
            maxage: None,
            maxstale: None,
            kind: FetchKind::Document,
        };
        let fragment = url::Url::parse(url)
            .ok()
            .and_then(|u| u.fragment().map(str::to_string));
        s.next = Some(Next::Load {
            request,
            fragment,
            sub: None,
            submit: false,
        });
        Ok(s)
    }

    /// Starts the session (emits the first fetch). Call once, before anything else.
    pub fn start(&mut self, now: Instant) {
        self.run(now);
    }

    /// Feeds one input.
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        if self.ended {
            return;
        }
        self.now = Some(now);
        match input {
            Input::Fetched { id, result } => self.on_fetched(id, result),
            Input::PlayDone => self.on_play_done(now),
            Input::Dtmf(c) => self.on_dtmf(now, c),
            Input::RecordDone {
                audio,
                media_type,
                duration,
                termchar,
                maxtime,
            } => self.on_record_done(audio, media_type, duration, termchar, maxtime),
            Input::TransferResult { outcome, duration } => {
                self.on_transfer_result(outcome, duration)
            }
            Input::Hangup => self.on_hangup(),
            Input::Mark { name } => self.on_mark(now, name),
        }
        self.run(now);
    }

    /// Lets expired timers fire.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.now = Some(now);
        self.on_timers(now);
        self.run(now);
    }

    /// The next thing the platform must do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        self.timers.next()
    }

    /// Whether the session has ended.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Why it ended, once it has.
    pub fn end_reason(&self) -> Option<&EndReason> {
        self.end_reason.as_ref()
    }

    /// Bytes held by the session's script heap (the bulk of an idle session's memory).
    pub fn script_memory(&self) -> i64 {
        self.js.memory_used()
    }

    /// Runs the interpreter until it has to wait.
    fn run(&mut self, now: Instant) {
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

    pub(crate) fn ctx(&self) -> &Ctx {
        // The session always has a context once a document ran; callers check `ctxs` is non-empty first.
        self.ctxs.last().expect("an execution context exists")
    }

    pub(crate) fn ctx_mut(&mut self) -> &mut Ctx {
        self.ctxs.last_mut().expect("an execution context exists")
    }

    /// The scope chain for evaluation: application, document, dialog, anonymous (those that exist).
    pub(crate) fn chain(&self) -> Vec<Scope> {
        let Some(c) = self.ctxs.last() else {
            return Vec::new();
        };
        let mut v = Vec::with_capacity(4);
        v.push(c.app_scope.clone());
        if !same_scope(&c.app_scope, &c.doc_scope) {
            v.push(c.doc_scope.clone());
        }
        if let Some(d) = &c.dialog {
            v.push(d.scope.clone());
        }
        if let Some(a) = c.exec.as_ref().and_then(|e| e.anon.clone()) {
            v.push(a);
        }
        v
    }

    /// The scope chain as borrowed handles (application, document, dialog, anonymous; those that exist): what
    /// [`Session::chain`] gives, without cloning a handle or allocating, for the evaluations of every page.
    pub(crate) fn scopes(&self) -> ScopeChain<'_> {
        let Some(c) = self.ctxs.last() else {
            return ScopeChain::default();
        };
        // Unused slots repeat the application scope; only `len` of them are handed out.
        let mut chain = ScopeChain {
            refs: [Some(&c.app_scope); 4],
            len: 1,
        };
        if !same_scope(&c.app_scope, &c.doc_scope) {
            chain.push(&c.doc_scope);
        }
        if let Some(d) = &c.dialog {
            chain.push(&d.scope);
        }
        if let Some(a) = c.exec.as_ref().and_then(|e| e.anon.as_ref()) {
            chain.push(a);
        }
        chain
    }

    pub(crate) fn eval(&mut self, expr: &str) -> Result<JsValue, Event> {
        self.scopes()
            .with(|chain| self.js.eval(chain, expr))
            .map_err(|e| Event {
                name: "error.semantic".into(),
                message: Some(format!("{e} in {expr:?}")),
            })
    }

    pub(crate) fn eval_bool(&mut self, expr: &str) -> Result<bool, Event> {
        let v = self.eval(expr)?;
        Ok(self.js.to_bool(&v))
    }

    /// An attribute given literally or as an ECMAScript expression (the pairs `next`/`expr`, `event`/`eventexpr`,
    /// `message`/`messageexpr` of VoiceXML 2.0): the literal wins, the expression is evaluated to a string, neither
    /// is `None`. The validator has already refused elements that carry both.
    pub(crate) fn literal_or_expr(
        &mut self,
        doc: &Document,
        id: NodeId,
        literal: &str,
        expr: &str,
    ) -> Result<Option<String>, Event> {
        match (doc.attr(id, literal), doc.attr(id, expr)) {
            (Some(v), _) => Ok(Some(v.to_string())),
            (None, Some(x)) => self.eval_string(x).map(Some),
            _ => Ok(None),
        }
    }

    pub(crate) fn eval_string(&mut self, expr: &str) -> Result<String, Event> {
        let v = self.eval(expr)?;
        self.js.to_string(&v).map_err(|e| Event {
            name: "error.semantic".into(),
            message: Some(e.0),
        })
    }

    /// Whether `cond` (absent = true) holds.
    pub(crate) fn cond(&mut self, doc: &Document, id: NodeId) -> Result<bool, Event> {
        match doc.attr(id, "cond") {
            None => Ok(true),
            Some(c) => self.eval_bool(c),
        }
    }

    /// Resolves a URI against the current document (RFC 3986 §5).
    pub(crate) fn resolve(&self, base: &str, uri: &str) -> Result<String, Event> {
        let mut cache = self.base_url.borrow_mut();
        let cached = cache.as_ref().is_some_and(|(s, _)| s == base);
        if !cached {
            *cache = url::Url::parse(base).ok().map(|u| (base.to_string(), u));
        }
        let r = match cache.as_ref() {
            Some((_, b)) => b.join(uri.trim()),
            None => match url::Url::parse(&self.start_url) {
                Ok(b) => b.join(uri.trim()),
                Err(_) => url::Url::parse(uri.trim()),
            },
        };
        r.map(String::from).map_err(|e| Event {
            name: "error.badfetch".into(),
            message: Some(format!("bad uri {uri:?}: {e}")),
        })
    }

    /// Resolves a URI written in `doc`: against the document's `xml:base` when its `<vxml>` has one (2.0 §1.5.1,
    /// XML Base; itself resolved against the document's URL), else against the document's URL.
    pub(crate) fn resolve_in(&self, doc: &Document, uri: &str) -> Result<String, Event> {
        match doc.attr(crate::dom::ROOT, "xml:base") {
            Some(b) if !b.trim().is_empty() => {
                let base = self.resolve(&doc.url, b)?;
                self.resolve(&base, uri)
            }
            _ => self.resolve(&doc.url, uri),
        }
    }

    /// The value of a property in force at element `at` of `doc` (innermost `<property>` wins, then the
    /// application root's), VoiceXML 2.0 §6.3.
    pub(crate) fn property(
        &self,
        doc: &Document,
        at: Option<NodeId>,
        name: &str,
    ) -> Option<String> {
        let mut cur = at;
        while let Some(id) = cur {
            for p in doc.properties(id) {
                if doc.attr(p, "name") == Some(name) {
                    return doc.attr(p, "value").map(str::to_string);
                }
            }
            cur = doc.parent(id);
        }
        if let Some(c) = self.ctxs.last() {
            if let Some(app) = &c.app_doc {
                if !std::ptr::eq(app.as_ref(), doc) {
                    for p in app.properties(crate::dom::ROOT) {
                        if app.attr(p, "name") == Some(name) {
                            return app.attr(p, "value").map(str::to_string);
                        }
                    }
                }
            }
        }
        None
    }

    /// The `fetchaudio` in force for a document fetch asked by element `at` (attribute, else property), with the
    /// `fetchaudiodelay` (default 2 s) and the audio's fetchtimeout; `None` when empty or unset.
    pub(crate) fn fetchaudio_for(
        &self,
        doc: &Document,
        at: NodeId,
    ) -> Option<(String, Duration, Duration)> {
        let fa = doc
            .attr(at, "fetchaudio")
            .map(str::to_string)
            .or_else(|| self.property(doc, Some(at), "fetchaudio"))?;
        if fa.trim().is_empty() {
            return None;
        }
        let url = self.resolve_in(doc, &fa).ok()?;
        let delay = self
            .property(doc, Some(at), "fetchaudiodelay")
            .and_then(|v| crate::event::parse_time(&v))
            .unwrap_or(Duration::from_secs(2));
        Some((url, delay, self.fetch_timeout(doc, at, FetchKind::Audio)))
    }

    /// The document fetch answered: stop fetchaudio (its timer, or its playback).
    pub(crate) fn stop_fetchaudio(&mut self) {
        self.timers.stop(crate::timer::Timer::FetchAudio);
        self.fetchaudio = None;
        if self.fetchaudio_playing {
            self.fetchaudio_playing = false;
            self.playing = false;
            self.out.push_back(Output::StopPlay);
        }
    }

    /// fetchtimeout resolution: the element's attribute, else the property, else the configured default.
    pub(crate) fn fetch_timeout(&self, doc: &Document, at: NodeId, kind: FetchKind) -> Duration {
        if let Some(t) = doc
            .attr(at, "fetchtimeout")
            .and_then(crate::event::parse_time)
        {
            return t;
        }
        let _ = kind;
        self.property(doc, Some(at), "fetchtimeout")
            .and_then(|v| crate::event::parse_time(&v))
            .unwrap_or(self.cfg.fetchtimeout)
    }

    /// A fetch request for a resource named by element `at` of `doc`.
    pub(crate) fn request(
        &self,
        doc: &Document,
        at: NodeId,
        url: String,
        kind: FetchKind,
        method: Method,
        body: Option<Body>,
    ) -> FetchRequest {
        let prefix = match kind {
            FetchKind::Document => "document",
            FetchKind::Script => "script",
            FetchKind::Grammar => "grammar",
            FetchKind::Audio => "audio",
            FetchKind::Data => "data",
        };
        let age = |attr: &str| {
            doc.attr(at, attr)
                .map(str::to_string)
                .or_else(|| self.property(doc, Some(at), &format!("{prefix}{attr}")))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        };
        FetchRequest {
            url,
            method,
            body,
            timeout: self.fetch_timeout(doc, at, kind),
            maxage: age("maxage"),
            maxstale: age("maxstale"),
            kind,
        }
    }

    fn install_session_vars(&mut self) {
        let v = &self.cfg.vars;
        let mut headers = serde_json::Map::new();
        for (k, val) in &v.sip_headers {
            headers.insert(
                k.to_ascii_lowercase(),
                serde_json::Value::String(val.clone()),
            );
        }
        let redirect: Vec<_> = v
            .redirect
            .iter()
            .map(|u| serde_json::json!({"uri": u}))
            .collect();
        let session = serde_json::json!({
            "connection": {
                "local": {"uri": v.local_uri},
                "remote": {"uri": v.remote_uri},
                "protocol": {
                    "name": v.protocol_name,
                    "version": v.protocol_version,
                    "sip": {"headers": headers, "requesturi": v.request_uri},
                },
                "aai": v.aai,
                "redirect": redirect,
            }
        });
        let val = self.js.from_json(&session);
        self.js.set_global("session", &val);
        // 2.0 §5.1.4: `originator` is the `remote` (or `local`) object itself; an inbound call's caller is remote.
        let conn = self.js.get_prop(&val, "connection");
        let remote = self.js.get_prop(&conn, "remote");
        self.js.set_prop(&conn, "originator", &remote);
        // 2.0 §5.1.2: session variables are read-only and documents cannot declare new ones: the object tree is
        // frozen and the global binding cannot be replaced.
        let freeze = "(function(){ (function f(o){ Object.freeze(o); Object.getOwnPropertyNames(o).forEach( \
            function(k){ var v = o[k]; if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) f(v); }); \
            })(session); Object.defineProperty(globalThis, 'session', {writable: false, configurable: false}); \
            return true; })()";
        if let Err(e) = self.js.eval(&[], freeze) {
            tracing::warn!("session variables left writable: {e}");
        }
    }
}

/// The scope chain of the current context, borrowed (see [`Session::scopes`]).
#[derive(Default)]
pub(crate) struct ScopeChain<'a> {
    refs: [Option<&'a Scope>; 4],
    len: usize,
}

impl<'a> ScopeChain<'a> {
    fn push(&mut self, s: &'a Scope) {
        if let Some(slot) = self.refs.get_mut(self.len) {
            *slot = Some(s);
            self.len += 1;
        }
    }

    /// The innermost scope (where `<var>` declares).
    pub(crate) fn last(&self) -> Option<&'a Scope> {
        self.refs.get(self.len.checked_sub(1)?).copied().flatten()
    }

    /// Runs `f` with the chain as a slice, outermost first, as the script engine takes it.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&[&'a Scope]) -> R) -> R {
        match self.refs {
            [Some(a), Some(b), Some(c), Some(d)] => {
                let all = [a, b, c, d];
                f(all.get(..self.len).unwrap_or(&all))
            }
            _ => f(&[]),
        }
    }
}

pub(crate) fn same_scope(a: &Scope, b: &Scope) -> bool {
    a.ptr_eq(b)
}

#[cfg(test)]
mod tests;
