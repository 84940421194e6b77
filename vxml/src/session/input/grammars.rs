//! Preparing a collection: the active `<grammar>` elements become grammars (inline SRGS XML or ABNF, builtin,
//! external), external grammars and the grammars their rules reference are fetched, and the result is checked
//! before listening starts.

use std::sync::Arc;

use crate::dom::{Document, NodeId};
use crate::grammar::{Grammar, Mode};
use crate::request::{FetchError, FetchKind, FetchResponse, Method};
use crate::session::{Event, FetchPurpose, Session, Wait};

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

fn is_dtmf_mode(doc: &Document, g: NodeId) -> bool {
    doc.attr(g, "mode") == Some("dtmf")
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

    pub(in crate::session) fn grammar_spec(
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
            return self.grammars_failed(
                "error.badfetch".into(),
                format!("bad grammar: {e}"),
                prep.item,
            );
        }
        self.listen(prep.item, prep.ready);
    }

    /// Loading the input's grammars failed: the collection is dropped, the reason logged, and `name` thrown from
    /// the input item.
    fn grammars_failed(&mut self, name: String, msg: String, item: NodeId) {
        self.prep = None;
        self.log_line(&msg);
        self.throw_from(
            Event {
                name,
                message: Some(msg),
            },
            Some(item),
        );
    }

    pub(in crate::session) fn grammar_fetched(
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
                return self.grammars_failed(
                    e.event_name(),
                    format!("grammar fetch failed: {e}"),
                    item,
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
                                let msg = format!(
                                    "{}: external rule references nested deeper than {MAX_RULEREF_DEPTH} (at {u})",
                                    resp.url
                                );
                                return self.grammars_failed("error.badfetch".into(), msg, item);
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
                    let msg = format!("{}: bad grammar: {e}", resp.url);
                    return self.grammars_failed("error.badfetch".into(), msg, item);
                }
            }
        }
        self.continue_prep();
    }
}
