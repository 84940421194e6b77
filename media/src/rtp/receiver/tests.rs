//! The receiver against hand-built packet sequences: probation and wrap, loss/duplicate/late counting, re-sync
//! after a jump, SSRC re-lock, jitter known answer, report blocks and malformed input.

use super::*;
use crate::rtp::id::RtpTime;
use crate::rtp::packet::write_packet;

struct Peer {
    ssrc: Ssrc,
    seq: u16,
    ts: u32,
    buf: [u8; 64],
}

impl Peer {
    fn new(ssrc: u32, seq: u16, ts: u32) -> Peer {
        Peer {
            ssrc: Ssrc(ssrc),
            seq,
            ts,
            buf: [0; 64],
        }
    }
    /// Packet with the given sequence number and timestamp.
    fn at(&mut self, seq: u16, ts: u32) -> &[u8] {
        let n = write_packet(
            &mut self.buf,
            false,
            PayloadType::PCMU,
            seq,
            RtpTime(ts),
            self.ssrc,
            &[0xff; 4],
        )
        .unwrap();
        &self.buf[..n]
    }
    fn next(&mut self) -> (u16, u32) {
        let r = (self.seq, self.ts);
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        r
    }
}

fn accept(v: Result<Verdict<'_>, PacketError>) -> Accepted<'_> {
    match v {
        Ok(Verdict::Accept(a)) => a,
        other => panic!("expected accept, got {other:?}"),
    }
}

fn discard(v: Result<Verdict<'_>, PacketError>) -> Discard {
    match v {
        Ok(Verdict::Discard(d)) => d,
        other => panic!("expected discard, got {other:?}"),
    }
}

#[test]
fn probation_then_valid_and_sequence_wraps() {
    let t0 = Instant::now();
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut p = Peer::new(7, 65534, 0);
    let (s, t) = p.next();
    assert_eq!(discard(r.handle(t0, p.at(s, t))), Discard::Probation);
    let (s, t) = p.next();
    let a = accept(r.handle(t0 + Duration::from_millis(20), p.at(s, t)));
    assert!(a.new_source);
    assert_eq!(a.seq, SeqNo(65535));
    let (s, t) = p.next();
    let a = accept(r.handle(t0 + Duration::from_millis(40), p.at(s, t)));
    assert_eq!(a.seq, SeqNo(65536), "wrap to the next cycle");
    assert_eq!(a.seq.wire(), 0);
    assert!(!a.new_source);
    let st = r.stats();
    assert_eq!((st.received, st.expected, st.lost), (2, 2, 0));
}

#[test]
fn loss_duplicate_and_late_are_counted() {
    let t0 = Instant::now();
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut p = Peer::new(1, 100, 1000);
    let mut pkts = Vec::new();
    for _ in 0..10 {
        pkts.push(p.next());
    }
    // order: 0 1 2 4 3 3 6 7 9 (5 and 8 lost, 3 late then duplicated)
    let order = [0, 1, 2, 4, 3, 3, 6, 7, 9];
    let mut verdicts = Vec::new();
    for (i, &k) in order.iter().enumerate() {
        let (s, t) = pkts[k];
        let now = t0 + Duration::from_millis(20 * i as u64);
        verdicts.push(match r.handle(now, p.at(s, t)).unwrap() {
            Verdict::Accept(a) => (Some(a.late), None),
            Verdict::Discard(d) => (None, Some(d)),
        });
    }
    assert_eq!(verdicts[4], (Some(true), None), "3 arrives late");
    assert_eq!(verdicts[5], (None, Some(Discard::Duplicate)));
    let st = r.stats();
    assert_eq!(st.expected, 9, "101..=109: 100 went to probation");
    assert_eq!(st.duplicated, 1);
    assert_eq!(st.late, 1);
    // received counts the duplicate (A.3): 7 distinct packets + 1 duplicate
    assert_eq!(st.received, 8);
    assert_eq!(
        st.lost, 1,
        "two lost, one duplicate: A.3 gives expected - received"
    );
}

#[test]
fn large_jump_resyncs_after_two_sequential_packets() {
    let t0 = Instant::now();
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut p = Peer::new(1, 10, 0);
    for i in 0..3 {
        let (s, t) = p.next();
        let _ = r.handle(t0 + Duration::from_millis(20 * i), p.at(s, t));
    }
    assert_eq!(
        discard(r.handle(t0, p.at(40_000, 0))),
        Discard::SequenceJump
    );
    let a = accept(r.handle(t0, p.at(40_001, 160)));
    assert_eq!(a.seq, SeqNo(40_001));
    assert_eq!(r.stats().expected, 1);
}

#[test]
fn ssrc_change_relocks_only_after_old_source_goes_quiet() {
    let t0 = Instant::now();
    let ms = |n: u64| t0 + Duration::from_millis(n);
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut a = Peer::new(0xaaaa, 1, 0);
    let mut b = Peer::new(0xbbbb, 5000, 99);
    for i in 0..5 {
        let (s, t) = a.next();
        let _ = r.handle(ms(20 * i), a.at(s, t));
    }
    assert_eq!(r.source(), Some(Ssrc(0xaaaa)));
    // B interleaves while A is alive: ignored.
    for i in 5..10 {
        let (s, t) = b.next();
        assert_eq!(
            discard(r.handle(ms(20 * i), b.at(s, t))),
            Discard::OtherSource(Ssrc(0xbbbb))
        );
        let (s, t) = a.next();
        let _ = r.handle(ms(20 * i + 1), a.at(s, t));
    }
    assert_eq!(r.source(), Some(Ssrc(0xaaaa)));
    // A stops; after relock_after B takes over.
    let (s, t) = b.next();
    let v = accept(r.handle(ms(181 + 200), b.at(s, t)));
    assert!(v.new_source);
    assert_eq!(r.source(), Some(Ssrc(0xbbbb)));
    assert_eq!(r.stats().relocks, 1);
}

#[test]
fn bye_lets_the_new_source_take_over_at_once() {
    let t0 = Instant::now();
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut a = Peer::new(1, 1, 0);
    let mut b = Peer::new(2, 1, 0);
    for _ in 0..3 {
        let (s, t) = a.next();
        let _ = r.handle(t0, a.at(s, t));
    }
    r.handle_bye(Ssrc(1));
    let (s, t) = b.next();
    assert_eq!(
        discard(r.handle(t0, b.at(s, t))),
        Discard::OtherSource(Ssrc(2))
    );
    let (s, t) = b.next();
    assert!(accept(r.handle(t0, b.at(s, t))).new_source);
}

#[test]
fn random_ssrc_garbage_never_takes_over() {
    let t0 = Instant::now();
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut a = Peer::new(1, 1, 0);
    let mut x: u32 = 99;
    for i in 0..2000u64 {
        let (s, t) = a.next();
        let _ = r.handle(t0 + Duration::from_millis(20 * i), a.at(s, t));
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let mut g = Peer::new(x, x as u16, x);
        let _ = r.handle(t0 + Duration::from_millis(20 * i + 10), g.at(x as u16, x));
    }
    assert_eq!(r.source(), Some(Ssrc(1)));
    assert_eq!(r.stats().lost, 0);
}

/// Known answer of RFC 3550 §6.4.1 / A.8: J += (|D| − J)/16, with arrivals in timestamp units.
#[test]
fn jitter_known_answer() {
    let t0 = Instant::now();
    let mut r = Receiver::new(ReceiverConfig {
        min_sequential: 1,
        ..ReceiverConfig::default()
    });
    let mut p = Peer::new(1, 0, 5000);
    // arrival offsets (ms) from the ideal 20 ms grid: 0, 0, +5, 0, 0, -2
    let offsets: [i64; 6] = [0, 0, 5, 0, 0, -2];
    let mut expect = 0.0f64;
    let mut prev_transit: Option<i64> = None;
    for (i, off) in offsets.iter().enumerate() {
        let (s, t) = p.next();
        let at_ms = 20 * i as i64 + off + 10;
        let _ = r.handle(t0 + Duration::from_millis(at_ms as u64), p.at(s, t));
        let transit = at_ms * 8 - i64::from(t);
        if let Some(pt) = prev_transit {
            expect += ((transit - pt).abs() as f64 - expect) / 16.0;
        }
        prev_transit = Some(transit);
    }
    // by hand: D = 0, 0, 40, 40, 0, 16 (samples)
    let mut j = 0.0f64;
    for d in [0.0, 40.0, 40.0, 0.0, 16.0] {
        j += (d - j) / 16.0;
    }
    assert!((expect - j).abs() < 1e-9);
    assert!(
        (r.stats().jitter - j).abs() < 1e-9,
        "{} vs {}",
        r.stats().jitter,
        j
    );
    assert!((j - 5.2572).abs() < 1e-4, "{j}");
}

#[test]
fn timestamp_wrap_keeps_jitter_zero() {
    let t0 = Instant::now();
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut p = Peer::new(1, 0, u32::MAX - 800);
    let mut last = 0;
    for i in 0..20u64 {
        let (s, t) = p.next();
        if let Ok(Verdict::Accept(a)) = r.handle(t0 + Duration::from_millis(20 * i), p.at(s, t)) {
            if last != 0 {
                assert_eq!(a.timestamp - last, 160);
            }
            last = a.timestamp;
        }
    }
    assert_eq!(r.stats().jitter, 0.0);
}

#[test]
fn report_block_fraction_lost() {
    let t0 = Instant::now();
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut p = Peer::new(1, 0, 0);
    for i in 0..101u64 {
        let (s, t) = p.next();
        if i % 4 != 3 {
            let _ = r.handle(t0 + Duration::from_millis(20 * i), p.at(s, t));
        }
    }
    let f = r.report().unwrap();
    // valid from seq 1; seqs 1..=100 expected (100), 3,7,...,99 lost (25)
    assert_eq!(f.cumulative_lost, 25);
    assert_eq!(f.fraction_lost, (25 * 256 / 100) as u8);
    assert_eq!(f.highest_seq, 100);
    let f2 = r.report().unwrap();
    assert_eq!(f2.fraction_lost, 0, "nothing new since the last report");
}

#[test]
fn malformed_is_counted() {
    let mut r = Receiver::new(ReceiverConfig::default());
    assert!(r.handle(Instant::now(), &[0x80, 0]).is_err());
    assert_eq!(r.stats().malformed, 1);
}
