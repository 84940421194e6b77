//! The fetch layer against a real HTTP/1.1 server on 127.0.0.1 started by each test: cookies, redirects, errors,
//! timeouts, the HTTP cache and its revalidation, body limits, `file:` URLs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use vxgate_vxml::fetch::{FetchConfig, Fetcher};
use vxgate_vxml::request::{Body, FetchError, FetchKind, FetchRequest, Method};

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server answers.
enum Reply {
    Send {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Send nothing for a long time.
    Stall,
    /// Announce a huge Content-Length, then stall.
    HugeLength,
    /// Stream an endless chunked body.
    Endless,
}

fn ok(body: &str, headers: &[(&str, &str)]) -> Reply {
    send(200, body, headers)
}

fn send(status: u16, body: &str, headers: &[(&str, &str)]) -> Reply {
    Reply::Send {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Option<Seen> {
    let mut line = String::new();
    r.read_line(&mut line).await.ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.ok()?;
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

/// Starts a server answering each request with `handler`; one request per connection.
async fn serve(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = Arc::new(handler);
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let (rd, mut wr) = stream.into_split();
                let mut rd = BufReader::new(rd);
                let Some(req) = read_request(&mut rd).await else {
                    return;
                };
                log.lock().unwrap().push(req.clone());
                match handler(&req) {
                    Reply::Send {
                        status,
                        headers,
                        body,
                    } => {
                        let mut head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (k, v) in headers {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str("\r\n");
                        let _ = wr.write_all(head.as_bytes()).await;
                        let _ = wr.write_all(&body).await;
                        let _ = wr.shutdown().await;
                    }
                    Reply::Stall => tokio::time::sleep(Duration::from_secs(60)).await,
                    Reply::HugeLength => {
                        let _ = wr
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\nabc")
                            .await;
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    Reply::Endless => {
                        let _ = wr
                            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                            .await;
                        let chunk = format!("{:x}\r\n{}\r\n", 4096, "x".repeat(4096));
                        while wr.write_all(chunk.as_bytes()).await.is_ok() {}
                    }
                }
            });
        }
    });
    Server {
        base: format!("http://{addr}"),
        seen,
    }
}

fn get(url: &str) -> FetchRequest {
    FetchRequest::get(url, Duration::from_secs(5), FetchKind::Document)
}

fn fetcher() -> Fetcher {
    Fetcher::new(FetchConfig {
        default_timeout: Duration::from_secs(5),
        max_redirects: 5,
        max_body_bytes: 64 * 1024,
        user_agent: "vxgate-test".into(),
    })
    .unwrap()
}

#[tokio::test]
async fn get_and_post_with_body() {
    let server = serve(|r| match r.path.as_str() {
        "/doc.vxml" => ok("<vxml/>", &[("Content-Type", "application/voicexml+xml")]),
        "/submit" => ok(&String::from_utf8_lossy(&r.body), &[]),
        _ => send(404, "", &[]),
    })
    .await;
    let s = fetcher().session();
    let r = s.fetch(&get(&server.url("/doc.vxml"))).await.unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"<vxml/>"[..]));
    assert_eq!(r.content_type.as_deref(), Some("application/voicexml+xml"));
    assert_eq!(r.url, server.url("/doc.vxml"));
    let mut post = get(&server.url("/submit"));
    post.method = Method::Post;
    post.body = Some(Body {
        content_type: "application/x-www-form-urlencoded".into(),
        bytes: b"a=1&b=x%20y".to_vec(),
    });
    let r = s.fetch(&post).await.unwrap();
    assert_eq!(r.body, b"a=1&b=x%20y");
    let seen = server.requests();
    let p = seen.iter().find(|r| r.path == "/submit").unwrap();
    assert_eq!(p.method, "POST");
    assert_eq!(
        p.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(p.header("user-agent"), Some("vxgate-test"));
}

#[tokio::test]
async fn cookies_round_trip_per_session() {
    let server = serve(|r| match r.path.as_str() {
        "/login" => ok("", &[("Set-Cookie", "JSESSIONID=abc123; Path=/")]),
        "/whoami" => ok(r.header("cookie").unwrap_or("none"), &[]),
        _ => send(404, "", &[]),
    })
    .await;
    let f = fetcher();
    let s1 = f.session();
    s1.fetch(&get(&server.url("/login"))).await.unwrap();
    let r = s1.fetch(&get(&server.url("/whoami"))).await.unwrap();
    assert_eq!(r.body, b"JSESSIONID=abc123");
    // Another call has its own jar.
    let r = f
        .session()
        .fetch(&get(&server.url("/whoami")))
        .await
        .unwrap();
    assert_eq!(r.body, b"none");
}

#[tokio::test]
async fn cookies_set_on_a_redirect_are_sent_to_its_target() {
    let server = serve(|r| match r.path.as_str() {
        "/start" => send(
            302,
            "",
            &[("Location", "/next"), ("Set-Cookie", "s=1; Path=/")],
        ),
        "/next" => ok(r.header("cookie").unwrap_or("none"), &[]),
        _ => send(404, "", &[]),
    })
    .await;
    let r = fetcher()
        .session()
        .fetch(&get(&server.url("/start")))
        .await
        .unwrap();
    assert_eq!(r.body, b"s=1");
    assert_eq!(r.url, server.url("/next"));
}

#[tokio::test]
async fn redirects_followed_and_post_303_becomes_get() {
    let server = serve(|r| match r.path.as_str() {
        "/old" => send(301, "", &[("Location", "/new")]),
        "/new" => ok("new", &[]),
        "/form" => send(303, "", &[("Location", "/done")]),
        "/keep" => send(307, "", &[("Location", "/echo")]),
        "/done" | "/echo" => ok(
            &format!("{} {}", r.method, String::from_utf8_lossy(&r.body)),
            &[],
        ),
        _ => send(404, "", &[]),
    })
    .await;
    let s = fetcher().session();
    let r = s.fetch(&get(&server.url("/old"))).await.unwrap();
    assert_eq!(
        (r.body.as_slice(), r.url.as_str()),
        (&b"new"[..], server.url("/new").as_str())
    );
    let mut post = get(&server.url("/form"));
    post.method = Method::Post;
    post.body = Some(Body {
        content_type: "text/plain".into(),
        bytes: b"x".to_vec(),
    });
    assert_eq!(s.fetch(&post).await.unwrap().body, b"GET ");
    post.url = server.url("/keep");
    assert_eq!(s.fetch(&post).await.unwrap().body, b"POST x");
}

#[tokio::test]
async fn fragments_are_not_sent_nor_split_the_cache() {
    let server = serve(|r| match r.path.as_str() {
        "/app.vxml" => ok("doc", &[("Cache-Control", "max-age=600")]),
        "/moved" => send(302, "", &[("Location", "/app.vxml#b")]),
        _ => send(404, "", &[]),
    })
    .await;
    let s = fetcher().session();
    let mut req = get(&server.url("/app.vxml#menu"));
    req.kind = FetchKind::Grammar;
    let r = s.fetch(&req).await.unwrap();
    assert_eq!(r.url, server.url("/app.vxml#menu"));
    let r = s.fetch(&get(&server.url("/app.vxml#other"))).await.unwrap();
    assert_eq!(
        (r.url, r.body),
        (server.url("/app.vxml#other"), b"doc".to_vec())
    );
    let r = s.fetch(&get(&server.url("/moved#a"))).await.unwrap();
    assert_eq!(r.url, server.url("/app.vxml#b"));
    let seen = server.requests();
    assert_eq!(seen.iter().filter(|r| r.path == "/app.vxml").count(), 1);
    assert!(seen.iter().all(|r| !r.path.contains('#')));
    assert!(seen[0]
        .header("accept")
        .is_some_and(|a| a.starts_with("application/srgs+xml")));
}

#[tokio::test]
async fn redirect_loop_is_bounded() {
    let server = serve(|r| match r.path.as_str() {
        "/a" => send(302, "", &[("Location", "/b")]),
        "/b" => send(302, "", &[("Location", "/a")]),
        _ => send(404, "", &[]),
    })
    .await;
    let e = fetcher()
        .session()
        .fetch(&get(&server.url("/a")))
        .await
        .unwrap_err();
    assert!(
        matches!(e, FetchError::Network(ref m) if m.contains("redirects")),
        "{e:?}"
    );
    assert_eq!(e.event_name(), "error.badfetch");
    // max_redirects = 5: the first request and five redirects.
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test]
async fn http_errors_carry_the_status() {
    let server = serve(|r| match r.path.as_str() {
        "/boom" => send(500, "oops", &[]),
        "/noloc" => send(302, "", &[]),
        _ => send(404, "not here", &[]),
    })
    .await;
    let s = fetcher().session();
    let e = s
        .fetch(&get(&server.url("/missing.vxml")))
        .await
        .unwrap_err();
    assert_eq!(e, FetchError::Http(404));
    assert_eq!(e.event_name(), "error.badfetch.http.404");
    assert_eq!(
        s.fetch(&get(&server.url("/boom"))).await.unwrap_err(),
        FetchError::Http(500)
    );
    assert_eq!(
        s.fetch(&get(&server.url("/noloc"))).await.unwrap_err(),
        FetchError::Http(302)
    );
}

#[tokio::test]
async fn stalled_server_times_out() {
    let server = serve(|_| Reply::Stall).await;
    let mut req = get(&server.url("/slow"));
    req.timeout = Duration::from_millis(300);
    let e = fetcher().session().fetch(&req).await.unwrap_err();
    assert_eq!(e, FetchError::Timeout);
}

#[tokio::test]
async fn zero_timeout_uses_the_configured_default() {
    let server = serve(|_| Reply::Stall).await;
    let f = Fetcher::new(FetchConfig {
        default_timeout: Duration::from_millis(200),
        ..FetchConfig::default()
    })
    .unwrap();
    let mut req = get(&server.url("/slow"));
    req.timeout = Duration::ZERO;
    assert_eq!(
        f.session().fetch(&req).await.unwrap_err(),
        FetchError::Timeout
    );
}

#[tokio::test]
async fn connection_refused_is_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = fetcher()
        .session()
        .fetch(&get(&format!("http://{addr}/x")))
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Network(_)), "{e:?}");
}

#[tokio::test]
async fn fresh_response_is_served_from_cache_across_sessions() {
    let server = serve(|_| ok("cached", &[("Cache-Control", "max-age=600")])).await;
    let f = fetcher();
    let url = server.url("/app.js");
    assert_eq!(f.session().fetch(&get(&url)).await.unwrap().body, b"cached");
    let r = f.session().fetch(&get(&url)).await.unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"cached"[..]));
    assert_eq!(server.count("/app.js"), 1);
    assert_eq!(f.cache_stats().hits, 1);
    // maxage=0 (VoiceXML maxage attribute) refuses the cached copy.
    let mut req = get(&url);
    req.maxage = Some(Duration::ZERO);
    f.session().fetch(&req).await.unwrap();
    assert_eq!(server.count("/app.js"), 2);
}

#[tokio::test]
async fn expires_header_gives_freshness() {
    let server = serve(|r| match r.path.as_str() {
        "/future" => ok("f", &[("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")]),
        "/past" => ok("p", &[("Expires", "Thu, 01 Jan 1998 00:00:00 GMT")]),
        _ => send(404, "", &[]),
    })
    .await;
    let s = fetcher().session();
    for path in ["/future", "/past", "/future", "/past"] {
        s.fetch(&get(&server.url(path))).await.unwrap();
    }
    assert_eq!(server.count("/future"), 1);
    assert_eq!(server.count("/past"), 2);
}

#[tokio::test]
async fn no_store_and_private_are_not_cached() {
    let server = serve(|r| match r.path.as_str() {
        "/nostore" => ok("x", &[("Cache-Control", "no-store, max-age=600")]),
        "/private" => ok("x", &[("Cache-Control", "private, max-age=600")]),
        "/cookie" => ok(
            "x",
            &[("Cache-Control", "max-age=600"), ("Set-Cookie", "a=b")],
        ),
        _ => send(404, "", &[]),
    })
    .await;
    let s = fetcher().session();
    for path in ["/nostore", "/private", "/cookie"] {
        s.fetch(&get(&server.url(path))).await.unwrap();
        s.fetch(&get(&server.url(path))).await.unwrap();
        assert_eq!(server.count(path), 2, "{path}");
    }
}

#[tokio::test]
async fn etag_revalidation_reuses_body_on_304() {
    let server = serve(|r| {
        if r.header("if-none-match") == Some("\"v1\"") {
            send(304, "", &[("ETag", "\"v1\"")])
        } else {
            ok(
                "grammar-v1",
                &[
                    ("ETag", "\"v1\""),
                    ("Cache-Control", "no-cache"),
                    ("Content-Type", "application/srgs+xml"),
                ],
            )
        }
    })
    .await;
    let f = fetcher();
    let url = server.url("/g.grxml");
    f.session().fetch(&get(&url)).await.unwrap();
    let r = f.session().fetch(&get(&url)).await.unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"grammar-v1"[..]));
    let stats = f.cache_stats();
    assert_eq!(
        (stats.misses, stats.stored, stats.revalidated, stats.hits),
        (1, 1, 1, 0)
    );
    assert_eq!(r.content_type.as_deref(), Some("application/srgs+xml"));
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("if-none-match"), None);
    assert_eq!(seen[1].header("if-none-match"), Some("\"v1\""));
}

#[tokio::test]
async fn a_304_refreshes_the_stored_freshness() {
    // The 304 carries a new max-age: the stored copy becomes fresh and the next fetch needs no request.
    let server = serve(|r| {
        if r.header("if-none-match") == Some("\"v1\"") {
            send(
                304,
                "",
                &[("ETag", "\"v1\""), ("Cache-Control", "max-age=600")],
            )
        } else {
            ok("body", &[("ETag", "\"v1\""), ("Cache-Control", "no-cache")])
        }
    })
    .await;
    let s = fetcher().session();
    let url = server.url("/r");
    for _ in 0..3 {
        assert_eq!(s.fetch(&get(&url)).await.unwrap().body, b"body");
    }
    assert_eq!(server.requests().len(), 2);
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks (RFC 1952, RFC 1951 §3.2.4).
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut crc: u32 = !0;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    let crc = !crc;
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len())); // BFINAL on the last, BTYPE=00 (stored)
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[tokio::test]
async fn gzip_bodies_are_decoded_and_limited_after_decoding() {
    let small = gzip_stored(b"<vxml version='2.1'/>");
    let big = gzip_stored(&vec![b'z'; 64 * 1024 + 1]);
    let server = serve(move |r| {
        let body = if r.path == "/big" {
            big.clone()
        } else {
            small.clone()
        };
        Reply::Send {
            status: 200,
            headers: vec![("Content-Encoding".into(), "gzip".into())],
            body,
        }
    })
    .await;
    let s = fetcher().session();
    let r = s.fetch(&get(&server.url("/small"))).await.unwrap();
    assert_eq!(r.body, b"<vxml version='2.1'/>");
    assert!(server.requests()[0]
        .header("accept-encoding")
        .is_some_and(|v| v.contains("gzip")));
    assert_eq!(
        s.fetch(&get(&server.url("/big"))).await.unwrap_err(),
        FetchError::TooLarge(64 * 1024)
    );
}

#[tokio::test]
async fn a_304_for_another_version_is_not_used() {
    // The server answers the conditional request with 304 but a different strong ETag: the stored copy is not
    // validated, so the fetcher asks again unconditionally.
    let server = serve(|r| {
        if r.header("if-none-match").is_some() {
            send(304, "", &[("ETag", "\"v2\"")])
        } else {
            ok(
                "fresh",
                &[("ETag", "\"v1\""), ("Cache-Control", "no-cache")],
            )
        }
    })
    .await;
    let s = fetcher().session();
    let url = server.url("/d");
    s.fetch(&get(&url)).await.unwrap();
    assert_eq!(s.fetch(&get(&url)).await.unwrap().body, b"fresh");
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].header("if-none-match"), None);
}

#[tokio::test]
async fn last_modified_revalidation_and_changed_resource() {
    let version = Arc::new(AtomicUsize::new(1));
    let v = version.clone();
    let server = serve(move |r| {
        let lm = "Wed, 21 Oct 2015 07:28:00 GMT";
        if v.load(Ordering::SeqCst) == 1 && r.header("if-modified-since") == Some(lm) {
            send(304, "", &[])
        } else {
            let body = format!("v{}", v.load(Ordering::SeqCst));
            ok(
                &body,
                &[
                    ("Last-Modified", lm),
                    ("Cache-Control", "max-age=0, must-revalidate"),
                ],
            )
        }
    })
    .await;
    let s = fetcher().session();
    let url = server.url("/doc");
    assert_eq!(s.fetch(&get(&url)).await.unwrap().body, b"v1");
    assert_eq!(s.fetch(&get(&url)).await.unwrap().body, b"v1");
    assert_eq!(
        server.requests()[1].header("if-modified-since"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    version.store(2, Ordering::SeqCst);
    assert_eq!(s.fetch(&get(&url)).await.unwrap().body, b"v2");
}

#[tokio::test]
async fn maxstale_accepts_a_stale_copy_unless_must_revalidate() {
    let server = serve(|r| match r.path.as_str() {
        "/stale" => ok("s", &[("Cache-Control", "max-age=0")]),
        "/strict" => ok("s", &[("Cache-Control", "max-age=0, must-revalidate")]),
        _ => send(404, "", &[]),
    })
    .await;
    let s = fetcher().session();
    for path in ["/stale", "/strict"] {
        let mut req = get(&server.url(path));
        s.fetch(&req).await.unwrap();
        req.maxstale = Some(Duration::from_secs(600));
        s.fetch(&req).await.unwrap();
    }
    assert_eq!(server.count("/stale"), 1);
    assert_eq!(server.count("/strict"), 2);
}

#[tokio::test]
async fn post_is_never_served_from_cache() {
    let server = serve(|_| ok("r", &[("Cache-Control", "max-age=600")])).await;
    let s = fetcher().session();
    let mut post = get(&server.url("/submit"));
    post.method = Method::Post;
    s.fetch(&post).await.unwrap();
    s.fetch(&post).await.unwrap();
    assert_eq!(server.count("/submit"), 2);
}

#[tokio::test]
async fn oversized_bodies_fail_without_being_read() {
    let server = serve(|r| match r.path.as_str() {
        "/huge" => Reply::HugeLength,
        "/endless" => Reply::Endless,
        _ => ok(&"y".repeat(64 * 1024), &[]),
    })
    .await;
    let s = fetcher().session();
    // Content-Length announces 1 GB then the server stalls: only the header can have been used.
    let e = s.fetch(&get(&server.url("/huge"))).await.unwrap_err();
    assert_eq!(e, FetchError::TooLarge(64 * 1024));
    let e = s.fetch(&get(&server.url("/endless"))).await.unwrap_err();
    assert_eq!(e, FetchError::TooLarge(64 * 1024));
    // Exactly the limit is fine.
    assert_eq!(
        s.fetch(&get(&server.url("/limit")))
            .await
            .unwrap()
            .body
            .len(),
        64 * 1024
    );
}

#[tokio::test]
async fn file_urls_are_read_locally() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recovery.vxml");
    std::fs::write(&path, "<vxml version='2.1'/>").unwrap();
    std::fs::write(dir.path().join("big.vxml"), vec![b'x'; 64 * 1024 + 1]).unwrap();
    let s = fetcher().session();
    let url = format!("file://{}", path.display());
    let r = s.fetch(&get(&url)).await.unwrap();
    assert_eq!(r.body, b"<vxml version='2.1'/>");
    assert_eq!(r.content_type.as_deref(), Some("application/voicexml+xml"));
    let missing = url.replace("recovery", "missing");
    assert!(
        matches!(s.fetch(&get(&missing)).await.unwrap_err(), FetchError::Network(m) if m.contains("missing"))
    );
    let big = url.replace("recovery", "big");
    assert_eq!(
        s.fetch(&get(&big)).await.unwrap_err(),
        FetchError::TooLarge(64 * 1024)
    );
}

#[tokio::test]
async fn bad_urls_are_rejected() {
    let s = fetcher().session();
    for u in [
        "not a url",
        "ftp://127.0.0.1/x",
        "relative/doc.vxml",
        "",
        "https://127.0.0.1/x",
    ] {
        assert!(
            matches!(s.fetch(&get(u)).await.unwrap_err(), FetchError::BadUrl(_)),
            "{u:?}"
        );
    }
}
