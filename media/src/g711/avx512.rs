//! x86-64 SIMD kernels (AVX-512 BW + VBMI): 128-entry byte tables looked up with one `vpermi2b`.
//!
//! VBMI's two-register byte permute is a 128-entry table lookup on the low seven bits of each index byte, and
//! G.711 codes are a sign bit plus seven magnitude bits. So:
//! - decode: two lookups (low and high bytes of the magnitude) for 64 codes, interleave, negate by mask;
//! - transcode: one lookup, sign bit copied;
//! - encode: fold the sign (one's complement), look up the segment's shift and code bits by the 7-bit segment
//!   index, shift the mantissa out with `vpsrlvw`, clear the sign bit of negative samples with one ternary-logic
//!   op, and pack two registers of 16-bit lanes into 64 bytes with one more `vpermi2b`.
//!
//! The tables are built at compile time from [`super::scalar`]'s formulas (decode, transcode) or from the same
//! bit-length rule (encode). Tails use masked loads and stores, so short frames stay in SIMD. Every entry point
//! checks the CPU at run time and falls back to scalar, so they are safe to call anywhere.

use std::arch::x86_64::*;

use super::scalar;

/// Whether this CPU runs the AVX-512 BW + VBMI kernels.
pub fn available() -> bool {
    is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512vbmi")
}

/// A 128-byte table, 64-byte aligned so it loads as two registers.
#[repr(C, align(64))]
struct Table([u8; 128]);

const fn bit_length(v: u32) -> u32 {
    32 - v.leading_zeros()
}

/// Encoder tables indexed by the 7-bit segment index `v` (µ-law: biased >> 6; A-law: (mag >> 3) >> 5).
/// `shift`: right shift of the pre-shifted magnitude that leaves the leading 1 in bit 4 (or nothing above bit 3
/// for A-law segment 0). `bits`: the code's segment bits, XOR the law's positive mask, XOR that leading 1.
const fn encode_tables(ulaw: bool) -> (Table, Table) {
    let mut shift = [0u8; 128];
    let mut bits = [0u8; 128];
    let mut v = 0;
    while v < 128 {
        let e = bit_length(v as u32);
        if ulaw {
            shift[v] = (e + 1) as u8;
            bits[v] = ((e << 4) ^ 0xFF ^ 0x10) as u8;
        } else {
            shift[v] = if e > 1 { e as u8 } else { 1 };
            bits[v] = ((e << 4) ^ 0xD5 ^ if e >= 1 { 0x10 } else { 0 }) as u8;
        }
        v += 1;
    }
    (Table(shift), Table(bits))
}

static ULAW_ENC: (Table, Table) = encode_tables(true);
static ALAW_ENC: (Table, Table) = encode_tables(false);

/// Low and high bytes of the decoded magnitude for each 7-bit code magnitude.
const fn decode_tables(table: &[i16; 256]) -> (Table, Table) {
    let mut lo = [0u8; 128];
    let mut hi = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        // Codes 0x80..=0xFF are the positive half in both laws.
        let v = table[0x80 | i] as u16;
        lo[i] = v as u8;
        hi[i] = (v >> 8) as u8;
        i += 1;
    }
    (Table(lo), Table(hi))
}

static ULAW_DEC: (Table, Table) = decode_tables(&scalar::ULAW_DECODE);
static ALAW_DEC: (Table, Table) = decode_tables(&scalar::ALAW_DECODE);

/// Low seven bits of the converted code for each code's low seven bits (the sign bit carries over).
const fn transcode_table(u2a: bool) -> Table {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        // The positive code with these low bits; the table result's sign bit is dropped.
        let code = 0x80 | i as u8;
        let out = if u2a {
            scalar::ulaw_to_alaw_entry(code)
        } else {
            scalar::alaw_to_ulaw_entry(code)
        };
        t[i] = out & 0x7F;
        i += 1;
    }
    Table(t)
}

static ULAW_TO_ALAW: Table = transcode_table(true);
static ALAW_TO_ULAW: Table = transcode_table(false);

/// The two halves of a 128-byte table.
#[target_feature(enable = "avx512f")]
fn load_table(t: &Table) -> (__m512i, __m512i) {
    // SAFETY: `Table` holds 128 bytes, so both 64-byte reads are in bounds.
    unsafe {
        (
            _mm512_loadu_si512(t.0.as_ptr().cast()),
            _mm512_loadu_si512(t.0.as_ptr().add(64).cast()),
        )
    }
}

/// Samples per encode iteration (one 512-bit load of i16).
const ENC_BLOCK: usize = 32;
/// Codes per decode/transcode iteration (one 512-bit load of u8).
const DEC_BLOCK: usize = 64;

/// Encoder constants for one law: the two 128-byte tables as register pairs.
#[derive(Clone, Copy)]
struct Enc {
    ulaw: bool,
    shift: (__m512i, __m512i),
    bits: (__m512i, __m512i),
}

/// Encodes 32 samples; the low byte of each 16-bit lane holds one code (the high byte is garbage).
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn encode32(x: __m512i, k: &Enc) -> __m512i {
    let even = 0x5555_5555_5555_5555u64; // low byte of each 16-bit lane
    let sign = _mm512_srai_epi16::<15>(x); // 0 or -1
    let mag = _mm512_xor_si512(x, sign); // one's complement magnitude
    let (a, v) = if k.ulaw {
        let biased = _mm512_add_epi16(_mm512_srli_epi16::<2>(mag), _mm512_set1_epi16(33));
        let a = _mm512_min_epi16(biased, _mm512_set1_epi16(0x1FFF));
        (a, _mm512_srli_epi16::<6>(a))
    } else {
        let a = _mm512_srli_epi16::<3>(mag);
        (a, _mm512_srli_epi16::<5>(a))
    };
    // v <= 127 sits in the low byte; the shift's high byte must be 0, so the mask zeroes it.
    let shift = _mm512_maskz_permutex2var_epi8(even, k.shift.0, v, k.shift.1);
    let bits = _mm512_permutex2var_epi8(k.bits.0, v, k.bits.1);
    // bits ^ mantissa ^ (sign & 0x80): positive codes carry bit 7, negative samples clear it.
    let mantissa = _mm512_srlv_epi16(a, shift);
    _mm512_xor_si512(
        bits,
        _mm512_ternarylogic_epi32::<0x78>(mantissa, sign, _mm512_set1_epi16(0x80)),
    )
}

#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn encode_avx512(pcm: &[i16], out: &mut [u8], ulaw: bool) {
    let (shift_tab, bits_tab) = if ulaw { &ULAW_ENC } else { &ALAW_ENC };
    let k = Enc {
        ulaw,
        shift: load_table(shift_tab),
        bits: load_table(bits_tab),
    };
    // Byte 2i of the concatenation (a, b): the low bytes of 64 lanes, in order.
    let even_bytes = _mm512_set_epi8(
        126, 124, 122, 120, 118, 116, 114, 112, 110, 108, 106, 104, 102, 100, 98, 96, 94, 92, 90,
        88, 86, 84, 82, 80, 78, 76, 74, 72, 70, 68, 66, 64, 62, 60, 58, 56, 54, 52, 50, 48, 46, 44,
        42, 40, 38, 36, 34, 32, 30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0,
    );
    let mut src = pcm.chunks_exact(2 * ENC_BLOCK);
    let mut dst = out.chunks_exact_mut(2 * ENC_BLOCK);
    for (s, d) in (&mut src).zip(&mut dst) {
        // SAFETY: `s` holds 64 i16 (128 bytes) and `d` 64 bytes; unaligned access is allowed.
        unsafe {
            let a = encode32(_mm512_loadu_si512(s.as_ptr().cast()), &k);
            let b = encode32(_mm512_loadu_si512(s.as_ptr().add(ENC_BLOCK).cast()), &k);
            _mm512_storeu_si512(
                d.as_mut_ptr().cast(),
                _mm512_permutex2var_epi8(a, even_bytes, b),
            );
        }
    }
    let (pcm, out) = (src.remainder(), dst.into_remainder());
    let mut src = pcm.chunks_exact(ENC_BLOCK);
    let mut dst = out.chunks_exact_mut(ENC_BLOCK);
    for (s, d) in (&mut src).zip(&mut dst) {
        // SAFETY: `s` holds 32 i16 (64 bytes) and `d` 32 bytes; unaligned access is allowed.
        unsafe {
            let code = encode32(_mm512_loadu_si512(s.as_ptr().cast()), &k);
            _mm256_storeu_si256(d.as_mut_ptr().cast(), _mm512_cvtepi16_epi8(code));
        }
    }
    let (s, d) = (src.remainder(), dst.into_remainder());
    if !s.is_empty() {
        let mask = (1u32 << s.len()) - 1; // s.len() < 32
                                          // SAFETY: masked-off lanes are neither read nor written (no fault either), and the mask covers exactly
                                          // the `s.len() == d.len()` remaining elements.
        unsafe {
            let code = encode32(_mm512_maskz_loadu_epi16(mask, s.as_ptr()), &k);
            _mm512_mask_cvtepi16_storeu_epi8(d.as_mut_ptr().cast(), mask, code);
        }
    }
}

/// Decoder constants for one law.
#[derive(Clone, Copy)]
struct Dec {
    lo: (__m512i, __m512i),
    hi: (__m512i, __m512i),
    first: __m512i,
    second: __m512i,
}

/// Decodes 64 codes into two registers of 32 samples.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn decode64(c: __m512i, k: &Dec) -> (__m512i, __m512i) {
    // The lookups use the low seven bits: the magnitude. Bit 7 clear is negative in both laws.
    let lo = _mm512_permutex2var_epi8(k.lo.0, c, k.lo.1);
    let hi = _mm512_permutex2var_epi8(k.hi.0, c, k.hi.1);
    // In-lane unpacks: 128-bit lane j of `a` holds samples 16j..16j+7, of `b` 16j+8..16j+15.
    let a = _mm512_unpacklo_epi8(lo, hi);
    let b = _mm512_unpackhi_epi8(lo, hi);
    let m0 = _mm512_permutex2var_epi64(a, k.first, b);
    let m1 = _mm512_permutex2var_epi64(a, k.second, b);
    let negative = !_mm512_movepi8_mask(c);
    let zero = _mm512_setzero_si512();
    (
        _mm512_mask_sub_epi16(m0, negative as u32, zero, m0),
        _mm512_mask_sub_epi16(m1, (negative >> 32) as u32, zero, m1),
    )
}

#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn decode_avx512(codes: &[u8], out: &mut [i16], ulaw: bool) {
    let (lo_tab, hi_tab) = if ulaw { &ULAW_DEC } else { &ALAW_DEC };
    let k = Dec {
        lo: load_table(lo_tab),
        hi: load_table(hi_tab),
        first: _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11),
        second: _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15),
    };
    let mut src = codes.chunks_exact(DEC_BLOCK);
    let mut dst = out.chunks_exact_mut(DEC_BLOCK);
    for (s, d) in (&mut src).zip(&mut dst) {
        // SAFETY: `s` holds 64 bytes, `d` 64 i16 (128 bytes); unaligned access is allowed.
        unsafe {
            let (r0, r1) = decode64(_mm512_loadu_si512(s.as_ptr().cast()), &k);
            _mm512_storeu_si512(d.as_mut_ptr().cast(), r0);
            _mm512_storeu_si512(d.as_mut_ptr().add(32).cast(), r1);
        }
    }
    let (s, d) = (src.remainder(), dst.into_remainder());
    if !s.is_empty() {
        let mask = (1u64 << s.len()) - 1; // s.len() < 64
                                          // SAFETY: masked-off lanes are neither read nor written (no fault either), and the masks cover exactly
                                          // the `s.len() == d.len()` remaining elements: bits 0..32 for the first 32 samples, 32..64 for the rest.
        unsafe {
            let (r0, r1) = decode64(_mm512_maskz_loadu_epi8(mask, s.as_ptr().cast()), &k);
            _mm512_mask_storeu_epi16(d.as_mut_ptr(), mask as u32, r0);
            _mm512_mask_storeu_epi16(d.as_mut_ptr().add(32), (mask >> 32) as u32, r1);
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn transcode_avx512(src: &[u8], out: &mut [u8], u2a: bool) {
    let (t0, t1) = load_table(if u2a { &ULAW_TO_ALAW } else { &ALAW_TO_ULAW });
    let sign = _mm512_set1_epi8(0x80u8 as i8);
    // low 7 bits from the table, bit 7 from the input: low | (c & 0x80).
    let convert =
        |c| _mm512_ternarylogic_epi32::<0xF8>(_mm512_permutex2var_epi8(t0, c, t1), c, sign);
    let mut s_it = src.chunks_exact(DEC_BLOCK);
    let mut d_it = out.chunks_exact_mut(DEC_BLOCK);
    for (s, d) in (&mut s_it).zip(&mut d_it) {
        // SAFETY: `s` and `d` hold 64 bytes each; unaligned access is allowed.
        unsafe {
            _mm512_storeu_si512(
                d.as_mut_ptr().cast(),
                convert(_mm512_loadu_si512(s.as_ptr().cast())),
            )
        };
    }
    let (s, d) = (s_it.remainder(), d_it.into_remainder());
    if !s.is_empty() {
        let mask = (1u64 << s.len()) - 1; // s.len() < 64
                                          // SAFETY: masked-off lanes are neither read nor written (no fault either), and the mask covers exactly
                                          // the `s.len() == d.len()` remaining bytes.
        unsafe {
            let r = convert(_mm512_maskz_loadu_epi8(mask, s.as_ptr().cast()));
            _mm512_mask_storeu_epi8(d.as_mut_ptr().cast(), mask, r);
        }
    }
}

macro_rules! entry {
    ($(#[$doc:meta])* $name:ident, $in:ty, $out:ty, $kernel:ident, $arg:expr, $fallback:path) => {
        $(#[$doc])*
        pub fn $name(src: &[$in], out: &mut [$out]) {
            let n = src.len().min(out.len());
            let (src, out) = (&src[..n], &mut out[..n]);
            if available() {
                // SAFETY: AVX-512 BW and VBMI (which imply F) were detected on this CPU just above.
                unsafe { $kernel(src, out, $arg) }
            } else {
                $fallback(src, out)
            }
        }
    };
}

entry!(
    /// µ-law encode with AVX-512 (scalar if the CPU lacks it); `min(len)` samples.
    encode_ulaw, i16, u8, encode_avx512, true, scalar::encode_ulaw
);
entry!(
    /// A-law encode with AVX-512 (scalar if the CPU lacks it); `min(len)` samples.
    encode_alaw, i16, u8, encode_avx512, false, scalar::encode_alaw
);
entry!(
    /// µ-law decode with AVX-512 (scalar if the CPU lacks it); `min(len)` codes.
    decode_ulaw, u8, i16, decode_avx512, true, scalar::decode_ulaw
);
entry!(
    /// A-law decode with AVX-512 (scalar if the CPU lacks it); `min(len)` codes.
    decode_alaw, u8, i16, decode_avx512, false, scalar::decode_alaw
);
entry!(
    /// µ-law to A-law (G.711 Table 3) with AVX-512 (scalar if the CPU lacks it); `min(len)` codes.
    ulaw_to_alaw, u8, u8, transcode_avx512, true, scalar::ulaw_to_alaw
);
entry!(
    /// A-law to µ-law (G.711 Table 4) with AVX-512 (scalar if the CPU lacks it); `min(len)` codes.
    alaw_to_ulaw, u8, u8, transcode_avx512, false, scalar::alaw_to_ulaw
);
