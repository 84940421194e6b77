//! `<mark>` on the IVR leg (VoiceXML 2.1 §4): the gateway reports a mark to the interpreter when the audio before it
//! has played, so a caller's RFC 4733 digit barging in during the next audio gives `lastresult$.markname`.
//!
//! In process: the gateway (`vxgate::sip::server`) with built-in defaults, the demo's call server playing CVP and
//! the caller (rsipstack UAC, an engine session sending telephone-events), and a test IVR service on 127.0.0.1.
//! Wall-clock timing: the digit goes 2.5 s into a prompt of 1 s audio, the mark, then 4 s audio, so it lands after
//! the mark with 1.4 s of margin for a late start (the mark after the second audio sits 1.6 s further).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::sip_harness::in_process_gateway;
use crate::vxml::{vxml, wav_silence, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtmf_barge_in_after_a_mark_reports_it_through_the_gateway() {
    let ivr = Server::start(vec![
        (
            "/cvp/VBServlet",
            vxml(
                r#"<var name="mk" expr="'none'"/><var name="mt" expr="-1"/>
                <catch><submit next="/result" namelist="mk mt"/></catch>
                <form><field name="a"><option dtmf="1">one</option>
                  <prompt><audio src="/one.wav"/><mark name="m2"/><audio src="/two.wav"/><mark name="m3"/></prompt>
                  <filled><assign name="mk" expr="application.lastresult$.markname"/>
                    <assign name="mt" expr="application.lastresult$.marktime"/>
                    <submit next="/result" namelist="mk mt"/></filled></field></form>"#,
            ),
        ),
        ("/one.wav", wav_silence(1000)),
        ("/two.wav", wav_silence(4000)),
        ("/result", vxml(r#"<form><block><exit/></block></form>"#)),
    ]);
    let ivr_addr: SocketAddr = ivr
        .url("")
        .trim_start_matches("http://")
        .parse()
        .expect("server address");

    let (server, gw, cs) = in_process_gateway().await;
    let leg = cs
        .call(gw, "541764140144", "1-2-3-4", ivr_addr)
        .await
        .expect("call");
    assert_eq!(leg.status, 200);

    // The gateway fetches a prompt's audio before it plays it: the prompt starts right after /two.wav is served.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ivr.seen().iter().any(|q| q.target == "/two.wav") {
        assert!(
            Instant::now() < deadline,
            "no audio fetch: {:?}",
            ivr.seen()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    leg.send_dtmf("1");

    let deadline = Instant::now() + Duration::from_secs(10);
    let result = loop {
        if let Some(q) = ivr
            .seen()
            .into_iter()
            .find(|q| q.target.starts_with("/result"))
        {
            break q.target;
        }
        assert!(
            Instant::now() < deadline,
            "no result submit: {:?}",
            ivr.seen()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    leg.hangup().await;
    server.shutdown();
    assert!(result.contains("mk=m2"), "{result}");
    let mt: i64 = result
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("mt="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    // About 500 ms after the mark; anything from 0 to the second audio's 2 s means the mark was placed right.
    assert!((0..=2_100).contains(&mt), "marktime {mt}: {result}");
}
