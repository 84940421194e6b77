//! `vxgate bench rtp`: N concurrent paced G.711 streams on loopback through the media engine, sender and receiver
//! in this one process.
//!
//! Each stream is a pair of engine sessions: the sender plays a prompt (continuous audio, 20 ms ptime) to the
//! receiver, whose audio tap notes the arrival time of every packet. The pacing error of a packet is how late it
//! arrived against the stream's ideal grid — arrival − (arrival of the stream's earliest-relative packet +
//! k × ptime), k taken from the RTP timestamp. The arrival time is the kernel's receive timestamp of the datagram
//! (the engine reads sockets on its tick and stamps each datagram with `SO_TIMESTAMPNS`), so the error includes
//! the sending scheduler's lateness and the loopback path, and not how long the datagram then waited for the
//! receiving scheduler's tick. Loss counts packets the receiver never got plus packets the sender had
//! to skip because its scheduler fell behind. `--find-max` searches the largest N with p99 ≤ 2 ms and no loss.

use std::process::ExitCode;
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use vxgate_media::engine::{Direction, EngineConfig, MediaEngine, MediaHandle, SessionConfig};
use vxgate_media::g711::Law;
use vxgate_media::playout::PlayoutConfig;
use vxgate_media::prompt::Prompt;

use super::host::{self, HostSpeed};
use super::tap::{self, Tap};

/// Options of `bench rtp`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Concurrent streams (each a sender and a receiver session).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=9_000))]
    pub streams: u32,
    /// Measured seconds per run (after one second of warm-up).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub seconds: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Search the largest stream count holding p99 ≤ `--target-p99-ms` with zero loss (starting at `--streams`).
    #[arg(long)]
    pub find_max: bool,
    /// p99 pacing error target for `--find-max`, in milliseconds.
    #[arg(long, default_value_t = 2.0)]
    pub target_p99_ms: f64,
    /// Scheduler threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub schedulers: usize,
    /// Lowest UDP port used (two ports per stream are taken from here up).
    #[arg(long, default_value_t = 20000)]
    pub port_min: u16,
    /// No io_uring: one `sendto` per packet, receives through epoll and `recvmmsg` (for comparison).
    #[arg(long)]
    pub no_io_uring: bool,
    /// Put every sender session on one scheduler and every receiver on the other, as the bench did before
    /// (for comparison); by default each scheduler carries both.
    #[arg(long, conflicts_with = "cross")]
    pub segregate: bool,
    /// Put a stream's receiver on another scheduler than its sender, so every datagram crosses cores (for
    /// comparison); by default the receiver is opened beside its sender.
    #[arg(long)]
    pub cross: bool,
    /// Leave the scheduler threads at normal priority (for comparison); by default they ask for `SCHED_FIFO` 10,
    /// as the gateway's do, which takes root or `CAP_SYS_NICE` (without it they stay at normal priority).
    #[arg(long)]
    pub no_realtime: bool,
    /// The schedulers' tick in µs (packets leave on this grid).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(125..=20_000))]
    pub tick_us: u64,
    /// With `--find-max`: runs per stream count; a count holds when more than half of its runs hold (the host's
    /// speed moves from minute to minute, and one run decides a step by chance).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub repeat: u32,
}

/// Two sockets per stream must fit the open-file limit (20,000 here).
const MAX_STREAMS: u32 = 9_000;

/// Result of one run.
#[derive(Debug, Clone, Serialize)]
struct RunReport {
    streams: u32,
    seconds: f64,
    schedulers: usize,
    packets_received: u64,
    packets_per_s: f64,
    /// Process CPU (user + system) over the run, % of one core.
    cpu_percent: f64,
    /// Of all cores.
    cpu_percent_of_machine: f64,
    pacing_p50_ms: f64,
    pacing_p99_ms: f64,
    pacing_max_ms: f64,
    /// Packets the receivers never got (RFC 3550 expected − received).
    lost: i64,
    /// Packets the senders skipped after falling more than 5 ptimes behind.
    skipped: u64,
    /// Datagrams the OS refused to send.
    send_errors: u64,
    holds_target: bool,
    /// The host's parallel speed, measured before the runs (see [`host`]).
    host: HostSpeed,
}

/// Process CPU time (user + system) from /proc/self/stat, in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; clock ticks of 1/100 s on Linux.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

async fn run_once(
    args: &Args,
    host: HostSpeed,
    streams: u32,
    seconds: u64,
) -> anyhow::Result<RunReport> {
    let engine = MediaEngine::start(EngineConfig {
        port_min: args.port_min,
        port_max: u16::MAX - 1,
        schedulers: args.schedulers,
        io_uring: !args.no_io_uring,
        tick: Duration::from_micros(args.tick_us),
        realtime_priority: (!args.no_realtime).then_some(10),
        ..EngineConfig::default()
    })
    .await
    .context("media engine")?;
    let schedulers = if args.schedulers == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.schedulers
    };
    // A second of distinct-ish audio, queued enough times to outlast the run.
    let bytes: Vec<u8> = (0..8000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x10)
        .collect();
    let prompt = Prompt::from_g711(Law::Ulaw, Arc::from(bytes), "bench");
    let repeats = seconds as usize + 4;

    let warmup = Duration::from_secs(1);
    let open_start = Instant::now();
    let mut pairs: Vec<(MediaHandle, MediaHandle)> = Vec::with_capacity(streams as usize);
    let (done_tx, done_rx) = std_mpsc::channel();
    let mut cfg = SessionConfig::new(Law::Ulaw);
    cfg.rtcp_mux = true;
    cfg.playout = PlayoutConfig {
        gap: Duration::ZERO,
    };
    cfg.telephone_event = None;
    // The measuring window is fixed once all sessions exist; taps learn it at creation, so open everything first.
    let mut opened = Vec::with_capacity(streams as usize);
    // By default a stream's receiver is opened beside its sender (`open_beside`), as a gateway keeps the two legs
    // of a relayed call together: its datagrams stay on one core. The engine puts each new session on the least
    // loaded scheduler, so `--cross` alternates which of the pair is opened first, to give each scheduler a mix
    // of senders and receivers whose peers are on the other one; `--segregate` puts all senders on one.
    for i in 0..streams {
        let (tx, rx) = if args.cross && i % 2 == 1 {
            let (rx, _) = engine.open(cfg.clone()).await.context("open receiver")?;
            let (tx, _) = engine.open(cfg.clone()).await.context("open sender")?;
            (tx, rx)
        } else if args.cross || args.segregate {
            let (tx, _) = engine.open(cfg.clone()).await.context("open sender")?;
            let (rx, _) = engine.open(cfg.clone()).await.context("open receiver")?;
            (tx, rx)
        } else {
            let (tx, _) = engine.open(cfg.clone()).await.context("open sender")?;
            let (rx, _) = engine
                .open_beside(cfg.clone(), &tx)
                .await
                .context("open receiver")?;
            (tx, rx)
        };
        opened.push((tx, rx));
    }
    let window_start = Instant::now() + warmup;
    let window_end = window_start + Duration::from_secs(seconds);
    // Room in each scheduler thread's log for its share of the packets, and a quarter more for an uneven share.
    let reserve =
        (streams as usize).div_ceil(schedulers.max(1)) * 5 / 4 * (seconds as usize * 50 + 50);
    for (stream, (tx, rx)) in (0u32..).zip(opened) {
        rx.set_direction(Direction::RecvOnly);
        rx.set_remote(tx.local_addr());
        rx.tap_audio(Box::new(Tap {
            stream,
            window: (window_start, window_end),
            epoch: open_start,
            reserve,
            done: done_tx.clone(),
        }));
        tx.set_remote(rx.local_addr());
        tx.play(vec![prompt.clone(); repeats], false);
        pairs.push((tx, rx));
    }
    drop(done_tx);
    tracing::debug!(streams, setup = ?open_start.elapsed(), "bench streams started");

    tokio::time::sleep_until((window_start).into()).await;
    let cpu0 = cpu_seconds();
    let wall0 = Instant::now();
    tokio::time::sleep_until(window_end.into()).await;
    let cpu1 = cpu_seconds();
    let wall = wall0.elapsed().as_secs_f64();

    let mut lost = 0i64;
    let mut skipped = 0u64;
    let mut send_errors = 0u64;
    // All requests go out before the first answer is awaited.
    let asked: Vec<_> = pairs
        .iter()
        .map(|(tx, rx)| (tx.stats(), rx.stats()))
        .collect();
    for (tx_stats, rx_stats) in asked {
        if let Some(s) = rx_stats.await {
            lost += s.session.receive.lost.max(0);
        }
        if let Some(s) = tx_stats.await {
            skipped += s.skipped;
            send_errors += s.send_errors;
        }
    }
    for (_, rx) in &pairs {
        rx.untap_audio();
    }
    let (mut all, received) = tap::offsets(done_rx.iter().take(streams as usize), streams as usize);
    for (tx, rx) in pairs {
        tx.close();
        rx.close();
    }
    // Let the schedulers close the sockets before the engine (and its port pool) goes.
    while engine.ports_in_use() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    all.sort_unstable();
    // The taps count by arrival time inside the fixed window, so packets/s is over the window's length. The CPU
    // reading needs this thread to have woken on time at both ends; past the machine's capacity under a real-time
    // policy the scheduler threads can starve it, and then there is no CPU figure.
    let window = Duration::from_secs(seconds).as_secs_f64();
    let cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) if wall > window * 0.9 => (b - a) / wall * 100.0,
        _ => f64::NAN,
    };
    let p99 = percentile(&all, 0.99);
    Ok(RunReport {
        streams,
        seconds: wall,
        schedulers,
        packets_received: received,
        packets_per_s: received as f64 / window,
        cpu_percent: cpu,
        cpu_percent_of_machine: cpu / schedulers.max(1) as f64,
        pacing_p50_ms: percentile(&all, 0.50),
        pacing_p99_ms: p99,
        pacing_max_ms: percentile(&all, 1.0),
        lost,
        skipped,
        send_errors,
        holds_target: p99 <= args.target_p99_ms && lost == 0 && skipped == 0 && send_errors == 0,
        host,
    })
}

fn print_text(r: &RunReport) {
    println!(
        "streams {:>5}  {:>8.0} packets/s  cpu {:>5.1}% ({:.1}% of {} cores)  pacing p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  lost {}  skipped {}  send errors {}  {}",
        r.streams,
        r.packets_per_s,
        r.cpu_percent,
        r.cpu_percent_of_machine,
        r.schedulers,
        r.pacing_p50_ms,
        r.pacing_p99_ms,
        r.pacing_max_ms,
        r.lost,
        r.skipped,
        r.send_errors,
        if r.holds_target { "ok" } else { "MISSES TARGET" }
    );
}

/// Runs `bench rtp`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let threads = match args.schedulers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let host = host::measure(threads);
    if !args.json {
        println!("{host}");
    }
    rt.block_on(async {
        if !args.find_max {
            let r = run_once(&args, host, args.streams, args.seconds).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print_text(&r);
            }
            return Ok(ExitCode::SUCCESS);
        }
        // Grow by half again until the target fails, then bisect to within 5 %. (Not by doubling: a run far past
        // the machine's capacity takes long to set up and tear down, and under a real-time policy it starves
        // this very thread's clock.)
        let mut runs = Vec::new();
        let mut good: Option<u32> = None;
        let mut bad: Option<u32> = None;
        let mut n = args.streams;
        loop {
            let mut held = 0;
            for _ in 0..args.repeat {
                let r = run_once(&args, host, n, args.seconds).await?;
                if !args.json {
                    print_text(&r);
                }
                held += u32::from(r.holds_target);
                runs.push(r);
            }
            let ok = held * 2 > args.repeat;
            if ok {
                good = Some(n);
            } else {
                bad = Some(n);
            }
            n = match (good, bad) {
                (Some(g), None) => (g + g / 2).clamp(g + 1, MAX_STREAMS),
                (None, Some(b)) if b > 1 => b / 2,
                (Some(g), Some(b)) if b > g + g / 20 + 1 => g + (b - g) / 2,
                _ => break,
            };
            if good == Some(MAX_STREAMS) {
                break;
            }
        }
        let best = good.unwrap_or(0);
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({ "max_streams": best, "runs": runs })
                )?
            );
        } else {
            println!(
                "largest stream count holding p99 ≤ {} ms with zero loss: {best}",
                args.target_p99_ms
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
