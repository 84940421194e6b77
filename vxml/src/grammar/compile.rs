//! Lowers linked grammar documents into one matching program: a small instruction set run by a Pike-style VM with
//! a call stack for rule references (SRGS grammars are context-free, not only regular).
//!
//! Only rules reachable from the root are compiled. A ruleref to an external grammar not yet fetched compiles to
//! `Fail` until [`super::Grammar::resolve_external`] links it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::ast::{Doc, Expansion, RuleRef, Tag};
use super::builtin::Builtin;
use super::{GrammarError, Mode};

/// Most instructions one grammar may compile to (large `repeat` counts expand into copies).
const MAX_INSTS: usize = 200_000;

/// One VM instruction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inst {
    /// Consume one input token equal to this.
    Tok(Box<str>),
    /// Consume one token equal to any of these (a `<one-of>` of plain tokens, e.g. a digit class).
    Set(Box<[Box<str>]>),
    /// Consume any one token (`$GARBAGE`).
    Any,
    /// Continue at both; the first is preferred.
    Split(u32, u32),
    /// Continue at.
    Jmp(u32),
    /// Enter rule (index into `rules`), returning to the next instruction.
    Call(u32),
    /// Leave the current rule.
    Ret,
    /// Run tag (index into `tags`).
    Tag(u32),
    /// Dead end.
    Fail,
    /// The whole input has been parsed by the root rule.
    Match,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct RuleInfo {
    /// The rule's id, the name under which SISR exposes its value (`rules.<name>`).
    pub name: String,
    /// First instruction.
    pub start: u32,
    /// Set for builtin types: the rule value is computed from its matched keys.
    pub builtin: Option<Builtin>,
}

/// A compiled grammar.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    pub insts: Vec<Inst>,
    pub rules: Vec<RuleInfo>,
    pub tags: Vec<Tag>,
    /// `can_finish[pc]`: from `pc` the current rule can reach its end (or the program its `Match`).
    pub can_finish: Vec<bool>,
    pub mode: Mode,
    /// Link problems (reference to a missing or private rule of a linked grammar): such references never match.
    pub problems: Vec<String>,
    /// The main grammar's header tag scripts (SISR global scope), empty when it has none.
    pub globals: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Rule(usize, String),
    Builtin(Builtin),
}

struct Compiler<'a> {
    docs: Vec<&'a Doc>,
    by_uri: HashMap<&'a str, usize>,
    insts: Vec<Inst>,
    rules: Vec<RuleInfo>,
    index: HashMap<Key, u32>,
    todo: Vec<(Key, u32)>,
    tags: Vec<Tag>,
    problems: Vec<String>,
    name: String,
}

impl<'a> Compiler<'a> {
    fn rule_index(&mut self, key: Key) -> u32 {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.rules.len() as u32;
        let (name, builtin) = match &key {
            Key::Rule(_, id) => (id.clone(), None),
            Key::Builtin(b) => (b.name().to_string(), Some(b.clone())),
        };
        self.rules.push(RuleInfo {
            name,
            start: 0,
            builtin,
        });
        self.index.insert(key.clone(), i);
        self.todo.push((key, i));
        i
    }

    fn push(&mut self, inst: Inst) -> Result<u32, GrammarError> {
        if self.insts.len() >= MAX_INSTS {
            return Err(GrammarError::new(
                &self.name,
                format!("grammar too large: more than {MAX_INSTS} instructions"),
            ));
        }
        self.insts.push(inst);
        Ok(self.insts.len() as u32 - 1)
    }

    fn here(&self) -> u32 {
        self.insts.len() as u32
    }

    fn patch_split_second(&mut self, at: u32, to: u32) {
        if let Some(Inst::Split(_, b)) = self.insts.get_mut(at as usize) {
            *b = to;
        }
    }

    fn patch_jmp(&mut self, at: u32, to: u32) {
        if let Some(Inst::Jmp(a)) = self.insts.get_mut(at as usize) {
            *a = to;
        }
    }

    fn emit(&mut self, doc: usize, e: &Expansion) -> Result<(), GrammarError> {
        match e {
            Expansion::Token(t) => {
                self.push(Inst::Tok(t.as_str().into()))?;
            }
            Expansion::Seq(v) => {
                for e in v {
                    self.emit(doc, e)?;
                }
            }
            Expansion::OneOf(alts)
                if alts.len() > 1 && alts.iter().all(|a| matches!(a, Expansion::Token(_))) =>
            {
                let set = alts
                    .iter()
                    .filter_map(|a| match a {
                        Expansion::Token(t) => Some(t.as_str().into()),
                        _ => None,
                    })
                    .collect();
                self.push(Inst::Set(set))?;
            }
            Expansion::OneOf(alts) => {
                let mut to_end = Vec::new();
                for (i, alt) in alts.iter().enumerate() {
                    if i + 1 < alts.len() {
                        let split = self.push(Inst::Split(self.here() + 1, 0))?;
                        self.emit(doc, alt)?;
                        to_end.push(self.push(Inst::Jmp(0))?);
                        let next = self.here();
                        self.patch_split_second(split, next);
                    } else {
                        self.emit(doc, alt)?;
                    }
                }
                let end = self.here();
                for j in to_end {
                    self.patch_jmp(j, end);
                }
            }
            Expansion::Repeat { body, min, max } => {
                for _ in 0..*min {
                    self.emit(doc, body)?;
                }
                match max {
                    Some(max) => {
                        // Greedy: each optional copy prefers to match.
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.push(Inst::Split(self.here() + 1, 0))?);
                            self.emit(doc, body)?;
                        }
                        let end = self.here();
                        for s in splits {
                            self.patch_split_second(s, end);
                        }
                    }
                    None => {
                        let top = self.push(Inst::Split(self.here() + 1, 0))?;
                        self.emit(doc, body)?;
                        self.push(Inst::Jmp(top))?;
                        let end = self.here();
                        self.patch_split_second(top, end);
                    }
                }
            }
            Expansion::RuleRef(r) => self.emit_ref(doc, r)?,
            Expansion::Tag(t) => {
                let i = self.tags.len() as u32;
                self.tags.push(t.clone());
                self.push(Inst::Tag(i))?;
            }
            Expansion::Null => {}
            Expansion::Void => {
                self.push(Inst::Fail)?;
            }
            Expansion::Garbage => {
                // Lazy: garbage takes as few tokens as the rest of the grammar allows.
                let top = self.push(Inst::Split(0, self.here() + 1))?;
                self.push(Inst::Any)?;
                self.push(Inst::Jmp(top))?;
                let end = self.here();
                if let Some(Inst::Split(a, _)) = self.insts.get_mut(top as usize) {
                    *a = end;
                }
            }
        }
        Ok(())
    }

    fn emit_ref(&mut self, doc: usize, r: &RuleRef) -> Result<(), GrammarError> {
        let key = match r {
            RuleRef::Local(id) => Key::Rule(doc, id.clone()),
            RuleRef::Builtin(b) => Key::Builtin(b.clone()),
            RuleRef::External { uri, rule } => {
                let Some(&target) = self.by_uri.get(uri.as_str()) else {
                    // Not fetched yet: never matches until linked.
                    self.push(Inst::Fail)?;
                    return Ok(());
                };
                let d = self.docs[target];
                let found = match rule {
                    Some(id) => match d.rule(id) {
                        Some(r) if r.public => Ok(r.id.clone()),
                        Some(_) => Err(format!("rule {id:?} of {uri} is private")),
                        None => Err(format!("{uri} has no rule {id:?}")),
                    },
                    None => d
                        .root_rule()
                        .map(|r| r.id.clone())
                        .ok_or_else(|| format!("{uri} has no root rule")),
                };
                match found {
                    Ok(id) => Key::Rule(target, id),
                    Err(problem) => {
                        if !self.problems.contains(&problem) {
                            self.problems.push(problem);
                        }
                        self.push(Inst::Fail)?;
                        return Ok(());
                    }
                }
            }
        };
        let i = self.rule_index(key);
        self.push(Inst::Call(i))?;
        Ok(())
    }
}

/// Compiles `main` with the external grammars already fetched (`linked`, by absolute URI without fragment).
pub(crate) fn compile(
    main: &Doc,
    linked: &BTreeMap<String, Arc<Doc>>,
) -> Result<Program, GrammarError> {
    let mut docs = vec![main];
    docs.extend(linked.values().map(|d| d.as_ref()));
    let mut by_uri = HashMap::new();
    by_uri.insert(main.uri.as_str(), 0);
    for (i, uri) in linked.keys().enumerate() {
        by_uri.insert(uri.as_str(), i + 1);
    }
    let mut c = Compiler {
        docs,
        by_uri,
        insts: Vec::new(),
        rules: Vec::new(),
        index: HashMap::new(),
        todo: Vec::new(),
        tags: Vec::new(),
        problems: Vec::new(),
        name: main.uri.clone(),
    };
    let root = main
        .root_rule()
        .ok_or_else(|| GrammarError::new(&main.uri, "the grammar has no root rule"))?
        .id
        .clone();
    let root = c.rule_index(Key::Rule(0, root));
    c.push(Inst::Call(root))?;
    c.push(Inst::Match)?;
    while let Some((key, i)) = c.todo.pop() {
        let start = c.here();
        if let Some(info) = c.rules.get_mut(i as usize) {
            info.start = start;
        }
        match key {
            Key::Rule(d, id) => {
                let doc = c.docs[d];
                match doc.rule(&id) {
                    Some(rule) => c.emit(d, &rule.body)?,
                    // Local references are checked when the document is read; this is a defensive dead end.
                    None => {
                        c.push(Inst::Fail)?;
                    }
                }
            }
            Key::Builtin(b) => c.emit(0, &b.expansion())?,
        }
        c.push(Inst::Ret)?;
    }
    let can_finish = can_finish(&c.insts, &c.rules);
    Ok(Program {
        insts: c.insts,
        rules: c.rules,
        tags: c.tags,
        can_finish,
        mode: main.mode,
        problems: c.problems,
        globals: main.globals.join("\n;\n"),
    })
}

/// Least fixpoint of "can reach the end of the current rule": needed to tell a true prefix (`Partial`) from a
/// path that can never complete (one going through `$VOID` or an unfetched grammar).
fn can_finish(insts: &[Inst], rules: &[RuleInfo]) -> Vec<bool> {
    let mut cf = vec![false; insts.len()];
    let get = |cf: &[bool], pc: u32| cf.get(pc as usize).copied().unwrap_or(false);
    loop {
        let mut changed = false;
        for pc in (0..insts.len()).rev() {
            if cf[pc] {
                continue;
            }
            let next = pc as u32 + 1;
            let v = match &insts[pc] {
                Inst::Tok(_) | Inst::Set(_) | Inst::Any | Inst::Tag(_) => get(&cf, next),
                Inst::Split(a, b) => get(&cf, *a) || get(&cf, *b),
                Inst::Jmp(a) => get(&cf, *a),
                Inst::Call(r) => {
                    rules.get(*r as usize).is_some_and(|r| get(&cf, r.start)) && get(&cf, next)
                }
                Inst::Ret | Inst::Match => true,
                Inst::Fail => false,
            };
            if v {
                cf[pc] = true;
                changed = true;
            }
        }
        if !changed {
            return cf;
        }
    }
}
