//! The gateway's media follows the SIP dialog: RTP goes where the latest SDP says, and stops on hold.
//!
//! In process: the gateway (`vxgate::sip::server`) and the demo's call server (rsipstack UAC) on 127.0.0.1; the
//! caller's RTP address is a plain UDP socket of this test, so what the gateway sends is observed directly.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use vxgate::cli::demo::ivr::SampleIvr;

use crate::sip_harness::in_process_gateway;

/// Waits up to `limit` for one RTP packet on `sock`; returns its payload type.
async fn rtp_pt(sock: &UdpSocket, limit: Duration) -> Option<u8> {
    let mut buf = [0u8; 2048];
    let (n, _) = tokio::time::timeout(limit, sock.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    (n >= 12 && buf[0] >> 6 == 2).then_some(buf[1] & 0x7f)
}

/// Whether `sock` goes quiet: no packet for `quiet`, reached within `within`. A stream that keeps arriving fails.
async fn goes_quiet(sock: &UdpSocket, quiet: Duration, within: Duration) -> bool {
    let mut buf = [0u8; 2048];
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if tokio::time::timeout(quiet, sock.recv_from(&mut buf))
            .await
            .is_err()
        {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inband_dtmf_when_the_offer_has_no_telephone_event() {
    let ivr = SampleIvr::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("ivr");
    let (server, gw, cs) = in_process_gateway().await;
    let leg = cs
        .call_inband(gw, "541764140144", "5-6-7-8", ivr.addr())
        .await
        .expect("call");
    assert_eq!(leg.status, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    leg.play_tones("2580");
    let mut digits = None;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        digits = ivr
            .requests()
            .iter()
            .find_map(|r| r.param("digits").map(str::to_string));
        if digits.is_some() {
            break;
        }
    }
    assert_eq!(digits.as_deref(), Some("2580"), "{:?}", ivr.requests());
    leg.hangup().await;
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinvite_moves_rtp_and_hold_stops_it() {
    let (server, gw, cs) = in_process_gateway().await;

    let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind a");
    let b = UdpSocket::bind("127.0.0.1:0").await.expect("bind b");
    let ivr = SocketAddr::from(([127, 0, 0, 1], 9));
    let guid = "1-2-3-4";
    let mut leg = cs
        .call_with_rtp(gw, "91919191", guid, ivr, a.local_addr().expect("addr"))
        .await
        .expect("call");
    assert_eq!(leg.status, 200);
    // Ringback arrives at A in PCMU.
    assert_eq!(rtp_pt(&a, Duration::from_secs(2)).await, Some(0));

    // re-INVITE to B at once after the ACK: the media moves without dropping the call. (A re-INVITE overtaking the
    // ACK on the gateway's side used to go unanswered: src/sip/ack_gate.rs.)
    let (status, answer) = leg
        .reinvite(b.local_addr().expect("addr"), "sendrecv")
        .await
        .expect("re-invite");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&answer).contains("a=sendrecv"));
    assert_eq!(
        rtp_pt(&b, Duration::from_secs(2)).await,
        Some(0),
        "rtp did not move to b"
    );
    // Packets already in flight may still land; the stream to A must stop.
    assert!(
        goes_quiet(&a, Duration::from_millis(400), Duration::from_secs(5)).await,
        "rtp still sent to a"
    );

    // Hold (a=sendonly from the call server): the gateway answers recvonly and stops sending.
    let (status, answer) = leg
        .reinvite(b.local_addr().expect("addr"), "sendonly")
        .await
        .expect("hold");
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&answer).contains("a=recvonly"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        goes_quiet(&b, Duration::from_millis(400), Duration::from_secs(5)).await,
        "rtp sent while on hold"
    );

    // Resume.
    let (status, _) = leg
        .reinvite(b.local_addr().expect("addr"), "sendrecv")
        .await
        .expect("resume");
    assert_eq!(status, 200);
    assert_eq!(
        rtp_pt(&b, Duration::from_secs(2)).await,
        Some(0),
        "rtp did not resume"
    );
    leg.hangup().await;
    server.shutdown();
}
