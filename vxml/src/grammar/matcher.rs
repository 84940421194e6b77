//! Runs a compiled grammar over an input token sequence: a Pike VM (threads in priority order, one per distinct
//! instruction and call stack) so matching is exhaustive without exponential backtracking, and the surviving
//! thread of each state is the preferred parse (document order of `<one-of>`, greedy repeats).

use std::collections::{HashMap, HashSet};
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

impl Drop for TraceNode {
    /// Iterative, so a long trace cannot overflow the stack when dropped.
    fn drop(&mut self) {
        let mut next = self.prev.take();
        while let Some(node) = next {
            match Rc::try_unwrap(node) {
                Ok(mut n) => next = n.prev.take(),
                Err(_) => break,
            }
        }
    }
}

/// Call stacks, hash-consed so a thread's stack is one integer and equal stacks compare equal.
struct Stacks {
    /// Per stack id: (parent id, return pc, depth). Id 0 is the empty stack.
    nodes: Vec<(u32, u32, usize)>,
    index: HashMap<(u32, u32), u32>,
}

impl Stacks {
    fn new() -> Stacks {
        Stacks {
            nodes: vec![(0, 0, 0)],
            index: HashMap::new(),
        }
    }

    fn push(&mut self, stack: u32, ret: u32) -> u32 {
        if let Some(&id) = self.index.get(&(stack, ret)) {
            return id;
        }
        let depth = self.depth(stack) + 1;
        let id = self.nodes.len() as u32;
        self.nodes.push((stack, ret, depth));
        self.index.insert((stack, ret), id);
        id
    }

    /// (parent, return pc) of a non-empty stack.
    fn pop(&self, stack: u32) -> Option<(u32, u32)> {
        if stack == 0 {
            return None;
        }
        self.nodes.get(stack as usize).map(|&(p, r, _)| (p, r))
    }

    fn depth(&self, stack: u32) -> usize {
        self.nodes.get(stack as usize).map_or(0, |n| n.2)
    }

    /// Return pcs from innermost out.
    fn returns(&self, mut stack: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::from_fn(move || {
            let (parent, ret) = self.pop(stack)?;
            stack = parent;
            Some(ret)
        })
    }
}

#[derive(Clone)]
struct Thread {
    pc: u32,
    stack: u32,
    trace: Option<Rc<TraceNode>>,
}

impl Thread {
    fn with(&self, pc: u32, ev: Option<Ev>) -> Thread {
        Thread {
            pc,
            stack: self.stack,
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

fn add(
    prog: &Program,
    stacks: &mut Stacks,
    list: &mut Vec<Thread>,
    seen: &mut HashSet<u64>,
    t: Thread,
) {
    let mut work = vec![t];
    while let Some(t) = work.pop() {
        if !seen.insert(((t.pc as u64) << 32) | t.stack as u64) {
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
                if stacks.depth(t.stack) >= MAX_DEPTH {
                    continue;
                }
                let mut next = t.with(rule.start, Some(Ev::Enter(*r)));
                next.stack = stacks.push(t.stack, t.pc + 1);
                work.push(next);
            }
            Inst::Ret => {
                if let Some((parent, ret)) = stacks.pop(t.stack) {
                    let mut next = t.with(ret, Some(Ev::Exit));
                    next.stack = parent;
                    work.push(next);
                }
            }
            Inst::Tag(i) => work.push(t.with(t.pc + 1, Some(Ev::Tag(*i)))),
            Inst::Fail => {}
            Inst::Tok(_) | Inst::Set(_) | Inst::Any | Inst::Match => list.push(t),
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
    let mut stacks = Stacks::new();
    let mut seen = HashSet::new();
    let mut list = Vec::new();
    add(
        prog,
        &mut stacks,
        &mut list,
        &mut seen,
        Thread {
            pc: 0,
            stack: 0,
            trace: None,
        },
    );
    for (i, tok) in tokens.iter().enumerate() {
        let mut next = Vec::new();
        seen.clear();
        for t in &list {
            let consumes = match prog.insts.get(t.pc as usize) {
                Some(Inst::Tok(s)) => s.as_ref() == *tok,
                Some(Inst::Set(set)) => set.iter().any(|s| s.as_ref() == *tok),
                Some(Inst::Any) => true,
                _ => false,
            };
            if consumes {
                add(
                    prog,
                    &mut stacks,
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
            Some(Inst::Tok(_)) | Some(Inst::Set(_)) | Some(Inst::Any)
                if finishes(t.pc) && stacks.returns(t.stack).all(finishes) =>
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
