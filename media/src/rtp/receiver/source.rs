//! Sequence state of one source: RFC 3550 Appendix A.1 `struct source`, `init_seq` and `update_seq`
//! (probation, 16-bit wrap, re-sync after a large jump), extended with duplicate and late detection.

use std::time::Instant;

use super::{Discard, ReceiverConfig};
use crate::rtp::id::{Ssrc, TimeUnwrapper};

pub(super) const RTP_SEQ_MOD: u32 = 1 << 16;

/// Sequence state of one source: `struct source` of RFC 3550 Appendix A.1, plus a duplicate window.
#[derive(Debug, Clone)]
pub(super) struct Source {
    pub(super) ssrc: Ssrc,
    max_seq: u16,
    cycles: u64,
    pub(super) base_seq: u64,
    bad_seq: u32,
    probation: u16,
    pub(super) received: u64,
    pub(super) expected_prior: u64,
    pub(super) received_prior: u64,
    /// Bit i set: extended sequence number `cycles + max_seq − i` was received.
    window: u128,
    pub(super) transit: Option<u32>,
    pub(super) jitter: f64,
    pub(super) duplicated: u64,
    pub(super) late: u64,
    pub(super) last_heard: Instant,
    pub(super) ended: bool,
    pub(super) ts: TimeUnwrapper,
}

pub(super) enum Update {
    Valid { ext: u64, late: bool },
    Invalid(Discard),
}

impl Source {
    /// A.1: a new source starts on probation with `max_seq = seq − 1`.
    pub(super) fn new(ssrc: Ssrc, seq: u16, min_sequential: u16, now: Instant) -> Source {
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

    pub(super) fn valid(&self) -> bool {
        self.probation == 0
    }

    pub(super) fn ext_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    /// A.1 `update_seq`, extended with duplicate and late detection.
    pub(super) fn update_seq(&mut self, seq: u16, cfg: &ReceiverConfig) -> Update {
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
}
