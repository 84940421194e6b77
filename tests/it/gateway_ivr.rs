//! The IVR leg end to end: SIPp plays the CVP call server (with RFC 2833 digits from its shipped captures), the
//! sample IVR service runs in this test process on 127.0.0.1, `vxgate serve` runs the bootstrap service.

use std::net::SocketAddr;
use std::time::Duration;

use vxgate::cli::demo::ivr::{Behaviour, SampleIvr, Stage};

use crate::sip_harness::{assert_sipp_ok, have_sipp, sipp, Gateway};

macro_rules! require_sipp {
    () => {
        if !have_sipp() {
            eprintln!("skipped: sipp (sip-tester) is not installed");
            return;
        }
    };
}

fn ivr() -> (tokio::runtime::Runtime, SampleIvr) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ivr = rt
        .block_on(SampleIvr::start(SocketAddr::from(([127, 0, 0, 1], 0))))
        .expect("ivr server");
    (rt, ivr)
}

#[test]
fn ivr_leg_rtp_dtmf_digits_reach_the_ivr_service() {
    require_sipp!();
    let (_rt, ivr) = ivr();
    let gw = Gateway::start("", "");
    let port = ivr.addr().port().to_string();
    let out = sipp(
        &gw,
        "ivr_dtmf.xml",
        "541764140144",
        &["-m", "1", "-set", "ivr_port", &port],
    );
    // The page's connection.disconnect.hangup handler submits after the call server's BYE.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline
        && !ivr
            .requests()
            .iter()
            .any(|r| r.param("MSG_TYPE") == Some("CALL_HANGUP"))
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = gw.stop();
    assert_sipp_ok(&out, "ivr leg");
    assert!(
        ivr.requests()
            .iter()
            .any(|r| r.param("MSG_TYPE") == Some("CALL_HANGUP")),
        "no hangup submit: {:?}",
        ivr.requests()
    );
    let reqs = ivr.requests();
    let new_call = reqs
        .iter()
        .find(|r| r.param("MSG_TYPE") == Some("CALL_NEW"))
        .expect("new-call request");
    assert_eq!(new_call.param("CALL_DNIS"), Some("541764140144"));
    assert_eq!(
        new_call.param("CALL_ID"),
        Some("8B82AD85F07B11DC80250013192D1650")
    );
    assert_eq!(new_call.param("CALL_ANI"), Some("4085550123"));
    let digits = reqs
        .iter()
        .find_map(|r| r.param("digits").map(str::to_string));
    assert_eq!(digits.as_deref(), Some("2345"), "requests: {reqs:?}\n{log}");
}

#[test]
fn ivr_stall_past_fetch_timeout_is_bye_with_cause_38() {
    require_sipp!();
    let (_rt, ivr) = ivr();
    ivr.set_behaviour(
        "541764140177",
        Stage::NewCall,
        Behaviour::Stall(Duration::from_secs(8)),
    );
    let gw = Gateway::start("", "");
    let port = ivr.addr().port().to_string();
    let out = sipp(
        &gw,
        "ivr_expect_bye38.xml",
        "541764140177",
        &["-m", "1", "-set", "ivr_port", &port],
    );
    let log = gw.stop();
    assert_sipp_ok(&out, &format!("stall -> cause 38\n{log}"));
    assert!(log.contains("recovery"), "{log}");
}

#[test]
fn ivr_http_500_is_bye_with_cause_38() {
    require_sipp!();
    let (_rt, ivr) = ivr();
    ivr.set_behaviour("541764140155", Stage::NewCall, Behaviour::Status(500));
    let gw = Gateway::start("", "");
    let port = ivr.addr().port().to_string();
    let out = sipp(
        &gw,
        "ivr_expect_bye38.xml",
        "541764140155",
        &["-m", "1", "-set", "ivr_port", &port],
    );
    let log = gw.stop();
    assert_sipp_ok(&out, &format!("500 -> cause 38\n{log}"));
}

#[test]
fn bye_mid_fetch_ends_the_call_cleanly() {
    require_sipp!();
    let (_rt, ivr) = ivr();
    ivr.set_behaviour(
        "541764140166",
        Stage::NewCall,
        Behaviour::Stall(Duration::from_secs(5)),
    );
    let gw = Gateway::start("", "");
    let port = ivr.addr().port().to_string();
    let out = sipp(
        &gw,
        "ivr_bye_midfetch.xml",
        "541764140166",
        &["-m", "1", "-set", "ivr_port", &port],
    );
    assert_sipp_ok(&out, "bye mid-fetch");
    // The gateway is still healthy: the next call works.
    let out = sipp(&gw, "basic_call.xml", "91919191", &["-m", "1", "-d", "100"]);
    assert_sipp_ok(&out, "next call after bye mid-fetch");
    let log = gw.stop();
    assert!(log.contains("caller hung up"), "{log}");
}

#[test]
fn two_hundred_concurrent_ivr_calls_zero_failures() {
    require_sipp!();
    let (_rt, ivr) = ivr();
    let gw = Gateway::start("", "");
    let port = ivr.addr().port().to_string();
    // 200 calls held together: all placed within 2 s, each up 4 s.
    let out = sipp(
        &gw,
        "ivr_call.xml",
        "541764140144",
        &[
            "-m", "200", "-l", "200", "-r", "100", "-d", "4000", "-set", "ivr_port", &port,
        ],
    );
    let log = gw.stop();
    assert_sipp_ok(
        &out,
        &format!("200 concurrent\n{}", &log[log.len().saturating_sub(4000)..]),
    );
}

#[test]
fn demo_runs_the_four_legs() {
    let out = std::process::Command::new(crate::support::vxgate_bin())
        .args(["demo", "--stall-secs", "8"])
        .output()
        .expect("run vxgate demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("digits 5432 reached the IVR service"),
        "{text}"
    );
    assert!(text.contains("Q.850;cause=38"), "{text}");
}
