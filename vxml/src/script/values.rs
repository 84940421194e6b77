//! Values: ECMAScript conversions (ToBoolean, ToString, `typeof`), values made from Rust data and JSON
//! (`application.lastresult$` among them), and properties of object values.

use std::sync::atomic::Ordering;

use rquickjs::convert::Coerced;
use rquickjs::{Ctx, FromJs, Object, Persistent, Value};

use super::{err_of, JsValue, ScriptEngine, ScriptError};

impl ScriptEngine {
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
