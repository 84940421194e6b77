//! Runs a compiled grammar over an input token sequence: a Pike VM (threads in priority order, one per distinct
//! instruction and call stack) so matching is exhaustive without exponential backtracking, and the surviving
//! thread of each state is the preferred parse (document order of `<one-of>`, greedy repeats).

use std::collections::HashSet;
use std::rc::Rc;

use super::compile::{Inst, Program};

/// Deepest rule nesting followed; deeper paths (runaway recursion) are dropped.
const MAX_DEPTH: usize = 64;

/// One step of a parse, replayed to compute the semantic interpretation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ev {
    /// A rule was entered (index into `Program::rules`).
    Enter(u32),
    /// An input token was consumed (index into the input).
    Tok(u32),
    /// A tag was passed (index into `Program::tags`).
    Tag(u32),
    /// The current rule ended.
    Exit,
}

struct TraceNode {
    ev: Ev,
    prev: Option<Rc<TraceNode>>,
}

#[derive(Clone)]
struct Thread {
    pc: u32,
    stack: Vec<u32>,
    trace: Option<Rc<TraceNode>>,
}

impl Thread {
    fn with(&self, pc: u32, ev: Option<Ev>) -> Thread {
        Thread {
            pc,
            stack: self.stack.clone(),
            trace: match ev {
                Some(ev) => Some(Rc::new(TraceNode {
                    ev,
                    prev: self.trace.clone(),
                })),
                None => self.trace.clone(),
            },
        }
    }
}

/// What running the program over the input found.
pub(crate) struct Outcome {
    /// Complete parses of the whole input, preferred first.
    pub complete: Vec<Vec<Ev>>,
    /// Some parse consumed the whole input and can still consume more and complete.
    pub can_extend: bool,
}

fn add(prog: &Program, list: &mut Vec<Thread>, seen: &mut HashSet<(u32, Vec<u32>)>, t: Thread) {
    let mut work = vec![t];
    while let Some(t) = work.pop() {
        if !seen.insert((t.pc, t.stack.clone())) {
            continue;
        }
        let Some(inst) = prog.insts.get(t.pc as usize) else {
            continue;
        };
        match inst {
            Inst::Jmp(a) => work.push(t.with(*a, None)),
            Inst::Split(a, b) => {
                // LIFO: push the less preferred branch first.
                work.push(t.with(*b, None));
                work.push(t.with(*a, None));
            }
            Inst::Call(r) => {
                let Some(rule) = prog.rules.get(*r as usize) else {
                    continue;
                };
                if t.stack.len() >= MAX_DEPTH {
                    continue;
                }
                let mut next = t.with(rule.start, Some(Ev::Enter(*r)));
                next.stack.push(t.pc + 1);
                work.push(next);
            }
            Inst::Ret => {
                let mut next = t.with(0, Some(Ev::Exit));
                match next.stack.pop() {
                    Some(ret) => {
                        next.pc = ret;
                        work.push(next);
                    }
                    None => continue,
                }
            }
            Inst::Tag(i) => work.push(t.with(t.pc + 1, Some(Ev::Tag(*i)))),
            Inst::Fail => {}
            Inst::Tok(_) | Inst::Any | Inst::Match => list.push(t),
        }
    }
}

fn events(mut node: Option<Rc<TraceNode>>) -> Vec<Ev> {
    let mut out = Vec::new();
    while let Some(n) = node {
        out.push(n.ev);
        node = n.prev.clone();
    }
    out.reverse();
    out
}

/// Runs `prog` over `tokens`; keeps at most `max_complete` complete parses.
pub(crate) fn run(prog: &Program, tokens: &[&str], max_complete: usize) -> Outcome {
    let mut seen = HashSet::new();
    let mut list = Vec::new();
    add(
        prog,
        &mut list,
        &mut seen,
        Thread {
            pc: 0,
            stack: Vec::new(),
            trace: None,
        },
    );
    for (i, tok) in tokens.iter().enumerate() {
        let mut next = Vec::new();
        seen.clear();
        for t in &list {
            let consumes = match prog.insts.get(t.pc as usize) {
                Some(Inst::Tok(s)) => s.as_ref() == *tok,
                Some(Inst::Any) => true,
                _ => false,
            };
            if consumes {
                add(
                    prog,
                    &mut next,
                    &mut seen,
                    t.with(t.pc + 1, Some(Ev::Tok(i as u32))),
                );
            }
        }
        list = next;
        if list.is_empty() {
            break;
        }
    }
    let finishes = |pc: u32| prog.can_finish.get(pc as usize).copied().unwrap_or(false);
    let mut complete = Vec::new();
    let mut can_extend = false;
    for t in &list {
        match prog.insts.get(t.pc as usize) {
            Some(Inst::Match) if complete.len() < max_complete => {
                complete.push(events(t.trace.clone()));
            }
            Some(Inst::Tok(_)) | Some(Inst::Any)
                if finishes(t.pc) && t.stack.iter().all(|&ret| finishes(ret)) =>
            {
                can_extend = true;
            }
            _ => {}
        }
    }
    Outcome {
        complete,
        can_extend,
    }
}
