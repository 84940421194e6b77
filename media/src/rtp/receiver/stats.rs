//! Reception statistics of the locked source (RFC 3550 §6.4.1, A.3), the figures of a report block computed
//! from them, and the interarrival jitter estimate (A.8).

use super::source::Source;
use super::Receiver;
use crate::rtp::id::{RtpTime, SeqNo, Ssrc};

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

impl Receiver {
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

impl Source {
    /// A.8: interarrival jitter from the arrival time in timestamp units.
    pub(super) fn update_jitter(&mut self, arrival: u32, ts: RtpTime) {
        let transit = arrival.wrapping_sub(ts.0);
        if let Some(prev) = self.transit {
            let d = f64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }
}
