//! The fetch vocabulary shared by the interpreter (which asks for fetches) and the fetch layer (which does them).
//!
//! Additive changes only: the interpreter, the fetch layer and the gateway all build on these types.

use std::time::Duration;

/// HTTP method of a fetch (VoiceXML 2.0 §5.3.8 `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`; a submit's namelist goes in the query string.
    Get,
    /// `POST`; a submit's namelist goes in the body.
    Post,
}

/// What a fetched resource will be used for; decides caching defaults and how a failure is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchKind {
    /// A VoiceXML document (goto, submit, subdialog, application root).
    Document,
    /// An ECMAScript file for `<script src>`.
    Script,
    /// An external grammar.
    Grammar,
    /// Audio for `<audio src>`.
    Audio,
    /// XML for `<data>` (VoiceXML 2.1).
    Data,
}

/// A request body with its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// `Content-Type`, e.g. `application/x-www-form-urlencoded` or `multipart/form-data; boundary=...`.
    pub content_type: String,
    /// The encoded body.
    pub bytes: Vec<u8>,
}

/// One fetch the interpreter asks the platform to perform.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    /// Absolute URL, already resolved against the requesting document (RFC 3986 §5).
    pub url: String,
    /// GET or POST.
    pub method: Method,
    /// Body for POST.
    pub body: Option<Body>,
    /// The fetchtimeout in force (element attribute, else property, else platform default).
    pub timeout: Duration,
    /// `maxage` in force, if any (`*maxage` attribute or `*maxage` property).
    pub maxage: Option<Duration>,
    /// `maxstale` in force, if any.
    pub maxstale: Option<Duration>,
    /// What the resource is for.
    pub kind: FetchKind,
}

impl FetchRequest {
    /// A plain `GET` of `url` for `kind`, with no body and no `maxage` / `maxstale`.
    pub fn get(url: impl Into<String>, timeout: Duration, kind: FetchKind) -> Self {
        Self {
            url: url.into(),
            method: Method::Get,
            body: None,
            timeout,
            maxage: None,
            maxstale: None,
            kind,
        }
    }
}

/// A successful fetch: a 2xx answer after any redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    /// The final URL after redirects: the base for resolving relative URIs in the fetched document.
    pub url: String,
    /// HTTP status (2xx).
    pub status: u16,
    /// `Content-Type` of the answer, if given.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why a fetch failed. Each maps to the VoiceXML event raised in the document that needed the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// No answer within the fetchtimeout.
    Timeout,
    /// The server answered with a non-2xx status (after redirects).
    Http(u16),
    /// Connection refused, DNS failure, reset, too many redirects...
    Network(String),
    /// The URL could not be parsed or has an unsupported scheme.
    BadUrl(String),
    /// The body was larger than the configured limit.
    TooLarge(u64),
}

impl FetchError {
    /// The VoiceXML event name for this failure (VoiceXML 2.0 §5.2.6; 2.1 adds `error.badfetch.http.<code>`).
    pub fn event_name(&self) -> String {
        match self {
            FetchError::Http(code) => format!("error.badfetch.http.{code}"),
            _ => "error.badfetch".to_string(),
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Timeout => write!(f, "fetch timed out"),
            FetchError::Http(code) => write!(f, "http status {code}"),
            FetchError::Network(msg) => write!(f, "network error: {msg}"),
            FetchError::BadUrl(url) => write!(f, "bad url: {url}"),
            FetchError::TooLarge(n) => write!(f, "body larger than {n} bytes"),
        }
    }
}

impl std::error::Error for FetchError {}
