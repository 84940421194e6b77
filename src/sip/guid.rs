//! The Cisco call GUID: the key CVP, ICM and the gateway all log a call under.
//!
//! A SIP `Cisco-Guid` header carries four 32-bit words in decimal (`2340597125-4034597340-2149908499-422385232`).
//! CVP normalises it to base-16 (`8B82AD85-F07B11DC-80250013-192D1650`, 35 characters) and call-server logs print
//! the same 32 digits without dashes. A header already in hex (8-8-8-8 or 32 digits) is accepted as is.

use std::fmt;

use thiserror::Error;

/// A `Cisco-Guid` value that is neither four decimal 32-bit words nor 128 bits of hex.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad cisco-guid {0:?} (expected four decimal 32-bit words or 32 hex digits)")]
pub struct BadGuid(pub String);

/// A call GUID: 128 bits, shown as four dash-separated groups of 8 upper-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallGuid([u32; 4]);

impl CallGuid {
    /// The GUID of the four words.
    pub fn from_words(words: [u32; 4]) -> Self {
        CallGuid(words)
    }

    /// A fresh random GUID, for calls that arrive without a `Cisco-Guid` header.
    pub fn random() -> Self {
        CallGuid(rand::random())
    }

    /// Parses a `Cisco-Guid` header value: decimal words (as IOS and CVP send them) or hex.
    pub fn parse(value: &str) -> Result<Self, BadGuid> {
        let bad = || BadGuid(value.to_string());
        let v = value.trim();
        let parts: Vec<&str> = v.split('-').collect();
        if parts.len() == 4 {
            let decimal: Option<Vec<u32>> = parts
                .iter()
                .map(|p| {
                    if !p.is_empty() && p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()) {
                        p.parse::<u32>().ok()
                    } else {
                        None
                    }
                })
                .collect();
            // Exactly 8 hex digits with a letter is hex; all-digit groups are the decimal form CVP sends.
            // `decimal` has one word per part, and there are four parts.
            if let Some(w) = decimal.filter(|w| w.len() == 4) {
                return Ok(CallGuid([w[0], w[1], w[2], w[3]]));
            }
            let mut w = [0u32; 4];
            for (slot, p) in w.iter_mut().zip(&parts) {
                if p.len() != 8 {
                    return Err(bad());
                }
                *slot = u32::from_str_radix(p, 16).map_err(|_| bad())?;
            }
            return Ok(CallGuid(w));
        }
        if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut w = [0u32; 4];
            for (i, slot) in w.iter_mut().enumerate() {
                // In range and hex-only: checked above.
                *slot = u32::from_str_radix(&v[i * 8..i * 8 + 8], 16).map_err(|_| bad())?;
            }
            return Ok(CallGuid(w));
        }
        Err(bad())
    }

    /// The 32 hex digits without dashes, as call-server logs print `CALLGUID`.
    pub fn compact(&self) -> String {
        let [a, b, c, d] = self.0;
        format!("{a:08X}{b:08X}{c:08X}{d:08X}")
    }

    /// The four words.
    pub fn words(&self) -> [u32; 4] {
        self.0
    }
}

impl fmt::Display for CallGuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a:08X}-{b:08X}-{c:08X}-{d:08X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callflow_known_answer() {
        let g = CallGuid::parse("2340597125-4034597340-2149908499-422385232").expect("valid");
        assert_eq!(g.to_string(), "8B82AD85-F07B11DC-80250013-192D1650");
        assert_eq!(g.to_string().len(), 35);
        assert_eq!(g.compact(), "8B82AD85F07B11DC80250013192D1650");
    }

    #[test]
    fn hex_forms_round_trip() {
        let g = CallGuid::parse("8B82AD85-F07B11DC-80250013-192D1650").expect("valid");
        assert_eq!(
            g,
            CallGuid::parse("8b82ad85f07b11dc80250013192d1650").expect("valid")
        );
        assert_eq!(
            g,
            CallGuid::parse("2340597125-4034597340-2149908499-422385232").expect("valid")
        );
    }

    #[test]
    fn word_boundaries() {
        let g = CallGuid::parse("0-4294967295-1-0").expect("valid");
        assert_eq!(g.to_string(), "00000000-FFFFFFFF-00000001-00000000");
        assert!(CallGuid::parse("0-4294967296-1-0").is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        for v in [
            "",
            "1-2-3",
            "1-2-3-4-5",
            "a-b-c-d",
            "12345678901-1-1-1",
            "-1-2-3",
            "ZZZZZZZZ-00000000-00000000-00000000",
            "éé",
        ] {
            assert!(CallGuid::parse(v).is_err(), "{v:?}");
        }
    }
}
