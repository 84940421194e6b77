//! The shared HTTP cache: responses of GET requests by URL, with the RFC 7234 policy of each
//! (`http-cache-semantics`), bounded in bytes with least-recently-used eviction.
//!
//! It is a shared cache (one per gateway, used by every session), so it follows the shared-cache rules: `private`
//! responses and responses setting cookies are not stored.

use std::collections::HashMap;
use std::sync::Arc;

use http_cache_semantics::CachePolicy;

/// One stored response.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Freshness and validators.
    pub policy: CachePolicy,
    /// HTTP status of the stored response (2xx).
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The body.
    pub body: Arc<Vec<u8>>,
    /// `ETag` and `Last-Modified` of the stored response.
    pub validators: Vec<(http::HeaderName, http::HeaderValue)>,
    last_used: u64,
}

impl Entry {
    /// A new entry.
    pub fn new(
        policy: CachePolicy,
        status: u16,
        content_type: Option<String>,
        body: Arc<Vec<u8>>,
    ) -> Entry {
        Entry {
            policy,
            status,
            content_type,
            body,
            validators: Vec::new(),
            last_used: 0,
        }
    }
}

/// Responses by URL.
#[derive(Debug)]
pub(crate) struct HttpCache {
    entries: HashMap<String, Entry>,
    bytes: usize,
    max_bytes: usize,
    clock: u64,
}

impl HttpCache {
    /// An empty cache holding at most `max_bytes` of bodies.
    pub fn new(max_bytes: usize) -> HttpCache {
        HttpCache {
            entries: HashMap::new(),
            bytes: 0,
            max_bytes,
            clock: 0,
        }
    }

    /// The entry for `url`, marked as used.
    pub fn get(&mut self, url: &str) -> Option<Entry> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(url).map(|e| {
            e.last_used = clock;
            e.clone()
        })
    }

    /// Stores `entry` for `url`, evicting the least recently used entries to stay within budget. A body larger than
    /// an eighth of the budget is not stored.
    pub fn put(&mut self, url: &str, mut entry: Entry) {
        self.remove(url);
        let size = entry.body.len();
        if size > self.max_bytes / 8 {
            return;
        }
        while self.bytes + size > self.max_bytes {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.remove(&oldest);
        }
        self.clock += 1;
        entry.last_used = self.clock;
        self.bytes += size;
        self.entries.insert(url.to_string(), entry);
    }

    /// Replaces the policy of a stored entry (after a 304 revalidation).
    pub fn update_policy(&mut self, url: &str, policy: CachePolicy) {
        if let Some(e) = self.entries.get_mut(url) {
            e.policy = policy;
        }
    }

    /// Drops the entry for `url`.
    pub fn remove(&mut self, url: &str) {
        if let Some(e) = self.entries.remove(url) {
            self.bytes -= e.body.len();
        }
    }

    /// Number of stored entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn entry(size: usize) -> Entry {
        let req = http::Request::get("http://h/x").body(()).unwrap();
        let res = http::Response::builder()
            .header("cache-control", "max-age=60")
            .body(())
            .unwrap();
        let policy = CachePolicy::new_options(&req, &res, SystemTime::now(), Default::default());
        Entry::new(policy, 200, None, Arc::new(vec![0; size]))
    }

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let mut c = HttpCache::new(800);
        c.put("a", entry(100));
        c.put("b", entry(100));
        assert!(c.get("a").is_some());
        for i in 0..6 {
            c.put(&format!("n{i}"), entry(100));
        }
        // 800 bytes hold 8 entries: one more evicts "b" (least recently used), not "a".
        c.put("last", entry(100));
        assert!(c.get("a").is_some());
        assert!(c.get("b").is_none());
        assert_eq!(c.len(), 8);
        // Too large for the cache: not stored.
        c.put("big", entry(101));
        assert!(c.get("big").is_none());
    }
}
