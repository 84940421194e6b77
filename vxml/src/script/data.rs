//! The DOM object of VoiceXML 2.1 `<data>`, built by the script helper of [`crate::xmldom`].

use rquickjs::{Function, Persistent, Value};

use super::{err_of, JsValue, ScriptEngine, ScriptError};

impl ScriptEngine {
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
