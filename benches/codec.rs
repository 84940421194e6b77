//! G.711 throughput (criterion): our dispatched fast path and scalar twin against the G.191 reference
//! algorithm, audio-codec 0.4's table path, and a plain copy of the same output bytes, in the same run.
//!
//! Sizes: one 20 ms frame (160 samples) and 1 MiB of G.711 (1,048,576 samples). Targets: at least 3× audio-codec
//! and within 2× of the copy.
//!
//! `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 2` (filter with e.g. `ulaw/encode`).

use std::hint::black_box;

use audio_codec::{Decoder, Encoder};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vxgate_media::g711::{self, reference, scalar, Law};

const SIZES: [(&str, usize); 2] = [("160", 160), ("1MiB", 1 << 20)];

/// Speech-like levels: pseudo-random samples scaled from full scale down to -42 dB.
fn signal(n: usize) -> Vec<i16> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 16) as u16 as i16) >> ((state >> 40) % 8)
        })
        .collect()
}

fn encode(c: &mut Criterion) {
    for law in [Law::Ulaw, Law::Alaw] {
        let mut group = c.benchmark_group(format!("{law}/encode"));
        for (label, n) in SIZES {
            let pcm = signal(n);
            let mut out = vec![0u8; n];
            let mut encoded = vec![0u8; n];
            g711::encode(law, &pcm, &mut encoded).expect("equal lengths");
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(BenchmarkId::new("vxgate", label), |b| {
                b.iter(|| g711::encode(law, black_box(&pcm), black_box(&mut out)))
            });
            let scalar_fn = match law {
                Law::Ulaw => scalar::encode_ulaw,
                Law::Alaw => scalar::encode_alaw,
            };
            group.bench_function(BenchmarkId::new("vxgate-scalar", label), |b| {
                b.iter(|| scalar_fn(black_box(&pcm), black_box(&mut out)))
            });
            let reference_fn = match law {
                Law::Ulaw => reference::linear_to_ulaw,
                Law::Alaw => reference::linear_to_alaw,
            };
            group.bench_function(BenchmarkId::new("g191-reference", label), |b| {
                b.iter(|| {
                    for (o, &x) in black_box(&mut out).iter_mut().zip(black_box(&pcm)) {
                        *o = reference_fn(x);
                    }
                })
            });
            let mut theirs: Box<dyn Encoder> = match law {
                Law::Ulaw => Box::new(audio_codec::pcmu::PcmuEncoder::new()),
                Law::Alaw => Box::new(audio_codec::pcma::PcmaEncoder::new()),
            };
            group.bench_function(BenchmarkId::new("audio-codec", label), |b| {
                b.iter(|| theirs.encode_into(black_box(&pcm), black_box(&mut out)))
            });
            group.bench_function(BenchmarkId::new("copy", label), |b| {
                b.iter(|| black_box(&mut out).copy_from_slice(black_box(&encoded)))
            });
        }
        group.finish();
    }
}

fn decode(c: &mut Criterion) {
    for law in [Law::Ulaw, Law::Alaw] {
        let mut group = c.benchmark_group(format!("{law}/decode"));
        for (label, n) in SIZES {
            let mut codes = vec![0u8; n];
            g711::encode(law, &signal(n), &mut codes).expect("equal lengths");
            let mut out = vec![0i16; n];
            let mut decoded = vec![0i16; n];
            g711::decode(law, &codes, &mut decoded).expect("equal lengths");
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(BenchmarkId::new("vxgate", label), |b| {
                b.iter(|| g711::decode(law, black_box(&codes), black_box(&mut out)))
            });
            let scalar_fn = match law {
                Law::Ulaw => scalar::decode_ulaw,
                Law::Alaw => scalar::decode_alaw,
            };
            group.bench_function(BenchmarkId::new("vxgate-scalar", label), |b| {
                b.iter(|| scalar_fn(black_box(&codes), black_box(&mut out)))
            });
            let reference_fn = match law {
                Law::Ulaw => reference::ulaw_to_linear,
                Law::Alaw => reference::alaw_to_linear,
            };
            group.bench_function(BenchmarkId::new("g191-reference", label), |b| {
                b.iter(|| {
                    for (o, &c) in black_box(&mut out).iter_mut().zip(black_box(&codes)) {
                        *o = reference_fn(c);
                    }
                })
            });
            let mut theirs: Box<dyn Decoder> = match law {
                Law::Ulaw => Box::new(audio_codec::pcmu::PcmuDecoder::new()),
                Law::Alaw => Box::new(audio_codec::pcma::PcmaDecoder::new()),
            };
            group.bench_function(BenchmarkId::new("audio-codec", label), |b| {
                b.iter(|| theirs.decode_into(black_box(&codes), black_box(&mut out)))
            });
            group.bench_function(BenchmarkId::new("copy", label), |b| {
                b.iter(|| black_box(&mut out).copy_from_slice(black_box(&decoded)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
