//! The process-wide prompt cache: one decoded copy per source, shared by every call that plays it.
//!
//! Keys name where the audio came from — a file path with its modification time and size, or a URL with its HTTP
//! validators (RFC 9110 §8.8: `ETag`, `Last-Modified`) — plus the law, because a prompt is stored already encoded.
//! A new version of a source (new mtime or validators) replaces the old entry, so an edited file or a re-published
//! URL does not pin its stale audio forever. Loading a file is single-flight: when a thousand calls ask for
//! `holdmusic.wav` at once, one decodes it and the rest wait for that result.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use crate::g711::Law;

use super::error::{PromptError, PromptErrorKind};
use super::{load_file, Prompt};

/// Where a cached prompt came from, and in which version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheKey {
    /// A local file.
    File {
        /// The path as given (not canonicalised).
        path: PathBuf,
        /// Modification time when loaded, if the platform reports one.
        modified: Option<SystemTime>,
        /// File size when loaded.
        len: u64,
        /// The law the prompt was encoded to.
        law: Law,
    },
    /// An HTTP resource, identified by its URL and validators.
    Url {
        /// The absolute URL.
        url: String,
        /// The `ETag` response header, verbatim.
        etag: Option<String>,
        /// The `Last-Modified` response header, verbatim.
        last_modified: Option<String>,
        /// The law the prompt was encoded to.
        law: Law,
    },
}

impl CacheKey {
    /// The key for `path` as it is on disk now.
    pub fn for_file(path: &Path, law: Law) -> Result<CacheKey, PromptError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| PromptError::new(path.display().to_string(), PromptErrorKind::Io(e)))?;
        Ok(CacheKey::File {
            path: path.to_path_buf(),
            modified: meta.modified().ok(),
            len: meta.len(),
            law,
        })
    }

    /// The key for a URL fetched with the given validators.
    pub fn for_url(
        url: impl Into<String>,
        etag: Option<String>,
        last_modified: Option<String>,
        law: Law,
    ) -> CacheKey {
        CacheKey::Url {
            url: url.into(),
            etag,
            last_modified,
            law,
        }
    }

    /// Whether `self` and `other` are versions of the same source in the same law.
    fn same_source(&self, other: &CacheKey) -> bool {
        match (self, other) {
            (
                CacheKey::File {
                    path: a, law: la, ..
                },
                CacheKey::File {
                    path: b, law: lb, ..
                },
            ) => a == b && la == lb,
            (
                CacheKey::Url {
                    url: a, law: la, ..
                },
                CacheKey::Url {
                    url: b, law: lb, ..
                },
            ) => a == b && la == lb,
            _ => false,
        }
    }
}

/// A map from [`CacheKey`] to [`Prompt`]; cloning a hit is an `Arc` bump.
#[derive(Debug, Default)]
pub struct PromptCache {
    entries: Mutex<HashMap<CacheKey, Prompt>>,
    /// Serialises loads per key; separate from `entries` so a slow decode never blocks hits on other prompts.
    loading: Mutex<HashMap<CacheKey, Arc<Mutex<()>>>>,
}

impl PromptCache {
    /// An empty cache (tests, or a gateway that wants its own).
    pub fn new() -> PromptCache {
        PromptCache::default()
    }

    /// The process-wide cache.
    pub fn global() -> &'static PromptCache {
        static GLOBAL: OnceLock<PromptCache> = OnceLock::new();
        GLOBAL.get_or_init(PromptCache::new)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Prompt>> {
        // A panic while holding the lock cannot leave the map half-updated (single insert/remove calls).
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached prompt for `key`, if any.
    pub fn get(&self, key: &CacheKey) -> Option<Prompt> {
        self.entries().get(key).cloned()
    }

    /// Stores `prompt` under `key`, dropping older versions of the same source.
    pub fn insert(&self, key: CacheKey, prompt: Prompt) {
        let mut map = self.entries();
        map.retain(|k, _| k == &key || !k.same_source(&key));
        map.insert(key, prompt);
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.entries().clear();
    }

    /// Number of cached prompts.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total G.711 bytes held.
    pub fn bytes(&self) -> usize {
        self.entries().values().map(|p| p.data().len()).sum()
    }

    /// The prompt for the file at `path` in `law`: from the cache when the file is unchanged (same mtime and
    /// size), else decoded once and cached. Blocking (file I/O, decoding): async callers use `spawn_blocking`.
    /// Errors are not cached; the next call retries.
    pub fn get_or_load_file(&self, path: &Path, law: Law) -> Result<Prompt, PromptError> {
        let key = CacheKey::for_file(path, law)?;
        if let Some(p) = self.get(&key) {
            return Ok(p);
        }
        let gate = {
            let mut loading = self.loading.lock().unwrap_or_else(|p| p.into_inner());
            loading.entry(key.clone()).or_default().clone()
        };
        let result = {
            let _held = gate.lock().unwrap_or_else(|p| p.into_inner());
            match self.get(&key) {
                Some(p) => Ok(p),
                None => load_file(path, law).inspect(|p| self.insert(key.clone(), p.clone())),
            }
        };
        let mut loading = self.loading.lock().unwrap_or_else(|p| p.into_inner());
        // Drop the gate once no other loader holds it (the map's copy and ours are the last two).
        if Arc::strong_count(&gate) <= 2 {
            loading.remove(&key);
        }
        result
    }
}
