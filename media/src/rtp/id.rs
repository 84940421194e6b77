//! Newtypes for the RTP quantities (RFC 3550 §5.1), so that a sequence number is never added to a timestamp.

use std::fmt;

/// Synchronization source identifier (RFC 3550 §5.1, §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

/// RTP payload type, 7 bits (RFC 3550 §5.1; RFC 3551 table 4: 0 PCMU, 8 PCMA; dynamic 96–127).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayloadType(u8);

impl PayloadType {
    /// PCMU (G.711 µ-law), RFC 3551 §6.
    pub const PCMU: PayloadType = PayloadType(0);
    /// PCMA (G.711 A-law), RFC 3551 §6.
    pub const PCMA: PayloadType = PayloadType(8);

    /// Wraps a payload type, or `None` when it does not fit in 7 bits.
    pub const fn new(pt: u8) -> Option<PayloadType> {
        if pt < 128 {
            Some(PayloadType(pt))
        } else {
            None
        }
    }

    /// The 7-bit value.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A sequence number extended to 64 bits: the 16-bit wire value plus the count of wrap-arounds
/// (RFC 3550 Appendix A.1 `cycles`), so that it increases monotonically over a whole call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeqNo(pub u64);

impl SeqNo {
    /// The 16 bits that go on the wire.
    pub const fn wire(self) -> u16 {
        self.0 as u16
    }

    /// Number of 2^16 cycles.
    pub const fn cycles(self) -> u64 {
        self.0 >> 16
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An RTP timestamp on the wire (32 bits, wraps), in units of the payload's clock (8 kHz for G.711).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpTime(pub u32);

impl RtpTime {
    /// This time advanced by `samples`, wrapping at 2^32.
    pub const fn add(self, samples: u32) -> RtpTime {
        RtpTime(self.0.wrapping_add(samples))
    }

    /// Signed distance `self - earlier`, correct across one wrap-around (|distance| < 2^31).
    pub const fn since(self, earlier: RtpTime) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }
}

impl fmt::Display for RtpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Extends a wrapping 32-bit RTP timestamp to 64 bits for one stream, accepting reordering of up to 2^31 units.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeUnwrapper {
    last: Option<u64>,
}

impl TimeUnwrapper {
    /// The extended value of `ts`, the one nearest to the previous extended value.
    pub fn extend(&mut self, ts: RtpTime) -> u64 {
        let ext = match self.last {
            None => u64::from(ts.0) + (1 << 32),
            Some(last) => {
                let delta = i64::from(ts.0.wrapping_sub(last as u32) as i32);
                last.saturating_add_signed(delta)
            }
        };
        if self.last.is_none_or(|l| ext > l) {
            self.last = Some(ext);
        }
        ext
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_type_is_seven_bits() {
        assert_eq!(PayloadType::new(127).map(PayloadType::get), Some(127));
        assert_eq!(PayloadType::new(128), None);
    }

    #[test]
    fn rtp_time_wraps() {
        let t = RtpTime(u32::MAX - 79);
        let u = t.add(160);
        assert_eq!(u, RtpTime(80));
        assert_eq!(u.since(t), 160);
        assert_eq!(t.since(u), -160);
    }

    #[test]
    fn time_unwrapper_crosses_wrap_and_tolerates_reordering() {
        let mut u = TimeUnwrapper::default();
        let a = u.extend(RtpTime(u32::MAX - 159));
        let b = u.extend(RtpTime(0));
        let c = u.extend(RtpTime(u32::MAX - 319)); // late, before the wrap
        let d = u.extend(RtpTime(160));
        assert_eq!(b - a, 160);
        assert_eq!(a - c, 160);
        assert_eq!(d - b, 160);
    }

    #[test]
    fn seqno_wire_and_cycles() {
        let s = SeqNo(3 * 65536 + 7);
        assert_eq!(s.wire(), 7);
        assert_eq!(s.cycles(), 3);
    }
}
