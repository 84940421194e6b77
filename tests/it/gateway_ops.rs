//! Operating the gateway: `vxgate check` on config files, draining on SIGTERM.

use std::time::Duration;

use crate::sip_harness::{assert_sipp_ok, have_sipp, sipp, Gateway};
use crate::support::vxgate_check;

#[test]
fn check_lists_every_problem_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[sip]\nudp = \"127.0.0.1:99999\"\n\n[[dial_peer]]\ntag = 1401\nservice = \"bootstrap\"\nincoming_called_number = \"5417641401T\"\ncodec = \"g729\"\n\n[[dial_peer]]\ntag = 1401\nservice = \"ringtone\"\nincoming_called_number = \"91[9-1]\"\n",
    )
    .expect("write");
    let (out, _) = vxgate_check(&bad);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let name = bad.display().to_string();
    for (line, what) in [
        (2, "99999"),
        (8, "g729"),
        (11, "duplicate dial-peer tag 1401"),
        (13, "91[9-1]"),
    ] {
        assert!(
            text.contains(&format!("{name}:{line}: ")) && text.contains(what),
            "line {line} ({what}) missing:\n{text}"
        );
    }

    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[[dial_peer]]\ntag = 7\nservice = \"ringtone\"\nincoming_called_number = \"9191....\"\n",
    )
    .expect("write");
    let (out, _) = vxgate_check(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("dial-peer 7 service ringtone"));
}

#[test]
fn sigterm_drains_options_and_invites_get_503_calls_finish() {
    if !have_sipp() {
        eprintln!("skipped: sipp (sip-tester) is not installed");
        return;
    }
    let gw = Gateway::start_with("", "", 20);
    let addr = gw.addr;
    let holder = crate::sip_harness::ringtone_call_in_background(addr, 3000);
    std::thread::sleep(Duration::from_millis(800));
    gw.terminate();
    std::thread::sleep(Duration::from_millis(300));
    assert_sipp_ok(
        &sipp(&gw, "options_503.xml", "x", &["-m", "1"]),
        "options while draining",
    );
    assert_sipp_ok(
        &sipp(&gw, "reject_503.xml", "92929292", &["-m", "1"]),
        "invite while draining",
    );
    assert_sipp_ok(
        &holder.join().expect("holder"),
        "the call in progress finishes",
    );
}

/// `vxgate check` on one bad config: exit 1, and a `FILE:LINE: ` problem that contains each of `needles`.
fn check_fails_naming(config: &str, line: usize, needles: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, config).expect("write");
    let (out, text) = vxgate_check(&path);
    assert_eq!(out.status.code(), Some(1), "{config}\n->\n{text}");
    assert!(!text.contains("panicked"), "{text}");
    let prefix = format!("{}:{line}: ", path.display());
    let problem = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no problem at line {line}:\n{config}\n->\n{text}"));
    for n in needles {
        assert!(problem.contains(n), "{n:?} not named in {problem:?}");
    }
}

#[test]
fn check_names_the_field_of_each_kind_of_bad_config() {
    // Not TOML at all: an unclosed table header.
    check_fails_naming("[sip\nudp = \"127.0.0.1:5060\"\n", 1, &[]);
    // Unknown keys, in a table and in a dial-peer.
    check_fails_naming("[sip]\nudp_port = 5060\n", 2, &["udp_port"]);
    check_fails_naming(
        "[[dial_peer]]\ntag = 1\nservice = \"ringtone\"\ncalled_number = \"9191\"\n",
        4,
        &["called_number"],
    );
    // A wrong type names the key it was found at.
    check_fails_naming("[sip]\nmax_conn = \"lots\"\n", 2, &["sip.max_conn"]);
    check_fails_naming(
        "[media]\nport_min = 20000\nport_max = 10000\n",
        3,
        &["port_min", "port_max", "20000", "10000"],
    );
    check_fails_naming("[media]\nport_min = 80\n", 2, &["media.port_min", "80"]);
    check_fails_naming(
        "[[dial_peer]]\ntag = 1\nservice = \"ringtone\"\nincoming_called_number = \"54A1\"\n",
        4,
        &["incoming_called_number", "54A1"],
    );
    check_fails_naming(
        "[[dial_peer]]\ntag = 1\nservice = \"ringtone\"\nincoming_called_number = \"9T1\"\n",
        4,
        &["incoming_called_number", "9T1"],
    );
    check_fails_naming(
        "[sip]\ntrusted_sources = [\"10.0.0.0/33\"]\n",
        2,
        &["trusted_sources", "10.0.0.0/33"],
    );
    check_fails_naming(
        "[services]\nfetch_timeout_ms = -5\n",
        2,
        &["services.fetch_timeout_ms", "-5"],
    );
}

#[test]
fn check_of_a_missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope.toml");
    let (out, text) = vxgate_check(&path);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("nope.toml"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
