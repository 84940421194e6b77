//! DTMF: RFC 4733 telephone-event receive and send, and in-band (Goertzel) detection.
//!
//! A caller's digits reach the gateway in one of two ways: as RFC 4733 telephone-events (the usual case, Cisco's
//! `dtmf-relay rtp-nte`) or as tones inside the G.711 audio from peers that send no events. This module turns both
//! into [`DigitEvent`]s, and builds the telephone-event packets the load generator and the tests send.
//!
//! Everything here is sans-IO: the receiver and sender take `now` from the caller and never read the clock, the
//! in-band detector works on sample counts. The RTP layer (`crate::rtp`) owns sequence numbers, SSRC and the media
//! clock; this module owns only the 4-byte payload and the per-event rules of RFC 4733 §2.5.

mod digit;
mod error;
mod inband;
mod offline;
mod payload;
pub mod pcap;
mod receiver;
mod sender;

pub use digit::Digit;
pub use error::DtmfError;
pub use inband::{InbandConfig, InbandDetector};
pub use offline::{
    detect_datagrams, detect_file, detect_pcm, DetectError, DetectOptions, Detection, InbandMode,
};
pub use payload::{TelephoneEvent, TelephoneEvents};
pub use receiver::{ReportAt, Rfc4733Receiver};
pub use sender::{OutEvent, Rfc4733Sender};

/// The RTP clock rate of `telephone-event` on a G.711 call (RFC 4733 §2.4: the same as the audio, 8000 Hz).
pub const CLOCK_RATE: u32 = 8000;

/// How a digit reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtmfSource {
    /// An RFC 4733 telephone-event.
    Rfc4733,
    /// A tone pair detected in the audio.
    Inband,
}

impl DtmfSource {
    /// The name printed by `vxgate dtmf detect`: `rfc4733` or `inband`.
    pub fn as_str(self) -> &'static str {
        match self {
            DtmfSource::Rfc4733 => "rfc4733",
            DtmfSource::Inband => "inband",
        }
    }
}

impl std::fmt::Display for DtmfSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One digit, reported once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitEvent {
    /// The key pressed.
    pub digit: Digit,
    /// Telephone-event or in-band tone.
    pub source: DtmfSource,
    /// For RFC 4733: the event's RTP timestamp (its start, RFC 4733 §2.3.5 / §2.5.1.3 for long events: the first
    /// segment's). For in-band: the low 32 bits of the sample index where the tone started.
    pub rtp_timestamp: u32,
    /// The duration known when the digit was reported, in samples of the 8 kHz clock (for a report at the first
    /// packet this is that packet's duration field, often 0; for a report at the end it is the final duration).
    pub duration_samples: u32,
}
