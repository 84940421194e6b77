//! The receiving half of an RTP session: source validation and sequence tracking exactly as RFC 3550 Appendix A.1
//! gives them, SSRC lock and re-lock (§8.2), reception statistics (§6.4.1, A.3) and interarrival jitter (A.8).
//!
//! One call has one remote source. The receiver locks on to the first source that passes probation and keeps it;
//! a packet from another SSRC is discarded unless that SSRC passes probation itself *and* the locked source has
//! been silent for `relock_after` (or said BYE), which is how a peer that changed SSRC (collision, §8.2, or a
//! re-INVITE to a new media source) is followed while a stray or hostile stream is ignored.

use std::time::{Duration, Instant};

use super::error::PacketError;
use super::id::{PayloadType, RtpTime, SeqNo, Ssrc, TimeUnwrapper};
use super::packet::RtpPacket;

const RTP_SEQ_MOD: u32 = 1 << 16;

/// Receiver settings; the defaults are RFC 3550 Appendix A.1's constants and an 8 kHz clock.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// RTP clock rate of the audio payload (8000 for G.711).
    pub clock_rate: u32,
    /// Packets in sequence needed before a source is valid (A.1 `MIN_SEQUENTIAL`, 2).
    pub min_sequential: u16,
    /// Largest forward jump still taken as loss (A.1 `MAX_DROPOUT`, 3000).
    pub max_dropout: u16,
    /// Largest backward step still taken as reordering (A.1 `MAX_MISORDER`, 100).
    pub max_misorder: u16,
    /// Silence of the locked source after which a new valid source takes over.
    pub relock_after: Duration,
    /// Only packets of this payload type update the jitter estimate (telephone-events reuse one timestamp for a
    /// whole event and would inflate it); `None` uses every packet.
    pub jitter_payload_type: Option<PayloadType>,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            clock_rate: 8000,
            min_sequential: 2,
            max_dropout: 3000,
            max_misorder: 100,
            relock_after: Duration::from_millis(200),
            jitter_payload_type: None,
        }
    }
}

/// Why a well-formed packet was not passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    /// Its source has not yet sent `min_sequential` packets in sequence (A.1).
    Probation,
    /// Its sequence number was already received.
    Duplicate,
    /// A jump beyond `max_dropout`; a second packet following it in sequence re-synchronises (A.1 `bad_seq`).
    SequenceJump,
    /// It comes from another SSRC than the locked source.
    OtherSource(Ssrc),
}

/// A packet passed on, with what the receiver learnt about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted<'a> {
    /// The packet.
    pub packet: RtpPacket<'a>,
    /// Its sequence number extended to 64 bits.
    pub seq: SeqNo,
    /// Its timestamp extended to 64 bits.
    pub timestamp: u64,
    /// It arrived after a packet with a higher sequence number.
    pub late: bool,
    /// It is the first packet accepted from a newly locked source (the first source, or after a re-lock).
    pub new_source: bool,
}

/// The receiver's verdict on one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Use it.
    Accept(Accepted<'a>),
    /// Well-formed but not for use (counted in the statistics).
    Discard(Discard),
}

/// Reception statistics of the locked source (RFC 3550 §6.4.1, A.3).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReceiveStats {
    /// SSRC of the locked source.
    pub ssrc: Option<Ssrc>,
    /// Packets counted as received by A.1 (including duplicates, as A.3 does).
    pub received: u64,
    /// Packets expected: extended highest sequence number − base + 1.
    pub expected: u64,
    /// `expected − received`, the cumulative number of packets lost (negative with duplicates, per A.3).
    pub lost: i64,
    /// Duplicated packets.
    pub duplicated: u64,
    /// Packets that arrived after a later one (reordered).
    pub late: u64,
    /// Interarrival jitter in timestamp units (§6.4.1).
    pub jitter: f64,
    /// Extended highest sequence number received.
    pub highest_seq: Option<SeqNo>,
    /// Malformed datagrams dropped (all sources).
    pub malformed: u64,
    /// Packets discarded because they came from another source.
    pub foreign: u64,
    /// Times the receiver changed source.
    pub relocks: u64,
}

/// Sequence state of one source: `struct source` of RFC 3550 Appendix A.1, plus a duplicate window.
#[derive(Debug, Clone)]
struct Source {
    ssrc: Ssrc,
    max_seq: u16,
    cycles: u64,
    base_seq: u64,
    bad_seq: u32,
    probation: u16,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Bit i set: extended sequence number `cycles + max_seq − i` was received.
    window: u128,
    transit: Option<u32>,
    jitter: f64,
    duplicated: u64,
    late: u64,
    last_heard: Instant,
    ended: bool,
    ts: TimeUnwrapper,
}

enum Update {
    Valid { ext: u64, late: bool },
    Invalid(Discard),
}

impl Source {
    /// A.1: a new source starts on probation with `max_seq = seq − 1`.
    fn new(ssrc: Ssrc, seq: u16, min_sequential: u16, now: Instant) -> Source {
        let mut s = Source {
            ssrc,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: min_sequential,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            window: 0,
            transit: None,
            jitter: 0.0,
            duplicated: 0,
            late: 0,
            last_heard: now,
            ended: false,
            ts: TimeUnwrapper::default(),
        };
        s.init_seq(seq);
        s.max_seq = seq.wrapping_sub(1);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1; // so seq == bad_seq is false
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.window = 1;
    }

    fn valid(&self) -> bool {
        self.probation == 0
    }

    fn ext_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    /// A.1 `update_seq`, extended with duplicate and late detection.
    fn update_seq(&mut self, seq: u16, cfg: &ReceiverConfig) -> Update {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            // Source is not valid until `min_sequential` packets with sequential numbers have been received.
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return Update::Valid {
                        ext: self.ext_max(),
                        late: false,
                    };
                }
            } else {
                self.probation = cfg.min_sequential.saturating_sub(1);
                self.max_seq = seq;
            }
            return Update::Invalid(Discard::Probation);
        }
        if udelta < cfg.max_dropout {
            // In order, with permissible gap.
            if udelta == 0 {
                self.duplicated += 1;
                self.received += 1;
                return Update::Invalid(Discard::Duplicate);
            }
            if seq < self.max_seq {
                // Sequence number wrapped: count another 64K cycle.
                self.cycles += u64::from(RTP_SEQ_MOD);
            }
            self.max_seq = seq;
            self.window = if udelta >= 128 {
                1
            } else {
                (self.window << udelta) | 1
            };
            self.received += 1;
            return Update::Valid {
                ext: self.ext_max(),
                late: false,
            };
        }
        if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(cfg.max_misorder) {
            // The sequence number made a very large jump.
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets: assume the other side restarted without telling us, re-sync.
                self.init_seq(seq);
                self.received += 1;
                return Update::Valid {
                    ext: self.ext_max(),
                    late: false,
                };
            }
            self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
            return Update::Invalid(Discard::SequenceJump);
        }
        // Duplicate or reordered packet.
        self.received += 1;
        let back = u64::from(self.max_seq.wrapping_sub(seq));
        let Some(ext) = self
            .ext_max()
            .checked_sub(back)
            .filter(|e| *e >= self.base_seq)
        else {
            self.late += 1;
            return Update::Invalid(Discard::Duplicate);
        };
        if back < 128 {
            let bit = 1u128 << back;
            if self.window & bit != 0 {
                self.duplicated += 1;
                return Update::Invalid(Discard::Duplicate);
            }
            self.window |= bit;
        }
        self.late += 1;
        Update::Valid { ext, late: true }
    }

    /// A.8: interarrival jitter from the arrival time in timestamp units.
    fn update_jitter(&mut self, arrival: u32, ts: RtpTime) {
        let transit = arrival.wrapping_sub(ts.0);
        if let Some(prev) = self.transit {
            let d = f64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }
}

/// One report block's worth of reception figures (RFC 3550 §6.4.1), computed at report time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportFigures {
    /// The source reported on.
    pub ssrc: Ssrc,
    /// Fraction lost since the previous report, fixed point /256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, clamped to 24-bit signed.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (32 bits: cycles and max_seq).
    pub highest_seq: u32,
    /// Interarrival jitter, timestamp units.
    pub jitter: u32,
}

/// The sans-IO RTP receiver of one call.
#[derive(Debug)]
pub struct Receiver {
    cfg: ReceiverConfig,
    current: Option<Source>,
    candidate: Option<Source>,
    epoch: Option<Instant>,
    malformed: u64,
    foreign: u64,
    relocks: u64,
}

impl Receiver {
    /// A receiver with no source yet.
    pub fn new(cfg: ReceiverConfig) -> Receiver {
        Receiver {
            cfg,
            current: None,
            candidate: None,
            epoch: None,
            malformed: 0,
            foreign: 0,
            relocks: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &ReceiverConfig {
        &self.cfg
    }

    /// Parses and judges one datagram that arrived at `now`. Malformed datagrams are counted and returned as errors.
    pub fn handle<'a>(&mut self, now: Instant, buf: &'a [u8]) -> Result<Verdict<'a>, PacketError> {
        match RtpPacket::parse(buf) {
            Ok(p) => Ok(self.handle_packet(now, p)),
            Err(e) => {
                self.malformed += 1;
                Err(e)
            }
        }
    }

    /// Judges one parsed packet that arrived at `now`.
    pub fn handle_packet<'a>(&mut self, now: Instant, p: RtpPacket<'a>) -> Verdict<'a> {
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = self.arrival_units(now, epoch);
        let cfg = &self.cfg;

        let locked_here = self.current.as_ref().is_some_and(|s| s.ssrc == p.ssrc);
        if !locked_here {
            let in_candidate = self.candidate.as_ref().is_some_and(|s| s.ssrc == p.ssrc);
            match &self.current {
                None => self.current = Some(Source::new(p.ssrc, p.seq, cfg.min_sequential, now)),
                // Nothing validated yet and two sources on probation: a third replaces the one heard from least
                // recently, so a flood of random SSRCs cannot keep the real stream from validating.
                Some(c) if !c.valid() && !in_candidate => {
                    let cand_older = self
                        .candidate
                        .as_ref()
                        .is_some_and(|k| k.last_heard < c.last_heard);
                    if self.candidate.is_some() && !cand_older {
                        self.current = Some(Source::new(p.ssrc, p.seq, cfg.min_sequential, now));
                    } else {
                        return self.handle_candidate(now, p, arrival);
                    }
                }
                Some(_) => return self.handle_candidate(now, p, arrival),
            }
        }
        // Just ensured above: `current` is the packet's source.
        let Some(src) = self.current.as_mut() else {
            return Verdict::Discard(Discard::Probation);
        };
        let first_valid = !src.valid();
        match src.update_seq(p.seq, cfg) {
            Update::Valid { ext, late } => {
                src.last_heard = now;
                src.ended = false;
                if cfg
                    .jitter_payload_type
                    .is_none_or(|pt| pt == p.payload_type)
                {
                    src.update_jitter(arrival, p.timestamp);
                }
                let timestamp = src.ts.extend(p.timestamp);
                Verdict::Accept(Accepted {
                    packet: p,
                    seq: SeqNo(ext),
                    timestamp,
                    late,
                    new_source: first_valid,
                })
            }
            Update::Invalid(d) => {
                if d != Discard::SequenceJump {
                    src.last_heard = now;
                }
                Verdict::Discard(d)
            }
        }
    }

    fn handle_candidate<'a>(
        &mut self,
        now: Instant,
        p: RtpPacket<'a>,
        arrival: u32,
    ) -> Verdict<'a> {
        let cfg = &self.cfg;
        if self.candidate.as_ref().is_none_or(|c| c.ssrc != p.ssrc) {
            self.candidate = Some(Source::new(p.ssrc, p.seq, cfg.min_sequential, now));
        }
        let Some(cand) = self.candidate.as_mut() else {
            return Verdict::Discard(Discard::OtherSource(p.ssrc));
        };
        let update = cand.update_seq(p.seq, cfg);
        cand.last_heard = now;
        let Update::Valid { ext, late } = update else {
            self.foreign += 1;
            return Verdict::Discard(Discard::OtherSource(p.ssrc));
        };
        let silent = self.current.as_ref().is_none_or(|c| {
            !c.valid() || c.ended || now.saturating_duration_since(c.last_heard) >= cfg.relock_after
        });
        if !silent {
            self.foreign += 1;
            return Verdict::Discard(Discard::OtherSource(p.ssrc));
        }
        let was_valid = self.current.as_ref().is_some_and(Source::valid);
        let mut src = self
            .candidate
            .take()
            .unwrap_or_else(|| Source::new(p.ssrc, p.seq, cfg.min_sequential, now));
        if cfg
            .jitter_payload_type
            .is_none_or(|pt| pt == p.payload_type)
        {
            src.update_jitter(arrival, p.timestamp);
        }
        let timestamp = src.ts.extend(p.timestamp);
        tracing::debug!(old = ?self.current.as_ref().map(|c| c.ssrc), new = %src.ssrc, "rtp source re-locked");
        self.current = Some(src);
        if was_valid {
            self.relocks += 1;
        }
        Verdict::Accept(Accepted {
            packet: p,
            seq: SeqNo(ext),
            timestamp,
            late,
            new_source: true,
        })
    }

    /// The arrival time in timestamp units since the first packet (A.8 `arrival`).
    fn arrival_units(&self, now: Instant, epoch: Instant) -> u32 {
        let ns = now.saturating_duration_since(epoch).as_nanos();
        (ns * u128::from(self.cfg.clock_rate) / 1_000_000_000) as u32
    }

    /// An RTCP BYE from `ssrc`: if it is the locked source, the next valid source takes over at once.
    pub fn handle_bye(&mut self, ssrc: Ssrc) {
        if let Some(c) = self.current.as_mut().filter(|c| c.ssrc == ssrc) {
            c.ended = true;
        }
    }

    /// SSRC of the locked (valid) source.
    pub fn source(&self) -> Option<Ssrc> {
        self.current.as_ref().filter(|s| s.valid()).map(|s| s.ssrc)
    }

    /// Current statistics.
    pub fn stats(&self) -> ReceiveStats {
        let mut st = ReceiveStats {
            malformed: self.malformed,
            foreign: self.foreign,
            relocks: self.relocks,
            ..ReceiveStats::default()
        };
        if let Some(s) = self.current.as_ref().filter(|s| s.valid()) {
            let expected = s.ext_max() + 1 - s.base_seq;
            st.ssrc = Some(s.ssrc);
            st.received = s.received;
            st.expected = expected;
            st.lost = expected as i64 - s.received as i64;
            st.duplicated = s.duplicated;
            st.late = s.late;
            st.jitter = s.jitter;
            st.highest_seq = Some(SeqNo(s.ext_max()));
        }
        st
    }

    /// The figures of a report block (A.3), advancing the "since last report" counters. `None` before a source is
    /// valid.
    pub fn report(&mut self) -> Option<ReportFigures> {
        let s = self.current.as_mut().filter(|s| s.valid())?;
        let extended_max = s.ext_max();
        let expected = extended_max + 1 - s.base_seq;
        let lost = (expected as i64 - s.received as i64).clamp(-0x80_0000, 0x7f_ffff) as i32;
        let expected_interval = expected.saturating_sub(s.expected_prior);
        s.expected_prior = expected;
        let received_interval = s.received.saturating_sub(s.received_prior);
        s.received_prior = s.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        Some(ReportFigures {
            ssrc: s.ssrc,
            fraction_lost,
            cumulative_lost: lost,
            highest_seq: extended_max as u32,
            jitter: s.jitter as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            if let Ok(Verdict::Accept(a)) = r.handle(t0 + Duration::from_millis(20 * i), p.at(s, t))
            {
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
}

#[cfg(test)]
mod a1_reference {
    //! Differential check against RFC 3550 Appendix A.1 `update_seq`, transcribed literally.
    use super::*;
    use crate::rtp::packet::write_packet;

    const MAX_DROPOUT: u16 = 3000;
    const MAX_MISORDER: u32 = 100;
    const MIN_SEQUENTIAL: u16 = 2;

    #[derive(Default)]
    struct Src {
        max_seq: u16,
        cycles: u32,
        base_seq: u32,
        bad_seq: u32,
        probation: u16,
        received: u32,
    }
    impl Src {
        fn init_seq(&mut self, seq: u16) {
            self.base_seq = u32::from(seq);
            self.max_seq = seq;
            self.bad_seq = RTP_SEQ_MOD + 1;
            self.cycles = 0;
            self.received = 0;
        }
        fn new(seq: u16) -> Src {
            let mut s = Src::default();
            s.init_seq(seq);
            s.max_seq = seq.wrapping_sub(1);
            s.probation = MIN_SEQUENTIAL;
            s
        }
        fn update_seq(&mut self, seq: u16) -> bool {
            let udelta = seq.wrapping_sub(self.max_seq);
            if self.probation > 0 {
                if seq == self.max_seq.wrapping_add(1) {
                    self.probation -= 1;
                    self.max_seq = seq;
                    if self.probation == 0 {
                        self.init_seq(seq);
                        self.received += 1;
                        return true;
                    }
                } else {
                    self.probation = MIN_SEQUENTIAL - 1;
                    self.max_seq = seq;
                }
                return false;
            } else if udelta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles += RTP_SEQ_MOD;
                }
                self.max_seq = seq;
            } else if u32::from(udelta) <= RTP_SEQ_MOD - MAX_MISORDER {
                if u32::from(seq) == self.bad_seq {
                    self.init_seq(seq);
                } else {
                    self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                    return false;
                }
            }
            self.received += 1;
            true
        }
    }

    #[test]
    fn matches_appendix_a1() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for run in 0..300 {
            let start = rnd() as u16;
            let mut r = Receiver::new(ReceiverConfig::default());
            let mut reference = Src::new(start);
            let mut seq = start;
            let t0 = Instant::now();
            let mut buf = [0u8; 32];
            for i in 0..400u32 {
                let k = rnd() % 100;
                let s = match k {
                    0..=79 => {
                        seq = seq.wrapping_add(1);
                        seq
                    }
                    80..=84 => seq, // duplicate of the newest
                    85..=89 => seq.wrapping_sub((rnd() % 120) as u16), // late
                    90..=93 => {
                        seq = seq.wrapping_add((rnd() % 200) as u16);
                        seq
                    }
                    94..=96 => {
                        seq = seq.wrapping_add((rnd() % 60000) as u16); // large jump
                        seq
                    }
                    _ => rnd() as u16, // stray
                };
                let n = write_packet(
                    &mut buf,
                    false,
                    PayloadType::PCMU,
                    s,
                    RtpTime(i * 160),
                    Ssrc(1),
                    &[0; 4],
                )
                .unwrap();
                let ours = r
                    .handle(t0 + Duration::from_millis(u64::from(i) * 20), &buf[..n])
                    .unwrap();
                let theirs = reference.update_seq(s);
                let ours_ok = match ours {
                    Verdict::Accept(_) => true,
                    Verdict::Discard(Discard::Duplicate) => true, // A.1 passes duplicates on, counted
                    Verdict::Discard(_) => false,
                };
                assert_eq!(ours_ok, theirs, "run {run} packet {i} seq {s}: {ours:?}");
                if reference.probation == 0 {
                    let st = r.stats();
                    let ext = reference.cycles + u32::from(reference.max_seq);
                    assert_eq!(
                        st.received,
                        u64::from(reference.received),
                        "run {run} packet {i}"
                    );
                    assert_eq!(
                        st.expected,
                        u64::from(ext - reference.base_seq + 1),
                        "run {run} packet {i}"
                    );
                }
            }
        }
    }
}
