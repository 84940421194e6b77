//! ITU-T G.711 µ-law and A-law, bit-exact with the G.191 reference, with SIMD fast paths.
//!
//! Every RTP packet a gateway plays or records goes through here, so this is the one place in vxgate where
//! speed is the product: the slice functions pick the widest kernel the CPU has at run time (see
//! [`cpu_features`]) and fall back to [`scalar`], table lookups that fit in L1. Kernels: AVX-512 BW + VBMI
//! (`vpermi2b` 128-entry tables; masked tails), AVX2 (leading-zeros arithmetic, 16 lanes) and NEON (`vclz`,
//! `vqtbl4`), all in `std::arch`, each the only place `unsafe` appears, each tested against the scalar twin on
//! every input, odd lengths and unaligned slices. Transcoding uses SIMD only with AVX-512 or NEON.
//!
//! Correctness is defined by [`reference`](mod@reference), the ITU-T G.191 `g711.c` algorithm written from the text: for every
//! one of the 65,536 inputs and 256 codes, every path here gives the same answer. Note that G.191 takes
//! negative samples by one's complement (`~x`), so e.g. `-1` encodes as µ-law `0x7F` ("negative zero"), not as
//! `0xFF`; libraries that negate instead (`-x`) differ at quantization edges (audio-codec 0.4.13: 127 µ-law and 897
//! A-law inputs).
//!
//! The slice functions require `input.len() == output.len()` and return [`LengthMismatch`] otherwise, without
//! writing anything.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod law;
#[cfg(target_arch = "aarch64")]
mod neon;
pub mod reference;
pub mod scalar;

pub use law::{Law, ParseLawError};

/// Input and output slices of different lengths were passed to a slice function; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("g.711 length mismatch: {input} input samples but room for {output}")]
pub struct LengthMismatch {
    /// Length of the input slice.
    pub input: usize,
    /// Length of the output slice.
    pub output: usize,
}

fn check(input: usize, output: usize) -> Result<(), LengthMismatch> {
    if input == output {
        Ok(())
    } else {
        Err(LengthMismatch { input, output })
    }
}

/// One 16-bit sample to µ-law (G.191 `ulaw_compress`).
#[inline]
pub fn linear_to_ulaw(s: i16) -> u8 {
    scalar::linear_to_ulaw(s)
}

/// One µ-law code to a 16-bit sample (G.191 `ulaw_expand`).
#[inline]
pub fn ulaw_to_linear(c: u8) -> i16 {
    scalar::ulaw_to_linear(c)
}

/// One 16-bit sample to A-law (G.191 `alaw_compress`).
#[inline]
pub fn linear_to_alaw(s: i16) -> u8 {
    scalar::linear_to_alaw(s)
}

/// One A-law code to a 16-bit sample (G.191 `alaw_expand`).
#[inline]
pub fn alaw_to_linear(c: u8) -> i16 {
    scalar::alaw_to_linear(c)
}

/// One µ-law code to A-law by G.711 Table 3 (not by decoding and re-encoding).
#[inline]
pub fn ulaw_to_alaw_code(c: u8) -> u8 {
    scalar::ulaw_to_alaw_code(c)
}

/// One A-law code to µ-law by G.711 Table 4 (not by decoding and re-encoding).
#[inline]
pub fn alaw_to_ulaw_code(c: u8) -> u8 {
    scalar::alaw_to_ulaw_code(c)
}

/// Encodes 16-bit samples to µ-law; `out.len()` must equal `pcm.len()`.
pub fn encode_ulaw(pcm: &[i16], out: &mut [u8]) -> Result<(), LengthMismatch> {
    check(pcm.len(), out.len())?;
    simd::encode_ulaw(pcm, out);
    Ok(())
}

/// Encodes 16-bit samples to A-law; `out.len()` must equal `pcm.len()`.
pub fn encode_alaw(pcm: &[i16], out: &mut [u8]) -> Result<(), LengthMismatch> {
    check(pcm.len(), out.len())?;
    simd::encode_alaw(pcm, out);
    Ok(())
}

/// Decodes µ-law to 16-bit samples; `out.len()` must equal `codes.len()`.
pub fn decode_ulaw(codes: &[u8], out: &mut [i16]) -> Result<(), LengthMismatch> {
    check(codes.len(), out.len())?;
    simd::decode_ulaw(codes, out);
    Ok(())
}

/// Decodes A-law to 16-bit samples; `out.len()` must equal `codes.len()`.
pub fn decode_alaw(codes: &[u8], out: &mut [i16]) -> Result<(), LengthMismatch> {
    check(codes.len(), out.len())?;
    simd::decode_alaw(codes, out);
    Ok(())
}

/// Converts µ-law codes to A-law by G.711 Table 3; `out.len()` must equal `src.len()`.
pub fn ulaw_to_alaw(src: &[u8], out: &mut [u8]) -> Result<(), LengthMismatch> {
    check(src.len(), out.len())?;
    simd::ulaw_to_alaw(src, out);
    Ok(())
}

/// Converts A-law codes to µ-law by G.711 Table 4; `out.len()` must equal `src.len()`.
pub fn alaw_to_ulaw(src: &[u8], out: &mut [u8]) -> Result<(), LengthMismatch> {
    check(src.len(), out.len())?;
    simd::alaw_to_ulaw(src, out);
    Ok(())
}

/// Encodes with the given law; `out.len()` must equal `pcm.len()`.
pub fn encode(law: Law, pcm: &[i16], out: &mut [u8]) -> Result<(), LengthMismatch> {
    match law {
        Law::Ulaw => encode_ulaw(pcm, out),
        Law::Alaw => encode_alaw(pcm, out),
    }
}

/// Decodes with the given law; `out.len()` must equal `codes.len()`.
pub fn decode(law: Law, codes: &[u8], out: &mut [i16]) -> Result<(), LengthMismatch> {
    match law {
        Law::Ulaw => decode_ulaw(codes, out),
        Law::Alaw => decode_alaw(codes, out),
    }
}

/// Converts codes from one law to another (a copy when the laws are equal); `out.len()` must equal
/// `src.len()`.
pub fn transcode(from: Law, to: Law, src: &[u8], out: &mut [u8]) -> Result<(), LengthMismatch> {
    match (from, to) {
        (Law::Ulaw, Law::Alaw) => ulaw_to_alaw(src, out),
        (Law::Alaw, Law::Ulaw) => alaw_to_ulaw(src, out),
        (Law::Ulaw, Law::Ulaw) | (Law::Alaw, Law::Alaw) => {
            check(src.len(), out.len())?;
            out.copy_from_slice(src);
            Ok(())
        }
    }
}

/// The instruction set the slice functions use on this CPU: `"avx512vbmi"` (AVX-512 BW + VBMI), `"avx2"`,
/// `"neon"` or `"scalar"`.
pub fn cpu_features() -> &'static str {
    simd::name()
}

/// The widest kernel set of this build and CPU; every function handles any length and falls back to scalar.
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::{avx2, avx512, scalar};

    macro_rules! pick {
        ($name:ident, $in:ty, $out:ty, $avx2:path) => {
            pub fn $name(src: &[$in], out: &mut [$out]) {
                if avx512::available() {
                    avx512::$name(src, out)
                } else {
                    $avx2(src, out)
                }
            }
        };
    }

    pick!(encode_ulaw, i16, u8, avx2::encode_ulaw);
    pick!(encode_alaw, i16, u8, avx2::encode_alaw);
    pick!(decode_ulaw, u8, i16, avx2::decode_ulaw);
    pick!(decode_alaw, u8, i16, avx2::decode_alaw);
    // A 256-byte table already runs near a load per byte; AVX2 has no 128-entry byte lookup to beat it.
    pick!(ulaw_to_alaw, u8, u8, scalar::ulaw_to_alaw);
    pick!(alaw_to_ulaw, u8, u8, scalar::alaw_to_ulaw);

    pub fn name() -> &'static str {
        if avx512::available() {
            "avx512vbmi"
        } else if avx2::available() {
            "avx2"
        } else {
            "scalar"
        }
    }
}

/// NEON on aarch64.
#[cfg(target_arch = "aarch64")]
mod simd {
    pub use super::neon::{
        alaw_to_ulaw, decode_alaw, decode_ulaw, encode_alaw, encode_ulaw, ulaw_to_alaw,
    };

    pub fn name() -> &'static str {
        if super::neon::available() {
            "neon"
        } else {
            "scalar"
        }
    }
}

/// No SIMD kernels for this architecture: the scalar path.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod simd {
    pub use super::scalar::{
        alaw_to_ulaw, decode_alaw, decode_ulaw, encode_alaw, encode_ulaw, ulaw_to_alaw,
    };

    pub fn name() -> &'static str {
        "scalar"
    }
}

#[cfg(test)]
mod tests;
