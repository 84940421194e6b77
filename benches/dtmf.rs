//! DTMF detection cost (criterion): how much audio one core reads per second, so the per-call switch to in-band
//! detection (peers that send no telephone-events) can be sized.
//!
//! - `inband/20ms_frame`: the Goertzel detector on one 160-sample frame of a keyed sequence (tones and pauses).
//! - `rfc4733/packet`: the telephone-event receiver judging one event packet (start, updates, three ends).
//!
//! `cargo bench --bench dtmf -- --warm-up-time 1 --measurement-time 2`; the real-time factor per core is
//! 20 ms divided by the time per frame.

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vxgate_media::dtmf::{Digit, InbandDetector, Rfc4733Receiver, TelephoneEvent};

const RATE: f64 = 8000.0;

/// 100 ms tone pairs for 1, 5, # with 233 ms pauses, repeated: a caller keying digits.
fn keyed_audio() -> Vec<i16> {
    let mut x = Vec::new();
    for _ in 0..20 {
        for d in [Digit::D1, Digit::D5, Digit::Pound] {
            let (lo, hi) = d.frequencies();
            for i in 0..800 {
                let t = i as f64 / RATE;
                let v = 6000.0 * (2.0 * PI * lo * t).sin() + 6000.0 * (2.0 * PI * hi * t).sin();
                x.push(v.round() as i16);
            }
            x.extend(std::iter::repeat_n(0i16, 1864));
        }
    }
    x
}

fn inband(c: &mut Criterion) {
    let audio = keyed_audio();
    let frames: Vec<&[i16]> = audio.chunks_exact(160).collect();
    let mut g = c.benchmark_group("inband");
    g.throughput(Throughput::Elements(160));
    g.bench_function("20ms_frame", |b| {
        let mut det = InbandDetector::new();
        let mut i = 0;
        b.iter(|| {
            let found = det.process(black_box(frames[i % frames.len()]));
            i += 1;
            found
        })
    });
    g.finish();
}

fn rfc4733(c: &mut Criterion) {
    // One digit as RFC 4733 §2.5 sends it: start (marker), updates every 50 ms, three end packets; the next digit
    // one second later (a new RTP timestamp identifies a new event).
    let mut packets = Vec::new();
    for k in 0..16u32 {
        let ts = k * 8000;
        for step in 1..=4u16 {
            let ev = TelephoneEvent {
                event: 5,
                end: false,
                volume: 10,
                duration: step * 400,
            };
            packets.push((ts, step == 1, ev.to_bytes()));
        }
        for _ in 0..3 {
            let ev = TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 1600,
            };
            packets.push((ts, false, ev.to_bytes()));
        }
    }
    let mut g = c.benchmark_group("rfc4733");
    g.throughput(Throughput::Elements(1));
    g.bench_function("packet", |b| {
        let t0 = Instant::now();
        let mut rx = Rfc4733Receiver::new(Duration::from_millis(500));
        let mut i = 0usize;
        b.iter(|| {
            let (ts, marker, payload) = &packets[i % packets.len()];
            let round = (i / packets.len()) as u32;
            let now = t0 + Duration::from_millis(i as u64 * 20);
            let ts = ts.wrapping_add(round.wrapping_mul(16 * 8000));
            let out = rx.handle(now, ts, *marker, black_box(payload));
            i += 1;
            out
        })
    });
    g.finish();
}

criterion_group!(benches, inband, rfc4733);
criterion_main!(benches);
