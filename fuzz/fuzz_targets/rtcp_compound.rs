//! RTCP compound packets (RFC 3550 §6, Appendix A.2): `rtcp::read` and its item iterator, then a `Session` that
//! handles the same datagram.
#![no_main]

use std::time::{Duration, Instant, SystemTime};

use libfuzzer_sys::fuzz_target;
use vxgate_media::rtp::{
    rtcp, PayloadType, ReceiverConfig, RtpTime, SenderConfig, Session, SessionConfig, Ssrc,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(items) = rtcp::read(data) {
        for item in items {
            let _ = format!("{item:?}");
        }
    }
    let t0 = Instant::now();
    let cfg = SessionConfig {
        sender: SenderConfig {
            ssrc: Ssrc(0x1234_5678),
            payload_type: PayloadType::PCMU,
            initial_seq: 1,
            initial_ts: RtpTime(0),
        },
        receiver: ReceiverConfig::default(),
        cname: "fuzz@127.0.0.1".to_string(),
        session_bandwidth: 10_000.0,
        seed: 1,
    };
    let mut s = Session::new(
        cfg,
        t0,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let _ = s.handle_rtcp(t0 + Duration::from_millis(20), data);
    let _ = s.stats();
    let mut out = [0u8; 1500];
    let _ = s.poll_rtcp(t0 + Duration::from_secs(10), &mut out);
});
