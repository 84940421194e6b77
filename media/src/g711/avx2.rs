//! x86-64 SIMD kernels (AVX2): the leading-zeros formulation of [`super::scalar`], 16 samples per register.
//!
//! Encoding folds the sign by one's complement (`x ^ (x >> 15)`), finds the segment as the bit length of a
//! 7-bit value with two nibble lookups (`pshufb`), and extracts the mantissa with a per-lane shift done as a
//! multiply-high by a power of two looked up from the segment. Decoding computes the G.191 expansion with a
//! power-of-two multiply. Tails shorter than a block go through the scalar twin, so every length is handled.
//!
//! Every function here checks for AVX2 at run time and falls back to [`super::scalar`], so they are safe to call
//! anywhere; the `unsafe` is confined to the `#[target_feature]` bodies below.

use std::arch::x86_64::*;

use super::scalar;

/// Whether this CPU runs the AVX2 kernels.
pub fn available() -> bool {
    is_x86_feature_detected!("avx2")
}

/// Samples per loop iteration: two 16-lane registers in, one 32-byte register out.
const BLOCK: usize = 32;

/// Per-law constants of the encoder.
#[derive(Clone, Copy)]
struct EncodeLaw {
    /// Right shift from the folded 15-bit magnitude to the value the mantissa is cut from.
    pre_shift: i32,
    /// Add to that value before clamping (µ-law bias 33; 0 for A-law).
    bias: i16,
    /// Clamp (µ-law 0x1FFF; A-law never exceeds 0xFFF).
    clamp: i16,
    /// Right shift from that value to the 7-bit segment index.
    seg_shift: i32,
    /// Per segment: the high byte of the multiplier whose multiply-high shifts out the mantissa.
    mult: [i8; 8],
    /// Code of a positive sample's zero mantissa/segment (XOR mask), 0xFF or 0xD5.
    xor: i16,
}

const ULAW: EncodeLaw = EncodeLaw {
    pre_shift: 2,
    bias: 33,
    clamp: 0x1FFF,
    seg_shift: 6,
    // mantissa = biased >> (e + 1): multiply-high by 2^(15 - e).
    mult: [-128, 64, 32, 16, 8, 4, 2, 1],
    xor: 0xFF,
};

const ALAW: EncodeLaw = EncodeLaw {
    pre_shift: 3,
    bias: 0,
    clamp: 0x0FFF,
    seg_shift: 5,
    // mantissa = (mag >> 3) >> max(e, 1): multiply-high by 2^(16 - max(e, 1)).
    mult: [-128, -128, 64, 32, 16, 8, 4, 2],
    xor: 0xD5,
};

/// Bit length of a nibble, for the low nibble of the segment index.
const BITLEN_LO: [i8; 16] = [0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4];
/// 4 + bit length of a nibble (0 for 0), for the high three bits of the segment index.
const BITLEN_HI: [i8; 16] = [0, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8];

/// A 16-byte table in both 128-bit lanes, for `pshufb`.
#[target_feature(enable = "avx2")]
fn table(t: [i8; 16]) -> __m256i {
    _mm256_setr_epi8(
        t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13],
        t[14], t[15], t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11],
        t[12], t[13], t[14], t[15],
    )
}

/// Encodes 16 samples; each 16-bit lane of the result holds one code.
#[target_feature(enable = "avx2")]
fn encode16(x: __m256i, law: &EncodeLaw, lo: __m256i, hi: __m256i, mult: __m256i) -> __m256i {
    let sign = _mm256_srai_epi16::<15>(x);
    let mag = _mm256_xor_si256(x, sign); // one's complement magnitude, 0..=0x7FFF
    let shifted = _mm256_srl_epi16(mag, _mm_cvtsi32_si128(law.pre_shift));
    let biased = _mm256_min_epi16(
        _mm256_add_epi16(shifted, _mm256_set1_epi16(law.bias)),
        _mm256_set1_epi16(law.clamp),
    );
    let index = _mm256_srl_epi16(biased, _mm_cvtsi32_si128(law.seg_shift)); // 0..=127, high byte 0
                                                                            // Bit length of the 7-bit index: max(4 + bitlen(hi3), bitlen(lo4)). The high byte of each lane indexes
                                                                            // entry 0 of both tables, which is 0.
    let seg = _mm256_max_epu8(
        _mm256_shuffle_epi8(hi, _mm256_srli_epi16::<4>(index)),
        _mm256_shuffle_epi8(lo, _mm256_and_si256(index, _mm256_set1_epi16(0x0F))),
    );
    // Multiplier 2^k with k >= 8: look up its high byte; the shift discards whatever the high byte got.
    let m = _mm256_slli_epi16::<8>(_mm256_shuffle_epi8(mult, seg));
    let mantissa = _mm256_and_si256(_mm256_mulhi_epu16(biased, m), _mm256_set1_epi16(0x0F));
    let code = _mm256_or_si256(_mm256_slli_epi16::<4>(seg), mantissa);
    let flip = _mm256_xor_si256(
        _mm256_set1_epi16(law.xor),
        _mm256_and_si256(sign, _mm256_set1_epi16(0x80)),
    );
    _mm256_xor_si256(code, flip)
}

#[target_feature(enable = "avx2")]
fn encode_avx2(pcm: &[i16], out: &mut [u8], law: &EncodeLaw) {
    let lo = table(BITLEN_LO);
    let hi = table(BITLEN_HI);
    let mut mult16 = [0i8; 16];
    mult16[..8].copy_from_slice(&law.mult);
    let mult = table(mult16);
    let mut src = pcm.chunks_exact(BLOCK);
    let mut dst = out.chunks_exact_mut(BLOCK);
    for (s, d) in (&mut src).zip(&mut dst) {
        // SAFETY: `s` holds 32 i16 (64 bytes) and `d` 32 bytes; unaligned loads/stores are allowed, and AVX2 is
        // enabled for this function.
        unsafe {
            let a = _mm256_loadu_si256(s.as_ptr().cast());
            let b = _mm256_loadu_si256(s.as_ptr().add(16).cast());
            let ca = encode16(a, law, lo, hi, mult);
            let cb = encode16(b, law, lo, hi, mult);
            // packus interleaves 128-bit lanes: [a0..7 b0..7 | a8..15 b8..15]; restore sample order.
            let packed = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi16(ca, cb));
            _mm256_storeu_si256(d.as_mut_ptr().cast(), packed);
        }
    }
    let (s, d) = (src.remainder(), dst.into_remainder());
    match law.xor {
        0xFF => scalar::encode_ulaw(s, d),
        _ => scalar::encode_alaw(s, d),
    }
}

/// Decodes 16 µ-law codes (zero-extended to 16-bit lanes).
#[target_feature(enable = "avx2")]
fn decode_ulaw16(c: __m256i, pow2: __m256i) -> __m256i {
    let u = _mm256_xor_si256(c, _mm256_set1_epi16(0xFF));
    let exp = _mm256_and_si256(_mm256_srli_epi16::<4>(u), _mm256_set1_epi16(7));
    let mant = _mm256_and_si256(u, _mm256_set1_epi16(0x0F));
    let t = _mm256_add_epi16(_mm256_slli_epi16::<3>(mant), _mm256_set1_epi16(0x84));
    // 2^exp in the low byte; the high byte looked up entry 0 and is masked off.
    let p = _mm256_and_si256(_mm256_shuffle_epi8(pow2, exp), _mm256_set1_epi16(0xFF));
    let mag = _mm256_sub_epi16(_mm256_mullo_epi16(t, p), _mm256_set1_epi16(0x84));
    let neg = _mm256_srai_epi16::<15>(_mm256_slli_epi16::<8>(u)); // -1 where the code is negative
    _mm256_sub_epi16(_mm256_xor_si256(mag, neg), neg)
}

/// Decodes 16 A-law codes (zero-extended to 16-bit lanes).
#[target_feature(enable = "avx2")]
fn decode_alaw16(c: __m256i, base: __m256i, pow2: __m256i) -> __m256i {
    let a = _mm256_xor_si256(c, _mm256_set1_epi16(0x55));
    let exp = _mm256_and_si256(_mm256_srli_epi16::<4>(a), _mm256_set1_epi16(7));
    let mant = _mm256_and_si256(a, _mm256_set1_epi16(0x0F));
    // 16-bit lookups by exponent: low byte from entry `exp`, high byte from entry `exp + 8`.
    let idx = _mm256_or_si256(
        exp,
        _mm256_add_epi16(_mm256_slli_epi16::<8>(exp), _mm256_set1_epi16(0x0800)),
    );
    let t = _mm256_add_epi16(_mm256_slli_epi16::<4>(mant), _mm256_shuffle_epi8(base, idx));
    let p = _mm256_shuffle_epi8(pow2, idx);
    let mag = _mm256_mullo_epi16(t, p);
    let pos = _mm256_srai_epi16::<15>(_mm256_slli_epi16::<8>(a)); // -1 where the code is positive
    let neg = _mm256_xor_si256(pos, _mm256_set1_epi16(-1));
    _mm256_sub_epi16(_mm256_xor_si256(mag, neg), neg)
}

/// µ-law: 2^e for e in 0..8 (128 reads as 0x80, the low byte of 128).
const ULAW_POW2: [i8; 16] = [1, 2, 4, 8, 16, 32, 64, -128, 0, 0, 0, 0, 0, 0, 0, 0];
/// A-law: `(e > 0 ? 264 : 8)` as 16-bit, low bytes then high bytes.
const ALAW_BASE: [i8; 16] = [8, 8, 8, 8, 8, 8, 8, 8, 0, 1, 1, 1, 1, 1, 1, 1];
/// A-law: `2^(max(e, 1) - 1)` as 16-bit, low bytes then high bytes.
const ALAW_POW2: [i8; 16] = [1, 1, 2, 4, 8, 16, 32, 64, 0, 0, 0, 0, 0, 0, 0, 0];

#[target_feature(enable = "avx2")]
fn decode_avx2(codes: &[u8], out: &mut [i16], ulaw: bool) {
    let upow = table(ULAW_POW2);
    let abase = table(ALAW_BASE);
    let apow = table(ALAW_POW2);
    let mut src = codes.chunks_exact(BLOCK);
    let mut dst = out.chunks_exact_mut(BLOCK);
    for (s, d) in (&mut src).zip(&mut dst) {
        // SAFETY: `s` holds 32 bytes and `d` 32 i16 (64 bytes); unaligned loads/stores are allowed, and AVX2 is
        // enabled for this function.
        unsafe {
            let a = _mm256_cvtepu8_epi16(_mm_loadu_si128(s.as_ptr().cast()));
            let b = _mm256_cvtepu8_epi16(_mm_loadu_si128(s.as_ptr().add(16).cast()));
            let (ra, rb) = if ulaw {
                (decode_ulaw16(a, upow), decode_ulaw16(b, upow))
            } else {
                (decode_alaw16(a, abase, apow), decode_alaw16(b, abase, apow))
            };
            _mm256_storeu_si256(d.as_mut_ptr().cast(), ra);
            _mm256_storeu_si256(d.as_mut_ptr().add(16).cast(), rb);
        }
    }
    let (s, d) = (src.remainder(), dst.into_remainder());
    if ulaw {
        scalar::decode_ulaw(s, d)
    } else {
        scalar::decode_alaw(s, d)
    }
}

macro_rules! entry {
    ($(#[$doc:meta])* $name:ident, $in:ty, $out:ty, $kernel:ident, $arg:expr, $fallback:path) => {
        $(#[$doc])*
        pub fn $name(src: &[$in], out: &mut [$out]) {
            let n = src.len().min(out.len());
            let (src, out) = (&src[..n], &mut out[..n]);
            if available() {
                // SAFETY: AVX2 was detected on this CPU just above.
                unsafe { $kernel(src, out, $arg) }
            } else {
                $fallback(src, out)
            }
        }
    };
}

entry!(
    /// µ-law encode with AVX2 (scalar if the CPU lacks it); `min(len)` samples.
    encode_ulaw, i16, u8, encode_avx2, &ULAW, scalar::encode_ulaw
);
entry!(
    /// A-law encode with AVX2 (scalar if the CPU lacks it); `min(len)` samples.
    encode_alaw, i16, u8, encode_avx2, &ALAW, scalar::encode_alaw
);
entry!(
    /// µ-law decode with AVX2 (scalar if the CPU lacks it); `min(len)` codes.
    decode_ulaw, u8, i16, decode_avx2, true, scalar::decode_ulaw
);
entry!(
    /// A-law decode with AVX2 (scalar if the CPU lacks it); `min(len)` codes.
    decode_alaw, u8, i16, decode_avx2, false, scalar::decode_alaw
);
