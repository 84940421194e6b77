//! Dial-peers: which service answers a called number, with which codec and DTMF relay, and how many calls at once.
//!
//! Modelled on Cisco IOS `dial-peer voice N voip` with `incoming called-number`: the most specific pattern wins
//! (most explicit digits), then the lowest `preference`, then the lowest tag. `max-conn` caps a dial-peer's
//! concurrent calls; a global cap covers the whole gateway. The counters are RAII guards held by the call.

pub mod pattern;
mod table;

use std::fmt;
use std::str::FromStr;

pub use pattern::{DigitPattern, PatternError, Specificity};
pub use table::{ConnGuard, DialPeerTable, MatchError};

/// The service a dial-peer starts (IOS `service NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// The CVP IVR leg: new-call request to the IVR service, then the VoiceXML pages it returns.
    Bootstrap,
    /// Plays ringback in a loop until the peer hangs up.
    Ringtone,
    /// Plays the error tone, then ends the leg.
    Cvperror,
    /// Ingress survivability: forwards the call to the configured call servers in order (B2BUA); when none
    /// answers, plays the "call back later" message and disconnects.
    Survivability,
}

impl ServiceKind {
    /// The IOS service name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Bootstrap => "bootstrap",
            ServiceKind::Ringtone => "ringtone",
            ServiceKind::Cvperror => "cvperror",
            ServiceKind::Survivability => "survivability",
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bootstrap" | "new-call" => Ok(ServiceKind::Bootstrap),
            "ringtone" => Ok(ServiceKind::Ringtone),
            "cvperror" => Ok(ServiceKind::Cvperror),
            "survivability" | "cvp-survivability" => Ok(ServiceKind::Survivability),
            other => Err(format!(
                "unknown service {other:?} (expected bootstrap, ringtone, cvperror or survivability)"
            )),
        }
    }
}

/// The voice codec a dial-peer answers with (IOS `codec g711ulaw|g711alaw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, RTP payload type 0 (PCMU).
    G711Ulaw,
    /// G.711 A-law, RTP payload type 8 (PCMA).
    G711Alaw,
}

impl Codec {
    /// The static RTP payload type (RFC 3551 §6).
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::G711Ulaw => 0,
            Codec::G711Alaw => 8,
        }
    }
    /// The SDP encoding name (RFC 3551 §6).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::G711Ulaw => "PCMU",
            Codec::G711Alaw => "PCMA",
        }
    }
    /// The IOS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::G711Ulaw => "g711ulaw",
            Codec::G711Alaw => "g711alaw",
        }
    }
}

impl FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "g711ulaw" => Ok(Codec::G711Ulaw),
            "g711alaw" => Ok(Codec::G711Alaw),
            other => Err(format!(
                "unknown codec {other:?} (expected g711ulaw or g711alaw)"
            )),
        }
    }
}

/// How DTMF digits travel (IOS `dtmf-relay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtmfRelay {
    /// RFC 4733 (ex-2833) telephone-event packets, when the offer has them; in-band otherwise.
    RtpNte,
    /// In-band tones only, detected from the audio.
    Inband,
}

impl FromStr for DtmfRelay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rtp-nte" => Ok(DtmfRelay::RtpNte),
            "inband" | "in-band" => Ok(DtmfRelay::Inband),
            other => Err(format!(
                "unknown dtmf_relay {other:?} (expected rtp-nte or inband)"
            )),
        }
    }
}

/// One dial-peer.
#[derive(Debug, Clone)]
pub struct DialPeer {
    /// The dial-peer number (`dial-peer voice <tag> voip`).
    pub tag: u32,
    /// The service it starts.
    pub service: ServiceKind,
    /// `incoming called-number`.
    pub pattern: DigitPattern,
    /// Answer codec.
    pub codec: Codec,
    /// DTMF relay.
    pub dtmf_relay: DtmfRelay,
    /// Concurrent-call cap, if any.
    pub max_conn: Option<usize>,
    /// IOS preference 0 (most preferred) to 10.
    pub preference: u8,
    /// Time between 180 Ringing and the answer (zero: answer at once).
    pub answer_delay: std::time::Duration,
}

impl DialPeer {
    /// The three dial-peers of the CVP comprehensive call flow (CALLFLOW.md): 1401 bootstrap, 9191 ringtone,
    /// 9292 cvperror.
    pub fn callflow_defaults() -> Vec<DialPeer> {
        let peer = |tag, service, pat: &str| DialPeer {
            tag,
            service,
            // The three literal patterns are valid (covered by a unit test).
            pattern: DigitPattern::parse(pat).expect("built-in pattern is valid"),
            codec: Codec::G711Ulaw,
            dtmf_relay: DtmfRelay::RtpNte,
            max_conn: None,
            preference: 0,
            answer_delay: std::time::Duration::ZERO,
        };
        vec![
            peer(1401, ServiceKind::Bootstrap, "5417641401T"),
            peer(9191, ServiceKind::Ringtone, "91919191"),
            peer(9292, ServiceKind::Cvperror, "92929292"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callflow_defaults_parse_and_route() {
        let table = DialPeerTable::new(DialPeer::callflow_defaults(), None);
        assert_eq!(table.select("541764140144").map(|p| p.tag), Ok(1401));
        assert_eq!(table.select("91919191").map(|p| p.tag), Ok(9191));
        assert_eq!(table.select("92929292").map(|p| p.tag), Ok(9292));
        assert_eq!(
            table.select("5550100").map(|p| p.tag),
            Err(MatchError::NoDialPeer)
        );
    }
}
