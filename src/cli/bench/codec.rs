//! `vxgate bench codec`: G.711 throughput on one core, the fast path against the G.191 reference.
//!
//! A quick, self-contained measurement for a fresh machine (a few seconds; criterion's `benches/codec.rs` is
//! the careful one). For each law, operation and size it times the dispatched fast path, the scalar table path
//! and the reference algorithm on the same pseudo-random speech-level signal, and reports the best of several
//! timed batches as samples per second and as real-time 8 kHz channels per core.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Serialize;
use vxgate_media::g711::{self, reference, scalar, Law};

/// Options of `bench codec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Time spent measuring each case, in milliseconds.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub millis: u64,
}

/// One G.711 frame of 20 ms at 8 kHz.
const FRAME: usize = 160;
/// One MiB of G.711 bytes.
const MIB: usize = 1 << 20;
/// Samples per second of one telephone channel.
const CHANNEL_RATE: f64 = 8000.0;

/// One measured case.
#[derive(Debug, Serialize)]
struct Row {
    law: &'static str,
    op: &'static str,
    size: &'static str,
    samples: usize,
    /// Dispatched fast path.
    msamples_per_s: f64,
    channels_per_core: f64,
    /// Scalar table path, the SIMD kernels' twin.
    scalar_msamples_per_s: f64,
    /// G.191 reference algorithm.
    reference_msamples_per_s: f64,
    /// Fast path over reference.
    ratio_to_reference: f64,
}

/// The whole report.
#[derive(Debug, Serialize)]
struct Report {
    cpu_features: &'static str,
    rows: Vec<Row>,
}

/// Deterministic test signal: pseudo-random samples at varied levels, so every segment is exercised.
fn signal(n: usize) -> Vec<i16> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let sample = (state >> 16) as u16 as i16;
            sample >> ((state >> 40) % 8) // levels from full scale down to -42 dB
        })
        .collect()
}

/// Best throughput (samples per second) of `f` over `n` samples within `budget`.
fn measure(n: usize, budget: Duration, mut f: impl FnMut()) -> f64 {
    // Batch so one timed run lasts about a millisecond.
    let mut reps = 1usize;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        if t.elapsed() >= Duration::from_micros(500) || reps >= 1 << 24 {
            break;
        }
        reps *= 2;
    }
    let start = Instant::now();
    let mut best = f64::INFINITY;
    while start.elapsed() < budget || best.is_infinite() {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    n as f64 / best
}

type Encoder = fn(&[i16], &mut [u8]);
type Decoder = fn(&[u8], &mut [i16]);

fn encoders(law: Law) -> [Encoder; 3] {
    match law {
        Law::Ulaw => [
            |p, o| g711::encode_ulaw(p, o).expect("equal lengths"),
            scalar::encode_ulaw,
            |p, o| {
                o.iter_mut()
                    .zip(p)
                    .for_each(|(o, &x)| *o = reference::linear_to_ulaw(x))
            },
        ],
        Law::Alaw => [
            |p, o| g711::encode_alaw(p, o).expect("equal lengths"),
            scalar::encode_alaw,
            |p, o| {
                o.iter_mut()
                    .zip(p)
                    .for_each(|(o, &x)| *o = reference::linear_to_alaw(x))
            },
        ],
    }
}

fn decoders(law: Law) -> [Decoder; 3] {
    match law {
        Law::Ulaw => [
            |c, o| g711::decode_ulaw(c, o).expect("equal lengths"),
            scalar::decode_ulaw,
            |c, o| {
                o.iter_mut()
                    .zip(c)
                    .for_each(|(o, &x)| *o = reference::ulaw_to_linear(x))
            },
        ],
        Law::Alaw => [
            |c, o| g711::decode_alaw(c, o).expect("equal lengths"),
            scalar::decode_alaw,
            |c, o| {
                o.iter_mut()
                    .zip(c)
                    .for_each(|(o, &x)| *o = reference::alaw_to_linear(x))
            },
        ],
    }
}

fn run_cases(budget: Duration) -> Vec<Row> {
    let mut rows = Vec::new();
    let pcm_all = signal(MIB);
    for law in [Law::Ulaw, Law::Alaw] {
        let mut codes_all = vec![0u8; MIB];
        // Lengths are equal by construction.
        g711::encode(law, &pcm_all, &mut codes_all).expect("equal lengths");
        for (size, n) in [("160 (20 ms)", FRAME), ("1 MiB", MIB)] {
            let pcm = &pcm_all[..n];
            let mut codes = vec![0u8; n];
            let [fast, scal, refr] = encoders(law).map(|f| {
                measure(n, budget, || {
                    f(black_box(pcm), black_box(&mut codes));
                })
            });
            rows.push(row(law, "encode", size, n, [fast, scal, refr]));
            let input = &codes_all[..n];
            let mut out = vec![0i16; n];
            let [fast, scal, refr] = decoders(law).map(|f| {
                measure(n, budget, || {
                    f(black_box(input), black_box(&mut out));
                })
            });
            rows.push(row(law, "decode", size, n, [fast, scal, refr]));
        }
    }
    rows
}

fn row(law: Law, op: &'static str, size: &'static str, samples: usize, rates: [f64; 3]) -> Row {
    let [fast, scal, refr] = rates;
    Row {
        law: law.name(),
        op,
        size,
        samples,
        msamples_per_s: fast / 1e6,
        channels_per_core: fast / CHANNEL_RATE,
        scalar_msamples_per_s: scal / 1e6,
        reference_msamples_per_s: refr / 1e6,
        ratio_to_reference: fast / refr,
    }
}

/// Runs the codec benchmark and prints a table (or JSON).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let budget = Duration::from_millis(args.millis);
    let report = Report {
        cpu_features: g711::cpu_features(),
        rows: run_cases(budget),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "G.711 throughput, one core, kernel: {}",
        report.cpu_features
    );
    println!(
        "{:<5} {:<7} {:<12} {:>12} {:>16} {:>13} {:>13} {:>9}",
        "law", "op", "size", "Msamples/s", "channels/core", "scalar Ms/s", "G.191 Ms/s", "x G.191"
    );
    for r in &report.rows {
        println!(
            "{:<5} {:<7} {:<12} {:>12.0} {:>16.0} {:>13.0} {:>13.0} {:>8.1}x",
            r.law,
            r.op,
            r.size,
            r.msamples_per_s,
            r.channels_per_core,
            r.scalar_msamples_per_s,
            r.reference_msamples_per_s,
            r.ratio_to_reference
        );
    }
    println!("(a channel is 8,000 samples/s; best of timed batches of ~1 ms; G.191 = ITU-T reference algorithm)");
    Ok(ExitCode::SUCCESS)
}
