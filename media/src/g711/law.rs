//! Which G.711 companding law a stream uses, and how it is named in SDP and on the command line.

use std::fmt;
use std::str::FromStr;

/// A G.711 companding law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law (North America, Japan): RTP payload type 0, `PCMU`.
    Ulaw,
    /// A-law (Europe and most of the world): RTP payload type 8, `PCMA`.
    Alaw,
}

impl Law {
    /// The code of a zero sample: `0xFF` for µ-law, `0xD5` for A-law (G.191 encoding of 0).
    pub fn silence(self) -> u8 {
        match self {
            Law::Ulaw => 0xFF,
            Law::Alaw => 0xD5,
        }
    }

    /// The static RTP payload type (RFC 3551 §6, table 4): 0 for PCMU, 8 for PCMA.
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Ulaw => 0,
            Law::Alaw => 8,
        }
    }

    /// The RTP encoding name used in SDP `a=rtpmap` (RFC 3551): `PCMU` or `PCMA`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Law::Ulaw => "PCMU",
            Law::Alaw => "PCMA",
        }
    }

    /// The short name accepted by [`FromStr`] and printed by [`fmt::Display`]: `ulaw` or `alaw`.
    pub fn name(self) -> &'static str {
        match self {
            Law::Ulaw => "ulaw",
            Law::Alaw => "alaw",
        }
    }
}

impl fmt::Display for Law {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no G.711 law.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown g.711 law {value:?}: expected ulaw (mulaw, pcmu, g711ulaw) or alaw (pcma, g711alaw)"
)]
pub struct ParseLawError {
    /// The string that was given.
    pub value: String,
}

impl FromStr for Law {
    type Err = ParseLawError;

    /// Accepts (ASCII case-insensitively) `ulaw`, `mulaw`, `pcmu`, `g711ulaw`, `u-law`, `µlaw`, `µ-law`
    /// and `alaw`, `pcma`, `g711alaw`, `a-law`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ulaw" | "mulaw" | "pcmu" | "g711ulaw" | "g711u" | "u-law" | "mu-law" | "µlaw"
            | "µ-law" => Ok(Law::Ulaw),
            "alaw" | "pcma" | "g711alaw" | "g711a" | "a-law" => Ok(Law::Alaw),
            _ => Err(ParseLawError {
                value: s.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_name() {
        for s in ["ulaw", "mulaw", "pcmu", "g711ulaw", "PCMU", "µ-law"] {
            assert_eq!(s.parse::<Law>(), Ok(Law::Ulaw), "{s}");
        }
        for s in ["alaw", "pcma", "g711alaw", "PCMA", "A-law"] {
            assert_eq!(s.parse::<Law>(), Ok(Law::Alaw), "{s}");
        }
    }

    #[test]
    fn rejects_other_names_and_shows_them() {
        let err = "g722".parse::<Law>().unwrap_err();
        assert_eq!(err.value, "g722");
        assert!(err.to_string().contains("\"g722\""), "{err}");
        assert!("".parse::<Law>().is_err());
    }

    #[test]
    fn sdp_facts() {
        assert_eq!(
            (Law::Ulaw.payload_type(), Law::Ulaw.encoding_name()),
            (0, "PCMU")
        );
        assert_eq!(
            (Law::Alaw.payload_type(), Law::Alaw.encoding_name()),
            (8, "PCMA")
        );
        assert_eq!((Law::Ulaw.silence(), Law::Alaw.silence()), (0xFF, 0xD5));
        assert_eq!(Law::Alaw.to_string().parse::<Law>(), Ok(Law::Alaw));
    }
}
