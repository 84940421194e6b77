//! Evaluation in the scope chain: expressions, `<script>` bodies and assignments compiled once per session into
//! functions that nest the scopes in `with` statements, and the literals that need no engine at all.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rquickjs::function::Args;
use rquickjs::{Function, Persistent, Value};

use super::declarations::declared_names;
use super::{
    err_of, JsValue, Kind, PreparedScript, Scope, ScriptEngine, ScriptError, CACHE_ENTRIES,
};

impl ScriptEngine {
    /// Runs `code` (an expression, a script body or an assignment) in the scope chain. Each distinct piece of code
    /// is compiled once per session into a function that nests the scopes in `with` statements, then called with
    /// the scope objects: re-running a page costs a call, not a parse.
    pub(super) fn call(
        &self,
        chain: &[&Scope],
        kind: Kind,
        code: &str,
        value: Option<&JsValue>,
    ) -> Result<JsValue, ScriptError> {
        self.ticks.store(0, Ordering::Relaxed);
        self.ctx.with(|ctx| {
            let cached = self.cache.borrow()[kind as usize].get(code).cloned();
            let f = match cached {
                Some(f) => f.restore(&ctx).map_err(|e| err_of(&ctx, e))?,
                None => {
                    let head = "(function(__vx_a,__vx_b,__vx_c,__vx_d,__vx_v){with(__vx_a)with(__vx_b)with(__vx_c)with(__vx_d){";
                    let src = match kind {
                        Kind::Expr => format!("{head}return ({code}\n);}}}})"),
                        Kind::Script | Kind::Assign => format!("{head}{code}\n}}}})"),
                    };
                    let mut opts = rquickjs::context::EvalOptions::default();
                    opts.strict = false;
                    let f: Function = ctx.eval_with_options(src, opts).map_err(|e| err_of(&ctx, e))?;
                    let mut caches = self.cache.borrow_mut();
                    let cache = &mut caches[kind as usize];
                    if cache.len() >= CACHE_ENTRIES {
                        cache.clear();
                    }
                    cache.insert(code.into(), Persistent::save(&ctx, f.clone()));
                    f
                }
            };
            let empty = self.empty.clone().restore(&ctx).map_err(|e| err_of(&ctx, e))?;
            let mut args = Args::new(ctx.clone(), 5);
            let take = chain.len().min(4);
            for _ in take..4 {
                args.push_arg(empty.clone()).map_err(|e| err_of(&ctx, e))?;
            }
            for s in &chain[chain.len() - take..] {
                let o = s.0.clone().restore(&ctx).map_err(|e| err_of(&ctx, e))?;
                args.push_arg(o).map_err(|e| err_of(&ctx, e))?;
            }
            match value {
                Some(v) => {
                    let v = v.0.clone().restore(&ctx).map_err(|e| err_of(&ctx, e))?;
                    args.push_arg(v).map_err(|e| err_of(&ctx, e))?;
                }
                None => args.push_arg(()).map_err(|e| err_of(&ctx, e))?,
            }
            let r: Result<Value, _> = f.call_arg(args);
            match r {
                Ok(v) => Ok(JsValue(Persistent::save(&ctx, v))),
                Err(e) => Err(err_of(&ctx, e)),
            }
        })
    }

    /// Evaluates an expression in the scope chain (outermost first).
    pub fn eval(&self, chain: &[&Scope], expr: &str) -> Result<JsValue, ScriptError> {
        match literal(expr) {
            Some(Literal::Str(s)) => Ok(self.string(s)),
            Some(Literal::Int(n)) => Ok(self
                .ctx
                .with(|ctx| JsValue(Persistent::save(&ctx, Value::new_int(ctx.clone(), n))))),
            None => self.call(chain, Kind::Expr, expr, None),
        }
    }

    /// Evaluates an expression and converts the result with ToBoolean.
    pub fn eval_bool(&self, chain: &[&Scope], expr: &str) -> Result<bool, ScriptError> {
        let v = self.eval(chain, expr)?;
        Ok(self.to_bool(&v))
    }

    /// Evaluates an expression and converts the result with ToString.
    pub fn eval_string(&self, chain: &[&Scope], expr: &str) -> Result<String, ScriptError> {
        let v = self.eval(chain, expr)?;
        self.to_string(&v)
    }

    /// Runs a `<script>` body in the innermost scope of the chain: its `var` and `function` declarations become
    /// variables of that scope.
    pub fn run_script(&self, chain: &[&Scope], body: &str) -> Result<(), ScriptError> {
        let Some(target) = chain.last() else {
            return Err(ScriptError("no scope to run the script in".into()));
        };
        let cached = self.prepared.borrow().get(body).cloned();
        let prep = match cached {
            Some(p) => p,
            None => {
                let (vars, funcs) = declared_names(body);
                let mut src = String::with_capacity(body.len() + 32 * funcs.len());
                for f in &funcs {
                    src.push_str(&format!("__vx_d[{:?}] = {};", f, f));
                }
                src.push('\n');
                src.push_str(body);
                let p = Arc::new(PreparedScript { vars, src });
                let mut prepared = self.prepared.borrow_mut();
                if prepared.len() >= CACHE_ENTRIES {
                    prepared.clear();
                }
                prepared.insert(body.into(), p.clone());
                p
            }
        };
        if !prep.vars.is_empty() {
            // One context entry for all the declarations.
            self.ctx.with(|ctx| {
                if let Ok(o) = target.0.clone().restore(&ctx) {
                    for v in &prep.vars {
                        if !o.contains_key(v.as_str()).unwrap_or(false) {
                            let _ = o.set(v.as_str(), Value::new_undefined(ctx.clone()));
                        }
                    }
                }
            });
        }
        self.call(chain, Kind::Script, &prep.src, None).map(|_| ())
    }
}

/// A constant expression whose value is known without running it.
#[derive(Debug, PartialEq)]
enum Literal<'a> {
    /// A quoted string with no escapes, quotes or line terminators inside: its value is its text.
    Str(&'a str),
    /// A decimal integer literal without leading zeros (so never legacy octal) that fits an `i32`.
    Int(i32),
}

/// Recognises the literals VoiceXML pages use most (`expr="'abc'"`, `expr="0"`); anything else (escapes,
/// operators, names, octal, exponents, huge numbers) is left to the engine (ECMA-262 §7.8.3-4).
fn literal(expr: &str) -> Option<Literal<'_>> {
    let e = expr.trim_matches(|c: char| c.is_ascii_whitespace());
    let b = e.as_bytes();
    match b.first()? {
        q @ (b'\'' | b'"') => {
            let inner = e.get(1..e.len().checked_sub(1)?)?;
            if b.len() < 2 || b[b.len() - 1] != *q {
                return None;
            }
            let plain = !inner.contains(|c: char| {
                c as u32 == u32::from(*q)
                    || matches!(c, '\\' | '\n' | '\r' | '\u{2028}' | '\u{2029}')
            });
            plain.then_some(Literal::Str(inner))
        }
        b'0' if b.len() == 1 => Some(Literal::Int(0)),
        b'1'..=b'9' if b.len() <= 9 && b.iter().all(u8::is_ascii_digit) => {
            e.parse().ok().map(Literal::Int)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::ScriptLimits;

    #[test]
    fn literals_are_recognised_and_the_rest_left_to_the_engine() {
        assert_eq!(literal(" 'abc' "), Some(Literal::Str("abc")));
        assert_eq!(literal("\"a'b\""), Some(Literal::Str("a'b")));
        assert_eq!(literal("''"), Some(Literal::Str("")));
        assert_eq!(literal("0"), Some(Literal::Int(0)));
        assert_eq!(literal("123456789"), Some(Literal::Int(123_456_789)));
        for e in [
            "'",
            "'a\\'b'",
            "'a'+'b'",
            "'a' + x",
            "012",
            "1e3",
            "1.5",
            "1234567890",
            "x",
            "",
            "'a\nb'",
        ] {
            assert_eq!(literal(e), None, "{e:?}");
        }
        let e = ScriptEngine::new(ScriptLimits::default()).unwrap();
        let doc = e.new_scope(Some("document")).unwrap();
        assert_eq!(e.eval_string(&[&doc], "'a'").unwrap(), "a");
        assert_eq!(e.eval_string(&[&doc], "'a' + 'b'").unwrap(), "ab");
        assert_eq!(e.eval_string(&[&doc], "typeof 42").unwrap(), "number");
        let v = e.eval(&[&doc], "42").unwrap();
        assert_eq!(e.type_name(&v), "int");
        assert_eq!(e.eval_string(&[&doc], "012").unwrap(), "10");
    }
}
