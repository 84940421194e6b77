//! One VoiceXML session: the interpreter context of 2.0 §1.5, as a sans-IO state machine.
//!
//! The platform (gateway call task, load generator, `vxgate run-vxml`, tests) drives it:
//! [`Session::handle_input`] and [`Session::handle_timeout`] feed it, [`Session::poll_output`] drains what it asks
//! for, [`Session::poll_timeout`] says when to wake it. It never reads a clock and never does I/O: documents,
//! scripts, grammars and data arrive as [`Input::Fetched`] answers to [`Output::Fetch`] requests.
//!
//! The main loop (`Session::run`) executes one step at a time: executable content is run from an explicit frame
//! stack (so a `<script src>` fetch can suspend it mid-way), events are dispatched through the scope chain of
//! catch elements, and the Form Interpretation Algorithm of 2.0 Appendix C selects and collects form items.
//!
//! This module holds the session's configuration, its state and the driving API; the interpreter's inner state
//! types, the main loop, the scope chain, URIs and properties are submodules, as are the element families.

mod activate;
mod docs;
mod events;
mod exec;
mod fetchaudio;
mod fia;
mod input;
mod mark;
mod properties;
mod run;
mod scopes;
mod session_vars;
mod state;
mod uris;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dom::{Document, NodeId};
use crate::io::{BargeInType, EndReason, Input, Output, PromptItem};
use crate::request::{FetchKind, FetchRequest, Method};
use crate::script::{JsValue, Scope, ScriptEngine, ScriptLimits};
use crate::timer::Timers;

pub use input::Collecting;
pub use session_vars::SessionVars;
pub(crate) use state::{
    Ctx, Dialog, Event, Exec, FetchPurpose, Frame, FrameKind, Next, SubdialogCall, Then, Wait,
};

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
}

#[cfg(test)]
mod tests;
