//! The ABNF form of SRGS 1.0 (`application/srgs`) read into the same rule-expansion tree as the XML form.
//!
//! Covers the self-identifying header, the declarations (`mode`, `root`, `tag-format`, `base`, `language`,
//! `lexicon`, `meta`, `http-equiv`, header tags), public/private rule definitions, alternatives with weights,
//! sequences, `( )` groups, `[ ]` optional groups, repeats `<n>`, `<n-m>`, `<n->` (with a probability, ignored),
//! quoted and plain tokens, language attachments (ignored), rule references (`$name`, `$<uri>`, `$<uri#name>`,
//! `$NULL`, `$VOID`, `$GARBAGE`) and tags (`{...}`, `{!{...}!}`), with `//` and `/* */` comments.

use super::ast::{Doc, Expansion, RuleDef, RuleRef};
use super::builtin::Builtin;
use super::srgs::{self, TagReader};
use super::{GrammarError, Mode};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Ref(String),
    Tag(String),
    Repeat(String),
    Weight,
    Lang,
    Punct(char),
}

struct Lexer<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
    /// The previous token was the `is` of a `meta`/`http-equiv` declaration: a single-quoted string may follow.
    after_is: bool,
}

fn is_special(c: u8) -> bool {
    matches!(
        c,
        b';' | b'|'
            | b'('
            | b')'
            | b'['
            | b']'
            | b'<'
            | b'>'
            | b'{'
            | b'}'
            | b'$'
            | b'"'
            | b'/'
            | b'!'
            | b'='
    )
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            src: text.as_bytes(),
            text,
            pos: 0,
            line: 1,
            after_is: false,
        }
    }

    fn peek_byte(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek_byte(0)?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Text up to (not including) `end`, consuming `end`.
    fn until(&mut self, end: &str, what: &str) -> Result<String, String> {
        let rest = &self.text[self.pos..];
        let at = rest
            .find(end)
            .ok_or_else(|| format!("line {}: unterminated {what}", self.line))?;
        let s = rest[..at].to_string();
        for _ in 0..at + end.len() {
            self.bump();
        }
        Ok(s)
    }

    fn skip_space_and_comments(&mut self) -> Result<(), String> {
        loop {
            match (self.peek_byte(0), self.peek_byte(1)) {
                (Some(c), _) if c.is_ascii_whitespace() => {
                    self.bump();
                }
                (Some(b'/'), Some(b'/')) => {
                    while let Some(c) = self.bump() {
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    self.pos += 2;
                    self.until("*/", "comment")?;
                }
                _ => return Ok(()),
            }
        }
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek_byte(0) {
            if c.is_ascii_whitespace() || is_special(c) {
                break;
            }
            self.bump();
        }
        self.text[start..self.pos].to_string()
    }

    /// The next token and its line, or `None` at the end.
    fn next(&mut self) -> Result<Option<(Tok, usize)>, String> {
        self.skip_space_and_comments()?;
        let line = self.line;
        let Some(c) = self.peek_byte(0) else {
            return Ok(None);
        };
        let after_is = std::mem::take(&mut self.after_is);
        let tok = match c {
            b'"' => {
                self.bump();
                Tok::Quoted(self.until("\"", "quoted token")?)
            }
            b'\'' if after_is => {
                self.bump();
                Tok::Quoted(self.until("'", "quoted string")?)
            }
            b'{' => {
                self.bump();
                if self.peek_byte(0) == Some(b'!') && self.peek_byte(1) == Some(b'{') {
                    self.pos += 2;
                    Tok::Tag(self.until("}!}", "tag")?)
                } else {
                    Tok::Tag(self.until("}", "tag")?)
                }
            }
            b'$' => {
                self.bump();
                if self.peek_byte(0) == Some(b'<') {
                    self.bump();
                    let uri = self.until(">", "rule reference")?;
                    // A media type (`~<type>`) may follow; it does not change how the grammar is read here.
                    if self.peek_byte(0) == Some(b'~') && self.peek_byte(1) == Some(b'<') {
                        self.pos += 2;
                        self.until(">", "media type")?;
                    }
                    Tok::Ref(format!("<{uri}>"))
                } else {
                    let name = self.word();
                    if name.is_empty() {
                        return Err(format!("line {line}: '$' without a rule name"));
                    }
                    Tok::Ref(name)
                }
            }
            b'<' => {
                self.bump();
                Tok::Repeat(self.until(">", "repeat")?)
            }
            b'/' => {
                self.bump();
                self.until("/", "weight")?;
                Tok::Weight
            }
            b'!' => {
                self.bump();
                self.word();
                Tok::Lang
            }
            b';' | b'|' | b'(' | b')' | b'[' | b']' | b'=' => {
                self.bump();
                Tok::Punct(c as char)
            }
            b'}' | b'>' => return Err(format!("line {line}: unexpected '{}'", c as char)),
            _ => {
                let w = self.word();
                self.after_is = w == "is";
                Tok::Word(w)
            }
        };
        Ok(Some((tok, line)))
    }
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    at: usize,
    mode: Mode,
    tags: TagReader,
    base: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn line(&self) -> usize {
        self.toks
            .get(self.at)
            .or_else(|| self.toks.last())
            .map_or(1, |(_, l)| *l)
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(t, _)| t.clone());
        self.at += 1;
        t
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        let line = self.line();
        match self.bump() {
            Some(Tok::Punct(p)) if p == c => Ok(()),
            other => Err(format!(
                "line {line}: expected '{c}', found {}",
                show(other.as_ref())
            )),
        }
    }

    fn alternatives(&mut self) -> Result<Expansion, String> {
        let mut alts = vec![self.sequence()?];
        while self.peek() == Some(&Tok::Punct('|')) {
            self.bump();
            alts.push(self.sequence()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Expansion::Null) // len is 1
        } else {
            Expansion::OneOf(alts)
        })
    }

    fn sequence(&mut self) -> Result<Expansion, String> {
        if self.peek() == Some(&Tok::Weight) {
            self.bump();
        }
        let mut seq = Vec::new();
        loop {
            match self.peek() {
                None | Some(Tok::Punct('|' | ')' | ']' | ';')) => break,
                _ => seq.extend(self.item()?),
            }
        }
        Ok(match seq.len() {
            0 => Expansion::Null,
            1 => seq.pop().unwrap_or(Expansion::Null), // len is 1
            _ => Expansion::Seq(seq),
        })
    }

    /// One item with its repeat; plain DTMF words expand to several keys.
    fn item(&mut self) -> Result<Vec<Expansion>, String> {
        let line = self.line();
        let mut atom = match self.bump() {
            Some(Tok::Word(w)) => self.tokens(&w, line)?,
            Some(Tok::Quoted(q)) => match self.mode {
                Mode::Voice => {
                    let w = q.split_whitespace().collect::<Vec<_>>().join(" ");
                    if w.is_empty() {
                        vec![]
                    } else {
                        vec![Expansion::Token(w)]
                    }
                }
                Mode::Dtmf => self.tokens(&q, line)?,
            },
            Some(Tok::Ref(r)) => vec![self.rule_ref(&r, line)?],
            Some(Tok::Tag(t)) => vec![Expansion::Tag(self.tags.tag(&t))],
            Some(Tok::Punct('(')) => {
                let e = self.alternatives()?;
                self.expect(')')?;
                vec![e]
            }
            Some(Tok::Punct('[')) => {
                let e = self.alternatives()?;
                self.expect(']')?;
                vec![Expansion::Repeat {
                    body: Box::new(e),
                    min: 0,
                    max: Some(1),
                }]
            }
            other => return Err(format!("line {line}: unexpected {}", show(other.as_ref()))),
        };
        loop {
            match self.peek() {
                Some(Tok::Lang) => {
                    self.bump();
                }
                Some(Tok::Repeat(r)) => {
                    let r = r.clone();
                    self.bump();
                    // `<m-n /p/>`: the probability is ignored.
                    let spec = r.split('/').next().unwrap_or("").trim().to_string();
                    let (min, max) =
                        srgs::parse_repeat(&spec).map_err(|e| format!("line {line}: {e}"))?;
                    let body = match atom.len() {
                        1 => atom.pop().unwrap_or(Expansion::Null), // len is 1
                        _ => Expansion::Seq(std::mem::take(&mut atom)),
                    };
                    atom = vec![if max == Some(0) {
                        Expansion::Null
                    } else {
                        Expansion::Repeat {
                            body: Box::new(body),
                            min,
                            max,
                        }
                    }];
                }
                _ => return Ok(atom),
            }
        }
    }

    fn tokens(&self, word: &str, line: usize) -> Result<Vec<Expansion>, String> {
        match self.mode {
            Mode::Voice => Ok(vec![Expansion::Token(word.to_string())]),
            Mode::Dtmf => word
                .split_whitespace()
                .flat_map(|w| w.chars().map(move |c| (w, c)))
                .map(|(w, c)| {
                    if matches!(c, '0'..='9' | '*' | '#' | 'A'..='D') {
                        Ok(Expansion::Token(c.to_string()))
                    } else {
                        Err(format!(
                            "line {line}: token {w:?} is not a dtmf key (0-9, *, #, A-D)"
                        ))
                    }
                })
                .collect(),
        }
    }

    fn rule_ref(&self, r: &str, line: usize) -> Result<Expansion, String> {
        let Some(uri) = r.strip_prefix('<').and_then(|u| u.strip_suffix('>')) else {
            return Ok(match r {
                "NULL" => Expansion::Null,
                "VOID" => Expansion::Void,
                "GARBAGE" => Expansion::Garbage,
                name => Expansion::RuleRef(RuleRef::Local(name.to_string())),
            });
        };
        let uri = uri.trim();
        if let Some(id) = uri.strip_prefix('#') {
            return Ok(Expansion::RuleRef(RuleRef::Local(id.to_string())));
        }
        if uri.starts_with("builtin:") {
            let (b, _) = Builtin::parse(uri).map_err(|e| format!("line {line}: {}", e.message))?;
            return Ok(Expansion::RuleRef(RuleRef::Builtin(b)));
        }
        let absolute =
            crate::fetch::resolve(self.base, uri).map_err(|e| format!("line {line}: {e}"))?;
        let (uri, rule) = match absolute.split_once('#') {
            Some((u, r)) => (u.to_string(), Some(r.to_string())),
            None => (absolute, None),
        };
        Ok(Expansion::RuleRef(RuleRef::External { uri, rule }))
    }
}

fn show(t: Option<&Tok>) -> String {
    match t {
        None => "end of grammar".into(),
        Some(Tok::Word(w)) => format!("{w:?}"),
        Some(Tok::Quoted(q)) => format!("\"{q}\""),
        Some(Tok::Ref(r)) => format!("${r}"),
        Some(Tok::Tag(_)) => "a tag".into(),
        Some(Tok::Repeat(r)) => format!("<{r}>"),
        Some(Tok::Weight) => "a weight".into(),
        Some(Tok::Lang) => "a language attachment".into(),
        Some(Tok::Punct(c)) => format!("'{c}'"),
    }
}

/// Reads an ABNF grammar. `base_url` resolves relative references and names the grammar in messages.
pub(crate) fn parse(src: &str, base_url: &str) -> Result<Doc, GrammarError> {
    let name = if base_url.is_empty() {
        "inline grammar"
    } else {
        base_url
    };
    let err = |what: String| GrammarError::new(name, what);
    let text = src.trim_start_matches('\u{feff}').trim_start();
    let Some(rest) = text.strip_prefix("#ABNF") else {
        return Err(err("abnf grammar must start with \"#ABNF 1.0;\"".into()));
    };
    let header_end = rest
        .find(';')
        .ok_or_else(|| err("the #ABNF header has no ';'".into()))?;
    let header: Vec<&str> = rest[..header_end].split_whitespace().collect();
    let encoding_ok = |e: &str| {
        e.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    };
    match header.as_slice() {
        ["1.0"] => {}
        ["1.0", enc] if encoding_ok(enc) => {}
        [v, ..] if *v != "1.0" => return Err(err(format!("unsupported abnf version {v:?}"))),
        _ => {
            return Err(err(format!(
                "malformed #ABNF header {:?}",
                rest[..header_end].trim()
            )))
        }
    }
    let body = &rest[header_end + 1..];
    let header_lines = text[..text.len() - body.len()].matches('\n').count();
    let mut lexer = Lexer::new(body);
    lexer.line += header_lines;
    let mut toks = Vec::new();
    while let Some(t) = lexer.next().map_err(&err)? {
        toks.push(t);
    }
    let mut mode = Mode::Voice;
    let mut root = None;
    let mut base = base_url.to_string();
    let mut literals = false;
    let mut at = 0;
    // Declarations: keyword ... ';' (and header tags), before the first rule.
    while let Some((tok, line)) = toks.get(at).cloned() {
        let end = toks[at..]
            .iter()
            .position(|(t, _)| *t == Tok::Punct(';'))
            .map(|p| at + p);
        let args: Vec<Tok> = match end {
            Some(e) if e > at => toks[at + 1..e].iter().map(|(t, _)| t.clone()).collect(),
            _ => Vec::new(),
        };
        let need_end = || end.ok_or_else(|| err(format!("line {line}: declaration without ';'")));
        match tok {
            Tok::Word(w) if w == "mode" => {
                need_end()?;
                mode = match args.as_slice() {
                    [Tok::Word(m)] if m == "dtmf" => Mode::Dtmf,
                    [Tok::Word(m)] if m == "voice" => Mode::Voice,
                    other => {
                        return Err(err(format!(
                            "line {line}: mode must be voice or dtmf, got {}",
                            show(other.first())
                        )))
                    }
                };
            }
            Tok::Word(w) if w == "root" => {
                need_end()?;
                match args.as_slice() {
                    [Tok::Ref(r)] if !r.starts_with('<') => root = Some(r.clone()),
                    other => {
                        return Err(err(format!(
                            "line {line}: root must name a local rule, got {}",
                            show(other.first())
                        )))
                    }
                }
            }
            Tok::Word(w) if w == "tag-format" => {
                need_end()?;
                if let [Tok::Repeat(f)] = args.as_slice() {
                    literals = f.trim().starts_with("semantics/1.0-literals");
                }
            }
            Tok::Word(w) if w == "base" => {
                need_end()?;
                if let [Tok::Repeat(b)] = args.as_slice() {
                    base = crate::fetch::resolve(base_url, b.trim())
                        .map_err(|e| err(e.to_string()))?;
                }
            }
            Tok::Word(w)
                if matches!(w.as_str(), "language" | "lexicon" | "meta" | "http-equiv") =>
            {
                need_end()?;
            }
            Tok::Tag(_) => {
                // A header tag declares script for the whole grammar; vxgate evaluates tags per rule only.
                if toks.get(at + 1).map(|(t, _)| t) == Some(&Tok::Punct(';')) {
                    at += 2;
                    continue;
                }
                break;
            }
            _ => break,
        }
        at = end.map_or(toks.len(), |e| e + 1);
    }
    let mut p = Parser {
        toks,
        at,
        mode,
        tags: TagReader { literals },
        base: &base,
    };
    let mut rules: Vec<RuleDef> = Vec::new();
    while p.peek().is_some() {
        let line = p.line();
        let public = match p.peek() {
            Some(Tok::Word(w)) if w == "public" => {
                p.bump();
                true
            }
            Some(Tok::Word(w)) if w == "private" => {
                p.bump();
                false
            }
            _ => false,
        };
        let id = match p.bump() {
            Some(Tok::Ref(r)) if !r.starts_with('<') => r,
            other => {
                return Err(err(format!(
                    "line {line}: expected a rule definition ($name = ...;), found {}",
                    show(other.as_ref())
                )))
            }
        };
        if matches!(id.as_str(), "NULL" | "VOID" | "GARBAGE") {
            return Err(err(format!("line {line}: ${id} cannot be redefined")));
        }
        p.expect('=').map_err(&err)?;
        let body = p.alternatives().map_err(&err)?;
        p.expect(';').map_err(&err)?;
        if rules.iter().any(|r| r.id == id) {
            return Err(err(format!("line {line}: rule {id:?} defined twice")));
        }
        rules.push(RuleDef { id, public, body });
    }
    let doc = Doc {
        uri: base,
        root,
        mode,
        rules,
        globals: Vec::new(),
    };
    srgs::check_doc(&doc).map_err(err)?;
    Ok(doc)
}
