//! The HTTP fetch layer (reqwest): cookies per session, redirects, an HTTP cache, fetch timeouts. The interpreter
//! core does not depend on it.

use crate::request::FetchError;

/// Resolves `reference` against `base` (RFC 3986 §5.2). An empty base leaves an absolute reference as is.
pub fn resolve(base: &str, reference: &str) -> Result<String, FetchError> {
    let reference = reference.trim();
    if let Ok(abs) = url::Url::parse(reference) {
        return Ok(abs.to_string());
    }
    let base_url = url::Url::parse(base.trim())
        .map_err(|e| FetchError::BadUrl(format!("{reference:?} against base {base:?}: {e}")))?;
    base_url
        .join(reference)
        .map(|u| u.to_string())
        .map_err(|e| FetchError::BadUrl(format!("{reference:?} against base {base:?}: {e}")))
}
