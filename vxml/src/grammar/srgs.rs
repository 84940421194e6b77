//! SRGS 1.0 XML form (W3C Recommendation 2004, §2-§4) read into the rule-expansion tree.

use super::ast::{Doc, Expansion, RuleDef, RuleRef, Tag};
use super::builtin::Builtin;
use super::xml::{self, Element, Node};
use super::{GrammarError, Mode};

/// The SRGS 1.0 namespace.
const SRGS_NS: &str = "http://www.w3.org/2001/06/grammar";
/// The VoiceXML namespace: its schema imports the SRGS elements, so inline grammars may be in it.
const VXML_NS: &str = "http://www.w3.org/2001/vxml";

/// Whether an element belongs to the grammar (SRGS or VoiceXML namespace, or none) rather than to an extension
/// vocabulary, which is ignored (the SRGS implementation-report test conformance-5 allows ignoring them).
fn is_foreign(e: &Element) -> bool {
    !matches!(e.ns.as_deref(), None | Some(SRGS_NS) | Some(VXML_NS))
}

/// Reads an SRGS XML grammar. `name` names the grammar in messages; `base_url` resolves relative rulerefs.
pub(crate) fn parse(src: &str, base_url: &str) -> Result<Doc, GrammarError> {
    let name = if base_url.is_empty() {
        "inline grammar"
    } else {
        base_url
    };
    let err = |what: String| GrammarError::new(name, what);
    if src
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with("#ABNF")
    {
        return super::abnf::parse(src, base_url);
    }
    let root = xml::parse(src).map_err(err)?;
    if root.local_name() != "grammar" {
        return Err(err(format!(
            "line {}: root element is <{}>, expected <grammar>",
            root.line, root.name
        )));
    }
    // An inline ABNF grammar in a VoiceXML `<grammar type="application/srgs">` element.
    let only_text = root.children.iter().all(|c| matches!(c, Node::Text(_)));
    if only_text && root.text().trim_start().starts_with("#ABNF") {
        return super::abnf::parse(&root.text(), base_url);
    }
    let base = match root.attr("xml:base") {
        Some(b) => crate::fetch::resolve(base_url, b).map_err(|e| err(e.to_string()))?,
        None => base_url.to_string(),
    };
    let mode = match root.attr("mode").map(str::trim) {
        None | Some("voice") => Mode::Voice,
        Some("dtmf") => Mode::Dtmf,
        Some(other) => {
            return Err(err(format!(
                "line {}: mode must be voice or dtmf, got {other:?}",
                root.line
            )))
        }
    };
    let literals = root
        .attr("tag-format")
        .is_some_and(|f| f.trim().starts_with("semantics/1.0-literals"));
    let reader = Reader {
        mode,
        tags: TagReader { literals },
        base: &base,
        name,
    };
    let mut rules: Vec<RuleDef> = Vec::new();
    let mut globals: Vec<String> = Vec::new();
    for child in &root.children {
        match child {
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Text(t) => {
                return Err(err(format!(
                    "text {:?} directly inside <grammar>",
                    t.trim()
                )))
            }
            Node::Element(e) if is_foreign(e) => {}
            Node::Element(e) => match e.local_name() {
                "rule" => {
                    let rule = reader.rule(e)?;
                    if rules.iter().any(|r| r.id == rule.id) {
                        return Err(err(format!(
                            "line {}: rule {:?} defined twice",
                            e.line, rule.id
                        )));
                    }
                    rules.push(rule);
                }
                "meta" | "metadata" | "lexicon" => {}
                // SRGS 1.0 §4.11: tags in the header declare what the rules' tags share (SISR 1.0 global scope).
                // A literal tag declares nothing.
                "tag" if !literals => {
                    let script = e.text();
                    if !script.trim().is_empty() {
                        globals.push(script);
                    }
                }
                "tag" => {}
                other => {
                    return Err(err(format!(
                        "line {}: unexpected <{other}> inside <grammar>",
                        e.line
                    )))
                }
            },
        }
    }
    let doc = Doc {
        uri: base.clone(),
        root: root.attr("root").map(|r| r.trim().to_string()),
        mode,
        rules,
        globals,
    };
    check_doc(&doc).map_err(err)?;
    Ok(doc)
}

/// Checks that the root rule and every local reference name a defined rule.
pub(crate) fn check_doc(doc: &Doc) -> Result<(), String> {
    if let Some(r) = &doc.root {
        if doc.rule(r).is_none() {
            return Err(format!("root rule {r:?} is not defined"));
        }
    }
    if doc.rules.is_empty() {
        return Err("the grammar defines no rule".to_string());
    }
    for rule in &doc.rules {
        check_local_refs(doc, &rule.id, &rule.body)?;
    }
    Ok(())
}

fn check_local_refs(doc: &Doc, rule: &str, e: &Expansion) -> Result<(), String> {
    match e {
        Expansion::Seq(v) | Expansion::OneOf(v) => {
            v.iter().try_for_each(|e| check_local_refs(doc, rule, e))
        }
        Expansion::Repeat { body, .. } => check_local_refs(doc, rule, body),
        Expansion::RuleRef(RuleRef::Local(id)) if doc.rule(id).is_none() => {
            Err(format!("rule {rule:?} refers to undefined rule #{id}"))
        }
        _ => Ok(()),
    }
}

struct Reader<'a> {
    mode: Mode,
    tags: TagReader,
    base: &'a str,
    name: &'a str,
}

/// Reads `<tag>` content (shared by the XML and ABNF forms).
pub(crate) struct TagReader {
    /// The grammar's tag-format is `semantics/1.0-literals`: every tag is a literal.
    pub literals: bool,
}

impl TagReader {
    pub(crate) fn tag(&self, text: &str) -> Tag {
        let t = text.trim();
        if self.literals {
            return Tag::Literal(t.to_string());
        }
        // `'x'`, and the common `out = 'x';` / `$ = "x"`, need no script engine.
        let assigned = t
            .strip_prefix("out")
            .or_else(|| t.strip_prefix('$'))
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('='))
            .filter(|r| !r.starts_with('='));
        match string_literal(assigned.unwrap_or(t)) {
            Some(s) => Tag::Literal(s),
            None => Tag::Script(t.to_string()),
        }
    }
}

impl Reader<'_> {
    fn err(&self, e: &Element, what: impl std::fmt::Display) -> GrammarError {
        GrammarError::new(self.name, format!("line {}: {what}", e.line))
    }

    fn rule(&self, e: &Element) -> Result<RuleDef, GrammarError> {
        let id = e
            .attr("id")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.err(e, "<rule> without id"))?
            .to_string();
        let public = match e.attr("scope").map(str::trim) {
            None | Some("private") => false,
            Some("public") => true,
            Some(other) => {
                return Err(self.err(e, format!("scope must be public or private, got {other:?}")))
            }
        };
        Ok(RuleDef {
            id,
            public,
            body: self.content(e)?,
        })
    }

    /// The children of a rule or item as a sequence.
    fn content(&self, e: &Element) -> Result<Expansion, GrammarError> {
        let mut seq = Vec::new();
        for child in &e.children {
            match child {
                Node::Text(t) => seq.extend(self.tokens(e, t)?),
                Node::Element(c) if is_foreign(c) => {}
                Node::Element(c) => match c.local_name() {
                    "item" => seq.push(self.item(c)?),
                    "one-of" => seq.push(self.one_of(c)?),
                    "ruleref" => seq.push(self.ruleref(c)?),
                    "token" => {
                        let t = c.text();
                        match self.mode {
                            Mode::Voice => {
                                let word = t.split_whitespace().collect::<Vec<_>>().join(" ");
                                if !word.is_empty() {
                                    seq.push(Expansion::Token(word));
                                }
                            }
                            Mode::Dtmf => seq.extend(self.tokens(c, &t)?),
                        }
                    }
                    "tag" => seq.push(Expansion::Tag(self.tags.tag(&c.text()))),
                    "example" | "meta" | "metadata" => {}
                    other => {
                        return Err(self.err(c, format!("unexpected <{other}> inside <{}>", e.name)))
                    }
                },
            }
        }
        Ok(if seq.len() == 1 {
            seq.pop().unwrap_or(Expansion::Null) // len is 1: pop returns the element
        } else {
            Expansion::Seq(seq)
        })
    }

    fn tokens(&self, e: &Element, text: &str) -> Result<Vec<Expansion>, GrammarError> {
        let mut out = Vec::new();
        match self.mode {
            Mode::Dtmf => {
                for word in text.split_whitespace() {
                    for c in word.chars() {
                        if !matches!(c, '0'..='9' | '*' | '#' | 'A'..='D') {
                            return Err(self.err(
                                e,
                                format!("token {word:?} is not a dtmf key (0-9, *, #, A-D)"),
                            ));
                        }
                        out.push(Expansion::Token(c.to_string()));
                    }
                }
            }
            Mode::Voice => {
                // SRGS §2.1: whitespace separates tokens; a double-quoted string is one token.
                let mut rest = text.trim_start();
                while !rest.is_empty() {
                    if let Some(q) = rest.strip_prefix('"') {
                        let end = q.find('"').unwrap_or(q.len());
                        let word = q[..end].split_whitespace().collect::<Vec<_>>().join(" ");
                        if !word.is_empty() {
                            out.push(Expansion::Token(word));
                        }
                        rest = q.get(end + 1..).unwrap_or("").trim_start();
                    } else {
                        let end = rest
                            .find(|c: char| c.is_whitespace() || c == '"')
                            .unwrap_or(rest.len());
                        out.push(Expansion::Token(rest[..end].to_string()));
                        rest = rest[end..].trim_start();
                    }
                }
            }
        }
        Ok(out)
    }

    fn item(&self, e: &Element) -> Result<Expansion, GrammarError> {
        let body = self.content(e)?;
        let Some(repeat) = e.attr("repeat").map(str::trim) else {
            return Ok(body);
        };
        let (min, max) = parse_repeat(repeat).map_err(|what| self.err(e, what))?;
        if max == Some(0) {
            return Ok(Expansion::Null);
        }
        if (min, max) == (1, Some(1)) {
            return Ok(body);
        }
        Ok(Expansion::Repeat {
            body: Box::new(body),
            min,
            max,
        })
    }

    fn one_of(&self, e: &Element) -> Result<Expansion, GrammarError> {
        let mut alts = Vec::new();
        for child in &e.children {
            match child {
                Node::Text(t) if t.trim().is_empty() => {}
                Node::Text(t) => {
                    return Err(self.err(e, format!("text {:?} directly inside <one-of>", t.trim())))
                }
                Node::Element(c) if is_foreign(c) => {}
                Node::Element(c) if c.local_name() == "item" => alts.push(self.item(c)?),
                Node::Element(c) => {
                    return Err(self.err(
                        c,
                        format!("<{}> inside <one-of>: only <item> is allowed", c.name),
                    ))
                }
            }
        }
        if alts.is_empty() {
            return Err(self.err(e, "<one-of> without <item>"));
        }
        Ok(Expansion::OneOf(alts))
    }

    fn ruleref(&self, e: &Element) -> Result<Expansion, GrammarError> {
        match (
            e.attr("uri").map(str::trim),
            e.attr("special").map(str::trim),
        ) {
            (Some(_), Some(_)) => Err(self.err(e, "<ruleref> with both uri and special")),
            (None, None) => Err(self.err(e, "<ruleref> without uri or special")),
            (None, Some(special)) => match special {
                "NULL" => Ok(Expansion::Null),
                "VOID" => Ok(Expansion::Void),
                "GARBAGE" => Ok(Expansion::Garbage),
                other => Err(self.err(e, format!("unknown special rule {other:?}"))),
            },
            (Some(uri), None) => {
                if let Some(id) = uri.strip_prefix('#') {
                    return Ok(Expansion::RuleRef(RuleRef::Local(id.to_string())));
                }
                if uri.starts_with("builtin:") {
                    let (b, _) = Builtin::parse(uri).map_err(|g| self.err(e, g.message))?;
                    return Ok(Expansion::RuleRef(RuleRef::Builtin(b)));
                }
                let absolute = crate::fetch::resolve(self.base, uri).map_err(|f| self.err(e, f))?;
                let (uri, rule) = match absolute.split_once('#') {
                    Some((u, r)) => (u.to_string(), Some(r.to_string())),
                    None => (absolute, None),
                };
                Ok(Expansion::RuleRef(RuleRef::External { uri, rule }))
            }
        }
    }
}

/// `'x'`, `"x"` (optionally followed by `;`) without escapes: the string; anything else is a script.
fn string_literal(t: &str) -> Option<String> {
    let t = t.strip_suffix(';').unwrap_or(t).trim();
    let q = t.chars().next()?;
    if q != '\'' && q != '"' || t.len() < 2 || !t.ends_with(q) {
        return None;
    }
    let inner = &t[1..t.len() - 1];
    if inner.contains(q) || inner.contains('\\') {
        return None;
    }
    Some(inner.to_string())
}

/// SRGS §2.5 `repeat`: `n`, `n-m`, `n-`.
pub(crate) fn parse_repeat(s: &str) -> Result<(u32, Option<u32>), String> {
    let num = |x: &str| {
        x.trim()
            .parse::<u32>()
            .map_err(|_| format!("bad repeat {s:?}"))
    };
    let (min, max) = match s.split_once('-') {
        None => {
            let n = num(s)?;
            (n, Some(n))
        }
        Some((a, "")) => (num(a)?, None),
        Some((a, b)) => (num(a)?, Some(num(b)?)),
    };
    if let Some(max) = max {
        if max < min {
            return Err(format!("bad repeat {s:?}: maximum below minimum"));
        }
    }
    if min > 1000 || max.is_some_and(|m| m > 1000) {
        return Err(format!("repeat {s:?} above 1000"));
    }
    Ok((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_forms() {
        assert_eq!(parse_repeat("3"), Ok((3, Some(3))));
        assert_eq!(parse_repeat("0-1"), Ok((0, Some(1))));
        assert_eq!(parse_repeat("2-"), Ok((2, None)));
        assert!(parse_repeat("3-1").is_err());
        assert!(parse_repeat("x").is_err());
        assert!(parse_repeat("-1").is_err());
        assert!(parse_repeat("0-100000").is_err());
    }

    #[test]
    fn literals() {
        assert_eq!(string_literal("'alpha'"), Some("alpha".into()));
        assert_eq!(string_literal("\"a b\";"), Some("a b".into()));
        assert_eq!(string_literal("out = 'x'"), None);
        assert_eq!(string_literal("'a' + 'b'"), None);
        assert_eq!(string_literal("'"), None);
    }

    #[test]
    fn literal_assignments_skip_the_script_engine() {
        let r = TagReader { literals: false };
        assert_eq!(r.tag(" out = 'a'; "), Tag::Literal("a".into()));
        assert_eq!(r.tag("$=\"b\""), Tag::Literal("b".into()));
        assert_eq!(r.tag("out == 'a'"), Tag::Script("out == 'a'".into()));
        assert_eq!(r.tag("outer = 'a'"), Tag::Script("outer = 'a'".into()));
        assert_eq!(r.tag("$x = 'a'"), Tag::Script("$x = 'a'".into()));
        assert_eq!(
            r.tag("out = 'a' + 'b'"),
            Tag::Script("out = 'a' + 'b'".into())
        );
    }
}
