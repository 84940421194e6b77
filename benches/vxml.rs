//! VoiceXML page execution (criterion): a 7 KB CVP-style "Get Digits" microapp page
//! (`tests/data/vxml/microapp-getdigits.vxml`) parsed, validated and run to its first prompt and collection.
//!
//! - `vxml/page_on_live_session`: the steady state of a call: the caller's digits are submitted, the IVR service
//!   answers with the next page, the session parses and runs it until it plays its prompt and listens again.
//! - `vxml/page_on_live_session_cached`: the same with the process-wide parsed-document cache on
//!   (`vxgate_vxml::dom::cache`): the page's tree is shared, so a cycle is the run alone.
//! - `vxml/new_session_first_page`: a new call: script runtime and context created, first page run to its prompt.
//!
//! `page_on_live_session` and `new_session_first_page` turn the document cache off, so they measure parsing and
//! validation honestly on every page.
//!
//! Also prints pages/s per core and the memory an idle session (waiting for digits) holds: the script heap as
//! QuickJS counts it, and the process RSS growth per session over 500 sessions.
//! Target: >= 20,000 pages/s/core and <= 100 KB per idle session.
//!
//! `cargo bench --bench vxml -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use vxgate_vxml::request::FetchResponse;
use vxgate_vxml::{Input, Output, Session, SessionConfig};

const PAGE: &str = include_str!("../tests/data/vxml/microapp-getdigits.vxml");
const URL: &str = "http://127.0.0.1:8000/ivr/page.vxml";

fn answer(s: &mut Session, now: Instant, id: vxgate_vxml::FetchId, url: &str) {
    let resp = FetchResponse {
        url: url.to_string(),
        status: 200,
        content_type: None,
        body: PAGE.as_bytes().to_vec(),
    };
    s.handle_input(
        now,
        Input::Fetched {
            id,
            result: Ok(resp),
        },
    );
}

/// Drives the session until it listens for digits; answers every fetch with the page.
fn to_collect(s: &mut Session, now: Instant) {
    loop {
        let Some(o) = s.poll_output() else {
            panic!("session stalled before collecting")
        };
        match o {
            Output::Fetch { id, request } => answer(s, now, id, &request.url),
            Output::Play { .. } => s.handle_input(now, Input::PlayDone),
            Output::Collect { .. } => return,
            Output::End(r) => panic!("session ended: {r:?}"),
            _ => {}
        }
    }
}

fn new_session(now: Instant) -> Session {
    let mut s = Session::new(SessionConfig::default(), URL).expect("session");
    s.start(now);
    to_collect(&mut s, now);
    s
}

/// One page cycle: digits in, submit out, next page in, run to its collection.
fn cycle(s: &mut Session, now: Instant) {
    for c in "5432#".chars() {
        s.handle_input(now, Input::Dtmf(c));
    }
    to_collect(s, now);
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Turns the process-wide parsed-document cache on (pages after the first are shared trees) or off (every page is
/// parsed and validated, the cold figure).
fn doc_cache(on: bool) {
    vxgate_vxml::dom::cache::DocumentCache::global().set_enabled(on);
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`): unlike wall time, it does not count the
/// time other processes on a shared machine hold the core.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Mean time of one page cycle on a live session: on-CPU time where the kernel reports it, else wall time.
fn page_time(now: Instant) -> Duration {
    let mut s = new_session(now);
    for _ in 0..200 {
        cycle(&mut s, now);
    }
    let n = 5_000;
    let (t, c) = (Instant::now(), cpu_ns());
    for _ in 0..n {
        cycle(&mut s, now);
    }
    match (c, cpu_ns()) {
        (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)) / n,
        _ => t.elapsed() / n,
    }
}

fn report() {
    let now = Instant::now();
    doc_cache(false);
    let cold = page_time(now);
    doc_cache(true);
    let cached = page_time(now);
    doc_cache(false);
    let t = Instant::now();
    for _ in 0..200 {
        black_box(new_session(now));
    }
    let per_new = t.elapsed() / 200;
    // The sets stay alive until all are measured, so a later one does not reuse an earlier one's freed memory.
    let (cold_set, heap, rss_cold) = idle_sessions(now);
    doc_cache(true);
    let (cached_set, _, rss_cached) = idle_sessions(now);
    let (long_heap, long_rss) = long_call_memory(now);
    drop((cold_set, cached_set));
    let rate = |d: Duration| (d.as_secs_f64() * 1e6, 1.0 / d.as_secs_f64());
    let ((cold_us, cold_s), (cached_us, cached_s), (new_us, new_s)) =
        (rate(cold), rate(cached), rate(per_new));
    let kb = |b: Option<u64>| b.map_or("n/a".to_string(), |b| format!("{} KB", b / 1024));
    eprintln!(
        "vxml page ({} bytes) on a live session: cold parse + run {cold_us:.1} us/page ({cold_s:.0} pages/s/core), \
         cached document + run {cached_us:.1} us/page ({cached_s:.0} pages/s/core); new session + first page (cold): \
         {new_us:.1} us ({new_s:.0}/s); idle session: script heap {} KB, RSS growth per session {} (own documents), \
         {} (shared cached documents); idle after 0-59 pages of a call: script heap {} KB, RSS growth {}/session",
        PAGE.len(),
        heap / 1024,
        kb(rss_cold),
        kb(rss_cached),
        long_heap / 1024,
        kb(long_rss),
    );
}

/// Mean script heap and RSS growth of 500 idle sessions that have run 0 to 59 pages each (garbage from earlier
/// pages waits for QuickJS's cycle collector, so a long call holds more than a new one).
fn long_call_memory(now: Instant) -> (i64, Option<u64>) {
    let before = rss_bytes();
    let sessions: Vec<Session> = (0..500)
        .map(|i| {
            let mut s = new_session(now);
            for _ in 0..i % 60 {
                cycle(&mut s, now);
            }
            s
        })
        .collect();
    let after = rss_bytes();
    let heap = sessions.iter().map(|s| s.script_memory()).sum::<i64>() / sessions.len() as i64;
    let rss = before
        .zip(after)
        .map(|(b, a)| a.saturating_sub(b) / sessions.len() as u64);
    (heap, rss)
}

/// 500 sessions waiting for digits, with their mean script heap and the process RSS growth per session.
fn idle_sessions(now: Instant) -> (Vec<Session>, i64, Option<u64>) {
    let before = rss_bytes();
    let sessions: Vec<Session> = (0..500).map(|_| new_session(now)).collect();
    let after = rss_bytes();
    let heap = sessions.iter().map(|s| s.script_memory()).sum::<i64>() / sessions.len() as i64;
    let rss = before
        .zip(after)
        .map(|(b, a)| a.saturating_sub(b) / sessions.len() as u64);
    (sessions, heap, rss)
}
/// `VXML_BENCH_CYCLES=N`: run N page cycles and exit, without criterion (for `valgrind --tool=callgrind`, whose
/// instruction counts are a noise-free comparison on a shared machine); cold parses unless `VXML_BENCH_CACHED` is
/// set.
fn cycles_only() -> bool {
    let Some(n) = std::env::var("VXML_BENCH_CYCLES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    else {
        return false;
    };
    doc_cache(std::env::var_os("VXML_BENCH_CACHED").is_some());
    let now = Instant::now();
    let mut s = new_session(now);
    for _ in 0..n {
        cycle(&mut s, now);
    }
    black_box(s);
    true
}

/// `VXML_BENCH_PARSES=N`: parse and validate the page N times and exit (the document layer alone, for callgrind).
fn parses_only() -> bool {
    let Some(n) = std::env::var("VXML_BENCH_PARSES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    else {
        return false;
    };
    for _ in 0..n {
        let d = vxgate_vxml::dom::Document::parse(URL, PAGE.to_string()).expect("page parses");
        vxgate_vxml::validate::validate(&d).expect("page is valid");
        black_box(d);
    }
    true
}

fn bench(c: &mut Criterion) {
    if parses_only() {
        return;
    }
    if cycles_only() {
        return;
    }
    report();
    let now = Instant::now();
    let mut g = c.benchmark_group("vxml");
    g.measurement_time(Duration::from_secs(3));
    let mut s = new_session(now);
    doc_cache(false);
    g.bench_function("page_on_live_session", |b| b.iter(|| cycle(&mut s, now)));
    doc_cache(true);
    g.bench_function("page_on_live_session_cached", |b| {
        b.iter(|| cycle(&mut s, now))
    });
    doc_cache(false);
    g.bench_function("new_session_first_page", |b| {
        b.iter(|| black_box(new_session(now)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
