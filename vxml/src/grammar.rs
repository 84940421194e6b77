//! DTMF grammars: the builtin types of VoiceXML 2.0 Appendix P and SRGS 1.0 grammars (XML form, and the ABNF
//! form) in DTMF mode.
//!
//! Every grammar source is lowered to one rule-expansion tree, compiled to a small program and matched by a Pike VM
//! with a rule call stack (`matcher`), so matching is exhaustive (every parse is considered, the preferred one is
//! kept) and tells the interpreter whether the keys so far are a complete sentence, a prefix of one, or neither —
//! what `interdigittimeout`, `termtimeout` and `termchar` need ([`decide`]). Semantic interpretation follows SISR 1.0
//! (`semantics`).
//!
//! A voice-mode grammar is kept (so documents using one still load) but never matches DTMF: the interpreter reports
//! voice input as unavailable.

mod abnf;
mod ast;
mod builtin;
mod compile;
mod matcher;
mod semantics;
mod srgs;
mod timing;
mod xml;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

pub use timing::{decide, Decision, DtmfTiming, OnTimeout};

use ast::{Doc, Expansion, RuleDef, RuleRef, Tag};
use builtin::Builtin;
use compile::Program;

/// Complete parses tried (in preference order) when the preferred ones are rejected semantically.
const MAX_PARSES: usize = 8;
/// Longest input matched; longer input (no caller types this much) is a no-match.
pub const MAX_INPUT_TOKENS: usize = 1024;

/// Grammars kept by each compile cache before it starts afresh.
const CACHE_ENTRIES: usize = 512;
/// Longest grammar text kept in the compile cache.
const CACHED_TEXT_BYTES: usize = 16 * 1024;

/// Looks `key` up in a process-wide compile cache, compiling and storing on a miss. Errors are not cached.
fn cached(
    cache: &'static OnceLock<Mutex<HashMap<String, Grammar>>>,
    key: String,
    compile: impl FnOnce() -> Result<Grammar, GrammarError>,
) -> Result<Grammar, GrammarError> {
    let cache = cache.get_or_init(Default::default);
    if let Some(g) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(g);
    }
    let g = compile()?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CACHE_ENTRIES {
            c.clear();
        }
        c.insert(key, g.clone());
    }
    Ok(g)
}

/// Input mode of a grammar (the SRGS 1.0 `mode` declaration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// DTMF keys.
    Dtmf,
    /// Speech. Kept but never matched: vxgate has no recognizer.
    Voice,
}

/// A grammar that cannot be used: not well-formed, an unknown builtin, a reference to an undefined rule...
/// The interpreter raises `error.badfetch` (or `error.semantic`) with [`GrammarError::message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grammar {grammar}: {message}")]
pub struct GrammarError {
    /// The grammar: its URI, the builtin spec, or "inline grammar".
    pub grammar: String,
    /// What is wrong, lowercase, showing the bad value.
    pub message: String,
}

impl GrammarError {
    pub(crate) fn new(grammar: &str, message: impl Into<String>) -> Self {
        GrammarError {
            grammar: grammar.to_string(),
            message: message.into(),
        }
    }
}

/// The answer of a grammar for the keys collected so far.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchResult {
    /// The keys are not a prefix of any sentence of the grammar.
    NoMatch,
    /// The keys are a proper prefix of some sentence but not a sentence.
    Partial,
    /// The keys are a sentence.
    Complete {
        /// The semantic interpretation (SISR), or the utterance when the grammar has no tags.
        interpretation: Value,
        /// The keys matched, e.g. `"1234"` (no spaces, no termchar).
        utterance: String,
        /// More keys could still give a sentence (so wait `interdigittimeout` rather than `termtimeout`).
        can_extend: bool,
    },
}

/// A compiled grammar, cheap to clone.
#[derive(Debug, Clone)]
pub struct Grammar {
    main: Arc<Doc>,
    /// External grammars fetched so far, by absolute URI without fragment.
    linked: BTreeMap<String, Arc<Doc>>,
    program: Arc<Program>,
}

impl Grammar {
    fn from_doc(main: Doc, linked: BTreeMap<String, Arc<Doc>>) -> Result<Grammar, GrammarError> {
        let program = compile::compile(&main, &linked)?;
        Ok(Grammar {
            main: Arc::new(main),
            linked,
            program: Arc::new(program),
        })
    }

    /// A builtin type (VoiceXML 2.0 Appendix P): `digits`, `digits?minlength=2;maxlength=5`,
    /// `builtin:dtmf/digits?length=4`, `boolean?y=1;n=2`, `number`, `currency`, `date`, `time`, `phone`.
    /// `builtin:voice/...` gives a voice grammar.
    pub fn builtin(uri_or_type: &str) -> Result<Grammar, GrammarError> {
        // Pages name the same few builtins over and over: compile each spec once per process.
        static CACHE: OnceLock<Mutex<HashMap<String, Grammar>>> = OnceLock::new();
        let key = uri_or_type.trim();
        cached(&CACHE, key.to_string(), || Grammar::compile_builtin(key))
    }

    fn compile_builtin(uri_or_type: &str) -> Result<Grammar, GrammarError> {
        let (b, mode) = Builtin::parse(uri_or_type)?;
        let doc = Doc {
            uri: uri_or_type.trim().to_string(),
            root: None,
            mode,
            rules: vec![RuleDef {
                id: b.name().to_string(),
                public: true,
                body: Expansion::RuleRef(RuleRef::Builtin(b)),
            }],
            globals: Vec::new(),
        };
        Grammar::from_doc(doc, BTreeMap::new())
    }

    /// An SRGS 1.0 grammar: a fetched document, or the XML of an inline `<grammar>` element. `base_url` is the
    /// document's URL (the base for relative rulerefs and the name in messages). The XML form is the norm; the
    /// ABNF form (`#ABNF 1.0;`) is recognised by its header, as a document or as the text of an inline
    /// `<grammar>` element.
    pub fn parse_srgs(xml: &str, base_url: &str) -> Result<Grammar, GrammarError> {
        // Every execution of a page reads its inline grammars again: compile each text once per process.
        static CACHE: OnceLock<Mutex<HashMap<String, Grammar>>> = OnceLock::new();
        if xml.len() > CACHED_TEXT_BYTES {
            return Grammar::from_doc(srgs::parse(xml, base_url)?, BTreeMap::new());
        }
        let key = format!("{base_url}\n{xml}");
        cached(&CACHE, key, || {
            Grammar::from_doc(srgs::parse(xml, base_url)?, BTreeMap::new())
        })
    }

    /// The same grammar with `rule` as its root: a `<grammar src="g.grxml#rule">` (VoiceXML 2.0 §3.1.1.2, SRGS 1.0
    /// §2.2.2). The rule must exist and be public, as for any reference from outside the grammar.
    pub fn with_root(&self, rule: &str) -> Result<Grammar, GrammarError> {
        let def = self.main.rule(rule).ok_or_else(|| {
            GrammarError::new(&self.main.uri, format!("no rule {rule:?} in the grammar"))
        })?;
        if !def.public {
            return Err(GrammarError::new(
                &self.main.uri,
                format!(
                    "rule {rule:?} is private and cannot be referenced from outside the grammar"
                ),
            ));
        }
        let mut main = (*self.main).clone();
        main.root = Some(rule.to_string());
        Grammar::from_doc(main, self.linked.clone())
    }

    /// A DTMF grammar of alternatives, for `<option dtmf>` and `<choice dtmf>`: each key sequence (`"1"`, `"12"`,
    /// `"1 2"`, `"*"`) with its interpretation. Earlier alternatives win when several match. Characters that are
    /// not DTMF keys make that alternative unmatchable.
    pub fn from_alternatives(alts: &[(String, Value)]) -> Grammar {
        static CACHE: OnceLock<Mutex<HashMap<String, Grammar>>> = OnceLock::new();
        match serde_json::to_string(alts) {
            Ok(key) => cached(&CACHE, key, || Ok(Grammar::compile_alternatives(alts)))
                .unwrap_or_else(|_| Grammar::compile_alternatives(alts)),
            Err(_) => Grammar::compile_alternatives(alts),
        }
    }

    fn compile_alternatives(alts: &[(String, Value)]) -> Grammar {
        let items = alts
            .iter()
            .map(|(keys, value)| {
                let mut seq: Vec<Expansion> = Vec::new();
                for c in keys.chars().filter(|c| !c.is_whitespace()) {
                    if matches!(c, '0'..='9' | '*' | '#' | 'A'..='D') {
                        seq.push(Expansion::Token(c.to_string()));
                    } else {
                        seq.push(Expansion::Void);
                    }
                }
                if seq.is_empty() {
                    seq.push(Expansion::Void);
                }
                seq.push(Expansion::Tag(Tag::Value(value.clone())));
                Expansion::Seq(seq)
            })
            .collect::<Vec<_>>();
        let body = if items.is_empty() {
            Expansion::Void
        } else {
            Expansion::OneOf(items)
        };
        let doc = Doc {
            uri: "dtmf choices".to_string(),
            root: None,
            mode: Mode::Dtmf,
            rules: vec![RuleDef {
                id: "choices".to_string(),
                public: true,
                body,
            }],
            globals: Vec::new(),
        };
        // A one-of of token sequences compiles to a few instructions per key: far below the size limit.
        Grammar::from_doc(doc, BTreeMap::new()).unwrap_or_else(|_| Grammar::void())
    }

    fn void() -> Grammar {
        let doc = Doc {
            uri: "void".to_string(),
            root: None,
            mode: Mode::Dtmf,
            rules: vec![RuleDef {
                id: "void".to_string(),
                public: true,
                body: Expansion::Void,
            }],
            globals: Vec::new(),
        };
        let program = Program {
            insts: vec![compile::Inst::Fail],
            rules: Vec::new(),
            tags: Vec::new(),
            can_finish: vec![false],
            mode: Mode::Dtmf,
            problems: Vec::new(),
            globals: String::new(),
        };
        Grammar {
            main: Arc::new(doc),
            linked: BTreeMap::new(),
            program: Arc::new(program),
        }
    }

    /// Absolute URIs (without fragment) of external grammars referenced by this grammar or by the grammars linked
    /// into it that are not linked yet. Fetch each, parse it with [`Grammar::parse_srgs`] and pass it to
    /// [`Grammar::resolve_external`]; repeat until empty.
    pub fn external_refs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for doc in std::iter::once(&self.main).chain(self.linked.values()) {
            for uri in doc.external_uris() {
                if uri != self.main.uri && !self.linked.contains_key(&uri) && !out.contains(&uri) {
                    out.push(uri);
                }
            }
        }
        out
    }

    /// Links a fetched external grammar under `uri` (as returned by [`Grammar::external_refs`]), together with the
    /// grammars already linked into it.
    pub fn resolve_external(&mut self, uri: &str, grammar: Grammar) {
        let uri = uri.split('#').next().unwrap_or(uri).to_string();
        let mut linked = self.linked.clone();
        for (u, d) in &grammar.linked {
            if *u != self.main.uri {
                linked.entry(u.clone()).or_insert_with(|| d.clone());
            }
        }
        linked.insert(uri, grammar.main.clone());
        match compile::compile(&self.main, &linked) {
            Ok(program) => {
                self.linked = linked;
                self.program = Arc::new(program);
            }
            Err(e) => {
                tracing::warn!(grammar = %self.main.uri, error = %e, "linking external grammar failed");
            }
        }
    }

    /// Call once every external grammar is linked. Reports an external grammar still not linked (a nested
    /// reference only becomes visible in [`Grammar::external_refs`] once its parent is linked) or a reference to a
    /// rule that does not exist or is private: the interpreter raises `error.badfetch` with it.
    pub fn check(&self) -> Result<(), GrammarError> {
        if let Some(p) = self.program.problems.first() {
            return Err(GrammarError::new(&self.main.uri, p.clone()));
        }
        match self.external_refs().first() {
            Some(uri) => Err(GrammarError::new(
                &self.main.uri,
                format!("external grammar {uri} was not fetched"),
            )),
            None => Ok(()),
        }
    }

    /// The grammar's input mode.
    pub fn mode(&self) -> Mode {
        self.program.mode
    }

    /// Matches DTMF keys (`"123"`; whitespace ignored; without the termchar). A voice grammar never matches, nor
    /// does input longer than [`MAX_INPUT_TOKENS`].
    pub fn matches(&self, digits: &str) -> MatchResult {
        if self.program.mode == Mode::Voice {
            return MatchResult::NoMatch;
        }
        // Each key as a slice of the input: no allocation per key.
        let tokens: Vec<&str> = digits
            .char_indices()
            .filter(|(_, c)| !c.is_whitespace())
            .map(|(i, c)| &digits[i..i + c.len_utf8()])
            .collect();
        self.match_tokens(&tokens)
    }

    /// Matches a token sequence in any mode (voice words for the SRGS conformance grammars). The utterance joins
    /// the tokens with spaces in voice mode, without in DTMF mode.
    pub fn matches_tokens(&self, tokens: &[&str]) -> MatchResult {
        self.match_tokens(tokens)
    }

    fn match_tokens(&self, tokens: &[&str]) -> MatchResult {
        if tokens.len() > MAX_INPUT_TOKENS {
            return MatchResult::NoMatch;
        }
        let sep = match self.program.mode {
            Mode::Dtmf => "",
            Mode::Voice => " ",
        };
        let outcome = matcher::run(&self.program, tokens, MAX_PARSES);
        for trace in &outcome.complete {
            match semantics::interpret(&self.program, tokens, trace, sep) {
                Ok(interpretation) => {
                    return MatchResult::Complete {
                        interpretation,
                        utterance: tokens.join(sep),
                        can_extend: outcome.can_extend,
                    }
                }
                Err(semantics::SemError::Rejected) => {}
                Err(semantics::SemError::Script(e)) => {
                    tracing::warn!(grammar = %self.main.uri, error = %e, "semantic interpretation failed");
                }
            }
        }
        if outcome.can_extend {
            MatchResult::Partial
        } else {
            MatchResult::NoMatch
        }
    }
}

#[cfg(test)]
mod tests;
