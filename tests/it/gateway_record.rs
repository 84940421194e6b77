//! `<record>` on the IVR leg end to end: SIPp plays the call server and the caller (SIPp's shipped A-law speech
//! capture as RTP), `vxgate serve` records the caller, and a test IVR service on 127.0.0.1 receives the recording as
//! a multipart/form-data submit (VoiceXML 2.0 §2.3.6, §5.3.8) and checks it is a WAV of plausible length.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::sip_harness::{assert_sipp_ok, have_sipp, sipp, Gateway};

/// One request the test IVR service received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// An IVR service whose first page records the caller (`maxtime` 4 s) and submits it as multipart; the upload's
/// answer disconnects.
struct RecordIvr {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Received>>>,
}

const RECORD_PAGE: &str = r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <form>
    <record name="rec" maxtime="4s" finalsilence="3s" dtmfterm="true" type="audio/x-wav">
      <filled>
        <submit next="/upload" method="post" enctype="multipart/form-data" namelist="rec"/>
      </filled>
      <noinput><submit next="/noinput" method="get"/></noinput>
    </record>
  </form>
</vxml>"#;

const DISCONNECT_PAGE: &str = r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <form><block><disconnect/></block></form>
</vxml>"#;

async fn handle(
    log: Arc<Mutex<Vec<Received>>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let page = if path == "/upload" || path == "/noinput" {
        DISCONNECT_PAGE
    } else {
        RECORD_PAGE
    };
    log.lock().expect("log").push(Received {
        path,
        content_type,
        body,
    });
    let mut r = Response::new(Full::new(Bytes::from_static(page.as_bytes())));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/voicexml+xml"),
    );
    Ok(r)
}

impl RecordIvr {
    async fn start() -> RecordIvr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind ivr");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let l = l.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(l.clone(), req));
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                        .ok();
                });
            }
        });
        RecordIvr { addr, log }
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }
}

/// One part of a multipart/form-data body (RFC 7578).
struct Part {
    headers: String,
    body: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn multipart(content_type: &str, body: &[u8]) -> Vec<Part> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .expect("boundary parameter")
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut at = find(body, delim.as_bytes(), 0).expect("first delimiter") + delim.len();
    while body.get(at..at + 2) == Some(b"\r\n") {
        let start = at + 2;
        let head_end = find(body, b"\r\n\r\n", start).expect("part headers");
        let next = find(body, format!("\r\n{delim}").as_bytes(), head_end).expect("next delimiter");
        parts.push(Part {
            headers: String::from_utf8_lossy(&body[start..head_end]).into_owned(),
            body: body[head_end + 4..next].to_vec(),
        });
        at = next + 2 + delim.len();
    }
    parts
}

#[test]
fn record_uploads_the_callers_audio_as_a_wav() {
    if !have_sipp() {
        eprintln!("skipped: sipp (sip-tester) is not installed");
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ivr = rt.block_on(RecordIvr::start());
    // The caller offers A-law only (SIPp's shipped speech capture is PCMA).
    let peers = "[[dial_peer]]\ntag = 1402\nservice = \"bootstrap\"\nincoming_called_number = \"5417641402T\"\ncodec = \"g711alaw\"\n";
    let gw = Gateway::start("", peers);
    let port = ivr.addr.port().to_string();
    let out = sipp(
        &gw,
        "record_call.xml",
        "541764140244",
        &["-m", "1", "-set", "ivr_port", &port],
    );
    let log = gw.stop();
    assert_sipp_ok(&out, &format!("record call\n{log}"));
    let got = ivr.received();
    let upload = got
        .iter()
        .find(|r| r.path == "/upload")
        .unwrap_or_else(|| panic!("no upload; requests: {got:?}\n{log}"));
    assert!(
        upload.content_type.starts_with("multipart/form-data"),
        "{}",
        upload.content_type
    );
    let parts = multipart(&upload.content_type, &upload.body);
    let rec = parts
        .iter()
        .find(|p| p.headers.contains("name=\"rec\""))
        .expect("a part named rec");
    assert!(
        rec.headers
            .to_ascii_lowercase()
            .contains("content-type: audio/x-wav"),
        "{}",
        rec.headers
    );
    let wav = hound::WavReader::new(std::io::Cursor::new(&rec.body)).expect("a wav file");
    let spec = wav.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 8000, 16)
    );
    let samples: Vec<i16> = wav
        .into_samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    let secs = samples.len() as f64 / 8000.0;
    // maxtime is 4 s and the caller talks for 7 s: the recording is cut at maxtime (less the start-up).
    assert!(
        (2.5..=4.1).contains(&secs),
        "recording of {secs:.2} s\n{log}"
    );
    let rms =
        (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
    assert!(rms > 100.0, "recording is silent (rms {rms:.1})");
    assert!(log.contains("record: capture ended"), "{log}");
}
