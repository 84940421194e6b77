//! Properties (2.0 §6.3): the value in force at an element, and the fetch attributes (fetchtimeout, maxage,
//! maxstale) a request gets from its element or from the properties.

use std::time::Duration;

use super::Session;
use crate::dom::{Document, NodeId};
use crate::request::{Body, FetchKind, FetchRequest, Method};

impl Session {
    /// The value of a property in force at element `at` of `doc` (innermost `<property>` wins, then the
    /// application root's), VoiceXML 2.0 §6.3.
    pub(crate) fn property(
        &self,
        doc: &Document,
        at: Option<NodeId>,
        name: &str,
    ) -> Option<String> {
        let mut cur = at;
        while let Some(id) = cur {
            for p in doc.properties(id) {
                if doc.attr(p, "name") == Some(name) {
                    return doc.attr(p, "value").map(str::to_string);
                }
            }
            cur = doc.parent(id);
        }
        if let Some(c) = self.ctxs.last() {
            if let Some(app) = &c.app_doc {
                if !std::ptr::eq(app.as_ref(), doc) {
                    for p in app.properties(crate::dom::ROOT) {
                        if app.attr(p, "name") == Some(name) {
                            return app.attr(p, "value").map(str::to_string);
                        }
                    }
                }
            }
        }
        None
    }

    /// fetchtimeout resolution: the element's attribute, else the property, else the configured default. One
    /// `fetchtimeout` property covers every kind of resource (2.0 §6.3.5); only the fetchhint, maxage and maxstale
    /// properties have per-kind forms (`audiomaxage`, `documentmaxstale`, ...).
    pub(crate) fn fetch_timeout(&self, doc: &Document, at: NodeId) -> Duration {
        if let Some(t) = doc
            .attr(at, "fetchtimeout")
            .and_then(crate::event::parse_time)
        {
            return t;
        }
        self.property(doc, Some(at), "fetchtimeout")
            .and_then(|v| crate::event::parse_time(&v))
            .unwrap_or(self.cfg.fetchtimeout)
    }

    /// A fetch request for a resource named by element `at` of `doc`.
    pub(crate) fn request(
        &self,
        doc: &Document,
        at: NodeId,
        url: String,
        kind: FetchKind,
        method: Method,
        body: Option<Body>,
    ) -> FetchRequest {
        let prefix = match kind {
            FetchKind::Document => "document",
            FetchKind::Script => "script",
            FetchKind::Grammar => "grammar",
            FetchKind::Audio => "audio",
            FetchKind::Data => "data",
        };
        let age = |attr: &str| {
            doc.attr(at, attr)
                .map(str::to_string)
                .or_else(|| self.property(doc, Some(at), &format!("{prefix}{attr}")))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        };
        FetchRequest {
            url,
            method,
            body,
            timeout: self.fetch_timeout(doc, at),
            maxage: age("maxage"),
            maxstale: age("maxstale"),
            kind,
        }
    }
}
