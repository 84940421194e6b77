//! ECMAScript for VoiceXML (rquickjs): one runtime and one context per session, and the scope chain of 2.0 §5.1 as
//! real ECMAScript scopes.
//!
//! Each VoiceXML scope (application, document, dialog, anonymous) is a prototype-less JS object holding its
//! variables; `session` is a property of the global object. Expressions and scripts are evaluated by one helper
//! function that nests the scope objects in `with` statements around a direct `eval`, so name lookup walks
//! anonymous → dialog → document → application → global exactly as the spec's scope chain does, and closures made
//! by scripts keep that chain. Names a `<script>` declares with `var`/`function` are put on the scope the script
//! runs in. A memory limit and an interrupt handler (a budget of interrupt ticks, not wall-clock time: the core
//! never reads a clock) stop runaway scripts; both surface as a [`ScriptError`], which the interpreter throws as
//! `error.semantic`.
//!
//! This module is the engine itself (runtime, context, limits, handles); evaluation, value conversion, scope
//! variables, the `<data>` DOM and the scan for a script's declarations are its submodules.

mod data;
mod declarations;
mod eval;
mod scopes;
#[cfg(test)]
mod tests;
mod values;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rquickjs::{Context, Ctx, Function, Object, Persistent, Runtime, Value};

pub use declarations::declared_names;

/// Limits of one session's script engine.
#[derive(Debug, Clone, Copy)]
pub struct ScriptLimits {
    /// Heap limit of the session's runtime, in bytes.
    pub memory_bytes: usize,
    /// Stack limit, in bytes.
    pub stack_bytes: usize,
    /// Interrupt ticks (QuickJS polls its handler every ~10,000 bytecode operations) one evaluation may use before
    /// it is stopped.
    pub interrupt_budget: u32,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            memory_bytes: 16 << 20,
            stack_bytes: 512 << 10,
            interrupt_budget: 2_000,
        }
    }
}

/// A script failure: syntax error, exception, runaway loop or out of memory. Raised as `error.semantic`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScriptError(pub String);

/// Compiled code kept per session (cleared when full).
const CACHE_ENTRIES: usize = 256;

/// What a piece of compiled code is (the index of its cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Expr = 0,
    Script = 1,
    Assign = 2,
}

/// A `<script>` body ready to run: the `var` names it declares and the source to evaluate.
#[derive(Debug)]
struct PreparedScript {
    vars: Vec<String>,
    src: String,
}

/// Compiled functions by code text, one map per [`Kind`]: looked up by `&str`, so a hit allocates nothing. Code
/// strings are hashed on every evaluation: foldhash, not SipHash (the caches are bounded, so flooding them costs
/// nothing).
type CodeCache = [foldhash::HashMap<Box<str>, Persistent<Function<'static>>>; 3];

/// A handle to one scope object.
#[derive(Clone)]
pub struct Scope(Persistent<Object<'static>>, u64);

impl Scope {
    /// Whether both handles name the same scope object.
    pub fn ptr_eq(&self, other: &Scope) -> bool {
        self.1 == other.1
    }
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scope")
    }
}

/// A handle to an ECMAScript value owned by the session's context.
#[derive(Clone)]
pub struct JsValue(Persistent<Value<'static>>);

impl std::fmt::Debug for JsValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsValue")
    }
}

const PRELUDE: &str = r#"
(function(g){
  var E = Object.create(null);
  Object.defineProperty(g, '__vx_empty', {value: E});
  Object.defineProperty(g, '__vx_scope', {value: function(name) {
    var s = Object.create(null);
    if (name) Object.defineProperty(s, name, {value: s, enumerable: false});
    return s;
  }});
})(globalThis);
"#;

/// One session's ECMAScript engine.
pub struct ScriptEngine {
    // Field order is drop order: the persistent handles must go before the context and the runtime.
    cache: std::cell::RefCell<CodeCache>,
    /// `<script>` bodies already prepared by [`ScriptEngine::run_script`]: the `var` names they declare and the
    /// source with the function hoisting prefix (a document's scripts run again on every visit).
    prepared: std::cell::RefCell<foldhash::HashMap<Box<str>, Arc<PreparedScript>>>,
    empty: Persistent<Object<'static>>,
    ticks: Arc<AtomicU32>,
    budget: u32,
    scopes: std::cell::Cell<u64>,
    ctx: Context,
    rt: Runtime,
}

impl std::fmt::Debug for ScriptEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptEngine")
    }
}

fn err_of(ctx: &Ctx<'_>, e: rquickjs::Error) -> ScriptError {
    match e {
        rquickjs::Error::Exception => {
            let v = ctx.catch();
            let msg = describe(ctx, &v);
            ScriptError(msg)
        }
        rquickjs::Error::Allocation => ScriptError("script ran out of memory".into()),
        other => ScriptError(format!("script error: {other}")),
    }
}

fn describe<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> String {
    if let Some(o) = v.as_object() {
        let name: Option<String> = o.get("name").ok();
        let message: Option<String> = o.get("message").ok();
        if let Some(m) = message {
            return match name {
                Some(n) => format!("{n}: {m}"),
                None => m,
            };
        }
    }
    rquickjs::convert::Coerced::<String>::from_js(ctx, v.clone())
        .map(|c| c.0)
        .unwrap_or_else(|_| "exception".into())
}

use rquickjs::FromJs;

impl ScriptEngine {
    /// A fresh runtime and context with the VoiceXML helpers installed.
    pub fn new(limits: ScriptLimits) -> Result<ScriptEngine, ScriptError> {
        let rt = Runtime::new()
            .map_err(|e| ScriptError(format!("cannot create script runtime: {e}")))?;
        rt.set_memory_limit(limits.memory_bytes);
        rt.set_max_stack_size(limits.stack_bytes);
        // Old documents' scopes hold cycles (a scope names itself; page functions close over it) that only the cycle
        // collector frees. QuickJS first collects at 256 KB, so a long call's idle session carried ~160 KB of heap;
        // collecting first just above a fresh session's heap (~85 KB) keeps it near 110 KB at no measurable CPU
        // cost (later collections follow QuickJS's own 1.5x rule).
        rt.set_gc_threshold(96 << 10);
        let ticks = Arc::new(AtomicU32::new(0));
        let t = ticks.clone();
        let budget = limits.interrupt_budget.max(1);
        rt.set_interrupt_handler(Some(Box::new(move || {
            t.fetch_add(1, Ordering::Relaxed) + 1 >= budget
        })));
        // The intrinsics VoiceXML scripts use; Promise, Proxy, typed arrays, WeakRef... would only cost memory.
        let ctx = Context::builder()
            .with::<(
                rquickjs::context::intrinsic::Date,
                rquickjs::context::intrinsic::Eval,
                rquickjs::context::intrinsic::RegExpCompiler,
                rquickjs::context::intrinsic::RegExp,
                rquickjs::context::intrinsic::Json,
            )>()
            .build(&rt)
            .map_err(|e| ScriptError(format!("cannot create script context: {e}")))?;
        let empty = ctx.with(|ctx| -> Result<_, ScriptError> {
            let mut opts = rquickjs::context::EvalOptions::default();
            opts.strict = false;
            ctx.eval_with_options::<(), _>(PRELUDE, opts)
                .map_err(|e| err_of(&ctx, e))?;
            let g = ctx.globals();
            let e: Object = g.get("__vx_empty").map_err(|e| err_of(&ctx, e))?;
            Ok(Persistent::save(&ctx, e))
        })?;
        Ok(ScriptEngine {
            cache: Default::default(),
            prepared: Default::default(),
            empty,
            ticks,
            budget,
            scopes: std::cell::Cell::new(0),
            ctx,
            rt,
        })
    }

    /// Bytes the runtime has allocated (for the memory-per-session figure).
    pub fn memory_used(&self) -> i64 {
        self.rt.memory_usage().malloc_size
    }

    /// Runs the garbage collector.
    pub fn gc(&self) {
        self.rt.run_gc();
    }

    /// The interrupt budget per evaluation.
    pub fn budget(&self) -> u32 {
        self.budget
    }

    /// A new, empty scope object; with `name`, the scope refers to itself by that name (`document.x`).
    ///
    /// Fails only when the session's heap is at its memory limit (the interpreter throws `error.semantic`).
    pub fn new_scope(&self, name: Option<&str>) -> Result<Scope, ScriptError> {
        self.ctx.with(|ctx| {
            // What `__vx_scope` of the prelude does, without a call into JS: `Object.create(null)` with the
            // scope's own name as a non-enumerable, read-only self reference.
            let make = || -> rquickjs::Result<Object<'_>> {
                let o = Object::new(ctx.clone())?;
                o.set_prototype(None)?;
                if let Some(n) = name.filter(|n| !n.is_empty()) {
                    o.prop(n, o.clone())?;
                }
                Ok(o)
            };
            let o: Object = make().map_err(|e| {
                let mut e = err_of(&ctx, e);
                // No script runs here, so a `null` exception is QuickJS failing to allocate even its
                // out-of-memory error.
                if e.0 == "null" {
                    e.0 = "out of memory".into();
                }
                ScriptError(format!(
                    "cannot create the {} scope: {e}",
                    name.unwrap_or("anonymous")
                ))
            })?;
            self.scopes.set(self.scopes.get() + 1);
            Ok(Scope(Persistent::save(&ctx, o), self.scopes.get()))
        })
    }

    /// Frees what the engine keeps for speed (the compiled-code cache) and runs the garbage collector: the
    /// interpreter's last resort when the heap is at its limit.
    pub fn relieve_memory(&self) {
        for c in self.cache.borrow_mut().iter_mut() {
            c.clear();
        }
        self.rt.run_gc();
    }
}
