//! Parsed, validated documents shared by every session of the process.
//!
//! A gateway fetches the same pages (application roots, static microapp pages, error pages) thousands of times a
//! minute, and parsing plus schema checks are the largest part of running a small page. This cache keeps the last
//! trees by URL; a tree is reused only for exactly the bytes it was parsed from (the body is compared in full), so
//! HTTP freshness (maxage, maxstale, validators) stays entirely the fetch layer's business: whatever body the fetch
//! produced, the session runs that body. Only documents that parsed and validated are kept; a bad document is
//! parsed again each time and reports its error as before.
//!
//! Sharing is safe because a [`Document`] is never changed after parsing; sessions compare documents by identity
//! only to ask "is this the same document", which the same URL and bytes answer the same way.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::Document;

/// Most documents the process-wide cache keeps.
pub const MAX_ENTRIES: usize = 256;
/// Most source bytes the process-wide cache keeps (the trees add about as much again).
pub const MAX_BYTES: usize = 16 << 20;
/// Larger documents are not kept.
const MAX_DOCUMENT: usize = 1 << 20;
/// Versions kept per URL (a page that changes from call to call should not push out the others).
const MAX_VERSIONS: usize = 2;

#[derive(Default)]
struct Inner {
    by_url: HashMap<Box<str>, Vec<Arc<Document>>>,
    /// Insertion order, oldest first, for eviction.
    order: VecDeque<Arc<Document>>,
    bytes: usize,
}

impl Inner {
    fn remove(&mut self, doc: &Arc<Document>) {
        if let Some(v) = self.by_url.get_mut(doc.url.as_str()) {
            v.retain(|d| !Arc::ptr_eq(d, doc));
            if v.is_empty() {
                self.by_url.remove(doc.url.as_str());
            }
        }
        if let Some(i) = self.order.iter().position(|d| Arc::ptr_eq(d, doc)) {
            self.order.remove(i);
            self.bytes = self.bytes.saturating_sub(doc.source.len());
        }
    }
}

/// Counters of a document cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Documents served from the cache.
    pub hits: u64,
    /// Lookups that had to parse.
    pub misses: u64,
    /// Documents held.
    pub entries: usize,
    /// Source bytes held.
    pub bytes: usize,
}

/// A bounded cache of parsed documents keyed by URL and exact source (see the module docs).
pub struct DocumentCache {
    inner: Mutex<Inner>,
    enabled: AtomicBool,
    hits: AtomicU64,
    misses: AtomicU64,
    max_entries: usize,
    max_bytes: usize,
}

impl std::fmt::Debug for DocumentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DocumentCache").field(&self.stats()).finish()
    }
}

static GLOBAL: OnceLock<DocumentCache> = OnceLock::new();

impl DocumentCache {
    /// An empty cache holding at most `max_entries` documents and `max_bytes` of source.
    pub fn new(max_entries: usize, max_bytes: usize) -> DocumentCache {
        DocumentCache {
            inner: Mutex::new(Inner::default()),
            enabled: AtomicBool::new(true),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            max_entries,
            max_bytes,
        }
    }

    /// The process-wide cache sessions use ([`MAX_ENTRIES`], [`MAX_BYTES`]).
    pub fn global() -> &'static DocumentCache {
        GLOBAL.get_or_init(|| DocumentCache::new(MAX_ENTRIES, MAX_BYTES))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Entries are only ever complete documents, so a lock poisoned by a panic elsewhere is simply taken over.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The parsed document for `url` whose source is exactly `body`, if one is cached.
    pub fn lookup(&self, url: &str, body: &[u8]) -> Option<Arc<Document>> {
        if !self.enabled.load(Ordering::Relaxed) || body.len() > MAX_DOCUMENT {
            return None;
        }
        let found = self
            .lock()
            .by_url
            .get(url)
            .and_then(|v| v.iter().find(|d| d.source.as_bytes() == body).cloned());
        match &found {
            Some(_) => self.hits.fetch_add(1, Ordering::Relaxed),
            None => self.misses.fetch_add(1, Ordering::Relaxed),
        };
        found
    }

    /// Shares a parsed and validated document, keeping it for later [`DocumentCache::lookup`]s.
    pub fn store(&self, doc: Document) -> Arc<Document> {
        let doc = Arc::new(doc);
        if !self.enabled.load(Ordering::Relaxed) || doc.source.len() > MAX_DOCUMENT {
            return doc;
        }
        let mut c = self.lock();
        let versions = c.by_url.get(doc.url.as_str()).map_or(0, Vec::len);
        if versions >= MAX_VERSIONS {
            if let Some(oldest) = c
                .by_url
                .get(doc.url.as_str())
                .and_then(|v| v.first().cloned())
            {
                c.remove(&oldest);
            }
        }
        while !c.order.is_empty()
            && (c.order.len() >= self.max_entries || c.bytes + doc.source.len() > self.max_bytes)
        {
            let Some(old) = c.order.front().cloned() else {
                break;
            };
            c.remove(&old);
        }
        if self.max_entries == 0 || doc.source.len() > self.max_bytes {
            return doc;
        }
        c.bytes += doc.source.len();
        c.order.push_back(doc.clone());
        c.by_url
            .entry(doc.url.as_str().into())
            .or_default()
            .push(doc.clone());
        doc
    }

    /// Turns the cache on or off (on by default); turning it off empties it. Benchmarks use this to measure
    /// parsing.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
        if !on {
            let mut c = self.lock();
            c.by_url.clear();
            c.order.clear();
            c.bytes = 0;
        }
    }

    /// Hits, misses and size so far.
    pub fn stats(&self) -> CacheStats {
        let c = self.lock();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: c.order.len(),
            bytes: c.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(url: &str, src: &str) -> Document {
        Document::parse(url, src.to_string()).unwrap()
    }

    #[test]
    fn same_url_and_bytes_share_one_tree() {
        let c = DocumentCache::new(8, 1 << 20);
        let url = "http://cache.test/same.vxml";
        let src = "<vxml version=\"2.1\"><form/></vxml>";
        assert!(c.lookup(url, src.as_bytes()).is_none());
        let a = c.store(doc(url, src));
        let b = c.lookup(url, src.as_bytes()).expect("cached");
        assert!(Arc::ptr_eq(&a, &b));
        // One byte different, or another URL: not the same document.
        assert!(c
            .lookup(url, b"<vxml version=\"2.1\"><form/></vxml> ")
            .is_none());
        assert!(c
            .lookup("http://cache.test/other.vxml", src.as_bytes())
            .is_none());
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.entries, s.bytes), (1, 3, 1, src.len()));
    }

    #[test]
    fn a_url_keeps_its_latest_versions_only() {
        let c = DocumentCache::new(8, 1 << 20);
        let url = "http://cache.test/versions.vxml";
        let v: Vec<String> = (0..4)
            .map(|i| format!("<vxml version=\"2.1\"><form id=\"f{i}\"/></vxml>"))
            .collect();
        for s in &v {
            c.store(doc(url, s));
        }
        assert!(c.lookup(url, v[0].as_bytes()).is_none());
        assert!(c.lookup(url, v[1].as_bytes()).is_none());
        assert!(c.lookup(url, v[2].as_bytes()).is_some());
        assert!(c.lookup(url, v[3].as_bytes()).is_some());
        assert_eq!(c.stats().entries, 2);
    }

    #[test]
    fn stays_within_its_bounds_oldest_out_first() {
        let src = "<vxml version=\"2.1\"/>";
        let c = DocumentCache::new(4, 1 << 20);
        for i in 0..10 {
            c.store(doc(&format!("http://cache.test/many{i}.vxml"), src));
        }
        assert_eq!(c.stats().entries, 4);
        assert!(c
            .lookup("http://cache.test/many5.vxml", src.as_bytes())
            .is_none());
        assert!(c
            .lookup("http://cache.test/many6.vxml", src.as_bytes())
            .is_some());
        let c = DocumentCache::new(100, 3 * src.len());
        for i in 0..10 {
            c.store(doc(&format!("http://cache.test/big{i}.vxml"), src));
        }
        assert_eq!((c.stats().entries, c.stats().bytes), (3, 3 * src.len()));
    }

    #[test]
    fn disabled_cache_keeps_nothing() {
        let c = DocumentCache::new(8, 1 << 20);
        let src = "<vxml version=\"2.1\"/>";
        c.store(doc("http://cache.test/a.vxml", src));
        c.set_enabled(false);
        assert_eq!(c.stats().entries, 0);
        c.store(doc("http://cache.test/a.vxml", src));
        assert!(c
            .lookup("http://cache.test/a.vxml", src.as_bytes())
            .is_none());
        assert_eq!(c.stats().entries, 0);
    }
}
