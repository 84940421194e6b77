//! Exhaustive checks: every path against the G.191 reference on all 65,536 samples and all 256 codes.

use super::*;

fn all_samples() -> Vec<i16> {
    (i16::MIN..=i16::MAX).collect()
}

fn all_codes() -> Vec<u8> {
    (0..=255u8).collect()
}

#[test]
fn scalar_one_sample_matches_reference_on_every_input() {
    for x in i16::MIN..=i16::MAX {
        assert_eq!(
            scalar::linear_to_ulaw(x),
            reference::linear_to_ulaw(x),
            "ulaw {x}"
        );
        assert_eq!(
            scalar::linear_to_alaw(x),
            reference::linear_to_alaw(x),
            "alaw {x}"
        );
    }
    for c in 0..=255u8 {
        assert_eq!(
            scalar::ulaw_to_linear(c),
            reference::ulaw_to_linear(c),
            "ulaw {c:#04x}"
        );
        assert_eq!(
            scalar::alaw_to_linear(c),
            reference::alaw_to_linear(c),
            "alaw {c:#04x}"
        );
        assert_eq!(
            scalar::ulaw_to_alaw_code(c),
            reference::ulaw_to_alaw_code(c),
            "u2a {c:#04x}"
        );
        assert_eq!(
            scalar::alaw_to_ulaw_code(c),
            reference::alaw_to_ulaw_code(c),
            "a2u {c:#04x}"
        );
    }
}

#[test]
fn dispatched_slices_match_reference_on_every_input() {
    let pcm = all_samples();
    let mut out = vec![0u8; pcm.len()];
    for law in [Law::Ulaw, Law::Alaw] {
        encode(law, &pcm, &mut out).unwrap();
        for (&x, &c) in pcm.iter().zip(&out) {
            let want = match law {
                Law::Ulaw => reference::linear_to_ulaw(x),
                Law::Alaw => reference::linear_to_alaw(x),
            };
            assert_eq!(c, want, "{law} encode {x} with {}", cpu_features());
        }
    }
    let codes = all_codes();
    let mut lin = vec![0i16; 256];
    let mut conv = vec![0u8; 256];
    for law in [Law::Ulaw, Law::Alaw] {
        decode(law, &codes, &mut lin).unwrap();
        for (&c, &x) in codes.iter().zip(&lin) {
            let want = match law {
                Law::Ulaw => reference::ulaw_to_linear(c),
                Law::Alaw => reference::alaw_to_linear(c),
            };
            assert_eq!(x, want, "{law} decode {c:#04x} with {}", cpu_features());
        }
    }
    ulaw_to_alaw(&codes, &mut conv).unwrap();
    assert!(codes
        .iter()
        .zip(&conv)
        .all(|(&c, &a)| a == reference::ulaw_to_alaw_code(c)));
    alaw_to_ulaw(&codes, &mut conv).unwrap();
    assert!(codes
        .iter()
        .zip(&conv)
        .all(|(&c, &u)| u == reference::alaw_to_ulaw_code(c)));
}

#[test]
fn one_sample_functions_match_reference() {
    for x in i16::MIN..=i16::MAX {
        assert_eq!(linear_to_ulaw(x), reference::linear_to_ulaw(x));
        assert_eq!(linear_to_alaw(x), reference::linear_to_alaw(x));
    }
    for c in 0..=255u8 {
        assert_eq!(ulaw_to_linear(c), reference::ulaw_to_linear(c));
        assert_eq!(alaw_to_linear(c), reference::alaw_to_linear(c));
        assert_eq!(ulaw_to_alaw_code(c), reference::ulaw_to_alaw_code(c));
        assert_eq!(alaw_to_ulaw_code(c), reference::alaw_to_ulaw_code(c));
    }
}

/// Negative inputs at segment edges, where `-x` and `~x` disagree: G.191 uses one's complement.
#[test]
fn negative_boundaries_use_ones_complement() {
    // µ-law: -4 is the one's complement of 3; 3 >> 2 = 0, like -1..=-4 all map to µ-law 0x7F.
    for x in [-1i16, -2, -3, -4] {
        assert_eq!(linear_to_ulaw(x), 0x7F, "{x}");
    }
    assert_eq!(linear_to_ulaw(-5), 0x7E);
    // A-law: -1..=-16 map to 0x55; -17 is the first to move.
    assert_eq!(linear_to_alaw(-16), 0x55);
    assert_eq!(linear_to_alaw(-17), 0x54);
    assert_eq!(linear_to_alaw(15), 0xD5);
    assert_eq!(linear_to_alaw(16), 0xD4);
}

#[test]
fn length_mismatch_is_an_error_and_writes_nothing() {
    let pcm = [1000i16; 10];
    let mut out = [0u8; 9];
    let err = encode_ulaw(&pcm, &mut out).unwrap_err();
    assert_eq!(
        err,
        LengthMismatch {
            input: 10,
            output: 9
        }
    );
    assert!(
        err.to_string().contains("10") && err.to_string().contains('9'),
        "{err}"
    );
    assert_eq!(out, [0u8; 9]);
    let mut lin = [0i16; 11];
    assert!(decode(Law::Alaw, &out, &mut lin).is_err());
    assert!(transcode(Law::Ulaw, Law::Ulaw, &out, &mut [0u8; 8]).is_err());
    assert!(encode_alaw(&[], &mut []).is_ok());
}

#[test]
fn transcode_same_law_copies() {
    let src = all_codes();
    let mut out = vec![0u8; 256];
    transcode(Law::Alaw, Law::Alaw, &src, &mut out).unwrap();
    assert_eq!(src, out);
    transcode(Law::Ulaw, Law::Alaw, &src, &mut out).unwrap();
    assert_eq!(out[0xFF], 0xD5);
}

/// µ-law → A-law → µ-law keeps every code within one step where Table 3 merges two µ-law codes, and A-law
/// codes survive A → µ → A except where Table 4 merges them (G.711 §4: the double conversion is not transparent
/// everywhere). This pins the tables against accidental edits.
#[test]
fn conversion_tables_round_trip_counts() {
    let codes = all_codes();
    let a_trips = codes
        .iter()
        .filter(|&&a| ulaw_to_alaw_code(alaw_to_ulaw_code(a)) == a)
        .count();
    let u_trips = codes
        .iter()
        .filter(|&&u| alaw_to_ulaw_code(ulaw_to_alaw_code(u)) == u)
        .count();
    // Table 4 maps A-law numbers 25..=32 and 45..=48, 63..64 and 80..81 in pairs: 2*(4+2+1+1) losses per sign.
    assert_eq!(a_trips, 256 - 2 * 8, "A-law codes surviving A->u->A");
    // Table 3 maps µ-law numbers 0..=15 in pairs: 8 losses per sign.
    assert_eq!(u_trips, 256 - 2 * 8, "µ-law codes surviving u->A->u");
}

/// Pseudo-random samples covering every segment at every alignment.
fn noise(n: usize) -> Vec<i16> {
    let mut state: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as i16) >> (state >> 28)
        })
        .collect()
}

/// A SIMD kernel set checked against its scalar twin.
struct Kernels {
    name: &'static str,
    encode_ulaw: fn(&[i16], &mut [u8]),
    encode_alaw: fn(&[i16], &mut [u8]),
    decode_ulaw: fn(&[u8], &mut [i16]),
    decode_alaw: fn(&[u8], &mut [i16]),
    ulaw_to_alaw: fn(&[u8], &mut [u8]),
    alaw_to_ulaw: fn(&[u8], &mut [u8]),
}

fn kernel_sets() -> Vec<Kernels> {
    #[allow(unused_mut)]
    let mut sets = vec![Kernels {
        name: "dispatch",
        encode_ulaw: |p, o| encode_ulaw(p, o).unwrap(),
        encode_alaw: |p, o| encode_alaw(p, o).unwrap(),
        decode_ulaw: |c, o| decode_ulaw(c, o).unwrap(),
        decode_alaw: |c, o| decode_alaw(c, o).unwrap(),
        ulaw_to_alaw: |c, o| ulaw_to_alaw(c, o).unwrap(),
        alaw_to_ulaw: |c, o| alaw_to_ulaw(c, o).unwrap(),
    }];
    #[cfg(target_arch = "x86_64")]
    {
        if avx2::available() {
            sets.push(Kernels {
                name: "avx2",
                encode_ulaw: avx2::encode_ulaw,
                encode_alaw: avx2::encode_alaw,
                decode_ulaw: avx2::decode_ulaw,
                decode_alaw: avx2::decode_alaw,
                ulaw_to_alaw: scalar::ulaw_to_alaw,
                alaw_to_ulaw: scalar::alaw_to_ulaw,
            });
        } else {
            eprintln!("no avx2 on this cpu: avx2 kernels not exercised");
        }
        if avx512::available() {
            sets.push(Kernels {
                name: "avx512",
                encode_ulaw: avx512::encode_ulaw,
                encode_alaw: avx512::encode_alaw,
                decode_ulaw: avx512::decode_ulaw,
                decode_alaw: avx512::decode_alaw,
                ulaw_to_alaw: avx512::ulaw_to_alaw,
                alaw_to_ulaw: avx512::alaw_to_ulaw,
            });
        } else {
            eprintln!("no avx512 bw+vbmi on this cpu: avx512 kernels not exercised");
        }
    }
    #[cfg(target_arch = "aarch64")]
    if neon::available() {
        sets.push(Kernels {
            name: "neon",
            encode_ulaw: neon::encode_ulaw,
            encode_alaw: neon::encode_alaw,
            decode_ulaw: neon::decode_ulaw,
            decode_alaw: neon::decode_alaw,
            ulaw_to_alaw: neon::ulaw_to_alaw,
            alaw_to_ulaw: neon::alaw_to_ulaw,
        });
    }
    sets
}

#[test]
fn simd_matches_scalar_on_every_input() {
    let pcm = all_samples();
    let codes: Vec<u8> = (0..=255u8).cycle().take(256 * 3 + 5).collect();
    for k in kernel_sets() {
        let mut got = vec![0u8; pcm.len()];
        let mut want = vec![0u8; pcm.len()];
        (k.encode_ulaw)(&pcm, &mut got);
        scalar::encode_ulaw(&pcm, &mut want);
        assert!(got == want, "{} ulaw encode", k.name);
        (k.encode_alaw)(&pcm, &mut got);
        scalar::encode_alaw(&pcm, &mut want);
        assert!(got == want, "{} alaw encode", k.name);
        let mut got = vec![0i16; codes.len()];
        let mut want = vec![0i16; codes.len()];
        (k.decode_ulaw)(&codes, &mut got);
        scalar::decode_ulaw(&codes, &mut want);
        assert_eq!(got, want, "{} ulaw decode", k.name);
        (k.decode_alaw)(&codes, &mut got);
        scalar::decode_alaw(&codes, &mut want);
        assert_eq!(got, want, "{} alaw decode", k.name);
        let mut got = vec![0u8; codes.len()];
        let mut want = vec![0u8; codes.len()];
        (k.ulaw_to_alaw)(&codes, &mut got);
        scalar::ulaw_to_alaw(&codes, &mut want);
        assert_eq!(got, want, "{} ulaw to alaw", k.name);
        (k.alaw_to_ulaw)(&codes, &mut got);
        scalar::alaw_to_ulaw(&codes, &mut want);
        assert_eq!(got, want, "{} alaw to ulaw", k.name);
    }
}

/// Every length 0..=130 (blocks plus every tail) at every offset 0..=33 from the allocation, so loads and
/// stores straddle vector boundaries; also checks nothing past the end is written.
#[test]
fn simd_matches_scalar_on_odd_lengths_and_unaligned_slices() {
    let pcm = noise(200);
    let codes: Vec<u8> = noise(200).iter().map(|&x| x as u8).collect();
    for k in kernel_sets() {
        for offset in 0..=33 {
            for len in 0..=130 {
                let src = &pcm[offset..offset + len];
                let mut got = vec![0xA5u8; offset + len + 1];
                let mut want = vec![0u8; len];
                for (kernel, twin) in [
                    (k.encode_ulaw, scalar::encode_ulaw as fn(&[i16], &mut [u8])),
                    (k.encode_alaw, scalar::encode_alaw),
                ] {
                    got.fill(0xA5);
                    kernel(src, &mut got[offset..offset + len]);
                    twin(src, &mut want);
                    assert_eq!(
                        &got[offset..offset + len],
                        &want[..],
                        "{} off {offset} len {len}",
                        k.name
                    );
                    assert_eq!(got[offset + len], 0xA5, "{} wrote past the end", k.name);
                }
                let src = &codes[offset..offset + len];
                let mut got = vec![0xA5u8; offset + len + 1];
                let mut want = vec![0u8; len];
                for (kernel, twin) in [
                    (k.ulaw_to_alaw, scalar::ulaw_to_alaw as fn(&[u8], &mut [u8])),
                    (k.alaw_to_ulaw, scalar::alaw_to_ulaw),
                ] {
                    got.fill(0xA5);
                    kernel(src, &mut got[offset..offset + len]);
                    twin(src, &mut want);
                    assert_eq!(
                        &got[offset..offset + len],
                        &want[..],
                        "{} off {offset} len {len}",
                        k.name
                    );
                    assert_eq!(got[offset + len], 0xA5, "{} wrote past the end", k.name);
                }
                let mut got = vec![0x5A5Ai16; offset + len + 1];
                let mut want = vec![0i16; len];
                for (kernel, twin) in [
                    (k.decode_ulaw, scalar::decode_ulaw as fn(&[u8], &mut [i16])),
                    (k.decode_alaw, scalar::decode_alaw),
                ] {
                    got.fill(0x5A5A);
                    kernel(src, &mut got[offset..offset + len]);
                    twin(src, &mut want);
                    assert_eq!(
                        &got[offset..offset + len],
                        &want[..],
                        "{} off {offset} len {len}",
                        k.name
                    );
                    assert_eq!(got[offset + len], 0x5A5A, "{} wrote past the end", k.name);
                }
            }
        }
    }
}

#[test]
fn cpu_features_names_a_kernel() {
    assert!(
        ["avx512vbmi", "avx2", "neon", "scalar"].contains(&cpu_features()),
        "{}",
        cpu_features()
    );
}

/// G.711's conversion tables (Tables 3 and 4) are not "decode, then re-encode" on G.191's 16-bit scale (that
/// differs on 76 codes): they convert on the standard's own scales, where the A-law overload point (4096 units
/// of Table 1) meets the µ-law overload point (8159 units of Table 2). Rebuilt that way from the decoders and
/// encoders alone, Table 4 comes out entry for entry. Table 3 does too except for µ-law numbers 48, 49 and 80
/// (three per sign), where the converted value lies within 0.3 units of an A-law decision value and the table
/// picks the A-law code that converts back to the same µ-law code. (Number 80 is the entry the widely copied
/// Sun tables had as 81 and Lindberg's 1994 correction set to 80; we follow the correction.)
#[test]
fn conversion_tables_follow_from_g711_overload_alignment() {
    let mut table3_exceptions = Vec::new();
    for c in 0..=255u8 {
        // A-law value (16-bit = Table 1 units x 8) on the µ-law scale (16-bit = Table 2 units x 4).
        let on_mu_scale = f64::from(reference::alaw_to_linear(c)) * 8159.0 / 8192.0;
        let want = reference::linear_to_ulaw(on_mu_scale.floor() as i16);
        assert_eq!(
            reference::alaw_to_ulaw_code(c),
            want,
            "Table 4, A-law {c:#04x}"
        );
        let on_a_scale = f64::from(reference::ulaw_to_linear(c)) * 8192.0 / 8159.0;
        // µ-law 0x7F ("negative zero") is a negative code: keep its sign through the conversion.
        let x = if c < 0x80 {
            on_a_scale.floor().min(-1.0)
        } else {
            on_a_scale.floor()
        };
        if reference::ulaw_to_alaw_code(c) != reference::linear_to_alaw(x as i16) {
            table3_exceptions.push(c);
            let back = reference::alaw_to_ulaw_code(reference::ulaw_to_alaw_code(c));
            assert_eq!(back, c, "Table 3 exception {c:#04x} round-trips");
        }
    }
    // µ-law numbers 80, 49, 48 are codes !n & 0x7F (negative) and 0x80 | that (positive).
    assert_eq!(table3_exceptions, [0x2F, 0x4E, 0x4F, 0xAF, 0xCE, 0xCF]);
    let via_linear = (0..=255u8)
        .filter(|&c| {
            reference::ulaw_to_alaw_code(c)
                != reference::linear_to_alaw(reference::ulaw_to_linear(c))
                || reference::alaw_to_ulaw_code(c)
                    != reference::linear_to_ulaw(reference::alaw_to_linear(c))
        })
        .count();
    assert_eq!(
        via_linear, 76,
        "codes where a table differs from decode+encode"
    );
}
