//! aarch64 SIMD kernels (NEON), 16 samples per iteration.
//!
//! - encode: the leading-zeros formulation of [`super::scalar`] with `vclzq_u16` for the segment and a
//!   per-lane `vshlq_u16` (negative count = right shift) for the mantissa;
//! - decode: two 128-entry byte lookups (low and high byte of the magnitude, `vqtbl4q_u8` + `vqtbx4q_u8` on the
//!   code's seven magnitude bits), interleaved, negated where bit 7 is clear;
//! - transcode: one 128-entry lookup, sign bit copied.
//!
//! Tails go through the scalar twin. NEON is part of the aarch64 baseline, but the entry points still check.
//! Not run on the development machine (x86-64); the x86 kernels' tests apply unchanged on aarch64 hardware.

use std::arch::aarch64::*;

use super::scalar;

/// Whether this CPU runs the NEON kernels.
pub fn available() -> bool {
    std::arch::is_aarch64_feature_detected!("neon")
}

const BLOCK: usize = 16;

/// Low and high bytes of the decoded magnitude for each 7-bit code magnitude.
const fn decode_tables(table: &[i16; 256]) -> ([u8; 128], [u8; 128]) {
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
    (lo, hi)
}

static ULAW_DEC: ([u8; 128], [u8; 128]) = decode_tables(&scalar::ULAW_DECODE);
static ALAW_DEC: ([u8; 128], [u8; 128]) = decode_tables(&scalar::ALAW_DECODE);

/// Low seven bits of the converted code for each code's low seven bits.
const fn transcode_table(u2a: bool) -> [u8; 128] {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let code = 0x80 | i as u8;
        let out = if u2a {
            scalar::ulaw_to_alaw_entry(code)
        } else {
            scalar::alaw_to_ulaw_entry(code)
        };
        t[i] = out & 0x7F;
        i += 1;
    }
    t
}

static ULAW_TO_ALAW: [u8; 128] = transcode_table(true);
static ALAW_TO_ULAW: [u8; 128] = transcode_table(false);

/// A 128-byte table as two 64-byte register quadruples.
#[derive(Clone, Copy)]
struct Table128(uint8x16x4_t, uint8x16x4_t);

#[target_feature(enable = "neon")]
unsafe fn load_table(t: &[u8; 128]) -> Table128 {
    // SAFETY: `t` holds 128 bytes: two 64-byte loads at offsets 0 and 64 stay in bounds.
    unsafe { Table128(vld1q_u8_x4(t.as_ptr()), vld1q_u8_x4(t.as_ptr().add(64))) }
}

/// Looks up the low seven bits of each byte of `c` in a 128-entry table.
#[target_feature(enable = "neon")]
unsafe fn lookup128(t: &Table128, c: uint8x16_t) -> uint8x16_t {
    let idx = vandq_u8(c, vdupq_n_u8(0x7F));
    let first = vqtbl4q_u8(t.0, idx); // 0 for idx >= 64
                                      // idx - 64 wraps to >= 192 for idx < 64: out of range, so `first` is kept there.
    vqtbx4q_u8(first, t.1, vsubq_u8(idx, vdupq_n_u8(64)))
}

/// Encodes 8 samples; the low byte of each 16-bit lane holds the code.
#[target_feature(enable = "neon")]
unsafe fn encode8(x: int16x8_t, ulaw: bool) -> uint16x8_t {
    let sign = vshrq_n_s16::<15>(x); // 0 or -1
    let mag = vreinterpretq_u16_s16(veorq_s16(x, sign)); // one's complement magnitude
    let sign80 = vandq_u16(vreinterpretq_u16_s16(sign), vdupq_n_u16(0x80));
    let (a, v, flip) = if ulaw {
        let biased = vaddq_u16(vshrq_n_u16::<2>(mag), vdupq_n_u16(33));
        let a = vminq_u16(biased, vdupq_n_u16(0x1FFF));
        (a, vshrq_n_u16::<6>(a), 0xFF)
    } else {
        let a = vshrq_n_u16::<3>(mag);
        (a, vshrq_n_u16::<5>(a), 0xD5)
    };
    let e = vsubq_u16(vdupq_n_u16(16), vclzq_u16(v)); // bit length, 0..=7
    let shift = if ulaw {
        vaddq_u16(e, vdupq_n_u16(1))
    } else {
        vmaxq_u16(e, vdupq_n_u16(1))
    };
    let right = vnegq_s16(vreinterpretq_s16_u16(shift));
    let mantissa = vandq_u16(vshlq_u16(a, right), vdupq_n_u16(0x0F));
    let code = vorrq_u16(vshlq_n_u16::<4>(e), mantissa);
    veorq_u16(code, veorq_u16(vdupq_n_u16(flip), sign80))
}

#[target_feature(enable = "neon")]
unsafe fn encode_neon(pcm: &[i16], out: &mut [u8], ulaw: bool) {
    let mut src = pcm.chunks_exact(BLOCK);
    let mut dst = out.chunks_exact_mut(BLOCK);
    for (s, d) in (&mut src).zip(&mut dst) {
        // SAFETY: `s` holds 16 i16 and `d` 16 bytes; NEON loads and stores need no alignment.
        unsafe {
            let a = encode8(vld1q_s16(s.as_ptr()), ulaw);
            let b = encode8(vld1q_s16(s.as_ptr().add(8)), ulaw);
            // Even bytes of the 16-bit lanes (little-endian low bytes), in order.
            let codes = vuzp1q_u8(vreinterpretq_u8_u16(a), vreinterpretq_u8_u16(b));
            vst1q_u8(d.as_mut_ptr(), codes);
        }
    }
    let (s, d) = (src.remainder(), dst.into_remainder());
    if ulaw {
        scalar::encode_ulaw(s, d)
    } else {
        scalar::encode_alaw(s, d)
    }
}

#[target_feature(enable = "neon")]
unsafe fn decode_neon(codes: &[u8], out: &mut [i16], ulaw: bool) {
    let (lo_tab, hi_tab) = if ulaw { &ULAW_DEC } else { &ALAW_DEC };
    // SAFETY: the tables hold 128 bytes each.
    let (lo_t, hi_t) = unsafe { (load_table(lo_tab), load_table(hi_tab)) };
    let mut src = codes.chunks_exact(BLOCK);
    let mut dst = out.chunks_exact_mut(BLOCK);
    for (s, d) in (&mut src).zip(&mut dst) {
        // SAFETY: `s` holds 16 bytes and `d` 16 i16; NEON loads and stores need no alignment.
        unsafe {
            let c = vld1q_u8(s.as_ptr());
            let lo = lookup128(&lo_t, c);
            let hi = lookup128(&hi_t, c);
            let positive = vtstq_u8(c, vdupq_n_u8(0x80)); // 0xFF where bit 7 is set
            for (half, (m, p)) in [
                (vzip1q_u8(lo, hi), vzip1q_u8(positive, positive)),
                (vzip2q_u8(lo, hi), vzip2q_u8(positive, positive)),
            ]
            .into_iter()
            .enumerate()
            {
                let mag = vreinterpretq_s16_u8(m);
                let value = vbslq_s16(vreinterpretq_u16_u8(p), mag, vnegq_s16(mag));
                vst1q_s16(d.as_mut_ptr().add(8 * half), value);
            }
        }
    }
    let (s, d) = (src.remainder(), dst.into_remainder());
    if ulaw {
        scalar::decode_ulaw(s, d)
    } else {
        scalar::decode_alaw(s, d)
    }
}

#[target_feature(enable = "neon")]
unsafe fn transcode_neon(src: &[u8], out: &mut [u8], u2a: bool) {
    // SAFETY: the table holds 128 bytes.
    let t = unsafe { load_table(if u2a { &ULAW_TO_ALAW } else { &ALAW_TO_ULAW }) };
    let mut s_it = src.chunks_exact(BLOCK);
    let mut d_it = out.chunks_exact_mut(BLOCK);
    for (s, d) in (&mut s_it).zip(&mut d_it) {
        // SAFETY: `s` and `d` hold 16 bytes each; NEON loads and stores need no alignment.
        unsafe {
            let c = vld1q_u8(s.as_ptr());
            let r = vorrq_u8(lookup128(&t, c), vandq_u8(c, vdupq_n_u8(0x80)));
            vst1q_u8(d.as_mut_ptr(), r);
        }
    }
    let (s, d) = (s_it.remainder(), d_it.into_remainder());
    if u2a {
        scalar::ulaw_to_alaw(s, d)
    } else {
        scalar::alaw_to_ulaw(s, d)
    }
}

macro_rules! entry {
    ($(#[$doc:meta])* $name:ident, $in:ty, $out:ty, $kernel:ident, $arg:expr, $fallback:path) => {
        $(#[$doc])*
        pub fn $name(src: &[$in], out: &mut [$out]) {
            let n = src.len().min(out.len());
            let (src, out) = (&src[..n], &mut out[..n]);
            if available() {
                // SAFETY: NEON was detected on this CPU just above.
                unsafe { $kernel(src, out, $arg) }
            } else {
                $fallback(src, out)
            }
        }
    };
}

entry!(
    /// µ-law encode with NEON; `min(len)` samples.
    encode_ulaw, i16, u8, encode_neon, true, scalar::encode_ulaw
);
entry!(
    /// A-law encode with NEON; `min(len)` samples.
    encode_alaw, i16, u8, encode_neon, false, scalar::encode_alaw
);
entry!(
    /// µ-law decode with NEON; `min(len)` codes.
    decode_ulaw, u8, i16, decode_neon, true, scalar::decode_ulaw
);
entry!(
    /// A-law decode with NEON; `min(len)` codes.
    decode_alaw, u8, i16, decode_neon, false, scalar::decode_alaw
);
entry!(
    /// µ-law to A-law (G.711 Table 3) with NEON; `min(len)` codes.
    ulaw_to_alaw, u8, u8, transcode_neon, true, scalar::ulaw_to_alaw
);
entry!(
    /// A-law to µ-law (G.711 Table 4) with NEON; `min(len)` codes.
    alaw_to_ulaw, u8, u8, transcode_neon, false, scalar::alaw_to_ulaw
);
