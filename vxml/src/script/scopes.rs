//! Variables of the VoiceXML scopes (2.0 §5.1): declaring, reading and removing them on a scope object,
//! `<assign>` through the chain, and the global object that holds `session`.

use rquickjs::{Persistent, Value};

use super::{JsValue, Kind, Scope, ScriptEngine, ScriptError};

impl ScriptEngine {
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

    pub(super) fn global_has(&self, name: &str) -> bool {
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
}

/// Whether `s` looks like an assignable reference (`a`, `a.b`, `a['x']`).
fn is_reference(s: &str) -> bool {
    let first = s.chars().next();
    matches!(first, Some(c) if c.is_alphabetic() || c == '_' || c == '$')
        && !s.contains(['=', ';', '(', ')', ',', '\n'])
}
