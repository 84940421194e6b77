//! A broken IVR service on a live IVR leg: the page does not parse, the page is not there, the page is empty. Each
//! call must end the CVP way (recovery, then handoff: BYE with Q.850 cause 38, CALLFLOW.md "Fetch failure") while a
//! call on another leg goes on undisturbed, and the gateway takes the next call.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sip_harness::{assert_sipp_ok, have_sipp, sipp, Gateway};

/// An HTTP/1.1 server on 127.0.0.1 that answers its n-th request with the n-th of a list of (status, body) (the
/// last one repeated), and counts requests.
struct FixedHttp {
    addr: SocketAddr,
    hits: Arc<Mutex<usize>>,
}

impl FixedHttp {
    fn start(status: u16, body: &'static str) -> FixedHttp {
        FixedHttp::start_seq(vec![(status, body)])
    }

    fn start_seq(answers: Vec<(u16, &'static str)>) -> FixedHttp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind http");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(Mutex::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for (i, conn) in listener.incoming().enumerate() {
                let Ok(conn) = conn else { continue };
                let counter = counter.clone();
                let (status, body) = answers[i.min(answers.len() - 1)];
                std::thread::spawn(move || serve(conn, status, body, &counter));
            }
        });
        FixedHttp { addr, hits }
    }

    fn hits(&self) -> usize {
        *self.hits.lock().expect("hits")
    }
}

fn serve(mut conn: TcpStream, status: u16, body: &str, hits: &Mutex<usize>) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // The request head (and a short body, if any, is left unread: the response closes the connection).
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    *hits.lock().expect("hits") += 1;
    let resp = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/voicexml+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(resp.as_bytes()).ok();
}

/// Runs one IVR leg against an IVR service that answers `status`/`body`, while a ringtone call is in progress on
/// the same gateway; the IVR leg must get BYE with cause 38, the ringtone call must complete normally.
fn ivr_leg_ends_with_cause_38(status: u16, body: &'static str, dnis: &str) {
    ivr_leg_on(FixedHttp::start(status, body), dnis);
}

fn ivr_leg_on(http: FixedHttp, dnis: &str) {
    if !have_sipp() {
        eprintln!("skipped: sipp (sip-tester) is not installed");
        return;
    }
    let gw = Gateway::start("", "");
    let addr = gw.addr;
    let other = crate::sip_harness::ringtone_call_in_background(addr, 4000);
    std::thread::sleep(Duration::from_millis(300));
    let port = http.addr.port().to_string();
    let out = sipp(
        &gw,
        "ivr_expect_bye38.xml",
        dnis,
        &["-m", "1", "-set", "ivr_port", &port],
    );
    let other = other.join().expect("other call");
    let next = sipp(&gw, "basic_call.xml", "91919191", &["-m", "1", "-d", "100"]);
    let log = gw.stop();
    assert_sipp_ok(&out, &format!("ivr leg -> cause 38\n{log}"));
    assert!(http.hits() >= 1, "the ivr service was never asked\n{log}");
    assert!(log.contains("recovery"), "{log}");
    assert_sipp_ok(&other, &format!("the call on the other leg\n{log}"));
    assert_sipp_ok(&next, "the next call");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn unclosed_tag_in_the_first_page_is_recovery_and_cause_38() {
    ivr_leg_ends_with_cause_38(
        200,
        "<?xml version=\"1.0\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">\n<form><block>\n",
        "541764140181",
    );
}

#[test]
fn page_not_found_is_recovery_and_cause_38() {
    ivr_leg_ends_with_cause_38(404, "not here", "541764140182");
}

#[test]
fn empty_page_is_recovery_and_cause_38() {
    ivr_leg_ends_with_cause_38(200, "", "541764140183");
}

#[test]
fn binary_junk_page_is_recovery_and_cause_38() {
    ivr_leg_ends_with_cause_38(200, "\u{1}\u{2}<<<>>>&&&\u{0}", "541764140184");
}

#[test]
fn endless_goto_loop_page_is_recovery_and_cause_38() {
    ivr_leg_ends_with_cause_38(
        200,
        "<?xml version=\"1.0\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">\n<form id=\"a\"><block><goto next=\"#a\"/></block></form></vxml>\n",
        "541764140185",
    );
}

#[test]
fn endless_script_loop_page_is_recovery_and_cause_38() {
    ivr_leg_ends_with_cause_38(
        200,
        "<?xml version=\"1.0\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">\n<form><block><script>while (true) {}</script></block></form></vxml>\n",
        "541764140186",
    );
}

#[test]
fn broken_page_after_a_submit_is_recovery_and_cause_38() {
    // The first page is fine and submits at once; the page that answers the submit is cut off mid-tag.
    let first =
        "<?xml version=\"1.0\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">\n\
<form><block><submit next=\"/cvp/VBServlet?step=2\"/></block></form></vxml>\n";
    let broken = "<?xml version=\"1.0\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">\n<form><blo";
    let http = FixedHttp::start_seq(vec![(200, first), (200, broken)]);
    let hits = http.hits.clone();
    ivr_leg_on(http, "541764140187");
    if have_sipp() {
        assert!(*hits.lock().expect("hits") >= 2, "the submit never came");
    }
}
