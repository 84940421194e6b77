//! The rule-expansion tree every grammar source (SRGS XML, builtin types, `<option>`/`<choice>` lists) is lowered to
//! before it is compiled into a matching program.

use super::builtin::Builtin;
use super::Mode;

/// One SRGS rule expansion (SRGS 1.0 §2).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expansion {
    /// One input token: a DTMF key (`0`-`9`, `*`, `#`, `A`-`D`) or a voice word.
    Token(String),
    /// A sequence, matched in order.
    Seq(Vec<Expansion>),
    /// Alternatives (`<one-of>`), preferred in document order when several parse the input.
    OneOf(Vec<Expansion>),
    /// `<item repeat="min-max">`; `max: None` is unbounded.
    Repeat {
        body: Box<Expansion>,
        min: u32,
        max: Option<u32>,
    },
    /// `<ruleref>`.
    RuleRef(RuleRef),
    /// `<tag>`: semantic interpretation run when the parse passes this point.
    Tag(Tag),
    /// `$NULL`: matches the empty input.
    Null,
    /// `$VOID`: never matches.
    Void,
    /// `$GARBAGE`: any (possibly empty) run of tokens.
    Garbage,
}

/// What a `<ruleref>` points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RuleRef {
    /// `#id` in the same grammar.
    Local(String),
    /// An external grammar by absolute URI (without fragment), and the rule named by the fragment (else its root).
    External { uri: String, rule: Option<String> },
    /// `builtin:dtmf/digits?...` and friends.
    Builtin(Builtin),
}

/// Semantic interpretation content of a `<tag>` (SISR 1.0).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tag {
    /// A string literal: `'x'`, `"x"`, or any tag of a `semantics/1.0-literals` grammar.
    Literal(String),
    /// ECMAScript (SISR `semantics/1.0` script tags, and the older `$ = ...` form).
    Script(String),
    /// A value given directly (`<option value>`, `<choice>` interpretations).
    Value(serde_json::Value),
}

/// One `<rule>`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuleDef {
    /// The rule's `id`.
    pub id: String,
    /// `scope="public"`: referable from other grammars (SRGS 1.0 rule scope).
    pub public: bool,
    /// What the rule expands to.
    pub body: Expansion,
}

/// One parsed grammar document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    /// Absolute URI of the document (its base), or a descriptive name for inline and generated grammars.
    pub uri: String,
    /// Root rule id.
    pub root: Option<String>,
    /// Input mode.
    pub mode: Mode,
    /// Rules in document order.
    pub rules: Vec<RuleDef>,
    /// Script of the `<tag>`s in the grammar header (SRGS 1.0 §4.11, SISR 1.0 global scope), in order.
    pub globals: Vec<String>,
}

impl Doc {
    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&RuleDef> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The root rule: the `root` attribute, else the first rule.
    pub fn root_rule(&self) -> Option<&RuleDef> {
        match &self.root {
            Some(id) => self.rule(id),
            None => self.rules.first(),
        }
    }

    /// Every external reference (absolute URI without fragment) the rules make.
    pub fn external_uris(&self) -> Vec<String> {
        fn walk(e: &Expansion, out: &mut Vec<String>) {
            match e {
                Expansion::Seq(v) | Expansion::OneOf(v) => v.iter().for_each(|e| walk(e, out)),
                Expansion::Repeat { body, .. } => walk(body, out),
                Expansion::RuleRef(RuleRef::External { uri, .. }) if !out.contains(uri) => {
                    out.push(uri.clone());
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for r in &self.rules {
            walk(&r.body, &mut out);
        }
        out
    }
}
