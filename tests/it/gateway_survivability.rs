//! Survivability (ingress role) end to end: SIPp plays the PSTN caller into `vxgate serve` and, as UAS, the call
//! servers the gateway forwards to (one answering 503, one never answering, one answering 200). The caller must be
//! connected to the one that answers (its SDP in the 200 OK); with all failing, the gateway answers, plays the call
//! back later message and hangs up with `Reason: Q.850;cause=38`.

use crate::sip_harness::{assert_sipp_ok, have_sipp, sipp, Gateway, SippUas};
use crate::support::vxgate_check;

fn config(dests: &[(u16, u64)]) -> String {
    let mut c = String::from(
        "[[dial_peer]]\ntag = 1400\nservice = \"survivability\"\nincoming_called_number = \"5417641400\"\n\n",
    );
    for (port, ms) in dests {
        c.push_str(&format!(
            "[[services.survivability]]\naddress = \"127.0.0.1:{port}\"\ntimeout_ms = {ms}\n\n"
        ));
    }
    c
}

#[test]
fn survivability_fails_over_503_and_timeout_to_the_answering_call_server() {
    if !have_sipp() {
        eprintln!("skipped: sipp (sip-tester) is not installed");
        return;
    }
    let down = SippUas::start("surv_uas_503.xml");
    let silent = SippUas::start("surv_uas_silent.xml");
    let up = SippUas::start("surv_uas_200.xml");
    let gw = Gateway::start(
        "",
        &config(&[(down.port, 2000), (silent.port, 1500), (up.port, 2000)]),
    );
    let out = sipp(&gw, "surv_caller.xml", "5417641400", &["-m", "1"]);
    let (down, silent, up) = (down.wait(), silent.wait(), up.wait());
    let log = gw.stop();
    assert_sipp_ok(
        &out,
        &format!("caller connected to the third call server\n{log}"),
    );
    assert_sipp_ok(&down, "call server answering 503");
    assert_sipp_ok(&silent, "call server never answering (cancelled)");
    assert_sipp_ok(&up, "call server answering 200 (then the relayed BYE)");
    assert!(log.contains("no final answer within 1500 ms"), "{log}");
    assert!(log.contains("call server answered 503"), "{log}");
}

#[test]
fn survivability_all_failing_plays_the_message_and_hangs_up_with_cause_38() {
    if !have_sipp() {
        eprintln!("skipped: sipp (sip-tester) is not installed");
        return;
    }
    let down = SippUas::start("surv_uas_503.xml");
    let silent = SippUas::start("surv_uas_silent.xml");
    let gw = Gateway::start("", &config(&[(down.port, 2000), (silent.port, 1000)]));
    let out = sipp(&gw, "surv_caller_fallback.xml", "5417641400", &["-m", "1"]);
    let (down, silent) = (down.wait(), silent.wait());
    let log = gw.stop();
    assert_sipp_ok(
        &out,
        &format!("caller gets the message and BYE cause 38\n{log}"),
    );
    assert_sipp_ok(&down, "call server answering 503");
    assert_sipp_ok(&silent, "call server never answering (cancelled)");
    assert!(log.contains("callback_later.wav"), "{log}");
}

#[test]
fn check_reports_bad_survivability_destinations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("gw.toml");
    std::fs::write(
        &cfg,
        "[[dial_peer]]\ntag = 1400\nservice = \"survivability\"\nincoming_called_number = \"5417641400\"\n\n[[services.survivability]]\naddress = \"callserver:5060\"\ntimeout_ms = 0\n",
    )
    .expect("write");
    let (out, text) = vxgate_check(&cfg);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("\"callserver:5060\" is not an ip:port"),
        "{text}"
    );
    assert!(
        text.contains("timeout_ms: 0 must be a positive number"),
        "{text}"
    );
    // A survivability dial-peer with no destinations at all.
    std::fs::write(
        &cfg,
        "[[dial_peer]]\ntag = 1400\nservice = \"survivability\"\nincoming_called_number = \"5417641400\"\n",
    )
    .expect("write");
    let (out, text) = vxgate_check(&cfg);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("needs [[services.survivability]] destinations"),
        "{text}"
    );
}

#[test]
fn survivability_caller_cancel_cancels_the_outbound_leg() {
    if !have_sipp() {
        eprintln!("skipped: sipp (sip-tester) is not installed");
        return;
    }
    let silent = SippUas::start("surv_uas_silent.xml");
    let gw = Gateway::start("", &config(&[(silent.port, 5000)]));
    let out = sipp(&gw, "surv_caller_cancel.xml", "5417641400", &["-m", "1"]);
    let silent = silent.wait();
    let log = gw.stop();
    assert_sipp_ok(&out, &format!("caller cancel -> 487\n{log}"));
    assert_sipp_ok(&silent, &format!("call server gets the CANCEL\n{log}"));
    assert!(
        log.contains("caller cancelled; cancelling the outbound leg"),
        "{log}"
    );
}

#[test]
fn survivability_relays_ringing_and_early_media_to_the_caller() {
    if !have_sipp() {
        eprintln!("skipped: sipp (sip-tester) is not installed");
        return;
    }
    let up = SippUas::start("surv_uas_early_200.xml");
    let gw = Gateway::start("", &config(&[(up.port, 5000)]));
    let out = sipp(&gw, "surv_caller_early.xml", "5417641400", &["-m", "1"]);
    let up = up.wait();
    let log = gw.stop();
    assert_sipp_ok(&out, &format!("caller gets 180, 183 with sdp, 200\n{log}"));
    assert_sipp_ok(&up, &format!("call server with early media\n{log}"));
    assert!(log.contains("early_media=true"), "{log}");
}

#[test]
fn survivability_relays_reinvite_both_ways() {
    if !have_sipp() {
        eprintln!("skipped: sipp (sip-tester) is not installed");
        return;
    }
    let up = SippUas::start("surv_uas_reinvite.xml");
    let gw = Gateway::start("", &config(&[(up.port, 5000)]));
    let out = sipp(&gw, "surv_caller_reinvite.xml", "5417641400", &["-m", "1"]);
    let up = up.wait();
    let log = gw.stop();
    assert_sipp_ok(
        &out,
        &format!("caller re-invite relayed and call server re-invite relayed\n{log}"),
    );
    assert_sipp_ok(
        &up,
        &format!("call server sees the caller's re-invite and gets its own answered\n{log}"),
    );
    assert_eq!(
        log.matches("re-invite relayed to the other leg").count(),
        2,
        "{log}"
    );
}
