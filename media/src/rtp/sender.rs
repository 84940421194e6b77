//! The sending half of an RTP session (RFC 3550 §5.1): SSRC, sequence number and timestamp bookkeeping, the
//! talkspurt marker bit (RFC 3551 §4.1), and the counters the sender report needs.

use std::time::Instant;

use rand::Rng;

use super::error::PacketError;
use super::id::{PayloadType, RtpTime, SeqNo, Ssrc};
use super::packet::write_packet;

/// Identity and starting point of a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Our SSRC.
    pub ssrc: Ssrc,
    /// Audio payload type (0 PCMU, 8 PCMA, from negotiation).
    pub payload_type: PayloadType,
    /// First sequence number.
    pub initial_seq: u16,
    /// First timestamp.
    pub initial_ts: RtpTime,
}

impl SenderConfig {
    /// Random SSRC, initial sequence number and timestamp, as §5.1 and §8 require.
    pub fn random(payload_type: PayloadType, rng: &mut impl Rng) -> SenderConfig {
        SenderConfig {
            ssrc: Ssrc(rng.random()),
            payload_type,
            initial_seq: rng.random(),
            initial_ts: RtpTime(rng.random()),
        }
    }
}

/// The sans-IO RTP sender of one call. Writes each packet into a caller's buffer; allocates nothing.
#[derive(Debug, Clone)]
pub struct Sender {
    cfg: SenderConfig,
    seq: SeqNo,
    ts: RtpTime,
    marker_pending: bool,
    packets: u64,
    octets: u64,
    last: Option<(RtpTime, Instant)>,
    sent_since_report: bool,
}

impl Sender {
    /// A sender whose first packet starts a talkspurt.
    pub fn new(cfg: SenderConfig) -> Sender {
        Sender {
            cfg,
            seq: SeqNo(u64::from(cfg.initial_seq)),
            ts: cfg.initial_ts,
            marker_pending: true,
            packets: 0,
            octets: 0,
            last: None,
            sent_since_report: false,
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> Ssrc {
        self.cfg.ssrc
    }

    /// Takes a new SSRC (after a collision, RFC 3550 §8.2). The packet and octet counts restart, as §6.4.1 asks
    /// of the sender report; sequence number and timestamp go on, and the next packet carries the marker bit.
    pub fn set_ssrc(&mut self, ssrc: Ssrc) {
        self.cfg.ssrc = ssrc;
        self.packets = 0;
        self.octets = 0;
        self.marker_pending = true;
    }

    /// The audio payload type.
    pub fn payload_type(&self) -> PayloadType {
        self.cfg.payload_type
    }

    /// Changes the audio payload type (re-negotiation); the next packet starts a talkspurt.
    pub fn set_payload_type(&mut self, pt: PayloadType) {
        if pt != self.cfg.payload_type {
            self.cfg.payload_type = pt;
            self.marker_pending = true;
        }
    }

    /// Sequence number of the next packet.
    pub fn next_seq(&self) -> SeqNo {
        self.seq
    }

    /// Timestamp of the next audio sample to be sent.
    pub fn timestamp(&self) -> RtpTime {
        self.ts
    }

    /// Packets sent.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Payload octets sent.
    pub fn octets(&self) -> u64 {
        self.octets
    }

    /// Timestamp and send time of the last packet.
    pub fn last_sent(&self) -> Option<(RtpTime, Instant)> {
        self.last
    }

    /// Whether RTP went out since the last call of this method (the `we_sent` flag of §6.3).
    pub fn take_sent_flag(&mut self) -> bool {
        std::mem::take(&mut self.sent_since_report)
    }

    /// Writes the next audio packet carrying `samples` samples (`payload`) into `out`; returns its length.
    /// The timestamp then advances by `samples` (8 per millisecond at 8 kHz: +160 for 20 ms).
    pub fn audio(
        &mut self,
        now: Instant,
        payload: &[u8],
        samples: u32,
        out: &mut [u8],
    ) -> Result<usize, PacketError> {
        let n = write_packet(
            out,
            self.marker_pending,
            self.cfg.payload_type,
            self.seq.wire(),
            self.ts,
            self.cfg.ssrc,
            payload,
        )?;
        self.marker_pending = false;
        self.count(now, payload.len());
        self.ts = self.ts.add(samples);
        Ok(n)
    }

    /// `samples` of time pass with no audio sent (silence suppression, hold): the timestamp keeps counting
    /// sampling instants and the next audio packet starts a talkspurt with the marker bit (RFC 3551 §4.1).
    pub fn pause(&mut self, samples: u32) {
        self.ts = self.ts.add(samples);
        self.marker_pending = true;
    }

    /// Writes a packet of another payload type sharing this stream's sequence space, e.g. an RFC 4733
    /// telephone-event with the event's own `timestamp` and `marker`; the audio timestamp does not move.
    pub fn other(
        &mut self,
        now: Instant,
        pt: PayloadType,
        marker: bool,
        timestamp: RtpTime,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, PacketError> {
        let n = write_packet(
            out,
            marker,
            pt,
            self.seq.wire(),
            timestamp,
            self.cfg.ssrc,
            payload,
        )?;
        self.count(now, payload.len());
        Ok(n)
    }

    fn count(&mut self, now: Instant, payload: usize) {
        self.last = Some((self.ts, now));
        self.seq = SeqNo(self.seq.0 + 1);
        self.packets += 1;
        self.octets += payload as u64;
        self.sent_since_report = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::packet::RtpPacket;
    use std::time::Duration;

    fn cfg() -> SenderConfig {
        SenderConfig {
            ssrc: Ssrc(42),
            payload_type: PayloadType::PCMU,
            initial_seq: 65535,
            initial_ts: RtpTime(u32::MAX - 159),
        }
    }

    #[test]
    fn seq_and_ts_wrap_and_marker_only_on_talkspurt_start() {
        let t0 = Instant::now();
        let mut s = Sender::new(cfg());
        let mut out = [0u8; 200];
        let mut got = Vec::new();
        for i in 0..3u64 {
            let n = s
                .audio(
                    t0 + Duration::from_millis(20 * i),
                    &[0xff; 160],
                    160,
                    &mut out,
                )
                .unwrap();
            let p = RtpPacket::parse(&out[..n]).unwrap();
            got.push((p.marker, p.seq, p.timestamp.0));
        }
        assert_eq!(
            got,
            vec![
                (true, 65535, u32::MAX - 159),
                (false, 0, 0),
                (false, 1, 160)
            ]
        );
        s.pause(320);
        let n = s.audio(t0, &[0xff; 160], 160, &mut out).unwrap();
        let p = RtpPacket::parse(&out[..n]).unwrap();
        assert!(p.marker, "first packet after silence");
        assert_eq!(
            (p.seq, p.timestamp.0),
            (2, 640),
            "seq continues, ts counts the pause"
        );
        assert_eq!(s.next_seq(), SeqNo(65535 + 4));
        assert_eq!((s.packets(), s.octets()), (4, 640));
    }

    #[test]
    fn other_payload_shares_sequence_not_timestamp() {
        let t0 = Instant::now();
        let mut s = Sender::new(cfg());
        let mut out = [0u8; 64];
        let pt = PayloadType::new(101).unwrap();
        let n = s
            .other(t0, pt, true, RtpTime(7), &[1, 0x80, 0, 160], &mut out)
            .unwrap();
        let p = RtpPacket::parse(&out[..n]).unwrap();
        assert_eq!(
            (p.payload_type, p.marker, p.timestamp.0, p.seq),
            (pt, true, 7, 65535)
        );
        assert_eq!(s.timestamp(), RtpTime(u32::MAX - 159));
    }

    #[test]
    fn random_config_differs() {
        let mut rng = rand::rng();
        let a = SenderConfig::random(PayloadType::PCMA, &mut rng);
        let b = SenderConfig::random(PayloadType::PCMA, &mut rng);
        assert_ne!(
            (a.ssrc, a.initial_seq, a.initial_ts),
            (b.ssrc, b.initial_seq, b.initial_ts)
        );
    }
}
