//! URI resolution (RFC 3986 §5): against the current document, or against a document's `xml:base`.

use super::{Event, Session};
use crate::dom::Document;

impl Session {
    /// Resolves a URI against the current document (RFC 3986 §5).
    pub(crate) fn resolve(&self, base: &str, uri: &str) -> Result<String, Event> {
        let mut cache = self.base_url.borrow_mut();
        let cached = cache.as_ref().is_some_and(|(s, _)| s == base);
        if !cached {
            *cache = url::Url::parse(base).ok().map(|u| (base.to_string(), u));
        }
        let r = match cache.as_ref() {
            Some((_, b)) => b.join(uri.trim()),
            None => match url::Url::parse(&self.start_url) {
                Ok(b) => b.join(uri.trim()),
                Err(_) => url::Url::parse(uri.trim()),
            },
        };
        r.map(String::from).map_err(|e| Event {
            name: "error.badfetch".into(),
            message: Some(format!("bad uri {uri:?}: {e}")),
        })
    }

    /// Resolves a URI written in `doc`: against the document's `xml:base` when its `<vxml>` has one (2.0 §1.5.1,
    /// XML Base; itself resolved against the document's URL), else against the document's URL.
    pub(crate) fn resolve_in(&self, doc: &Document, uri: &str) -> Result<String, Event> {
        match doc.attr(crate::dom::ROOT, "xml:base") {
            Some(b) if !b.trim().is_empty() => {
                let base = self.resolve(&doc.url, b)?;
                self.resolve(&base, uri)
            }
            _ => self.resolve(&doc.url, uri),
        }
    }
}
