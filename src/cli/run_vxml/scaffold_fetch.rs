//! Temporary blocking HTTP/1.1 + `file:` fetcher for `run-vxml`, until the shared fetch layer
//! (`vxgate_vxml::fetch`) lands. Plain HTTP only, `Connection: close`, bounded redirects.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use vxgate_vxml::request::{FetchError, FetchRequest, FetchResponse, Method};

const MAX_BODY: u64 = 64 << 20;

/// Performs one fetch.
pub fn fetch(req: &FetchRequest) -> Result<FetchResponse, FetchError> {
    let deadline = Instant::now() + req.timeout;
    let mut url = req.url.clone();
    let mut method = req.method;
    let mut body = req.body.clone();
    for _ in 0..6 {
        let u = url::Url::parse(&url).map_err(|e| FetchError::BadUrl(format!("{url}: {e}")))?;
        if u.scheme() == "file" {
            let path = u
                .to_file_path()
                .map_err(|_| FetchError::BadUrl(url.clone()))?;
            return match std::fs::read(&path) {
                Ok(b) => Ok(FetchResponse {
                    url,
                    status: 200,
                    content_type: None,
                    body: b,
                }),
                Err(_) => Err(FetchError::Http(404)),
            };
        }
        if u.scheme() != "http" {
            return Err(FetchError::BadUrl(format!("unsupported scheme in {url}")));
        }
        let host = u
            .host_str()
            .ok_or_else(|| FetchError::BadUrl(url.clone()))?
            .to_string();
        let port = u.port_or_known_default().unwrap_or(80);
        let addrs: Vec<_> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| FetchError::Network(format!("{host}: {e}")))?
            .collect();
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(FetchError::Timeout);
        }
        let mut last = FetchError::Network(format!("{host}: no address"));
        let mut conn = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, left) {
                Ok(c) => {
                    conn = Some(c);
                    break;
                }
                Err(e) => last = map_io(e, &host),
            }
        }
        let Some(mut s) = conn else { return Err(last) };
        let _ = s.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        let path = match u.query() {
            Some(q) => format!("{}?{}", u.path(), q),
            None => u.path().to_string(),
        };
        let m = if method == Method::Post {
            "POST"
        } else {
            "GET"
        };
        let mut head = format!("{m} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nUser-Agent: vxgate\r\n");
        if let Some(b) = &body {
            head.push_str(&format!(
                "Content-Type: {}\r\nContent-Length: {}\r\n",
                b.content_type,
                b.bytes.len()
            ));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if let Some(b) = &body {
            out.extend_from_slice(&b.bytes);
        }
        s.write_all(&out).map_err(|e| map_io(e, &host))?;
        let mut raw = Vec::new();
        s.take(MAX_BODY)
            .read_to_end(&mut raw)
            .map_err(|e| map_io(e, &host))?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| FetchError::Network("bad http answer".into()))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut payload = raw[split + 4..].to_vec();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| FetchError::Network("bad status line".into()))?;
        let mut location = None;
        let mut ctype = None;
        let mut chunked = false;
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                let v = v.trim().to_string();
                match k.as_str() {
                    "location" => location = Some(v),
                    "content-type" => ctype = Some(v),
                    "transfer-encoding" if v.eq_ignore_ascii_case("chunked") => chunked = true,
                    _ => {}
                }
            }
        }
        if chunked {
            payload = dechunk(&payload);
        }
        if (300..400).contains(&status) {
            if let Some(loc) = location {
                url = u
                    .join(&loc)
                    .map_err(|e| FetchError::BadUrl(format!("{loc}: {e}")))?
                    .to_string();
                if status != 307 && status != 308 {
                    method = Method::Get;
                    body = None;
                }
                continue;
            }
        }
        if !(200..300).contains(&status) {
            return Err(FetchError::Http(status));
        }
        return Ok(FetchResponse {
            url,
            status,
            content_type: ctype,
            body: payload,
        });
    }
    Err(FetchError::Network("too many redirects".into()))
}

fn map_io(e: std::io::Error, host: &str) -> FetchError {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => FetchError::Timeout,
        _ => FetchError::Network(format!("{host}: {e}")),
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size else { break };
        if size == 0 || b.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[(eol + 4 + size).min(b.len())..];
    }
    out
}
