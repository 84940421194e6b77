//! A sample IVR service (the CVP "IVR Service" role) over HTTP: the demo's call server application and the IVR
//! server of the SIP integration tests.
//!
//! It plays the seed's ICM script: on the bootstrap's new-call request it returns a Get Digits page (collect 4
//! digits); the submit with the digits gets a page that plays them back (one DTMF-tone prompt per digit, so a listener
//! can check them) and then queues the caller with hold music until the call server ends the leg. It also serves
//! the prompts (`/media/*.wav`, µ-law WAV) as the media server. Per-DNIS behaviours let tests make it stall or fail.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use vxgate_media::dtmf::Digit;
use vxgate_media::g711::Law;
use vxgate_media::prompt::{write_wav, Prompt};

use crate::service::tones;

/// Which request of a call a behaviour applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The bootstrap's new-call request.
    NewCall,
    /// The submit carrying the collected digits.
    Digits,
}

/// How the IVR service answers a call's request at one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Wait this long, then answer normally.
    Stall(Duration),
    /// Answer with this HTTP status and no page.
    Status(u16),
}

/// One request the IVR service received.
#[derive(Debug, Clone)]
pub struct IvrRequest {
    /// When it arrived.
    pub at: Instant,
    /// Path.
    pub path: String,
    /// Query parameters.
    pub params: Vec<(String, String)>,
}

impl IvrRequest {
    /// The value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Shared state of a running sample IVR.
#[derive(Default)]
struct State {
    log: Mutex<Vec<IvrRequest>>,
    behaviours: Mutex<HashMap<(String, StageKey), Behaviour>>,
    media: HashMap<String, Bytes>,
}

type StageKey = u8;

fn stage_key(s: Stage) -> StageKey {
    match s {
        Stage::NewCall => 0,
        Stage::Digits => 1,
    }
}

/// A running sample IVR service.
pub struct SampleIvr {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SampleIvr {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn wav(pcm: &[i16], name: &str) -> Bytes {
    let mut codes = vec![0u8; pcm.len()];
    // Same length by construction.
    vxgate_media::g711::encode(Law::Ulaw, pcm, &mut codes).ok();
    let prompt = Prompt::from_g711(Law::Ulaw, Arc::from(codes), name);
    let mut out = Vec::new();
    // Writing to memory does not fail for prompts this small.
    write_wav(&prompt, &mut out).ok();
    Bytes::from(out)
}

fn tone(freqs: &[f64], ms: usize, amp: f64) -> Vec<i16> {
    let n = ms * 8;
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let v: f64 = freqs
                .iter()
                .map(|f| (std::f64::consts::TAU * f * t).sin())
                .sum();
            (v * amp) as i16
        })
        .collect()
}

fn media_files() -> HashMap<String, Bytes> {
    let mut m = HashMap::new();
    let mut beep = tone(&[600.0], 300, 6000.0);
    beep.extend(vec![0i16; 1600]);
    m.insert(
        "enter_4_digits.wav".to_string(),
        wav(&beep, "enter_4_digits.wav"),
    );
    let mut two = tone(&[800.0], 150, 6000.0);
    two.extend(vec![0i16; 800]);
    two.extend(tone(&[800.0], 150, 6000.0));
    two.extend(vec![0i16; 1600]);
    m.insert("you_entered.wav".to_string(), wav(&two, "you_entered.wav"));
    for c in "0123456789*#".chars() {
        if let Some(d) = Digit::from_char(c) {
            let (lo, hi) = d.frequencies();
            let mut pcm = tone(&[lo, hi], 200, 5000.0);
            pcm.extend(vec![0i16; 1600]);
            let name = format!(
                "digit_{}.wav",
                if c == '*' {
                    "star".to_string()
                } else if c == '#' {
                    "pound".to_string()
                } else {
                    c.to_string()
                }
            );
            m.insert(name.clone(), wav(&pcm, &name));
        }
    }
    if let Some(pcm) = tones::builtin_pcm(tones::HOLD_MUSIC) {
        m.insert("holdmusic.wav".to_string(), wav(&pcm, "holdmusic.wav"));
    }
    m
}

impl SampleIvr {
    /// Starts the service on `bind` (port 0 for any).
    pub async fn start(bind: SocketAddr) -> std::io::Result<SampleIvr> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            media: media_files(),
            ..Default::default()
        });
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(st.clone(), addr, req));
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                        .ok();
                });
            }
        });
        Ok(SampleIvr { addr, state, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes requests of calls to `dnis` at `stage` behave as `b`.
    pub fn set_behaviour(&self, dnis: &str, stage: Stage, b: Behaviour) {
        if let Ok(mut m) = self.state.behaviours.lock() {
            m.insert((dnis.to_string(), stage_key(stage)), b);
        }
    }

    /// Every IVR request received so far (prompt downloads excluded).
    pub fn requests(&self) -> Vec<IvrRequest> {
        self.state.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

fn page(body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/voicexml+xml"),
    );
    r
}

fn status(code: u16) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

async fn handle(
    state: Arc<State>,
    addr: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    if let Some(name) = path.strip_prefix("/media/") {
        return Ok(match state.media.get(name) {
            Some(b) => {
                let mut r = Response::new(Full::new(b.clone()));
                r.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("audio/wav"),
                );
                r.headers_mut().insert(
                    hyper::header::CACHE_CONTROL,
                    hyper::header::HeaderValue::from_static("max-age=3600"),
                );
                r
            }
            None => status(404),
        });
    }
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let entry = IvrRequest {
        at: Instant::now(),
        path: path.clone(),
        params,
    };
    if let Ok(mut l) = state.log.lock() {
        l.push(entry.clone());
    }
    if path != "/cvp/VBServlet" {
        return Ok(status(404));
    }
    let dnis = entry.param("CALL_DNIS").unwrap_or("").to_string();
    if entry.param("MSG_TYPE") == Some("CALL_HANGUP") {
        return Ok(page(
            r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form><block><exit/></block></form></vxml>"#
                .to_string(),
        ));
    }
    let stage = if entry.param("MSG_TYPE") == Some("CALL_NEW") {
        Stage::NewCall
    } else {
        Stage::Digits
    };
    let behaviour = state
        .behaviours
        .lock()
        .ok()
        .and_then(|m| m.get(&(dnis.clone(), stage_key(stage))).copied());
    match behaviour {
        Some(Behaviour::Status(code)) => return Ok(status(code)),
        Some(Behaviour::Stall(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let media = format!("http://{addr}/media");
    let next = format!(
        "http://{addr}/cvp/VBServlet?CALL_DNIS={}&amp;CALL_ID={}",
        xml_escape(&url::form_urlencoded::byte_serialize(dnis.as_bytes()).collect::<String>()),
        xml_escape(entry.param("CALL_ID").unwrap_or(""))
    );
    let body = match stage {
        Stage::NewCall => format!(
            r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <form id="GetDigits">
    <field name="digits" type="digits?length=4">
      <prompt bargein="true"><audio src="{media}/enter_4_digits.wav"/></prompt>
      <filled><submit next="{next}" method="get" namelist="digits"/></filled>
      <noinput count="3"><submit next="{next}" method="get" namelist="digits"/></noinput>
      <nomatch count="3"><submit next="{next}" method="get" namelist="digits"/></nomatch>
    </field>
  </form>
</vxml>"#
        ),
        Stage::Digits => {
            let digits = entry.param("digits").unwrap_or("");
            let mut audio = String::new();
            for c in digits.chars().filter(|c| c.is_ascii_digit()) {
                audio.push_str(&format!("<audio src=\"{media}/digit_{c}.wav\"/>"));
            }
            format!(
                r##"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <form id="PlayData">
    <block>
      <log>caller entered {digits}</log>
      <prompt bargein="false"><audio src="{media}/you_entered.wav"/>{audio}</prompt>
      <goto next="#Queue"/>
    </block>
  </form>
  <catch event="connection.disconnect.hangup">
    <submit next="{next}&amp;MSG_TYPE=CALL_HANGUP" method="get"/>
  </catch>
  <form id="Queue">
    <property name="timeout" value="1s"/>
    <field name="hold" type="digits?length=1">
      <prompt bargein="false"><audio src="{media}/holdmusic.wav"/></prompt>
      <noinput><reprompt/></noinput>
      <nomatch><reprompt/></nomatch>
      <filled><clear namelist="hold"/></filled>
    </field>
  </form>
</vxml>"##,
                digits = xml_escape(digits)
            )
        }
    };
    Ok(page(body))
}
