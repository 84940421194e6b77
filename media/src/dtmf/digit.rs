//! The sixteen DTMF keys and their RFC 4733 event codes (§3.2, table 3: 0-9, `*` = 10, `#` = 11, A-D = 12-15).

/// A DTMF key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Digit {
    /// `0`
    D0,
    /// `1`
    D1,
    /// `2`
    D2,
    /// `3`
    D3,
    /// `4`
    D4,
    /// `5`
    D5,
    /// `6`
    D6,
    /// `7`
    D7,
    /// `8`
    D8,
    /// `9`
    D9,
    /// `*`
    Star,
    /// `#`
    Pound,
    /// `A`
    A,
    /// `B`
    B,
    /// `C`
    C,
    /// `D`
    D,
}

/// All digits in event-code order (index = RFC 4733 event code).
const ALL: [Digit; 16] = [
    Digit::D0,
    Digit::D1,
    Digit::D2,
    Digit::D3,
    Digit::D4,
    Digit::D5,
    Digit::D6,
    Digit::D7,
    Digit::D8,
    Digit::D9,
    Digit::Star,
    Digit::Pound,
    Digit::A,
    Digit::B,
    Digit::C,
    Digit::D,
];

/// Characters in event-code order.
const CHARS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

impl Digit {
    /// Every digit, in event-code order.
    pub const ALL: [Digit; 16] = ALL;

    /// The digit of an RFC 4733 event code; `None` for codes 16-255 (other tones and signals, not DTMF).
    pub fn from_event(code: u8) -> Option<Digit> {
        ALL.get(usize::from(code)).copied()
    }

    /// The RFC 4733 event code (0-15).
    pub fn event(self) -> u8 {
        self as u8
    }

    /// The key's character: `0`-`9`, `*`, `#`, `A`-`D`.
    pub fn to_char(self) -> char {
        CHARS[usize::from(self.event())] // event() < 16 by construction
    }

    /// The digit for a character (`a`-`d` accepted too); `None` for any other character.
    pub fn from_char(c: char) -> Option<Digit> {
        let c = c.to_ascii_uppercase();
        CHARS
            .iter()
            .position(|&k| k == c)
            .and_then(|i| ALL.get(i).copied())
    }

    /// The (low-group, high-group) frequencies in Hz of the key's tone pair (ITU-T Q.23).
    pub fn frequencies(self) -> (f64, f64) {
        let (row, col) = self.keypad_position();
        (
            super::inband::LOW_FREQS[row],
            super::inband::HIGH_FREQS[col],
        )
    }

    /// Row (low group) and column (high group) of the key on the 4×4 keypad.
    pub(crate) fn keypad_position(self) -> (usize, usize) {
        match self {
            Digit::D1 => (0, 0),
            Digit::D2 => (0, 1),
            Digit::D3 => (0, 2),
            Digit::A => (0, 3),
            Digit::D4 => (1, 0),
            Digit::D5 => (1, 1),
            Digit::D6 => (1, 2),
            Digit::B => (1, 3),
            Digit::D7 => (2, 0),
            Digit::D8 => (2, 1),
            Digit::D9 => (2, 2),
            Digit::C => (2, 3),
            Digit::Star => (3, 0),
            Digit::D0 => (3, 1),
            Digit::Pound => (3, 2),
            Digit::D => (3, 3),
        }
    }

    /// The key at a keypad position; `None` outside the 4×4 pad.
    pub(crate) fn from_keypad(row: usize, col: usize) -> Option<Digit> {
        ALL.iter()
            .copied()
            .find(|d| d.keypad_position() == (row, col))
    }
}

impl std::fmt::Display for Digit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_char())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_codes_follow_rfc4733_table() {
        for code in 0..16u8 {
            let d = Digit::from_event(code).expect("0-15 are digits");
            assert_eq!(d.event(), code);
            assert_eq!(Digit::from_char(d.to_char()), Some(d));
        }
        assert_eq!(Digit::from_event(10), Some(Digit::Star));
        assert_eq!(Digit::from_event(11), Some(Digit::Pound));
        assert_eq!(Digit::from_event(12), Some(Digit::A));
        assert_eq!(Digit::from_event(15), Some(Digit::D));
        assert_eq!(Digit::from_event(16), None);
        assert_eq!(Digit::from_event(255), None);
        assert_eq!(Digit::from_char('d'), Some(Digit::D));
        assert_eq!(Digit::from_char('x'), None);
    }

    #[test]
    fn keypad_frequencies() {
        assert_eq!(Digit::D1.frequencies(), (697.0, 1209.0));
        assert_eq!(Digit::D0.frequencies(), (941.0, 1336.0));
        assert_eq!(Digit::Pound.frequencies(), (941.0, 1477.0));
        assert_eq!(Digit::D.frequencies(), (941.0, 1633.0));
        for d in Digit::ALL {
            let (r, c) = d.keypad_position();
            assert_eq!(Digit::from_keypad(r, c), Some(d));
        }
    }
}
