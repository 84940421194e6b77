//! RTP datagrams (RFC 3550 §5.1): `RtpPacket::parse` on one datagram, then a `Receiver` fed a sequence of them.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vxgate_media::rtp::{write_packet, Receiver, ReceiverConfig, RtpPacket};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    /// Datagrams and the milliseconds elapsed before each.
    datagrams: Vec<(u16, &'a [u8])>,
}

fuzz_target!(|input: Input<'_>| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut rx = Receiver::new(ReceiverConfig::default());
    for (gap_ms, buf) in input.datagrams {
        now += Duration::from_millis(u64::from(gap_ms));
        if let Ok(p) = RtpPacket::parse(buf) {
            // A parsed packet written back (plain header) parses to the same fields.
            let mut out = vec![0u8; 12 + p.payload.len()];
            let n = write_packet(
                &mut out,
                p.marker,
                p.payload_type,
                p.seq,
                p.timestamp,
                p.ssrc,
                p.payload,
            )
            .expect("buffer sized for header and payload");
            let q = RtpPacket::parse(&out[..n]).expect("a written packet parses");
            assert_eq!(
                (q.marker, q.payload_type, q.seq, q.timestamp, q.ssrc),
                (p.marker, p.payload_type, p.seq, p.timestamp, p.ssrc)
            );
            assert_eq!(q.payload, p.payload);
        }
        let _ = rx.handle(now, buf);
        let _ = rx.stats();
        let _ = rx.report();
    }
});
