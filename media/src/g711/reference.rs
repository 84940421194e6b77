//! The ITU-T reference algorithms, written straight from the text, for tests and as the benchmark baseline.
//!
//! Encoding and decoding follow the G.191 Software Tool Library module `g711.c` (`alaw_compress`,
//! `alaw_expand`, `ulaw_compress`, `ulaw_expand`, version 3.01): 16-bit two's complement input, negative values
//! taken by *one's* complement (`~x`, not `-x`), and the segment found by a shift loop. The µ-law ↔ A-law
//! conversion follows the tables of G.711 (11/88) §3 and §4 (Tables 3 and 4), which the code-to-code
//! functions use through the character-signal numbering (0 = smallest magnitude).
//!
//! Nothing here is fast, and nothing here should be: these are the functions the fast paths are tested against.

/// G.191 `ulaw_compress` for one sample: µ-law code (sign bit set for `x >= 0`, magnitude bits inverted).
pub fn linear_to_ulaw(x: i16) -> u8 {
    // 14-bit magnitude; one's complement for negative samples; plus 33, the µ-law bias.
    let mut absno: i32 = if x < 0 {
        (i32::from(!x) >> 2) + 33
    } else {
        (i32::from(x) >> 2) + 33
    };
    if absno > 0x1FFF {
        absno = 0x1FFF;
    }
    // Segment search (Table 2/G.711, column 1).
    let mut i = absno >> 6;
    let mut segno = 1;
    while i != 0 {
        segno += 1;
        i >>= 1;
    }
    let high_nibble = 0x8 - segno;
    let low_nibble = 0xF - ((absno >> segno) & 0xF);
    let mut code = (high_nibble << 4) | low_nibble;
    if x >= 0 {
        code |= 0x80;
    }
    code as u8
}

/// G.191 `ulaw_expand` for one code: the 16-bit linear value (14 significant bits, left-justified).
pub fn ulaw_to_linear(code: u8) -> i16 {
    let sign: i32 = if code < 0x80 { -1 } else { 1 };
    let inverted = !i32::from(code);
    let exponent = (inverted >> 4) & 0x7;
    let segment = exponent + 1;
    let mantissa = inverted & 0xF;
    let step = 4 << segment;
    let value = sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33);
    value as i16
}

/// G.191 `alaw_compress` for one sample: A-law code (sign bit set for `x >= 0`, even bits toggled).
pub fn linear_to_alaw(x: i16) -> u8 {
    // 12-bit magnitude; one's complement for negative samples.
    let mut ix: i32 = if x < 0 {
        i32::from(!x) >> 4
    } else {
        i32::from(x) >> 4
    };
    if ix > 15 {
        let mut iexp = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            iexp += 1;
        }
        ix -= 16; // drop the leading 1
        ix += iexp << 4;
    }
    if x >= 0 {
        ix |= 0x80;
    }
    (ix ^ 0x55) as u8
}

/// G.191 `alaw_expand` for one code: the 16-bit linear value (13 significant bits, left-justified).
pub fn alaw_to_linear(code: u8) -> i16 {
    let ix = (i32::from(code) ^ 0x55) & 0x7F;
    let iexp = ix >> 4;
    let mut mant = ix & 0xF;
    if iexp > 0 {
        mant += 16;
    }
    mant = (mant << 4) + 0x8;
    if iexp > 1 {
        mant <<= iexp - 1;
    }
    let value = if code > 127 { mant } else { -mant };
    value as i16
}

/// G.711 Table 3 (µ-law to A-law): entry `n` is the A-law character-signal number (1..=128) for µ-law number
/// `n` (0..=127), both counted from the smallest magnitude. The same mapping holds for both polarities.
/// µ-law number 80 maps to A-law 80, as in Lindberg's 1994 correction of the widely copied Sun tables (which
/// had 81); the tests derive the rest from G.711's scales.
pub const ULAW_TO_ALAW_NUMBER: [u8; 128] = [
    1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, // µ 0..=15
    9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, // µ 16..=31
    25, 27, 29, 31, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, // µ 32..=47
    46, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, // µ 48..=63
    64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, // µ 64..=79
    80, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, // µ 80..=95
    97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, // µ 96..=111
    113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
    128, // µ 112..=127
];

/// G.711 Table 4 (A-law to µ-law): entry `n - 1` is the µ-law character-signal number (0..=127) for A-law
/// number `n` (1..=128), both counted from the smallest magnitude. The same mapping holds for both polarities.
/// A-law number 80 maps to µ-law 80 (Lindberg's correction; older copies have 79).
pub const ALAW_TO_ULAW_NUMBER: [u8; 128] = [
    1, 3, 5, 7, 9, 11, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, // A 1..=16
    24, 25, 26, 27, 28, 29, 30, 31, 32, 32, 33, 33, 34, 34, 35, 35, // A 17..=32
    36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 48, 49, 49, // A 33..=48
    50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 64, // A 49..=64
    65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, // A 65..=80
    80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, // A 81..=96
    96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, // A 97..=112
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126,
    127, // A 113..=128
];

/// µ-law code to A-law code through G.711 Table 3.
///
/// A µ-law code's magnitude number is its inverted low seven bits; an A-law code's is its low seven bits with
/// the even bits toggled (`^ 0x55`), plus one. The sign bit carries over (1 = positive in both laws).
pub fn ulaw_to_alaw_code(code: u8) -> u8 {
    let sign = code & 0x80;
    let mu_number = (!code & 0x7F) as usize;
    let a_number = ULAW_TO_ALAW_NUMBER[mu_number]; // mu_number < 128: the index is in range
    (sign | (a_number - 1)) ^ 0x55
}

/// A-law code to µ-law code through G.711 Table 4. See [`ulaw_to_alaw_code`] for the numbering.
pub fn alaw_to_ulaw_code(code: u8) -> u8 {
    let sign = code & 0x80;
    let a_index = ((code ^ 0x55) & 0x7F) as usize; // A-law number minus one
    let mu_number = ALAW_TO_ULAW_NUMBER[a_index]; // a_index < 128: the index is in range
    sign | (!mu_number & 0x7F)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values G.711 Tables 1 and 2 give: decoder outputs at the top of each scale and for the smallest codes,
    /// in 16-bit scale (A-law ×16 of the 12-bit value 1..4032 steps; µ-law ×4 of 0..8031 steps).
    #[test]
    fn known_answers_from_g711_tables() {
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124); // 8031 * 4
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xFE), 8); // 2 * 4
        assert_eq!(alaw_to_linear(0xD5), 8); // 1/2 step of 16
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256); // 2016 * 16
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(-1), 0x7F); // one's complement: -1 is "negative zero"
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }

    #[test]
    fn decode_then_encode_is_identity_for_every_code() {
        for c in 0..=255u8 {
            // µ-law 0x7F ("negative zero") decodes to 0, which encodes as 0xFF.
            if c != 0x7F {
                assert_eq!(linear_to_ulaw(ulaw_to_linear(c)), c, "ulaw {c:#04x}");
            }
            assert_eq!(linear_to_alaw(alaw_to_linear(c)), c, "alaw {c:#04x}");
        }
    }

    #[test]
    fn conversion_tables_are_monotonic_and_cover_the_range() {
        for w in ULAW_TO_ALAW_NUMBER.windows(2) {
            assert!(w[0] <= w[1]);
        }
        for w in ALAW_TO_ULAW_NUMBER.windows(2) {
            assert!(w[0] <= w[1]);
        }
        assert_eq!((ULAW_TO_ALAW_NUMBER[0], ULAW_TO_ALAW_NUMBER[127]), (1, 128));
        assert_eq!((ALAW_TO_ULAW_NUMBER[0], ALAW_TO_ULAW_NUMBER[127]), (1, 127));
        assert_eq!(ulaw_to_alaw_code(0xFF), 0xD5);
        assert_eq!(ulaw_to_alaw_code(0x7F), 0x55);
        assert_eq!(alaw_to_ulaw_code(0xD5), 0xFE);
        assert_eq!(alaw_to_ulaw_code(0xAA), 0x80);
    }
}
