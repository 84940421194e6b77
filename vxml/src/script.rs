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

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rquickjs::convert::Coerced;
use rquickjs::function::Args;
use rquickjs::{Context, Ctx, Function, Object, Persistent, Runtime, Value};

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
            let _ = ctx;
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

    /// Runs `code` (an expression, a script body or an assignment) in the scope chain. Each distinct piece of code
    /// is compiled once per session into a function that nests the scopes in `with` statements, then called with
    /// the scope objects: re-running a page costs a call, not a parse.
    fn call(
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

    /// ECMAScript ToBoolean.
    pub fn to_bool(&self, v: &JsValue) -> bool {
        self.ctx.with(|ctx| {
            v.0.clone()
                .restore(&ctx)
                .ok()
                .and_then(|v| Coerced::<bool>::from_js(&ctx, v).ok())
                .map(|c| c.0)
                .unwrap_or(false)
        })
    }

    /// ECMAScript ToString.
    pub fn to_string(&self, v: &JsValue) -> Result<String, ScriptError> {
        self.ticks.store(0, Ordering::Relaxed);
        self.ctx.with(|ctx| {
            let val = v.0.clone().restore(&ctx).map_err(|e| err_of(&ctx, e))?;
            Coerced::<String>::from_js(&ctx, val)
                .map(|c| c.0)
                .map_err(|e| err_of(&ctx, e))
        })
    }

    /// `undefined`.
    pub fn undefined(&self) -> JsValue {
        self.ctx
            .with(|ctx| JsValue(Persistent::save(&ctx, Value::new_undefined(ctx.clone()))))
    }

    /// A JS string.
    pub fn string(&self, s: &str) -> JsValue {
        self.ctx.with(|ctx| {
            let v = rquickjs::String::from_str(ctx.clone(), s)
                .map(|s| s.into_value())
                .unwrap_or_else(|_| Value::new_undefined(ctx.clone()));
            JsValue(Persistent::save(&ctx, v))
        })
    }

    /// A JS number.
    pub fn number(&self, n: f64) -> JsValue {
        self.ctx
            .with(|ctx| JsValue(Persistent::save(&ctx, Value::new_float(ctx.clone(), n))))
    }

    /// A JS boolean.
    pub fn boolean(&self, b: bool) -> JsValue {
        self.ctx
            .with(|ctx| JsValue(Persistent::save(&ctx, Value::new_bool(ctx.clone(), b))))
    }

    /// A JS value from JSON (what `JSON.parse` makes of its text, built directly).
    pub fn from_json(&self, v: &serde_json::Value) -> JsValue {
        self.ctx.with(|ctx| {
            let val = json_to_js(&ctx, v).unwrap_or_else(|_| Value::new_undefined(ctx.clone()));
            JsValue(Persistent::save(&ctx, val))
        })
    }

    /// `application.lastresult$` for one result (2.0 §5.1.5): an array whose element 0 is the result object, with
    /// the element's properties also on the array itself (`lastresult$.utterance` is `lastresult$[0].utterance`).
    /// `fields` are the result's properties in key order (as `serde_json` keeps them); with `no_recording` the
    /// array and the result also declare `recording`, `recordingsize` and `recordingduration` as undefined
    /// (2.1 §10). Built directly as JS values in one context entry instead of through JSON text.
    pub fn lastresult(&self, fields: &[(&str, &serde_json::Value)], no_recording: bool) -> JsValue {
        self.ctx.with(|ctx| {
            let build = || -> rquickjs::Result<Value<'_>> {
                let arr = rquickjs::Array::new(ctx.clone())?;
                let first = Object::new(ctx.clone())?;
                for (k, v) in fields {
                    first.set(*k, json_to_js(&ctx, v)?)?;
                }
                arr.set(0, first.clone())?;
                for (k, v) in fields {
                    // A copy of its own (as before: the array's properties are not element 0's objects).
                    arr.as_object().set(*k, json_to_js(&ctx, v)?)?;
                }
                if no_recording {
                    for k in ["recording", "recordingsize", "recordingduration"] {
                        arr.as_object().set(k, Value::new_undefined(ctx.clone()))?;
                        first.set(k, Value::new_undefined(ctx.clone()))?;
                    }
                }
                Ok(arr.into_value())
            };
            let v = build().unwrap_or_else(|_| Value::new_undefined(ctx.clone()));
            JsValue(Persistent::save(&ctx, v))
        })
    }

    /// A JSON copy of a JS value (`None` for undefined or functions).
    pub fn to_json(&self, v: &JsValue) -> Option<serde_json::Value> {
        self.ctx.with(|ctx| {
            let val = v.0.clone().restore(&ctx).ok()?;
            let s = ctx.json_stringify(val).ok()??;
            let s: String = s.to_string().ok()?;
            serde_json::from_str(&s).ok()
        })
    }

    /// Whether the value is `undefined`.
    pub fn is_undefined(&self, v: &JsValue) -> bool {
        self.ctx.with(|ctx| {
            v.0.clone()
                .restore(&ctx)
                .map(|v| v.is_undefined())
                .unwrap_or(true)
        })
    }

    /// `typeof` of the value.
    pub fn type_name(&self, v: &JsValue) -> &'static str {
        self.ctx.with(|ctx| {
            v.0.clone()
                .restore(&ctx)
                .map(|v| v.type_name())
                .unwrap_or("undefined")
        })
    }

    /// Sets (declares) a variable on a scope.
    pub fn set(&self, scope: &Scope, name: &str, v: &JsValue) {
        self.ctx.with(|ctx| {
            if let (Ok(o), Ok(v)) = (scope.0.clone().restore(&ctx), v.0.clone().restore(&ctx)) {
                let _ = o.set(name, v);
            }
        })
    }

    /// Reads a variable of a scope (`undefined` when absent).
    pub fn get(&self, scope: &Scope, name: &str) -> JsValue {
        self.ctx.with(|ctx| {
            let v = scope
                .0
                .clone()
                .restore(&ctx)
                .ok()
                .and_then(|o| o.get::<_, Value>(name).ok())
                .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
            JsValue(Persistent::save(&ctx, v))
        })
    }

    /// Whether a scope declares a variable.
    pub fn has(&self, scope: &Scope, name: &str) -> bool {
        self.ctx.with(|ctx| {
            scope
                .0
                .clone()
                .restore(&ctx)
                .ok()
                .and_then(|o| o.contains_key(name).ok())
                .unwrap_or(false)
        })
    }

    /// Removes a variable from a scope.
    pub fn remove(&self, scope: &Scope, name: &str) {
        self.ctx.with(|ctx| {
            if let Ok(o) = scope.0.clone().restore(&ctx) {
                let _ = o.remove(name);
            }
        })
    }

    /// The scope object as a value (e.g. to return a subdialog's variables).
    pub fn scope_value(&self, scope: &Scope) -> JsValue {
        self.ctx.with(|ctx| {
            let v = scope
                .0
                .clone()
                .restore(&ctx)
                .map(|o| o.into_value())
                .unwrap_or_else(|_| Value::new_undefined(ctx.clone()));
            JsValue(Persistent::save(&ctx, v))
        })
    }

    /// A new empty plain object.
    pub fn new_object(&self) -> JsValue {
        self.ctx.with(|ctx| {
            let v = Object::new(ctx.clone())
                .map(|o| o.into_value())
                .unwrap_or_else(|_| Value::new_undefined(ctx.clone()));
            JsValue(Persistent::save(&ctx, v))
        })
    }

    /// Sets a property on an object value (no-op for non-objects).
    pub fn set_prop(&self, obj: &JsValue, name: &str, v: &JsValue) {
        self.ctx.with(|ctx| {
            if let (Ok(o), Ok(v)) = (obj.0.clone().restore(&ctx), v.0.clone().restore(&ctx)) {
                if let Some(o) = o.as_object() {
                    let _ = o.set(name, v);
                }
            }
        })
    }

    /// Reads a property of an object value.
    pub fn get_prop(&self, obj: &JsValue, name: &str) -> JsValue {
        self.ctx.with(|ctx| {
            let v = obj
                .0
                .clone()
                .restore(&ctx)
                .ok()
                .and_then(|o| o.as_object().and_then(|o| o.get::<_, Value>(name).ok()))
                .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
            JsValue(Persistent::save(&ctx, v))
        })
    }

    /// Assigns to an existing variable (`<assign>`): the name must be declared somewhere in the chain, else
    /// `error.semantic`. Dotted names (`document.x`, `a.b.c`) assign to properties.
    pub fn assign(&self, chain: &[&Scope], name: &str, v: &JsValue) -> Result<(), ScriptError> {
        let name = name.trim();
        if !is_reference(name) {
            return Err(ScriptError(format!("cannot assign to {name:?}")));
        }
        let base = name.split(['.', '[']).next().unwrap_or(name);
        // 2.0 §5.1.2: session variables are read-only.
        if base == "session" && !chain.iter().any(|s| self.has(s, base)) {
            return Err(ScriptError(format!(
                "cannot assign to {name:?}: session variables are read-only"
            )));
        }
        let declared = chain.iter().any(|s| self.has(s, base)) || self.global_has(base);
        if !declared {
            return Err(ScriptError(format!(
                "assignment to undeclared variable {base:?}"
            )));
        }
        // A scope-qualified name (`document.x`, `application.x`, `dialog.x`) names a variable of that scope, which
        // must be declared too (2.0 §5.1.1: assigning an undeclared variable is error.semantic), rather than
        // becoming a new property of the scope object.
        if let Some(var) = name
            .strip_prefix(base)
            .and_then(|r| r.strip_prefix('.'))
            .map(|r| r.split(['.', '[']).next().unwrap_or(r))
        {
            let plain = !var.is_empty()
                && var
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
            if matches!(base, "application" | "document" | "dialog") && plain {
                let probe =
                    format!("typeof {base} !== 'object' || {base} === null || ('{var}' in {base})");
                if !self.eval_bool(chain, &probe)? {
                    return Err(ScriptError(format!(
                        "assignment to undeclared variable {name:?}"
                    )));
                }
            }
        }
        self.call(chain, Kind::Assign, &format!("{name} = __vx_v;"), Some(v))
            .map(|_| ())
    }

    fn global_has(&self, name: &str) -> bool {
        self.ctx
            .with(|ctx| ctx.globals().contains_key(name).unwrap_or(false))
    }

    /// Sets a property of the global object (the session scope).
    pub fn set_global(&self, name: &str, v: &JsValue) {
        self.ctx.with(|ctx| {
            if let Ok(v) = v.0.clone().restore(&ctx) {
                let _ = ctx.globals().set(name, v);
            }
        })
    }

    /// Builds the DOM object of VoiceXML 2.1 `<data>` from the tree of [`crate::xmldom::parse`].
    pub fn dom_from(&self, tree: &serde_json::Value) -> Result<JsValue, ScriptError> {
        let v = self.from_json(tree);
        self.ctx.with(|ctx| {
            let f: Function = ctx
                .globals()
                .get("__vx_mkdom")
                .map_err(|e| err_of(&ctx, e))?;
            let arg = v.0.clone().restore(&ctx).map_err(|e| err_of(&ctx, e))?;
            let r: Value = f.call((arg,)).map_err(|e| err_of(&ctx, e))?;
            Ok(JsValue(Persistent::save(&ctx, r)))
        })
    }

    /// Installs the DOM helper used by [`ScriptEngine::dom_from`] (once per session, on first `<data>`).
    pub fn ensure_dom(&self) -> Result<(), ScriptError> {
        if self.global_has("__vx_mkdom") {
            return Ok(());
        }
        self.ctx.with(|ctx| {
            let mut opts = rquickjs::context::EvalOptions::default();
            opts.strict = false;
            ctx.eval_with_options::<(), _>(crate::xmldom::DOM_JS, opts)
                .map_err(|e| err_of(&ctx, e))
        })
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

/// A JS value equal to what `JSON.parse` makes of `v`'s JSON text.
fn json_to_js<'js>(ctx: &Ctx<'js>, v: &serde_json::Value) -> rquickjs::Result<Value<'js>> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => Value::new_null(ctx.clone()),
        J::Bool(b) => Value::new_bool(ctx.clone(), *b),
        J::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => Value::new_int(ctx.clone(), i),
            None => Value::new_float(ctx.clone(), n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        J::Array(items) => {
            let a = rquickjs::Array::new(ctx.clone())?;
            for (i, it) in items.iter().enumerate() {
                a.set(i, json_to_js(ctx, it)?)?;
            }
            a.into_value()
        }
        J::Object(map) => {
            let o = Object::new(ctx.clone())?;
            for (k, it) in map {
                let v = json_to_js(ctx, it)?;
                if k == "__proto__" {
                    // An own data property, as JSON.parse makes (a plain set would change the prototype).
                    let p = rquickjs::object::Property::from(v)
                        .writable()
                        .enumerable()
                        .configurable();
                    o.prop(k.as_str(), p)?;
                } else {
                    o.set(k.as_str(), v)?;
                }
            }
            o.into_value()
        }
    })
}

/// Whether `s` looks like an assignable reference (`a`, `a.b`, `a['x']`).
fn is_reference(s: &str) -> bool {
    let first = s.chars().next();
    matches!(first, Some(c) if c.is_alphabetic() || c == '_' || c == '$')
        && !s.contains(['=', ';', '(', ')', ',', '\n'])
}

/// The `var` names and top-level `function` names a script declares (outside nested function bodies).
pub fn declared_names(src: &str) -> (Vec<String>, Vec<String>) {
    let b = src.as_bytes();
    let mut vars = Vec::new();
    let mut funcs = Vec::new();
    let mut i = 0;
    // Brace stack: true when the brace opened a function body.
    let mut braces: Vec<bool> = Vec::new();
    let mut pending_fn_body = false;
    let mut prev_sig: u8 = b';';
    let in_fn = |braces: &Vec<bool>| braces.iter().any(|f| *f);
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'"' | b'\'' | b'`' => {
                i += 1;
                while i < b.len() && b[i] != c {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                prev_sig = b'a';
                continue;
            }
            b'/' if matches!(
                prev_sig,
                b'(' | b',' | b'=' | b':' | b'[' | b'!' | b'&' | b'|' | b'?' | b'{' | b'}' | b';'
            ) =>
            {
                // A regular expression literal.
                i += 1;
                let mut class = false;
                while i < b.len() && b[i] != b'\n' {
                    match b[i] {
                        b'\\' => i += 1,
                        b'[' => class = true,
                        b']' => class = false,
                        b'/' if !class => break,
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                prev_sig = b'a';
                continue;
            }
            b'{' => {
                braces.push(pending_fn_body);
                pending_fn_body = false;
            }
            b'}' => {
                braces.pop();
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$')
                {
                    i += 1;
                }
                let word = &src[start..i];
                let before_dot = start > 0 && b[start - 1] == b'.';
                if !before_dot && word == "function" {
                    // `function name(`: a declaration when it starts a statement.
                    let mut j = i;
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    let ns = j;
                    while j < b.len()
                        && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$')
                    {
                        j += 1;
                    }
                    let statement_start = matches!(prev_sig, b';' | b'{' | b'}');
                    if j > ns && statement_start && !in_fn(&braces) && braces.is_empty() {
                        funcs.push(src[ns..j].to_string());
                    }
                    pending_fn_body = true;
                } else if !before_dot && word == "var" && !in_fn(&braces) {
                    // var a = ..., b, c = ...: names at nesting depth 0 of this declaration.
                    let mut j = i;
                    let mut expect_name = true;
                    let mut depth = 0i32;
                    while j < b.len() {
                        let d = b[j];
                        if expect_name && (d.is_ascii_alphabetic() || d == b'_' || d == b'$') {
                            let ns = j;
                            while j < b.len()
                                && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$')
                            {
                                j += 1;
                            }
                            vars.push(src[ns..j].to_string());
                            expect_name = false;
                            continue;
                        }
                        match d {
                            b'(' | b'[' | b'{' => depth += 1,
                            b')' | b']' | b'}' => {
                                if depth == 0 {
                                    break;
                                }
                                depth -= 1
                            }
                            b',' if depth == 0 => expect_name = true,
                            b';' | b'\n' if depth == 0 && !expect_name => break,
                            b'"' | b'\'' => {
                                j += 1;
                                while j < b.len() && b[j] != d {
                                    if b[j] == b'\\' {
                                        j += 1;
                                    }
                                    j += 1;
                                }
                            }
                            _ if d.is_ascii_whitespace() => {}
                            _ if expect_name => break,
                            _ => {}
                        }
                        j += 1;
                    }
                    // Keep scanning from after `var` so nested functions in initialisers are tracked.
                }
                prev_sig = if word == "return" || word == "typeof" || word == "in" {
                    b'='
                } else {
                    b'a'
                };
                continue;
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            prev_sig = c;
        }
        i += 1;
    }
    vars.dedup();
    (vars, funcs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_chain_lookup_and_shadowing() {
        let e = ScriptEngine::new(ScriptLimits::default()).unwrap();
        let app = e.new_scope(Some("application")).unwrap();
        let doc = e.new_scope(Some("document")).unwrap();
        let dlg = e.new_scope(Some("dialog")).unwrap();
        e.set(&app, "x", &e.number(1.0));
        e.set(&doc, "x", &e.number(2.0));
        assert_eq!(e.eval_string(&[&app, &doc, &dlg], "x").unwrap(), "2");
        assert_eq!(
            e.eval_string(&[&app, &doc, &dlg], "application.x").unwrap(),
            "1"
        );
        e.assign(&[&app, &doc, &dlg], "application.x", &e.number(5.0))
            .unwrap();
        assert_eq!(e.eval_string(&[&app], "x").unwrap(), "5");
        assert!(e
            .assign(&[&app, &doc, &dlg], "nope", &e.number(5.0))
            .is_err());
    }

    /// `from_json` builds what `JSON.parse` would: same values, same key order, `__proto__` an own property.
    #[test]
    fn from_json_matches_json_parse() {
        let e = ScriptEngine::new(ScriptLimits::default()).unwrap();
        let app = e.new_scope(Some("application")).unwrap();
        let text =
            r#"{"b":[1,2.5,-0.0,"s\u00e9",null,true,4294967296],"a":{"__proto__":{"x":1}},"c":-7}"#;
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        e.set(&app, "v", &e.from_json(&v));
        e.set(&app, "t", &e.string(&v.to_string()));
        let same = "JSON.stringify(v) === JSON.stringify(JSON.parse(t)) && Object.is(v.b[2], -0) \
                    && v.a.x === undefined && Object.getPrototypeOf(v.a) === Object.prototype \
                    && v.a.hasOwnProperty('__proto__') && v.b[6] === 4294967296";
        assert!(e.eval_bool(&[&app], same).unwrap());
    }

    #[test]
    fn script_declarations_land_in_the_scope() {
        let e = ScriptEngine::new(ScriptLimits::default()).unwrap();
        let app = e.new_scope(Some("application")).unwrap();
        let doc = e.new_scope(Some("document")).unwrap();
        e.run_script(
            &[&app, &doc],
            "var a = 3, b; function f(n) { var inner = n; return n * a; }",
        )
        .unwrap();
        assert!(e.has(&doc, "a") && e.has(&doc, "b") && e.has(&doc, "f"));
        assert!(!e.has(&doc, "inner"));
        assert_eq!(e.eval_string(&[&app, &doc], "f(2)").unwrap(), "6");
        e.assign(&[&app, &doc], "a", &e.number(10.0)).unwrap();
        assert_eq!(e.eval_string(&[&app, &doc], "f(2)").unwrap(), "20");
        // No leak into the application scope or globals.
        assert!(!e.has(&app, "a"));
        assert!(e.eval_string(&[&app], "typeof a").unwrap() == "undefined");
    }

    #[test]
    fn infinite_loop_is_stopped() {
        let e = ScriptEngine::new(ScriptLimits {
            interrupt_budget: 50,
            ..Default::default()
        })
        .unwrap();
        let doc = e.new_scope(Some("document")).unwrap();
        assert!(e.run_script(&[&doc], "while(true){}").is_err());
        // And the engine still works afterwards.
        assert_eq!(e.eval_string(&[&doc], "1+1").unwrap(), "2");
    }

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

    #[test]
    fn full_heap_makes_new_scope_fail_instead_of_panicking() {
        let e = ScriptEngine::new(ScriptLimits {
            memory_bytes: 1 << 20,
            ..Default::default()
        })
        .unwrap();
        let doc = e.new_scope(Some("document")).unwrap();
        e.run_script(&[&doc], "var head = null;").unwrap();
        // Caught inside the script: the heap stays full.
        e.run_script(
            &[&doc],
            "try { while (true) { head = {n: head}; } } catch (x) {}",
        )
        .unwrap();
        let err = e.new_scope(Some("dialog")).unwrap_err();
        assert!(err.0.contains("dialog scope"), "{err}");
        // Releasing the data makes room again.
        e.set(&doc, "head", &e.undefined());
        e.gc();
        assert!(e.new_scope(None).is_ok());
    }

    #[test]
    fn syntax_error_is_an_error() {
        let e = ScriptEngine::new(ScriptLimits::default()).unwrap();
        let doc = e.new_scope(None).unwrap();
        assert!(e.eval(&[&doc], "1 +").is_err());
        assert!(e.eval(&[&doc], "undefinedVar").is_err());
    }

    #[test]
    fn declared_names_skips_nested_functions_and_strings() {
        let (v, f) = declared_names(
            "var a=1; // var no\n function g(){ var x; } var s = 'var q', t = [1,2];",
        );
        assert_eq!(v, vec!["a", "s", "t"]);
        assert_eq!(f, vec!["g"]);
    }
}
