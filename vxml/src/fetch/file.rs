//! `file:` URLs: local documents (tests, recovery documents shipped with the gateway).

use url::Url;

use crate::request::{FetchError, FetchResponse};

/// A media type from the file extension, as a web server would send it.
fn content_type(path: &std::path::Path) -> Option<String> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let t = match ext.as_str() {
        "vxml" | "txml" => "application/voicexml+xml",
        "grxml" => "application/srgs+xml",
        "gram" => "application/srgs",
        "js" => "application/javascript",
        "xml" => "application/xml",
        "json" => "application/json",
        "wav" => "audio/wav",
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        _ => return None,
    };
    Some(t.to_string())
}

/// Reads a `file:` URL, refusing files larger than `max_bytes` before reading them.
pub(crate) async fn read(url: &Url, max_bytes: u64) -> Result<FetchResponse, FetchError> {
    let path = url
        .to_file_path()
        .map_err(|_| FetchError::BadUrl(format!("{url} is not a local file path")))?;
    let io = |e: std::io::Error| FetchError::Network(format!("{}: {e}", path.display()));
    let meta = tokio::fs::metadata(&path).await.map_err(io)?;
    if meta.is_dir() {
        return Err(FetchError::Network(format!(
            "{} is a directory",
            path.display()
        )));
    }
    if meta.len() > max_bytes {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let body = tokio::fs::read(&path).await.map_err(io)?;
    if body.len() as u64 > max_bytes {
        return Err(FetchError::TooLarge(max_bytes));
    }
    Ok(FetchResponse {
        url: url.to_string(),
        status: 200,
        content_type: content_type(&path),
        body,
    })
}
