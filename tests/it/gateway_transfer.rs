//! VoiceXML `<transfer>` end to end: SIPp plays the CVP call server's leg into `vxgate serve` (bootstrap service),
//! a test IVR service on 127.0.0.1 serves a page that transfers, and SIPp plays the far end (answering then hanging
//! up, busy, never answering) or, for blind transfer, the transferee that takes a REFER. The page submits the
//! transfer item's value (VoiceXML 2.0 §2.3.7.2.2), which the test reads from the IVR service's log.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::sip_harness::{assert_sipp_ok, free_port, have_sipp, sipp, Gateway, SippUas};
use crate::support::vxgate_check;

macro_rules! require_sipp {
    () => {
        if !have_sipp() {
            eprintln!("skipped: sipp (sip-tester) is not installed");
            return;
        }
    };
}

/// The IVR service: every request gets the transfer page, except `/result` (the submitted outcome), which gets a
/// page that disconnects. Request URIs are logged.
struct PageServer {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _rt: tokio::runtime::Runtime,
}

const DISCONNECT_PAGE: &str = r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form><block><disconnect/></block></form></vxml>"#;

fn transfer_page(dest: &str, kind: &str, connecttimeout: &str) -> String {
    transfer_page_maxtime(dest, kind, connecttimeout, "60s")
}

fn transfer_page_maxtime(dest: &str, kind: &str, connecttimeout: &str, maxtime: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <form>
    <transfer name="t" dest="{dest}" type="{kind}" connecttimeout="{connecttimeout}" maxtime="{maxtime}">
      <filled><submit next="/result" method="get" namelist="t"/></filled>
    </transfer>
  </form>
</vxml>"#
    )
}

async fn handle(
    page: Arc<String>,
    log: Arc<Mutex<Vec<String>>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let uri = req.uri().to_string();
    let body = if req.uri().path() == "/result" {
        DISCONNECT_PAGE.to_string()
    } else {
        page.to_string()
    };
    if let Ok(mut l) = log.lock() {
        l.push(uri);
    }
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/voicexml+xml"),
    );
    Ok(r)
}

impl PageServer {
    fn start(page: String) -> PageServer {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind ivr");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (l, page) = (log.clone(), Arc::new(page));
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (l, page) = (l.clone(), page.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(page.clone(), l.clone(), req));
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                        .ok();
                });
            }
        });
        PageServer { addr, log, _rt: rt }
    }

    /// The value the page submitted for the transfer item, waiting up to 10 s for it.
    fn outcome(&self) -> Option<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.log.lock().ok().and_then(|l| {
                l.iter()
                    .find_map(|u| u.split_once("/result?t=").map(|(_, v)| v.to_string()))
            });
            if found.is_some() || std::time::Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn route(port: u16) -> String {
    format!(
        "[[services.transfer]]\ndestination_pattern = \"1555T\"\ntarget = \"127.0.0.1:{port}\"\n"
    )
}

/// Runs the caller's scenario against a gateway that routes 1555... to `far_port`.
fn call(ivr: &PageServer, far_port: u16, caller: &str) -> (Output, String) {
    let gw = Gateway::start("", &route(far_port));
    let port = ivr.addr.port().to_string();
    let out = sipp(
        &gw,
        caller,
        "541764140144",
        &["-m", "1", "-set", "ivr_port", &port],
    );
    // The outcome submit happens before the page's disconnect, which SIPp waited for.
    let log = gw.stop();
    (out, log)
}

#[test]
fn bridge_transfer_far_end_hangs_up_is_far_end_disconnect() {
    require_sipp!();
    let far = SippUas::start("xfer_uas_answer_bye.xml");
    let ivr = PageServer::start(transfer_page("tel:+1-555-1000", "bridge", "10s"));
    let (out, log) = call(&ivr, far.port, "xfer_caller_bridge.xml");
    let far = far.wait();
    assert_sipp_ok(
        &out,
        &format!("caller re-invited to the far end and back\n{log}"),
    );
    assert_sipp_ok(&far, &format!("far end answered and hung up\n{log}"));
    assert_eq!(
        ivr.outcome().as_deref(),
        Some("far_end_disconnect"),
        "{log}"
    );
    assert!(log.contains("media bridged"), "{log}");
}

#[test]
fn bridge_transfer_relays_a_reinvite_of_the_far_end_to_the_caller() {
    require_sipp!();
    let far = SippUas::start("xfer_uas_reinvite_bye.xml");
    let ivr = PageServer::start(transfer_page("tel:+15551000", "bridge", "10s"));
    let (out, log) = call(&ivr, far.port, "xfer_caller_bridge_reinvite.xml");
    let far = far.wait();
    assert_sipp_ok(&out, &format!("caller gets the far end's re-invite\n{log}"));
    assert_sipp_ok(
        &far,
        &format!("far end's re-invite answered by the caller\n{log}"),
    );
    assert_eq!(
        ivr.outcome().as_deref(),
        Some("far_end_disconnect"),
        "{log}"
    );
    assert!(log.contains("re-invite relayed to the other leg"), "{log}");
}

#[test]
fn bridge_transfer_past_maxtime_is_maxtime_disconnect() {
    require_sipp!();
    let far = SippUas::start("xfer_uas_answer_stay.xml");
    let ivr = PageServer::start(transfer_page_maxtime(
        "tel:+15551000",
        "bridge",
        "10s",
        "2s",
    ));
    let (out, log) = call(&ivr, far.port, "xfer_caller_bridge.xml");
    let far = far.wait();
    assert_sipp_ok(
        &out,
        &format!("caller re-invited to the far end and back\n{log}"),
    );
    assert_sipp_ok(&far, &format!("far end gets the gateway's BYE\n{log}"));
    assert_eq!(
        ivr.outcome().as_deref(),
        Some("maxtime_disconnect"),
        "{log}"
    );
}

#[test]
fn consultation_transfer_hands_the_caller_over_once_the_far_end_answers() {
    require_sipp!();
    let far = SippUas::start("xfer_uas_answer_bye.xml");
    let ivr = PageServer::start(transfer_page("tel:+15551000", "consultation", "10s"));
    let (out, log) = call(&ivr, far.port, "xfer_caller_handover.xml");
    let far = far.wait();
    assert_sipp_ok(
        &out,
        &format!("caller re-invited to the far end, then BYE\n{log}"),
    );
    assert_sipp_ok(&far, &format!("far end answered and hung up\n{log}"));
    assert!(log.contains("transfer outcome Transferred"), "{log}");
    assert!(log.contains("far end gone after hand-over"), "{log}");
    // The session ended with the hand-over: no outcome submit.
    assert_eq!(ivr.outcome(), None, "{log}");
}

#[test]
fn bridge_transfer_to_a_busy_far_end_is_busy() {
    require_sipp!();
    let far = SippUas::start("xfer_uas_486.xml");
    let dest = format!("sip:agent@127.0.0.1:{}", far.port);
    let ivr = PageServer::start(transfer_page(&dest, "bridge", "10s"));
    let (out, log) = call(&ivr, far.port, "xfer_caller_plain.xml");
    let far = far.wait();
    assert_sipp_ok(&out, &format!("caller stays with the gateway\n{log}"));
    assert_sipp_ok(&far, &format!("far end busy\n{log}"));
    assert_eq!(ivr.outcome().as_deref(), Some("busy"), "{log}");
}

#[test]
fn bridge_transfer_refused_by_the_network_is_network_busy() {
    require_sipp!();
    let far = SippUas::start("surv_uas_503.xml");
    let dest = format!("sip:15551000@127.0.0.1:{}", far.port);
    let ivr = PageServer::start(transfer_page(&dest, "bridge", "10s"));
    let (out, log) = call(&ivr, far.port, "xfer_caller_plain.xml");
    let far = far.wait();
    assert_sipp_ok(&out, &format!("caller stays with the gateway\n{log}"));
    assert_sipp_ok(&far, &format!("far end 503\n{log}"));
    assert_eq!(ivr.outcome().as_deref(), Some("network_busy"), "{log}");
}

#[test]
fn bridge_transfer_without_answer_within_connecttimeout_is_noanswer() {
    require_sipp!();
    let far = SippUas::start("surv_uas_silent.xml");
    let ivr = PageServer::start(transfer_page("tel:15551000", "bridge", "2s"));
    let (out, log) = call(&ivr, far.port, "xfer_caller_plain.xml");
    let far = far.wait();
    assert_sipp_ok(&out, &format!("caller stays with the gateway\n{log}"));
    assert_sipp_ok(&far, &format!("far end gets the CANCEL\n{log}"));
    assert_eq!(ivr.outcome().as_deref(), Some("noanswer"), "{log}");
}

#[test]
fn blind_transfer_by_refer_accepted_releases_the_caller() {
    require_sipp!();
    let ivr = PageServer::start(transfer_page("tel:+15551000", "blind", "10s"));
    // No far end: the transferee places that call; its NOTIFYs tell the gateway how it went.
    let (out, log) = call(&ivr, free_port(), "xfer_caller_refer.xml");
    assert_sipp_ok(&out, &format!("REFER, 202, NOTIFY 100/200, BYE\n{log}"));
    assert!(log.contains("REFER accepted"), "{log}");
    // The interpreter hears of the hand-over when the REFER is accepted, before the NOTIFYs.
    assert!(log.contains("transfer outcome Transferred"), "{log}");
    assert!(log.contains("sipfrag=Some(200)"), "{log}");
}

#[test]
fn blind_transfer_to_a_peer_without_refer_places_the_call_itself() {
    require_sipp!();
    let far = SippUas::start("xfer_uas_answer_bye.xml");
    let ivr = PageServer::start(transfer_page("tel:+15551000", "blind", "10s"));
    let (out, log) = call(&ivr, far.port, "xfer_caller_refer_501.xml");
    let far = far.wait();
    assert_sipp_ok(
        &out,
        &format!("REFER 501, then re-INVITE to the far end, BYE\n{log}"),
    );
    assert_sipp_ok(&far, &format!("far end answered and hung up\n{log}"));
    assert!(log.contains("does not do REFER"), "{log}");
}

#[test]
fn check_reports_bad_transfer_routes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("gw.toml");
    std::fs::write(
        &cfg,
        "[[services.transfer]]\ndestination_pattern = \"15T5\"\ntarget = \"agents:5060\"\n",
    )
    .expect("write");
    let (out, text) = vxgate_check(&cfg);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("gw.toml:2:"), "{text}");
    assert!(text.contains("\"15T5\""), "{text}");
    assert!(
        text.contains("gw.toml:3:") && text.contains("\"agents:5060\" is not an ip:port"),
        "{text}"
    );
}
