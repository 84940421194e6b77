//! The HTTP fetch layer: serves the interpreter's fetch requests (documents, scripts, grammars, audio, data,
//! submits). The interpreter core does not depend on it; the gateway and the headless runner drive it.
//!
//! One [`Fetcher`] per process holds the reqwest client (connection pool) and the shared HTTP cache; each call gets a
//! [`SessionFetcher`] with its own cookie jar, because application servers keep their state in session cookies.
//! Redirects, cookies and caching are done here rather than by reqwest so that every hop sees the session's cookies
//! and the cache sees the final URL:
//! - redirects are followed up to `max_redirects` (303, and 301/302 after a POST, continue with GET);
//! - the cache follows RFC 7234 (`Cache-Control` max-age/no-cache/no-store/must-revalidate, `Expires`, heuristics)
//!   and VoiceXML 2.0 §6.1.2: the request's `maxage`/`maxstale` become request `max-age`/`max-stale`; stale
//!   entries with an `ETag` or `Last-Modified` are revalidated with a conditional GET and reused on `304`;
//! - the request's `timeout` (the fetchtimeout in force) bounds the whole fetch, redirects and body included;
//! - bodies larger than `max_body_bytes` fail with [`FetchError::TooLarge`] as soon as that is known.

mod cache;
pub mod charset;
mod file;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cookie_store::CookieStore;
use http::header::{self, HeaderMap, HeaderValue};
use http_cache_semantics::{AfterResponse, BeforeRequest, CacheOptions, CachePolicy};
use url::Url;

use crate::request::{FetchError, FetchKind, FetchRequest, FetchResponse, Method};

use cache::{Entry, HttpCache};

/// Default bytes of response bodies the shared cache holds.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Settings of the fetch layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    /// Used when a request carries a zero timeout (the gateway's default fetchtimeout; CVP uses 7 s).
    pub default_timeout: Duration,
    /// Redirects followed before giving up (bounded: a loop fails instead of spinning).
    pub max_redirects: u32,
    /// Largest body accepted.
    pub max_body_bytes: u64,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            default_timeout: Duration::from_secs(7),
            max_redirects: 10,
            max_body_bytes: 16 << 20,
            user_agent: concat!("vxgate/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Counters of the shared cache since the fetcher was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// GETs answered from the cache without a request.
    pub hits: u64,
    /// GETs revalidated with a conditional request and answered `304`.
    pub revalidated: u64,
    /// GETs that needed a full response.
    pub misses: u64,
    /// Responses stored.
    pub stored: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    revalidated: AtomicU64,
    misses: AtomicU64,
    stored: AtomicU64,
}

struct Shared {
    counters: Counters,
    client: reqwest::Client,
    cache: Mutex<HttpCache>,
    config: FetchConfig,
    user_agent: HeaderValue,
}

/// The process-wide fetcher: HTTP client and shared cache. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher with a shared cache of [`DEFAULT_CACHE_BYTES`].
    pub fn new(config: FetchConfig) -> Result<Fetcher, FetchError> {
        Fetcher::with_cache_bytes(config, DEFAULT_CACHE_BYTES)
    }

    /// A fetcher whose shared cache holds at most `cache_bytes` of bodies.
    pub fn with_cache_bytes(
        config: FetchConfig,
        cache_bytes: usize,
    ) -> Result<Fetcher, FetchError> {
        let user_agent = HeaderValue::from_str(&config.user_agent).map_err(|_| {
            FetchError::Network(format!("invalid user agent {:?}", config.user_agent))
        })?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| FetchError::Network(format!("cannot build http client: {e}")))?;
        Ok(Fetcher {
            shared: Arc::new(Shared {
                counters: Counters::default(),
                client,
                cache: Mutex::new(HttpCache::new(cache_bytes)),
                config,
                user_agent,
            }),
        })
    }

    /// Counters of the shared cache.
    pub fn cache_stats(&self) -> CacheStats {
        let c = &self.shared.counters;
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            revalidated: c.revalidated.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            stored: c.stored.load(Ordering::Relaxed),
        }
    }

    /// The settings.
    pub fn config(&self) -> &FetchConfig {
        &self.shared.config
    }

    /// A fetcher for one session (one call): same client and cache, its own cookie jar.
    pub fn session(&self) -> SessionFetcher {
        SessionFetcher {
            shared: self.shared.clone(),
            cookies: Arc::new(Mutex::new(CookieStore::new())),
        }
    }
}

/// The fetcher of one session: shares the client and cache, owns a cookie jar. Cheap to clone (clones share the
/// jar).
#[derive(Clone)]
pub struct SessionFetcher {
    shared: Arc<Shared>,
    cookies: Arc<Mutex<CookieStore>>,
}

impl std::fmt::Debug for SessionFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionFetcher").finish_non_exhaustive()
    }
}

/// The outcome of one HTTP exchange.
enum Hop {
    Done(FetchResponse),
    Redirect(u16, String),
    /// A 304 that does not validate the stored copy: the entry was dropped, ask again unconditionally.
    Retry,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data (a cache, a cookie jar) that is still consistent enough.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn network(url: &Url, e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    let mut msg = format!("{url}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    FetchError::Network(msg)
}

impl SessionFetcher {
    /// Performs `req`: follows redirects, sends and stores cookies, uses the cache. The request's `timeout` (or the
    /// configured default when zero) bounds the whole fetch.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<FetchResponse, FetchError> {
        let timeout = if req.timeout.is_zero() {
            self.shared.config.default_timeout
        } else {
            req.timeout
        };
        let result = match tokio::time::timeout(timeout, self.fetch_unbounded(req)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout),
        };
        match &result {
            Ok(r) => {
                tracing::debug!(url = %req.url, final_url = %r.url, status = r.status, bytes = r.body.len(), "fetched")
            }
            Err(e) => tracing::info!(url = %req.url, error = %e, "fetch failed"),
        }
        result
    }

    async fn fetch_unbounded(&self, req: &FetchRequest) -> Result<FetchResponse, FetchError> {
        let mut url = Url::parse(req.url.trim())
            .map_err(|e| FetchError::BadUrl(format!("{:?}: {e}", req.url)))?;
        let max = self.shared.config.max_body_bytes;
        match url.scheme() {
            "file" => return file::read(&url, max).await,
            "http" => {}
            "https" => {
                return Err(FetchError::BadUrl(format!(
                    "{}: https is not supported by this build (no tls)",
                    req.url
                )))
            }
            other => {
                return Err(FetchError::BadUrl(format!(
                    "{}: unsupported scheme {other:?}",
                    req.url
                )))
            }
        }
        // The fragment is not sent (RFC 9110 §7.1) and does not name another resource for the cache; it is given
        // back on the final URL unless a redirect brought its own (RFC 9110 §10.2.2).
        let mut fragment = url.fragment().map(str::to_string);
        url.set_fragment(None);
        let mut method = req.method;
        let mut body = req.body.clone();
        let max_redirects = self.shared.config.max_redirects;
        let mut retried = false;
        let mut hops = 0;
        while hops <= max_redirects {
            match self.exchange(&url, method, body.as_ref(), req).await? {
                Hop::Done(mut r) => {
                    if let Some(f) = fragment {
                        if let Ok(mut u) = Url::parse(&r.url) {
                            u.set_fragment(Some(&f));
                            r.url = u.to_string();
                        }
                    }
                    return Ok(r);
                }
                Hop::Retry if !retried => retried = true,
                Hop::Retry => return Err(FetchError::Http(304)),
                Hop::Redirect(status, location) => {
                    let mut next = url.join(&location).map_err(|e| {
                        FetchError::BadUrl(format!("redirect from {url} to {location:?}: {e}"))
                    })?;
                    if let Some(f) = next.fragment() {
                        fragment = Some(f.to_string());
                        next.set_fragment(None);
                    }
                    if next.scheme() != "http" {
                        return Err(FetchError::BadUrl(format!(
                            "redirect from {url} to unsupported {next}"
                        )));
                    }
                    // RFC 9110 §15.4: 303 always continues with GET; 301/302 after POST do so in practice.
                    if status == 303 || (matches!(status, 301 | 302) && method == Method::Post) {
                        method = Method::Get;
                        body = None;
                    }
                    tracing::debug!(from = %url, to = %next, status, "redirect");
                    url = next;
                    hops += 1;
                }
            }
        }
        Err(FetchError::Network(format!(
            "too many redirects (more than {max_redirects}) fetching {}",
            req.url
        )))
    }

    fn request_headers(&self, url: &Url, req: &FetchRequest) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::USER_AGENT, self.shared.user_agent.clone());
        let accept = match req.kind {
            FetchKind::Document => "application/voicexml+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
            FetchKind::Grammar => "application/srgs+xml, application/srgs;q=0.9, application/xml;q=0.8, */*;q=0.5",
            FetchKind::Script => "application/javascript, application/ecmascript;q=0.9, text/javascript;q=0.9, */*;q=0.5",
            FetchKind::Audio => "audio/*, */*;q=0.5",
            FetchKind::Data => "application/xml, text/xml;q=0.9, */*;q=0.5",
        };
        headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        let cookie = lock(&self.cookies)
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                headers.insert(header::COOKIE, v);
            }
        }
        // VoiceXML 2.0 §6.1.2: maxage / maxstale are the request directives of RFC 7234 §5.2.1.
        let mut cc = Vec::new();
        if let Some(age) = req.maxage {
            cc.push(format!("max-age={}", age.as_secs()));
        }
        if let Some(stale) = req.maxstale {
            cc.push(format!("max-stale={}", stale.as_secs()));
        }
        if !cc.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&cc.join(", ")) {
                headers.insert(header::CACHE_CONTROL, v);
            }
        }
        headers
    }

    async fn exchange(
        &self,
        url: &Url,
        method: Method,
        body: Option<&crate::request::Body>,
        req: &FetchRequest,
    ) -> Result<Hop, FetchError> {
        let mut headers = self.request_headers(url, req);
        let key = url.as_str().to_string();
        let cacheable = method == Method::Get;
        let mut policy_req = http::Request::get(url.as_str())
            .body(())
            .map_err(|e| FetchError::BadUrl(format!("{url}: {e}")))?;
        *policy_req.headers_mut() = headers.clone();
        let mut cached: Option<Entry> = None;
        if cacheable {
            let entry = lock(&self.shared.cache).get(&key);
            if let Some(entry) = entry {
                match entry.policy.before_request(&policy_req, SystemTime::now()) {
                    BeforeRequest::Fresh(_) => {
                        tracing::debug!(url = %url, "cache hit");
                        self.shared.counters.hits.fetch_add(1, Ordering::Relaxed);
                        return Ok(Hop::Done(FetchResponse {
                            url: key,
                            status: entry.status,
                            content_type: entry.content_type.clone(),
                            body: entry.body.as_ref().clone(),
                        }));
                    }
                    BeforeRequest::Stale { request, matches } => {
                        if matches {
                            // The revalidation request carries If-None-Match / If-Modified-Since.
                            for name in [header::IF_NONE_MATCH, header::IF_MODIFIED_SINCE] {
                                if let Some(v) = request.headers.get(&name) {
                                    headers.insert(name, v.clone());
                                }
                            }
                            cached = Some(entry);
                        }
                    }
                }
            }
        }
        let mut builder = match method {
            Method::Get => self.shared.client.get(url.clone()),
            Method::Post => self.shared.client.post(url.clone()),
        };
        builder = builder.headers(headers);
        if let (Method::Post, Some(b)) = (method, body) {
            builder = builder
                .header(header::CONTENT_TYPE, b.content_type.as_str())
                .body(b.bytes.clone());
        }
        let resp = builder.send().await.map_err(|e| network(url, &e))?;
        let status = resp.status().as_u16();
        {
            let mut jar = lock(&self.cookies);
            for v in resp.headers().get_all(header::SET_COOKIE) {
                if let Ok(s) = v.to_str() {
                    if let Err(e) = jar.parse(s, url) {
                        tracing::debug!(url = %url, cookie = s, error = %e, "cookie refused");
                    }
                }
            }
        }
        let mut parts_builder = http::Response::builder().status(resp.status());
        if let Some(h) = parts_builder.headers_mut() {
            *h = resp.headers().clone();
            // RFC 7234 §4.3.4: a 304 without validators updates the one stored response it answers.
            if let (304, Some(entry)) = (status, &cached) {
                if !h.contains_key(header::ETAG) && !h.contains_key(header::LAST_MODIFIED) {
                    for (name, value) in &entry.validators {
                        h.insert(name.clone(), value.clone());
                    }
                }
            }
        }
        let policy_res = parts_builder
            .body(())
            .map_err(|e| FetchError::Network(format!("{url}: {e}")))?;
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);

        if status == 304 {
            if let Some(entry) = cached {
                match entry
                    .policy
                    .after_response(&policy_req, &policy_res, SystemTime::now())
                {
                    AfterResponse::NotModified(policy, _) => {
                        tracing::debug!(url = %url, "revalidated (304)");
                        self.shared
                            .counters
                            .revalidated
                            .fetch_add(1, Ordering::Relaxed);
                        lock(&self.shared.cache).update_policy(&key, policy);
                        return Ok(Hop::Done(FetchResponse {
                            url: key,
                            status: entry.status,
                            content_type: entry.content_type.clone(),
                            body: entry.body.as_ref().clone(),
                        }));
                    }
                    AfterResponse::Modified(..) => {
                        lock(&self.shared.cache).remove(&key);
                        return Ok(Hop::Retry);
                    }
                }
            }
            return Err(FetchError::Http(304));
        }
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            if let Some(loc) = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
            {
                return Ok(Hop::Redirect(status, loc.to_string()));
            }
            return Err(FetchError::Http(status));
        }
        if !(200..300).contains(&status) {
            return Err(FetchError::Http(status));
        }
        let body = read_body(url, resp, self.shared.config.max_body_bytes).await?;
        if cacheable {
            self.shared.counters.misses.fetch_add(1, Ordering::Relaxed);
            let now = SystemTime::now();
            let policy = CachePolicy::new_options(
                &policy_req,
                &policy_res,
                now,
                CacheOptions {
                    shared: true,
                    ..Default::default()
                },
            );
            let sets_cookie = policy_res.headers().contains_key(header::SET_COOKIE);
            let mut cache = lock(&self.shared.cache);
            if policy.is_storable() && !sets_cookie {
                let mut entry =
                    Entry::new(policy, status, content_type.clone(), Arc::new(body.clone()));
                for name in [header::ETAG, header::LAST_MODIFIED] {
                    if let Some(v) = policy_res.headers().get(&name) {
                        entry.validators.push((name, v.clone()));
                    }
                }
                cache.put(&key, entry);
                self.shared.counters.stored.fetch_add(1, Ordering::Relaxed);
            } else {
                cache.remove(&key);
            }
        }
        Ok(Hop::Done(FetchResponse {
            url: key,
            status,
            content_type,
            body,
        }))
    }
}

/// Reads a body, failing as soon as it exceeds `max` (by `Content-Length` before reading, else while reading).
async fn read_body(
    url: &Url,
    mut resp: reqwest::Response,
    max: u64,
) -> Result<Vec<u8>, FetchError> {
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(FetchError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| network(url, &e))? {
        if body.len() as u64 + chunk.len() as u64 > max {
            return Err(FetchError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Resolves `reference` against `base` (RFC 3986 §5.2). An absolute reference is returned normalised whatever the
/// base; a relative one needs an absolute base.
pub fn resolve(base: &str, reference: &str) -> Result<String, FetchError> {
    let reference = reference.trim();
    if let Ok(abs) = Url::parse(reference) {
        return Ok(abs.to_string());
    }
    let base_url = Url::parse(base.trim())
        .map_err(|e| FetchError::BadUrl(format!("{reference:?} against base {base:?}: {e}")))?;
    base_url
        .join(reference)
        .map(|u| u.to_string())
        .map_err(|e| FetchError::BadUrl(format!("{reference:?} against base {base:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3986 §5.4.1 normal and §5.4.2 abnormal examples.
    #[test]
    fn rfc3986_reference_resolution() {
        let base = "http://a/b/c/d;p?q";
        for (r, want) in [
            ("g:h", "g:h"),
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("g#s", "http://a/b/c/g#s"),
            (";x", "http://a/b/c/;x"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("g..", "http://a/b/c/g.."),
            ("./../g", "http://a/b/g"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("g?y/./x", "http://a/b/c/g?y/./x"),
            ("g#s/../x", "http://a/b/c/g#s/../x"),
        ] {
            assert_eq!(resolve(base, r).unwrap(), want, "{r:?}");
        }
    }

    #[test]
    fn relative_without_base_is_bad_url() {
        let e = resolve("", "next.vxml").unwrap_err();
        assert!(
            matches!(e, FetchError::BadUrl(ref m) if m.contains("next.vxml")),
            "{e:?}"
        );
        assert_eq!(resolve("", "file:///x/y.vxml").unwrap(), "file:///x/y.vxml");
        assert_eq!(
            resolve("file:///srv/app/main.vxml", "sub/g.grxml").unwrap(),
            "file:///srv/app/sub/g.grxml"
        );
    }

    #[test]
    fn invalid_user_agent_is_an_error() {
        let cfg = FetchConfig {
            user_agent: "bad\nagent".into(),
            ..Default::default()
        };
        assert!(Fetcher::new(cfg).is_err());
    }
}
