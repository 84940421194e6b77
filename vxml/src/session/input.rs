//! DTMF collection for fields, `<initial>` and menus: grammar activation (inline, builtin, external, options,
//! choices), the digit timers of 2.0 §6.3.3 and the processing of a result (shadow variables, `lastresult$`).
//!
//! Speech grammars are not activated: the platform has no recogniser, so a field whose grammars are all voice
//! grammars only ever gets `noinput` (or `nomatch` for keys), which is what a DTMF-only platform reports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Event, FetchPurpose, Session, Wait};
use crate::dom::{Document, NodeId};
use crate::grammar::{Grammar, MatchResult, Mode};
use crate::io::{CollectTimeouts, Output, PromptItem};
use crate::request::{FetchError, FetchKind, FetchResponse, Method};
use crate::timer::Timer;

/// Longest chain of grammars fetched through external rule references (grammar → ruleref → ruleref ...).
const MAX_RULEREF_DEPTH: u32 = 8;

/// What a grammar's match fills, or where it leads (VoiceXML 2.0 Appendix C, process phase).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner {
    /// The field (or `<initial>`) itself.
    Item(NodeId),
    /// A form-level grammar: slots of the form's fields.
    Form,
    /// A `<choice>` of the current menu.
    Choice(NodeId),
    /// A `<link>` (2.0 §2.5) of the current document, or of the application root (`root`).
    Link { root: bool, link: NodeId },
    /// A document-scope grammar of another form (2.0 §3.1.3): transition there, carrying the result.
    Dialog { root: bool, dialog: NodeId },
    /// A `<choice>` of another menu with document scope.
    RemoteChoice { root: bool, choice: NodeId },
}

pub(crate) enum Spec {
    Ready(Grammar, Owner),
    /// An external grammar to fetch: URL, owner, and the `<grammar>` element (in its document) that names it.
    Url(String, Owner, Arc<Document>, NodeId),
    /// An external rule reference of the grammar at `ready[target]`, `depth` grammars away from it.
    Ref {
        uri: String,
        target: usize,
        depth: u32,
    },
    Done,
}

/// A collection being prepared (external grammars being fetched).
pub(crate) struct Prep {
    item: NodeId,
    specs: Vec<Spec>,
    ready: Vec<(Grammar, Owner)>,
    next: usize,
}

/// A collection in progress.
pub struct Collecting {
    item: NodeId,
    grammars: Vec<(Grammar, Owner)>,
    digits: String,
    timeouts: CollectTimeouts,
    noinput_armed: bool,
    complete: Option<(usize, Value, String)>,
}

impl std::fmt::Debug for Collecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collecting")
            .field("digits", &self.digits)
            .finish()
    }
}

fn is_dtmf_mode(doc: &Document, g: NodeId) -> bool {
    doc.attr(g, "mode") == Some("dtmf")
}

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

/// Whether a `<grammar type>` names a format this platform reads: SRGS 1.0 in its XML form
/// (`application/srgs+xml`, the pre-registration `application/grammar+xml`, generic XML types) or its ABNF form
/// (`application/srgs`). Media type parameters and case are ignored.
fn supported_type(t: &str) -> bool {
    let base = t
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        base.as_str(),
        "application/srgs+xml"
            | "application/srgs"
            | "application/grammar+xml"
            | "application/xml"
            | "text/xml"
            | ""
    )
}

impl Session {
    /// Queues the prompts of a field/menu/initial, activates its grammars and starts listening.
    pub(crate) fn start_collect(&mut self, doc: &Arc<Document>, item: NodeId) {
        if self.hung_up {
            return self.finish(crate::io::EndReason::Hangup);
        }
        if let Err(ev) = self.queue_item_prompts(doc, item) {
            return self.throw_from(ev, Some(item));
        }
        match self.grammar_specs(doc, item) {
            Err(ev) => self.throw_from(ev, Some(item)),
            Ok(specs) => {
                self.prep = Some(Prep {
                    item,
                    specs,
                    ready: Vec::new(),
                    next: 0,
                });
                self.continue_prep();
            }
        }
    }

    pub(super) fn grammar_spec(
        &mut self,
        doc: &Arc<Document>,
        g: NodeId,
        owner: Owner,
        specs: &mut Vec<Spec>,
    ) -> Result<(), Event> {
        let src = match (doc.attr(g, "src"), doc.attr(g, "srcexpr")) {
            (Some(s), _) => Some(s.to_string()),
            (None, Some(x)) => Some(self.eval_string(x)?),
            _ => None,
        };
        let builtin = src.as_deref().is_some_and(|s| s.starts_with("builtin:"));
        if let Some(t) = doc
            .attr(g, "type")
            .filter(|t| !builtin && !supported_type(t))
        {
            // 2.0 §5.2.6: a grammar format the platform does not support is error.unsupported.format. A voice
            // grammar is never activated (no recogniser), so only one that would be is refused.
            if src.is_some() || is_dtmf_mode(doc, g) {
                return Err(Event {
                    name: "error.unsupported.format".into(),
                    message: Some(format!(
                        "{}:{}: grammar type {t:?} is not supported",
                        doc.url,
                        doc.pos(g)
                    )),
                });
            }
            tracing::debug!(at = %doc.pos(g), %t, "voice grammar of an unsupported type not activated");
            return Ok(());
        }
        match src {
            Some(s) => {
                if let Some(b) = s.strip_prefix("builtin:") {
                    let g = Grammar::builtin(&s).map_err(|e| Event {
                        name: "error.unsupported.builtin".into(),
                        message: Some(format!("{b}: {e}")),
                    })?;
                    specs.push(Spec::Ready(g, owner));
                } else {
                    let url = self.resolve_in(doc, &s)?;
                    specs.push(Spec::Url(url, owner, doc.clone(), g));
                }
            }
            None => {
                let raw = doc.raw(g).to_string();
                let parsed = Grammar::parse_srgs(&raw, &doc.url);
                if !is_dtmf_mode(doc, g) {
                    // Without mode="dtmf" the grammar is a voice grammar (the SRGS default), unless an inline ABNF
                    // grammar declares `mode dtmf;` in its own header (SRGS 1.0 §4.7).
                    if !matches!(&parsed, Ok(gr) if gr.mode() == Mode::Dtmf) {
                        tracing::debug!(at = %doc.pos(g), "voice grammar not activated: no speech recogniser");
                        return Ok(());
                    }
                }
                let gr = parsed.map_err(|e| Event {
                    name: "error.badfetch".into(),
                    message: Some(format!("{}:{}: bad grammar: {e}", doc.url, doc.pos(g))),
                })?;
                specs.push(Spec::Ready(gr, owner));
            }
        }
        Ok(())
    }

    /// Fetches the next external grammar, or starts collecting when all are ready.
    fn continue_prep(&mut self) {
        let Some(cur) = self.ctxs.last().map(|c| c.doc.clone()) else {
            return;
        };
        let Some(prep) = self.prep.as_mut() else {
            return;
        };
        while prep.next < prep.specs.len() {
            let i = prep.next;
            prep.next += 1;
            let (url, gdoc, at) = match std::mem::replace(&mut prep.specs[i], Spec::Done) {
                Spec::Ready(g, o) => {
                    let target = prep.ready.len();
                    for uri in g.external_refs() {
                        prep.specs.push(Spec::Ref {
                            uri,
                            target,
                            depth: 1,
                        });
                    }
                    prep.ready.push((g, o));
                    continue;
                }
                Spec::Done => continue,
                Spec::Url(url, owner, gdoc, at) => {
                    prep.specs[i] = Spec::Url(url.clone(), owner, gdoc.clone(), at);
                    (url, gdoc, at)
                }
                Spec::Ref { uri, target, depth } => {
                    prep.specs[i] = Spec::Ref {
                        uri: uri.clone(),
                        target,
                        depth,
                    };
                    (uri, cur.clone(), prep.item)
                }
            };
            // The fragment names the root rule (`g.grxml#rule`); it is not part of the request.
            let url = match url.split_once('#') {
                Some((u, _)) => u.to_string(),
                None => url,
            };
            let req = self.request(&gdoc, at, url, FetchKind::Grammar, Method::Get, None);
            let id = self.fetch(req);
            self.wait = Some(Wait::Fetch {
                id,
                purpose: FetchPurpose::Grammar { index: i },
            });
            return;
        }
        let Some(prep) = self.prep.take() else { return };
        if let Some(e) = prep.ready.iter().find_map(|(g, _)| g.check().err()) {
            let msg = format!("bad grammar: {e}");
            self.log_line(&msg);
            return self.throw_from(
                Event {
                    name: "error.badfetch".into(),
                    message: Some(msg),
                },
                Some(prep.item),
            );
        }
        self.listen(prep.item, prep.ready);
    }

    pub(super) fn grammar_fetched(
        &mut self,
        index: usize,
        result: Result<FetchResponse, FetchError>,
    ) {
        let Some(prep) = self.prep.as_mut() else {
            return;
        };
        let (owner, ref_of, root, declared) = match prep.specs.get(index) {
            Some(Spec::Url(url, owner, gdoc, at)) => (
                *owner,
                None,
                url.split_once('#').map(|(_, f)| f.to_string()),
                match gdoc.attr(*at, "mode") {
                    Some("dtmf") => Some(Mode::Dtmf),
                    Some("voice") => Some(Mode::Voice),
                    _ => None,
                },
            ),
            Some(Spec::Ref { uri, target, depth }) => (
                Owner::Form,
                Some((uri.clone(), *target, *depth)),
                None,
                None,
            ),
            _ => return,
        };
        let item = prep.item;
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                self.prep = None;
                let msg = format!("grammar fetch failed: {e}");
                self.log_line(&msg);
                return self.throw_from(
                    Event {
                        name: e.event_name(),
                        message: Some(msg),
                    },
                    Some(item),
                );
            }
        };
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        {
            let parsed = Grammar::parse_srgs(&text, &resp.url)
                .and_then(|g| match &root {
                    Some(rule) if !rule.is_empty() => g.with_root(rule),
                    _ => Ok(g),
                })
                .and_then(|g| match declared {
                    // 2.0 §3.1.1.4, mode: "If the mode value is in conflict with the mode of the grammar itself,
                    // a badfetch event is thrown" (a grammar that declares no mode is a voice grammar, SRGS 1.0
                    // §4.6).
                    Some(m) if m != g.mode() => Err(crate::grammar::GrammarError {
                        grammar: resp.url.clone(),
                        message: format!(
                            "the <grammar> element says mode {:?} but the grammar's mode is {:?}",
                            m,
                            g.mode()
                        ),
                    }),
                    _ => Ok(g),
                });
            match parsed {
                // Voice grammars are not activated: there is no recogniser.
                Ok(g) if g.mode() == Mode::Voice && ref_of.is_none() => {
                    tracing::debug!(url = %resp.url, "voice grammar not activated: no speech recogniser");
                }
                Ok(g) => match ref_of {
                    Some((uri, target, depth)) => {
                        let Some((parent, _)) = prep.ready.get_mut(target) else {
                            return self.continue_prep();
                        };
                        parent.resolve_external(&uri, g);
                        // SRGS 1.0 §2.2.2: the fetched grammar may reference further grammars by URI; they only
                        // become visible once it is linked, so fetch them in turn (bounded: a chain deeper than
                        // MAX_RULEREF_DEPTH is refused; cycles end because a linked URI is never asked again).
                        let nested: Vec<String> = parent
                            .external_refs()
                            .into_iter()
                            .filter(|u| {
                                !prep.specs.iter().any(|s| {
                                    matches!(s, Spec::Ref { uri, target: t, .. } if uri == u && *t == target)
                                })
                            })
                            .collect();
                        if let Some(u) = nested.first() {
                            if depth >= MAX_RULEREF_DEPTH {
                                self.prep = None;
                                let msg = format!(
                                    "{}: external rule references nested deeper than {MAX_RULEREF_DEPTH} (at {u})",
                                    resp.url
                                );
                                self.log_line(&msg);
                                return self.throw_from(
                                    Event {
                                        name: "error.badfetch".into(),
                                        message: Some(msg),
                                    },
                                    Some(item),
                                );
                            }
                        }
                        for uri in nested {
                            prep.specs.push(Spec::Ref {
                                uri,
                                target,
                                depth: depth + 1,
                            });
                        }
                    }
                    None => prep.specs.push(Spec::Ready(g, owner)),
                },
                Err(e) => {
                    self.prep = None;
                    let msg = format!("{}: bad grammar: {e}", resp.url);
                    self.log_line(&msg);
                    return self.throw_from(
                        Event {
                            name: "error.badfetch".into(),
                            message: Some(msg),
                        },
                        Some(item),
                    );
                }
            }
        }
        self.continue_prep();
    }

    fn timeouts(&self, doc: &Document, item: NodeId) -> CollectTimeouts {
        let t = |name: &str, d: Duration| {
            self.property(doc, Some(item), name)
                .and_then(|v| crate::event::parse_time(&v))
                .unwrap_or(d)
        };
        let termchar = match self.property(doc, Some(item), "termchar") {
            Some(s) => s.chars().next(),
            None => Some('#'),
        };
        CollectTimeouts {
            timeout: self
                .prompt_timeout
                .unwrap_or_else(|| t("timeout", Duration::from_secs(5))),
            interdigittimeout: t("interdigittimeout", Duration::from_secs(3)),
            termtimeout: t("termtimeout", Duration::ZERO),
            termchar,
        }
    }

    fn listen(&mut self, item: NodeId, mut grammars: Vec<(Grammar, Owner)>) {
        let doc = self.ctx().doc.clone();
        let timeouts = self.timeouts(&doc, item);
        // inputmodes without "dtmf" (2.0 §6.3.6): keys are not recognised, so no DTMF grammar is active.
        if let Some(modes) = self.property(&doc, Some(item), "inputmodes") {
            if !modes.split_whitespace().any(|m| m == "dtmf") {
                grammars.clear();
            }
        }
        self.prompt_timeout = None;
        self.flush_prompts();
        self.out.push_back(Output::Collect {
            timeouts,
            grammars: grammars.len(),
        });
        self.wait = Some(Wait::Input(Box::new(Collecting {
            item,
            grammars,
            digits: String::new(),
            timeouts,
            noinput_armed: false,
            complete: None,
        })));
        if let Some(now) = self.now {
            if !self.playing {
                self.arm_noinput(now);
            }
            self.drain_typeahead(now);
        }
    }

    fn arm_noinput(&mut self, now: Instant) {
        if let Some(Wait::Input(c)) = self.wait.as_mut() {
            if !c.noinput_armed && c.digits.is_empty() {
                c.noinput_armed = true;
                let at = now + c.timeouts.timeout;
                self.timers.set(Timer::NoInput, at);
            }
        }
    }

    fn drain_typeahead(&mut self, now: Instant) {
        while matches!(self.wait, Some(Wait::Input(_))) {
            let Some(c) = self.typeahead.pop_front() else {
                break;
            };
            if self.playing && self.queue_bargein_active {
                self.out.push_back(Output::StopPlay);
                self.playing = false;
                self.marks.stopped(now);
            }
            self.digit(now, c);
        }
    }

    pub(super) fn on_play_done(&mut self, now: Instant) {
        if self.playing && !self.fetchaudio_playing {
            self.marks.stopped(now);
        }
        self.playing = false;
        self.fetchaudio_playing = false;
        if matches!(self.wait, Some(Wait::Input(_))) {
            self.arm_noinput(now);
            self.drain_typeahead(now);
        }
    }

    pub(super) fn on_dtmf(&mut self, now: Instant, c: char) {
        self.transitions = 0;
        if matches!(self.wait, Some(Wait::Input(_))) {
            if self.playing {
                if !self.queue_bargein_active {
                    tracing::debug!(digit = %c, "digit ignored: bargein is off");
                    return;
                }
                self.out.push_back(Output::StopPlay);
                self.playing = false;
                self.marks.stopped(now);
            }
            self.digit(now, c);
        } else {
            self.typeahead.push_back(c);
        }
    }

    fn digit(&mut self, now: Instant, c: char) {
        self.timers.stop(Timer::NoInput);
        let Some(Wait::Input(col)) = self.wait.as_mut() else {
            return;
        };
        if Some(c) == col.timeouts.termchar {
            // The termchar ends a complete input. Otherwise, when an active grammar takes the key itself (a
            // `<choice dtmf="#">`, a grammar ending in `#`), it is input like any other key; failing that it ends
            // the input, which is then incomplete (nomatch).
            let takes_it = {
                let keys = format!("{}{c}", col.digits);
                col.grammars
                    .iter()
                    .any(|(g, _)| !matches!(g.matches(&keys), MatchResult::NoMatch))
            };
            if col.complete.is_some() || !takes_it {
                if col.digits.is_empty() {
                    return self.nomatch();
                }
                return self.finish_collect();
            }
        }
        col.digits.push(c);
        let mut complete = None;
        let mut pending = false;
        for (i, (g, _)) in col.grammars.iter().enumerate() {
            match g.matches(&col.digits) {
                MatchResult::NoMatch => {}
                MatchResult::Partial => pending = true,
                MatchResult::Complete {
                    interpretation,
                    utterance,
                    can_extend,
                } => {
                    if can_extend {
                        pending = true;
                    }
                    if complete.is_none() {
                        complete = Some((i, interpretation, utterance));
                    }
                }
            }
        }
        let has_complete = complete.is_some();
        col.complete = complete;
        if !has_complete && !pending {
            return self.nomatch();
        }
        if has_complete && !pending {
            let tt = col.timeouts.termtimeout;
            if col.timeouts.termchar.is_some() && !tt.is_zero() {
                self.timers.set(Timer::InterDigit, now + tt);
                return;
            }
            return self.finish_collect();
        }
        let at = now + col.timeouts.interdigittimeout;
        self.timers.set(Timer::InterDigit, at);
    }

    pub(super) fn on_timers(&mut self, now: Instant) {
        if self.timers.expired(Timer::FetchAudioMinimum, now) {
            self.fetchaudio_minimum_reached();
        }
        if self.timers.expired(Timer::FetchAudio, now) {
            if let (Some((url, timeout)), Some(Wait::Fetch { .. })) =
                (self.fetchaudio.clone(), &self.wait)
            {
                // Played without barge-in until the document arrives (2.0 §6.1.1).
                self.playing = true;
                self.fetchaudio_playing = true;
                self.fetchaudio_started(now);
                self.out.push_back(Output::Play {
                    prompts: vec![PromptItem::Audio {
                        url,
                        timeout,
                        fallback: Vec::new(),
                    }],
                    bargein: false,
                    bargeintype: crate::io::BargeInType::Speech,
                });
            }
        }
        if !matches!(self.wait, Some(Wait::Input(_))) {
            self.timers.stop(Timer::NoInput);
            self.timers.stop(Timer::InterDigit);
            return;
        }
        if self.timers.expired(Timer::InterDigit, now) {
            return self.finish_collect();
        }
        if self.timers.expired(Timer::NoInput, now) {
            let Some(Wait::Input(col)) = self.wait.take() else {
                return;
            };
            self.end_listening();
            self.throw_from(
                Event {
                    name: "noinput".into(),
                    message: None,
                },
                Some(col.item),
            );
        }
    }

    fn end_listening(&mut self) {
        self.timers.stop_all();
        self.out.push_back(Output::StopCollect);
    }

    fn nomatch(&mut self) {
        let Some(Wait::Input(col)) = self.wait.take() else {
            return;
        };
        self.end_listening();
        self.set_lastresult(col.item, &col.digits, &Value::Null, false);
        self.throw_from(
            Event {
                name: "nomatch".into(),
                message: None,
            },
            Some(col.item),
        );
    }

    fn finish_collect(&mut self) {
        let Some(Wait::Input(col)) = self.wait.take() else {
            return;
        };
        let Some((gi, interp, utterance)) = col.complete.clone() else {
            self.wait = Some(Wait::Input(col));
            return self.nomatch();
        };
        self.end_listening();
        let owner = col
            .grammars
            .get(gi)
            .map(|(_, o)| *o)
            .unwrap_or(Owner::Item(col.item));
        self.accept(col.item, owner, interp, utterance);
    }

    /// Playback passed a `<mark>` (reported by the player).
    pub(super) fn on_mark(&mut self, now: Instant, name: String) {
        if self.playing && !self.fetchaudio_playing {
            self.marks.reached(now, name);
        }
    }

    /// Assigns `application.lastresult$` (2.0 §5.1.5) with the mark information of 2.1 §4 when a mark was
    /// executed, which it returns for the form item's shadow variables.
    fn set_lastresult(
        &mut self,
        item: NodeId,
        utterance: &str,
        interp: &Value,
        matched: bool,
    ) -> Option<super::mark::MarkInfo> {
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
        mark: Option<&super::mark::MarkInfo>,
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
    pub(super) fn accept(&mut self, item: NodeId, owner: Owner, interp: Value, utterance: String) {
        let mark = self.set_lastresult(item, &utterance, &interp, true);
        self.apply_result(item, owner, interp, utterance, mark);
    }

    /// The process phase of Appendix C once `lastresult$` is set: a link or a choice transitions or throws, a
    /// document-scope grammar of another form leads there, else the item or the form's slots are filled.
    pub(super) fn apply_result(
        &mut self,
        item: NodeId,
        owner: Owner,
        interp: Value,
        utterance: String,
        mark: Option<super::mark::MarkInfo>,
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
