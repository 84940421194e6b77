//! The current execution context and its scope chain (2.0 §5.1), and evaluation in it: values, strings, booleans,
//! `cond`s and attributes given literally or as expressions.

use super::{Ctx, Event, Session};
use crate::dom::{Document, NodeId};
use crate::script::{JsValue, Scope};

impl Session {
    pub(crate) fn ctx(&self) -> &Ctx {
        // The session always has a context once a document ran; callers check `ctxs` is non-empty first.
        self.ctxs.last().expect("an execution context exists")
    }

    pub(crate) fn ctx_mut(&mut self) -> &mut Ctx {
        self.ctxs.last_mut().expect("an execution context exists")
    }

    /// The scope chain for evaluation: application, document, dialog, anonymous (those that exist).
    pub(crate) fn chain(&self) -> Vec<Scope> {
        let Some(c) = self.ctxs.last() else {
            return Vec::new();
        };
        let mut v = Vec::with_capacity(4);
        v.push(c.app_scope.clone());
        if !same_scope(&c.app_scope, &c.doc_scope) {
            v.push(c.doc_scope.clone());
        }
        if let Some(d) = &c.dialog {
            v.push(d.scope.clone());
        }
        if let Some(a) = c.exec.as_ref().and_then(|e| e.anon.clone()) {
            v.push(a);
        }
        v
    }

    /// The scope chain as borrowed handles (application, document, dialog, anonymous; those that exist): what
    /// [`Session::chain`] gives, without cloning a handle or allocating, for the evaluations of every page.
    pub(crate) fn scopes(&self) -> ScopeChain<'_> {
        let Some(c) = self.ctxs.last() else {
            return ScopeChain::default();
        };
        // Unused slots repeat the application scope; only `len` of them are handed out.
        let mut chain = ScopeChain {
            refs: [Some(&c.app_scope); 4],
            len: 1,
        };
        if !same_scope(&c.app_scope, &c.doc_scope) {
            chain.push(&c.doc_scope);
        }
        if let Some(d) = &c.dialog {
            chain.push(&d.scope);
        }
        if let Some(a) = c.exec.as_ref().and_then(|e| e.anon.as_ref()) {
            chain.push(a);
        }
        chain
    }

    pub(crate) fn eval(&mut self, expr: &str) -> Result<JsValue, Event> {
        self.scopes()
            .with(|chain| self.js.eval(chain, expr))
            .map_err(|e| Event {
                name: "error.semantic".into(),
                message: Some(format!("{e} in {expr:?}")),
            })
    }

    pub(crate) fn eval_bool(&mut self, expr: &str) -> Result<bool, Event> {
        let v = self.eval(expr)?;
        Ok(self.js.to_bool(&v))
    }

    /// An attribute given literally or as an ECMAScript expression (the pairs `next`/`expr`, `event`/`eventexpr`,
    /// `message`/`messageexpr` of VoiceXML 2.0): the literal wins, the expression is evaluated to a string, neither
    /// is `None`. The validator has already refused elements that carry both.
    pub(crate) fn literal_or_expr(
        &mut self,
        doc: &Document,
        id: NodeId,
        literal: &str,
        expr: &str,
    ) -> Result<Option<String>, Event> {
        match (doc.attr(id, literal), doc.attr(id, expr)) {
            (Some(v), _) => Ok(Some(v.to_string())),
            (None, Some(x)) => self.eval_string(x).map(Some),
            _ => Ok(None),
        }
    }

    pub(crate) fn eval_string(&mut self, expr: &str) -> Result<String, Event> {
        let v = self.eval(expr)?;
        self.js.to_string(&v).map_err(|e| Event {
            name: "error.semantic".into(),
            message: Some(e.0),
        })
    }

    /// Whether `cond` (absent = true) holds.
    pub(crate) fn cond(&mut self, doc: &Document, id: NodeId) -> Result<bool, Event> {
        match doc.attr(id, "cond") {
            None => Ok(true),
            Some(c) => self.eval_bool(c),
        }
    }
}

/// The scope chain of the current context, borrowed (see [`Session::scopes`]).
#[derive(Default)]
pub(crate) struct ScopeChain<'a> {
    refs: [Option<&'a Scope>; 4],
    len: usize,
}

impl<'a> ScopeChain<'a> {
    fn push(&mut self, s: &'a Scope) {
        if let Some(slot) = self.refs.get_mut(self.len) {
            *slot = Some(s);
            self.len += 1;
        }
    }

    /// The innermost scope (where `<var>` declares).
    pub(crate) fn last(&self) -> Option<&'a Scope> {
        self.refs.get(self.len.checked_sub(1)?).copied().flatten()
    }

    /// Runs `f` with the chain as a slice, outermost first, as the script engine takes it.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&[&'a Scope]) -> R) -> R {
        match self.refs {
            [Some(a), Some(b), Some(c), Some(d)] => {
                let all = [a, b, c, d];
                f(all.get(..self.len).unwrap_or(&all))
            }
            _ => f(&[]),
        }
    }
}

pub(crate) fn same_scope(a: &Scope, b: &Scope) -> bool {
    a.ptr_eq(b)
}
