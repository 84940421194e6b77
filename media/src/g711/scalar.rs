//! The scalar fast path: small tables built at compile time from the `leading_zeros` formulation, which the
//! SIMD kernels also compute. It runs where no SIMD kernel applies, finishes the tail of every SIMD call, and
//! is the twin the SIMD kernels are tested against.
//!
//! Encoding first folds the sign the way G.191 does (one's complement: `x ^ (x >> 15)`), so the tables only
//! index the magnitude: µ-law needs its 14 most significant bits (8 KiB table), A-law its 12 (2 KiB); both
//! stay in L1. Decoding is a 256-entry table per law (512 bytes each).

use super::reference;

/// Bit length of `v` (0 for 0): the segment number the G.191 shift loops find.
const fn bit_length(v: u32) -> u32 {
    32 - v.leading_zeros()
}

/// µ-law code of a non-negative sample whose magnitude is `mag14 << 2`, with the sign bit set (positive).
const fn ulaw_positive_code(mag14: u32) -> u8 {
    let mut biased = mag14 + 33;
    if biased > 0x1FFF {
        biased = 0x1FFF;
    }
    let exponent = bit_length(biased >> 6);
    let mantissa = (biased >> (exponent + 1)) & 0xF;
    (((exponent << 4) | mantissa) ^ 0xFF) as u8
}

/// A-law code of a non-negative sample whose magnitude is `mag12 << 4`, with the sign bit set (positive).
const fn alaw_positive_code(mag12: u32) -> u8 {
    let exponent = bit_length(mag12 >> 4);
    let shift = exponent.saturating_sub(1);
    let mantissa = (mag12 >> shift) & 0xF;
    (((exponent << 4) | mantissa) ^ 0xD5) as u8
}

/// Linear value of a µ-law code: `((mantissa << 3) + 0x84) << exponent) - 0x84`, sign from bit 7.
const fn ulaw_value(code: u8) -> i16 {
    let u = !code as i32;
    let exponent = (u >> 4) & 7;
    let mantissa = u & 0xF;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Linear value of an A-law code: `(2·mantissa + 1 [+ 32 if exponent > 0]) << (max(exponent, 1) + 2)`.
const fn alaw_value(code: u8) -> i16 {
    let a = (code ^ 0x55) as i32;
    let exponent = (a >> 4) & 7;
    let mantissa = a & 0xF;
    let magnitude = if exponent == 0 {
        (2 * mantissa + 1) << 3
    } else {
        (2 * mantissa + 33) << (exponent + 2)
    };
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// Fills a table at compile time: entry `i` is `$f(i as $arg)`.
macro_rules! build_table {
    ($len:expr, $ty:ty, $f:ident, $arg:ty) => {{
        let mut table = [0 as $ty; $len];
        let mut i = 0;
        while i < $len {
            table[i] = $f(i as $arg);
            i += 1;
        }
        table
    }};
}

/// µ-law code (positive) for each 14-bit magnitude.
static ULAW_ENCODE: [u8; 1 << 13] = build_table!(1 << 13, u8, ulaw_positive_code, u32);
/// A-law code (positive) for each 12-bit magnitude.
static ALAW_ENCODE: [u8; 1 << 11] = build_table!(1 << 11, u8, alaw_positive_code, u32);
/// µ-law decoder output per code.
pub(crate) static ULAW_DECODE: [i16; 256] = build_table!(256, i16, ulaw_value, u8);
/// A-law decoder output per code.
pub(crate) static ALAW_DECODE: [i16; 256] = build_table!(256, i16, alaw_value, u8);
/// G.711 Table 3 expanded to every µ-law code.
static ULAW_TO_ALAW: [u8; 256] = build_table!(256, u8, ulaw_to_alaw_entry, u8);
/// G.711 Table 4 expanded to every A-law code.
static ALAW_TO_ULAW: [u8; 256] = build_table!(256, u8, alaw_to_ulaw_entry, u8);

pub(crate) const fn ulaw_to_alaw_entry(code: u8) -> u8 {
    let a_number = reference::ULAW_TO_ALAW_NUMBER[(!code & 0x7F) as usize];
    ((code & 0x80) | (a_number - 1)) ^ 0x55
}

pub(crate) const fn alaw_to_ulaw_entry(code: u8) -> u8 {
    let mu_number = reference::ALAW_TO_ULAW_NUMBER[((code ^ 0x55) & 0x7F) as usize];
    (code & 0x80) | (!mu_number & 0x7F)
}

/// `(sign mask, one's complement magnitude)` of a sample, as G.191 takes it: `-1 → (−1, 0)`.
#[inline(always)]
fn fold(x: i16) -> (u8, u16) {
    let s = x >> 15; // 0 or -1
    ((s as u8) & 0x80, (x ^ s) as u16)
}

/// One sample to µ-law.
#[inline]
pub fn linear_to_ulaw(x: i16) -> u8 {
    let (sign, mag) = fold(x);
    // mag <= 0x7FFF, so mag >> 2 < 8192: the mask only spares the bounds check.
    ULAW_ENCODE[usize::from(mag >> 2) & 0x1FFF] ^ sign
}

/// One sample to A-law.
#[inline]
pub fn linear_to_alaw(x: i16) -> u8 {
    let (sign, mag) = fold(x);
    // mag <= 0x7FFF, so mag >> 4 < 2048: the mask only spares the bounds check.
    ALAW_ENCODE[usize::from(mag >> 4) & 0x7FF] ^ sign
}

/// One µ-law code to linear.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// One A-law code to linear.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

/// One µ-law code to A-law (G.711 Table 3).
#[inline]
pub fn ulaw_to_alaw_code(code: u8) -> u8 {
    ULAW_TO_ALAW[usize::from(code)]
}

/// One A-law code to µ-law (G.711 Table 4).
#[inline]
pub fn alaw_to_ulaw_code(code: u8) -> u8 {
    ALAW_TO_ULAW[usize::from(code)]
}

/// Encodes `pcm` to µ-law; processes `min(pcm.len(), out.len())` samples.
pub fn encode_ulaw(pcm: &[i16], out: &mut [u8]) {
    for (o, &x) in out.iter_mut().zip(pcm) {
        *o = linear_to_ulaw(x);
    }
}

/// Encodes `pcm` to A-law; processes `min(pcm.len(), out.len())` samples.
pub fn encode_alaw(pcm: &[i16], out: &mut [u8]) {
    for (o, &x) in out.iter_mut().zip(pcm) {
        *o = linear_to_alaw(x);
    }
}

/// Decodes µ-law; processes `min(codes.len(), out.len())` codes.
pub fn decode_ulaw(codes: &[u8], out: &mut [i16]) {
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ulaw_to_linear(c);
    }
}

/// Decodes A-law; processes `min(codes.len(), out.len())` codes.
pub fn decode_alaw(codes: &[u8], out: &mut [i16]) {
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = alaw_to_linear(c);
    }
}

/// µ-law to A-law codes; processes `min(src.len(), out.len())` codes.
pub fn ulaw_to_alaw(src: &[u8], out: &mut [u8]) {
    for (o, &c) in out.iter_mut().zip(src) {
        *o = ulaw_to_alaw_code(c);
    }
}

/// A-law to µ-law codes; processes `min(src.len(), out.len())` codes.
pub fn alaw_to_ulaw(src: &[u8], out: &mut [u8]) {
    for (o, &c) in out.iter_mut().zip(src) {
        *o = alaw_to_ulaw_code(c);
    }
}
