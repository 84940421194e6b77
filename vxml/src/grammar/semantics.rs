//! Semantic interpretation of a parse (SISR 1.0): replays the parse's rule entries, tokens and tags.
//!
//! Each rule activation has a rule variable `out`. A rule in which no tag ran takes the value of its last rule
//! reference (`rules.latest()`), else its matched text (the SISR 1.0 default assignment); builtin types take their
//! Appendix P value. Literal tags (`'x'`, `semantics/1.0-literals`) and given values are evaluated here in Rust;
//! as soon as a parse passes a script tag the whole replay runs in QuickJS, so `out.x = ...`, `out = rules.X`,
//! `rules.latest()`, `meta.current().text` and the older `$ = ...`/`$X` forms of the W3C IR tests work as scripts.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::ast::Tag;
use super::compile::Program;
use super::matcher::Ev;

/// Interrupt-handler calls allowed per evaluation before a runaway tag script is stopped.
const SCRIPT_BUDGET: u64 = 1_000;
/// Memory limit of the tag-script runtime.
const SCRIPT_MEMORY: usize = 16 << 20;

/// Why a parse has no interpretation.
#[derive(Debug)]
pub(crate) enum SemError {
    /// A builtin's value function refused the keys (e.g. 29 February of a common year).
    Rejected,
    /// A tag script failed.
    Script(String),
}

/// The interpretation of the parse `trace` of `tokens`; `sep` joins token text (`""` for DTMF).
pub(crate) fn interpret(
    prog: &Program,
    tokens: &[&str],
    trace: &[Ev],
    sep: &str,
) -> Result<Value, SemError> {
    let natives = builtin_values(prog, tokens, trace)?;
    let scripted = trace.iter().any(
        |ev| matches!(ev, Ev::Tag(i) if matches!(prog.tags.get(*i as usize), Some(Tag::Script(_)))),
    );
    if scripted || !prog.globals.is_empty() {
        interpret_js(prog, tokens, trace, sep, &natives)
    } else {
        Ok(interpret_native(prog, tokens, trace, sep, &natives))
    }
}

/// Values of builtin rule activations, by the index of their `Exit` event. The tokens of a rule activation are a
/// contiguous run of the input, so each frame only remembers where its run starts.
fn builtin_values(
    prog: &Program,
    tokens: &[&str],
    trace: &[Ev],
) -> Result<Vec<(usize, Value)>, SemError> {
    let mut out = Vec::new();
    let mut stack: Vec<(u32, usize)> = Vec::new();
    let mut consumed = 0;
    for (at, ev) in trace.iter().enumerate() {
        match ev {
            Ev::Enter(r) => stack.push((*r, consumed)),
            Ev::Tok(_) => consumed += 1,
            Ev::Tag(_) => {}
            Ev::Exit => {
                if let Some((r, start)) = stack.pop() {
                    if let Some(b) = prog.rules.get(r as usize).and_then(|r| r.builtin.as_ref()) {
                        let keys: String = tokens.get(start..consumed).unwrap_or(&[]).concat();
                        out.push((at, b.value(&keys).ok_or(SemError::Rejected)?));
                    }
                }
            }
        }
    }
    Ok(out)
}

struct Frame {
    /// Index in the input of the activation's first token.
    start: usize,
    tagged: bool,
    out: Value,
    latest: Option<Value>,
}

fn interpret_native(
    prog: &Program,
    tokens: &[&str],
    trace: &[Ev],
    sep: &str,
    natives: &[(usize, Value)],
) -> Value {
    let mut stack: Vec<Frame> = Vec::new();
    let mut result = Value::Null;
    let mut consumed = 0;
    for (at, ev) in trace.iter().enumerate() {
        match ev {
            Ev::Enter(_) => stack.push(Frame {
                start: consumed,
                tagged: false,
                out: Value::Object(Map::new()),
                latest: None,
            }),
            Ev::Tok(_) => consumed += 1,
            Ev::Tag(i) => {
                if let Some(f) = stack.last_mut() {
                    f.tagged = true;
                    match prog.tags.get(*i as usize) {
                        Some(Tag::Literal(s)) => f.out = Value::String(s.clone()),
                        Some(Tag::Value(v)) => f.out = v.clone(),
                        // Script tags take the JS path; not reached.
                        Some(Tag::Script(_)) | None => {}
                    }
                }
            }
            Ev::Exit => {
                let Some(f) = stack.pop() else { continue };
                let value = if let Some((_, v)) = natives.iter().find(|(a, _)| *a == at) {
                    v.clone()
                } else if f.tagged {
                    f.out
                } else if let Some(latest) = f.latest {
                    latest
                } else {
                    Value::String(tokens.get(f.start..consumed).unwrap_or(&[]).join(sep))
                };
                match stack.last_mut() {
                    Some(parent) => parent.latest = Some(value),
                    None => result = value,
                }
            }
        }
    }
    result
}

/// The SISR evaluator. The parse's events are first rebuilt into a tree of rule activations; each activation then
/// runs as one function in which its tags follow each other (so a `var` declared by one tag is seen by the later
/// tags of the same rule, as SISR 1.0 scopes them), with its child activations evaluated first.
const PRELUDE: &str = r#"
(function () {
  var cache = new Map();
  function compile(src) {
    var f = cache.get(src);
    if (!f) {
      if (cache.size > 512) cache.clear();
      f = new Function('__vxgate_globals', '__vxgate_scope', '__vxgate_apply',
        'with (__vxgate_globals) { with (__vxgate_scope) {\n' + src + '\n} }');
      cache.set(src, f);
    }
    return f;
  }
  // SRGS 1.0 §4.11 / SISR global scope: the header tags run once per interpretation, in a function whose
  // declarations the rules' tags then see (and may assign) through a proxy that reads and writes them by name.
  function globalScope(src) {
    if (!src) return {};
    var access = new Function(src + '\n;return function (__n, __v, __set) { return __set ? eval(__n + " = __v") : eval(__n); };')();
    return new Proxy({}, {
      has: function (t, k) {
        if (typeof k !== 'string') return false;
        try { access(k); return true; } catch (e) { return false; }
      },
      get: function (t, k) { return typeof k === 'string' ? access(k) : undefined; },
      set: function (t, k, v) { access(k, v, true); return true; }
    });
  }
  function frame(name, sep) {
    var f = { name: name, tokens: [], latest: undefined, latestMeta: undefined };
    var rules = {}, meta = {};
    Object.defineProperty(rules, 'latest', { value: function () { return f.latest; }, enumerable: false, writable: true, configurable: true });
    Object.defineProperty(meta, 'current', { value: function () { return { text: f.tokens.join(sep), score: 1.0 }; }, enumerable: false, writable: true, configurable: true });
    Object.defineProperty(meta, 'latest', { value: function () { return f.latestMeta; }, enumerable: false, writable: true, configurable: true });
    var scope = { out: {}, rules: rules, meta: meta };
    Object.defineProperty(scope, '$', { get: function () { return scope.out; }, set: function (v) { scope.out = v; }, enumerable: false, configurable: true });
    Object.defineProperty(scope, '$$', { get: function () { return f.latest; }, enumerable: false, configurable: true });
    f.scope = scope; f.rules = rules; f.meta = meta;
    return f;
  }
  function evaluate(a, tags, sep, g) {
    var f = frame(a.name, sep);
    var batches = [[]], src = '__vxgate_apply(0);\n', tagged = false;
    for (var i = 0; i < a.steps.length; i++) {
      var step = a.steps[i];
      if (step[0] === 'g') {
        tagged = true;
        src += tags[step[1]] + '\n;__vxgate_apply(' + batches.length + ');\n';
        batches.push([]);
      } else {
        if (step[0] === 'c') step.push(evaluate(step[1], tags, sep, g));
        batches[batches.length - 1].push(step);
      }
    }
    var apply = function (k) {
      var batch = batches[k];
      for (var j = 0; j < batch.length; j++) {
        var st = batch[j];
        if (st[0] === 't') { f.tokens.push(st[1]); continue; }
        var child = st[2], meta = { text: child.text, score: 1.0 };
        for (var n = 0; n < child.tokens.length; n++) f.tokens.push(child.tokens[n]);
        if (st[1].name !== null) {
          f.rules[st[1].name] = child.value;
          f.meta[st[1].name] = meta;
          f.scope['$' + st[1].name] = child.value;
        }
        f.latest = child.value; f.latestMeta = meta;
      }
    };
    compile(src)(g, f.scope, apply);
    var text = f.tokens.join(sep), value;
    if (a.hasNative) value = a.native;
    else if (tagged) value = f.scope.out;
    else if (f.latest !== undefined) value = f.latest;
    else value = text;
    return { value: value, text: text, tokens: f.tokens };
  }
  globalThis.__vxgate_sisr_json = function (events, tags, names, sep, globals) {
    return globalThis.__vxgate_sisr(JSON.parse(events), JSON.parse(tags), JSON.parse(names), sep, globals);
  };
  globalThis.__vxgate_sisr = function (events, tags, names, sep, globals) {
    var stack = [], root = null;
    for (var i = 0; i < events.length; i++) {
      var ev = events[i], top = stack[stack.length - 1];
      switch (ev[0]) {
        case 'e':
          var a = { name: names[ev[1]], steps: [], hasNative: false, native: undefined };
          if (top) top.steps.push(['c', a]); else root = a;
          stack.push(a);
          break;
        case 't': top.steps.push(['t', ev[1]]); break;
        case 'g': top.steps.push(['g', ev[1]]); break;
        case 'x':
          var done = stack.pop();
          if (ev.length > 1) { done.hasNative = true; done.native = ev[1]; }
          break;
      }
    }
    var result = root ? evaluate(root, tags, sep, globalScope(globals)).value : null;
    return JSON.stringify(result === undefined ? null : result);
  };
})();
"#;

struct Js {
    ctx: rquickjs::Context,
    budget: Arc<AtomicU64>,
    // Dropped after the context.
    _rt: rquickjs::Runtime,
}

thread_local! {
    static JS: RefCell<Option<Js>> = const { RefCell::new(None) };
}

fn new_js() -> Result<Js, String> {
    let rt = rquickjs::Runtime::new().map_err(|e| format!("cannot start script runtime: {e}"))?;
    rt.set_memory_limit(SCRIPT_MEMORY);
    rt.set_max_stack_size(512 << 10);
    let budget = Arc::new(AtomicU64::new(0));
    let b = budget.clone();
    rt.set_interrupt_handler(Some(Box::new(move || {
        b.fetch_add(1, Ordering::Relaxed) > SCRIPT_BUDGET
    })));
    let ctx =
        rquickjs::Context::full(&rt).map_err(|e| format!("cannot create script context: {e}"))?;
    ctx.with(|ctx| {
        ctx.eval::<(), _>(PRELUDE)
            .map_err(|e| format!("sisr prelude failed: {e}"))
    })?;
    Ok(Js {
        ctx,
        budget,
        _rt: rt,
    })
}

fn interpret_js(
    prog: &Program,
    tokens: &[&str],
    trace: &[Ev],
    sep: &str,
    natives: &[(usize, Value)],
) -> Result<Value, SemError> {
    let mut events = Vec::with_capacity(trace.len());
    for (at, ev) in trace.iter().enumerate() {
        events.push(match ev {
            Ev::Enter(r) => serde_json::json!(["e", r]),
            Ev::Tok(i) => serde_json::json!(["t", tokens.get(*i as usize).copied().unwrap_or("")]),
            Ev::Tag(i) => serde_json::json!(["g", i]),
            Ev::Exit => match natives.iter().find(|(a, _)| *a == at) {
                Some((_, v)) => serde_json::json!(["x", v]),
                None => serde_json::json!(["x"]),
            },
        });
    }
    let tags: Vec<String> = prog
        .tags
        .iter()
        .map(|t| match t {
            Tag::Script(s) => s.clone(),
            Tag::Literal(s) => format!("out = {};", Value::String(s.clone())),
            Tag::Value(v) => format!("out = {v};"),
        })
        .collect();
    let names: Vec<&str> = prog.rules.iter().map(|r| r.name.as_str()).collect();
    let args = (
        Value::from(events).to_string(),
        serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&names).unwrap_or_else(|_| "[]".into()),
        sep.to_string(),
        prog.globals.clone(),
    );
    let json = JS.with(|cell| -> Result<String, SemError> {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(new_js().map_err(SemError::Script)?);
        }
        let Some(js) = slot.as_ref() else {
            return Err(SemError::Script("no script runtime".into()));
        };
        js.budget.store(0, Ordering::Relaxed);
        js.ctx.with(|ctx| {
            // JSON.parse of the arguments is much cheaper than compiling them as a script literal.
            ctx.globals()
                .get::<_, rquickjs::Function>("__vxgate_sisr_json")
                .and_then(|f| f.call::<_, String>(args))
                .map_err(|e| {
                    let detail = match e {
                        rquickjs::Error::Exception => {
                            let ex = ctx.catch();
                            ex.as_exception()
                                .and_then(|x| x.message())
                                .or_else(|| ex.as_string().and_then(|s| s.to_string().ok()))
                                .unwrap_or_else(|| "exception".to_string())
                        }
                        other => other.to_string(),
                    };
                    SemError::Script(format!("tag script failed: {detail}"))
                })
        })
    })?;
    serde_json::from_str(&json).map_err(|e| SemError::Script(format!("bad script result: {e}")))
}
