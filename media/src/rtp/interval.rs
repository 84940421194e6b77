//! The RTCP transmission interval of RFC 3550 §6.2 and §6.3.1, computed as Appendix A.7 `rtcp_interval` does.

use std::time::Duration;

/// Inputs of the interval computation.
#[derive(Debug, Clone, Copy)]
pub struct IntervalInput {
    /// Session members, this participant included.
    pub members: u32,
    /// Members that sent RTP since the last two reports.
    pub senders: u32,
    /// RTCP bandwidth, octets per second (5 % of the session bandwidth, §6.2).
    pub rtcp_bw: f64,
    /// This participant sent RTP since the last two reports.
    pub we_sent: bool,
    /// Average compound RTCP packet size in octets, including UDP and IP headers (§6.3.3).
    pub avg_rtcp_size: f64,
    /// No RTCP sent yet: half the minimum interval applies (§6.2).
    pub initial: bool,
}

/// Minimum average time between reports, §6.2.
pub const RTCP_MIN_TIME: f64 = 5.0;
/// Fraction of RTCP bandwidth shared by the senders when they are few, §6.2.
const RTCP_SENDER_BW_FRACTION: f64 = 0.25;
const RTCP_RCVR_BW_FRACTION: f64 = 1.0 - RTCP_SENDER_BW_FRACTION;
/// e − 3/2: compensates for the timer reconsideration converging below the intended average (§6.3.1).
const COMPENSATION: f64 = std::f64::consts::E - 1.5;

/// The deterministic interval `Td` before randomisation (§6.3.1).
pub fn deterministic(i: &IntervalInput) -> f64 {
    let rtcp_min_time = if i.initial {
        RTCP_MIN_TIME / 2.0
    } else {
        RTCP_MIN_TIME
    };
    let mut n = f64::from(i.members.max(1));
    let mut rtcp_bw = i.rtcp_bw;
    if f64::from(i.senders) <= f64::from(i.members) * RTCP_SENDER_BW_FRACTION {
        if i.we_sent {
            rtcp_bw *= RTCP_SENDER_BW_FRACTION;
            n = f64::from(i.senders.max(1));
        } else {
            rtcp_bw *= RTCP_RCVR_BW_FRACTION;
            n -= f64::from(i.senders);
        }
    }
    let t = if rtcp_bw > 0.0 {
        i.avg_rtcp_size * n / rtcp_bw
    } else {
        rtcp_min_time
    };
    t.max(rtcp_min_time)
}

/// The randomised interval: `Td` times `factor` (a uniform draw in [0.5, 1.5]) divided by e − 3/2 (§6.3.1).
pub fn randomised(i: &IntervalInput, factor: f64) -> Duration {
    let t = deterministic(i) * factor.clamp(0.5, 1.5) / COMPENSATION;
    Duration::from_secs_f64(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_party(we_sent: bool) -> IntervalInput {
        // 64 kbit/s G.711 + 16 kbit/s of headers at 50 packets/s; RTCP 5 % = 500 octets/s.
        IntervalInput {
            members: 2,
            senders: 2,
            rtcp_bw: 500.0,
            we_sent,
            avg_rtcp_size: 128.0,
            initial: false,
        }
    }

    #[test]
    fn minimum_five_seconds_for_a_call() {
        assert_eq!(deterministic(&two_party(true)), 5.0);
        assert_eq!(
            deterministic(&IntervalInput {
                initial: true,
                ..two_party(true)
            }),
            2.5
        );
    }

    #[test]
    fn randomisation_bounds() {
        let lo = randomised(&two_party(true), 0.5).as_secs_f64();
        let hi = randomised(&two_party(true), 1.5).as_secs_f64();
        assert!((lo - 2.5 / COMPENSATION).abs() < 1e-9);
        assert!((hi - 7.5 / COMPENSATION).abs() < 1e-9);
        // average of the uniform draw is Td / (e − 3/2) ≈ 4.1 s for Td = 5 s
        assert!((5.0 / COMPENSATION - 4.1).abs() < 0.05);
    }

    #[test]
    fn large_session_scales_with_members() {
        // 1000 receivers, 1 sender, 1000 octet/s RTCP, 100 octet reports: receivers share 75 %.
        let i = IntervalInput {
            members: 1001,
            senders: 1,
            rtcp_bw: 1000.0,
            we_sent: false,
            avg_rtcp_size: 100.0,
            initial: false,
        };
        let td = deterministic(&i);
        assert!((td - 100.0 * 1000.0 / 750.0).abs() < 1e-9, "{td}");
        // the sender gets 25 % for itself alone
        let s = IntervalInput { we_sent: true, ..i };
        assert_eq!(deterministic(&s), 5.0f64.max(100.0 / 250.0));
    }
}
