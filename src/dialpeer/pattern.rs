//! IOS destination patterns (`incoming called-number`): the digit language a dial-peer matches a called number with.
//!
//! Supported, as in Cisco IOS "Dial Peer Configuration" (E.164 pattern matching):
//! - a digit `0`-`9`, `*`, `#`: that exact character;
//! - `.`: any one digit;
//! - `[2-4]`, `[13579]`, `[^0]`: one digit from (or, with `^`, not from) a set, ranges allowed;
//! - `T` (only last): any number of further digits, including none (IOS: "inter-digit timeout").
//!
//! Patterns are compared by specificity: the one matching the most digits explicitly wins, as IOS does.

use std::fmt;

use thiserror::Error;

/// Why a pattern string is not a valid IOS destination pattern.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PatternError {
    /// The pattern is empty.
    #[error("empty pattern")]
    Empty,
    /// A character that is not part of the pattern language.
    #[error("unexpected character {ch:?} at position {pos} in pattern {pattern:?}")]
    BadChar {
        /// The whole pattern.
        pattern: String,
        /// The offending character.
        ch: char,
        /// Its byte offset.
        pos: usize,
    },
    /// `[` without a matching `]`, an empty class or a reversed range.
    #[error("bad digit class in pattern {0:?}")]
    BadClass(String),
    /// `T` somewhere other than at the end.
    #[error("'T' must be the last character of pattern {0:?}")]
    MisplacedT(String),
}

/// One position of a pattern: the set of characters it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Exactly this character.
    Exact(u8),
    /// Any of these digits (bit `d` set = digit `d` accepted).
    Class(u16),
}

impl Position {
    fn accepts(self, c: u8) -> bool {
        match self {
            Position::Exact(e) => e == c,
            Position::Class(mask) => c.is_ascii_digit() && mask & (1 << (c - b'0')) != 0,
        }
    }
}

/// A parsed IOS destination pattern such as `5417641401T`, `9191....` or `[2-4]...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitPattern {
    source: String,
    positions: Vec<Position>,
    trailing: bool,
}

/// How specific a pattern is; larger is more specific. Ordered: explicit digits first, then narrower classes, then
/// fixed length over `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    exact: usize,
    class_narrowness: usize,
    fixed_length: bool,
}

impl DigitPattern {
    /// Parses a pattern.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        if pattern.is_empty() {
            return Err(PatternError::Empty);
        }
        let bytes = pattern.as_bytes();
        let mut positions = Vec::new();
        let mut trailing = false;
        let mut i = 0;
        while i < bytes.len() {
            // In bounds: the loop condition.
            let c = bytes[i];
            match c {
                b'0'..=b'9' | b'*' | b'#' => positions.push(Position::Exact(c)),
                b'.' => positions.push(Position::Class(0x3ff)),
                b'T' | b't' => {
                    if i + 1 != bytes.len() {
                        return Err(PatternError::MisplacedT(pattern.to_string()));
                    }
                    trailing = true;
                }
                b'[' => {
                    // `close` >= 1 (bytes[i] is '[', not ']'), so the class slice below is in order and in bounds.
                    let close = bytes[i..]
                        .iter()
                        .position(|&b| b == b']')
                        .ok_or_else(|| PatternError::BadClass(pattern.to_string()))?;
                    let mask = parse_class(&bytes[i + 1..i + close])
                        .ok_or_else(|| PatternError::BadClass(pattern.to_string()))?;
                    positions.push(Position::Class(mask));
                    i += close;
                }
                _ => {
                    let ch = pattern[i..].chars().next().unwrap_or('?');
                    return Err(PatternError::BadChar {
                        pattern: pattern.to_string(),
                        ch,
                        pos: i,
                    });
                }
            }
            i += 1;
        }
        Ok(DigitPattern {
            source: pattern.to_string(),
            positions,
            trailing,
        })
    }

    /// Whether `number` (the called number, digits and `*`/`#`) matches the whole pattern.
    pub fn matches(&self, number: &str) -> bool {
        let n = number.as_bytes();
        if n.len() < self.positions.len() || (!self.trailing && n.len() != self.positions.len()) {
            return false;
        }
        let fixed_ok = self.positions.iter().zip(n).all(|(p, &c)| p.accepts(c));
        let rest_ok = n[self.positions.len()..].iter().all(|c| c.is_ascii_digit());
        fixed_ok && rest_ok
    }

    /// How specific this pattern is, for choosing between several that match.
    pub fn specificity(&self) -> Specificity {
        let exact = self
            .positions
            .iter()
            .filter(|p| matches!(p, Position::Exact(_)))
            .count();
        let class_narrowness = self
            .positions
            .iter()
            .map(|p| match p {
                Position::Exact(_) => 0,
                Position::Class(mask) => 10 - mask.count_ones() as usize,
            })
            .sum();
        Specificity {
            exact,
            class_narrowness,
            fixed_length: !self.trailing,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for DigitPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Parses the inside of `[...]` into a digit mask; `None` when empty, reversed or not digits.
fn parse_class(inner: &[u8]) -> Option<u16> {
    let (negate, inner) = match inner.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, inner),
    };
    let mut mask = 0u16;
    let mut i = 0;
    while i < inner.len() {
        // In bounds: the loop condition.
        let lo = inner[i];
        if !lo.is_ascii_digit() {
            return None;
        }
        if inner.get(i + 1) == Some(&b'-') {
            let hi = *inner.get(i + 2)?;
            if !hi.is_ascii_digit() || hi < lo {
                return None;
            }
            for d in lo..=hi {
                mask |= 1 << (d - b'0');
            }
            i += 3;
        } else {
            mask |= 1 << (lo - b'0');
            i += 1;
        }
    }
    if negate {
        mask = !mask & 0x3ff;
    }
    (mask != 0).then_some(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> DigitPattern {
        DigitPattern::parse(s).expect("valid pattern")
    }

    #[test]
    fn trailing_t_matches_label_plus_correlation_id() {
        let pat = p("5417641401T");
        assert!(pat.matches("541764140144"));
        assert!(pat.matches("5417641401"));
        assert!(!pat.matches("541764140"));
        assert!(!pat.matches("5417641402"));
        assert!(!pat.matches("54176414014x"));
    }

    #[test]
    fn dots_are_one_digit_each() {
        let pat = p("9191....");
        assert!(pat.matches("91919191"));
        assert!(!pat.matches("9191919"));
        assert!(!pat.matches("919191911"));
        assert!(!pat.matches("9191919*"));
    }

    #[test]
    fn classes_ranges_and_negation() {
        let pat = p("[2-4]...");
        assert!(pat.matches("2000") && pat.matches("4999"));
        assert!(!pat.matches("5000") && !pat.matches("1000"));
        let neg = p("[^0-8]1");
        assert!(neg.matches("91") && !neg.matches("01"));
        assert!(p("[13]").matches("3") && !p("[13]").matches("2"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert_eq!(DigitPattern::parse(""), Err(PatternError::Empty));
        assert!(matches!(
            DigitPattern::parse("12a"),
            Err(PatternError::BadChar {
                ch: 'a',
                pos: 2,
                ..
            })
        ));
        assert!(matches!(
            DigitPattern::parse("1T2"),
            Err(PatternError::MisplacedT(_))
        ));
        assert!(matches!(
            DigitPattern::parse("[4-2]"),
            Err(PatternError::BadClass(_))
        ));
        assert!(matches!(
            DigitPattern::parse("[12"),
            Err(PatternError::BadClass(_))
        ));
        assert!(matches!(
            DigitPattern::parse("[]"),
            Err(PatternError::BadClass(_))
        ));
        assert!(matches!(
            DigitPattern::parse("é"),
            Err(PatternError::BadChar { ch: 'é', .. })
        ));
    }

    #[test]
    fn more_explicit_digits_is_more_specific() {
        assert!(p("91919191").specificity() > p("9191....").specificity());
        assert!(p("9191....").specificity() > p("919.....").specificity());
        assert!(p("[2-3]...").specificity() > p("....").specificity());
        assert!(p("5417641401").specificity() > p("5417641401T").specificity());
    }
}
