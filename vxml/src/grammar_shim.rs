//! Temporary stand-in for `crate::grammar` (built in parallel by another helper) with the same API, so the
//! interpreter can be written and tested now. It knows the builtin `digits` and `boolean` types, `<option>`/`<choice>`
//! alternatives, and flattens SRGS grammars to their literal DTMF items. Delete once `crate::grammar` lands.

use serde_json::Value;

/// Why a grammar cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GrammarError(pub String);

/// Result of matching a digit string.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchResult {
    /// Cannot become a match.
    NoMatch,
    /// A prefix of a match.
    Partial,
    /// A complete match.
    Complete {
        /// Semantic result.
        interpretation: Value,
        /// The digits.
        utterance: String,
        /// Whether more digits could still match.
        can_extend: bool,
    },
}

#[derive(Debug, Clone)]
enum Kind {
    Digits { min: usize, max: usize },
    Boolean,
    Alternatives(Vec<(String, Value)>),
}

/// A DTMF grammar.
#[derive(Debug, Clone)]
pub struct Grammar {
    kind: Kind,
}

impl Grammar {
    /// A builtin type: `digits?minlength=2`, `builtin:dtmf/digits?length=4`, `boolean`, `number`.
    pub fn builtin(uri: &str) -> Result<Grammar, GrammarError> {
        let s = uri.strip_prefix("builtin:").unwrap_or(uri);
        let s = s.strip_prefix("dtmf/").unwrap_or(s);
        let (ty, q) = s.split_once('?').unwrap_or((s, ""));
        let mut min = 1;
        let mut max = 64;
        for kv in q
            .split(';')
            .flat_map(|p| p.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let n: usize = v
                .parse()
                .map_err(|_| GrammarError(format!("bad builtin parameter {kv:?}")))?;
            match k {
                "minlength" => min = n,
                "maxlength" => max = n,
                "length" => {
                    min = n;
                    max = n
                }
                _ => return Err(GrammarError(format!("unknown builtin parameter {k:?}"))),
            }
        }
        match ty {
            "digits" | "number" | "phone" | "currency" => Ok(Grammar {
                kind: Kind::Digits { min, max },
            }),
            "boolean" => Ok(Grammar {
                kind: Kind::Boolean,
            }),
            other => Err(GrammarError(format!("unsupported builtin type {other:?}"))),
        }
    }

    /// Alternatives (`<option dtmf>` / `<choice dtmf>`).
    pub fn from_alternatives(alts: &[(String, Value)]) -> Grammar {
        Grammar {
            kind: Kind::Alternatives(alts.to_vec()),
        }
    }

    /// An SRGS XML grammar, flattened to the literal DTMF items it contains.
    pub fn parse_srgs(xml: &str, _base_url: &str) -> Result<Grammar, GrammarError> {
        let doc = crate::dom::Document::parse("grammar", xml.to_string())
            .map_err(|e| GrammarError(e.to_string()))?;
        let mut alts = Vec::new();
        for (i, n) in doc.nodes.iter().enumerate() {
            if let crate::dom::NodeKind::Element { name, .. } = &n.kind {
                if &**name == "item" {
                    let id = crate::dom::NodeId(i as u32);
                    let text: String = doc
                        .node(id)
                        .children
                        .iter()
                        .filter_map(|c| doc.text(*c))
                        .collect::<String>()
                        .split_whitespace()
                        .collect();
                    if !text.is_empty() {
                        let tag = doc
                            .children_named(id, "tag")
                            .next()
                            .map(|t| doc.text_content(t));
                        let interp = match tag {
                            Some(t) => {
                                Value::String(t.trim().trim_matches(['\'', '"', ';']).to_string())
                            }
                            None => Value::String(text.clone()),
                        };
                        alts.push((text, interp));
                    }
                }
            }
        }
        Ok(Grammar {
            kind: Kind::Alternatives(alts),
        })
    }

    /// External rule references still to be fetched.
    pub fn external_refs(&self) -> Vec<String> {
        Vec::new()
    }

    /// Resolves an external reference.
    pub fn resolve_external(&mut self, _uri: &str, _g: Grammar) {}

    /// Matches a digit string.
    pub fn matches(&self, digits: &str) -> MatchResult {
        match &self.kind {
            Kind::Digits { min, max } => {
                let n = digits.len();
                if !digits.chars().all(|c| c.is_ascii_digit()) || n > *max {
                    MatchResult::NoMatch
                } else if n < *min {
                    MatchResult::Partial
                } else {
                    MatchResult::Complete {
                        interpretation: Value::String(digits.to_string()),
                        utterance: digits.to_string(),
                        can_extend: n < *max,
                    }
                }
            }
            Kind::Boolean => match digits {
                "1" => MatchResult::Complete {
                    interpretation: Value::Bool(true),
                    utterance: "1".into(),
                    can_extend: false,
                },
                "2" => MatchResult::Complete {
                    interpretation: Value::Bool(false),
                    utterance: "2".into(),
                    can_extend: false,
                },
                _ => MatchResult::NoMatch,
            },
            Kind::Alternatives(alts) => {
                let mut partial = false;
                for (d, v) in alts {
                    if d == digits {
                        let can_extend = alts
                            .iter()
                            .any(|(o, _)| o.len() > d.len() && o.starts_with(digits));
                        return MatchResult::Complete {
                            interpretation: v.clone(),
                            utterance: digits.to_string(),
                            can_extend,
                        };
                    }
                    if d.starts_with(digits) {
                        partial = true;
                    }
                }
                if partial {
                    MatchResult::Partial
                } else {
                    MatchResult::NoMatch
                }
            }
        }
    }
}
