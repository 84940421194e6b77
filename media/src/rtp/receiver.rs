//! The receiving half of an RTP session: source validation and sequence tracking exactly as RFC 3550 Appendix A.1
//! gives them, SSRC lock and re-lock (§8.2), reception statistics (§6.4.1, A.3) and interarrival jitter (A.8).
//!
//! One call has one remote source. The receiver locks on to the first source that passes probation and keeps it;
//! a packet from another SSRC is discarded unless that SSRC passes probation itself *and* the locked source has
//! been silent for `relock_after` (or said BYE), which is how a peer that changed SSRC (collision, §8.2, or a
//! re-INVITE to a new media source) is followed while a stray or hostile stream is ignored.

use std::time::{Duration, Instant};

use super::error::PacketError;
use super::id::{PayloadType, SeqNo, Ssrc};
use super::packet::RtpPacket;
use source::{Source, Update};

#[cfg(test)]
mod a1_reference;
mod source;
mod stats;
#[cfg(test)]
mod tests;

pub use stats::{ReceiveStats, ReportFigures};

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
}
