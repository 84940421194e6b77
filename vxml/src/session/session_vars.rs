//! The `session.*` variables (2.0 §5.1.4): set once per session, read-only to documents.

use super::Session;

/// The `session.connection.*` variables (2.0 §5.1.4).
#[derive(Debug, Clone, Default)]
pub struct SessionVars {
    /// `session.connection.local.uri` (the called party).
    pub local_uri: String,
    /// `session.connection.remote.uri` (the caller).
    pub remote_uri: String,
    /// `session.connection.protocol.name`, e.g. `sip`.
    pub protocol_name: String,
    /// `session.connection.protocol.version`, e.g. `2.0`.
    pub protocol_version: String,
    /// SIP request headers, exposed as `session.connection.protocol.sip.headers` (name → value, names lowercase)
    /// and `session.connection.protocol.sip.requesturi`.
    pub sip_headers: Vec<(String, String)>,
    /// The request URI of the INVITE.
    pub request_uri: String,
    /// `session.connection.aai`.
    pub aai: Option<String>,
    /// `session.connection.redirect`: the redirecting URIs, most recent first.
    pub redirect: Vec<String>,
}

impl Session {
    pub(super) fn install_session_vars(&mut self) {
        let v = &self.cfg.vars;
        let mut headers = serde_json::Map::new();
        for (k, val) in &v.sip_headers {
            headers.insert(
                k.to_ascii_lowercase(),
                serde_json::Value::String(val.clone()),
            );
        }
        let redirect: Vec<_> = v
            .redirect
            .iter()
            .map(|u| serde_json::json!({"uri": u}))
            .collect();
        let session = serde_json::json!({
            "connection": {
                "local": {"uri": v.local_uri},
                "remote": {"uri": v.remote_uri},
                "protocol": {
                    "name": v.protocol_name,
                    "version": v.protocol_version,
                    "sip": {"headers": headers, "requesturi": v.request_uri},
                },
                "aai": v.aai,
                "redirect": redirect,
            }
        });
        let val = self.js.from_json(&session);
        self.js.set_global("session", &val);
        // 2.0 §5.1.4: `originator` is the `remote` (or `local`) object itself; an inbound call's caller is remote.
        let conn = self.js.get_prop(&val, "connection");
        let remote = self.js.get_prop(&conn, "remote");
        self.js.set_prop(&conn, "originator", &remote);
        // 2.0 §5.1.2: session variables are read-only and documents cannot declare new ones: the object tree is
        // frozen and the global binding cannot be replaced.
        let freeze = "(function(){ (function f(o){ Object.freeze(o); Object.getOwnPropertyNames(o).forEach( \
            function(k){ var v = o[k]; if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) f(v); }); \
            })(session); Object.defineProperty(globalThis, 'session', {writable: false, configurable: false}); \
            return true; })()";
        if let Err(e) = self.js.eval(&[], freeze) {
            tracing::warn!("session variables left writable: {e}");
        }
    }
}
