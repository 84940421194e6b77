//! VoiceXML page execution (criterion): a 7 KB CVP-style "Get Digits" microapp page
//! (`tests/data/vxml/microapp-getdigits.vxml`) parsed, validated and run to its first prompt and collection.
//!
//! - `vxml/page_on_live_session`: the steady state of a call: the caller's digits are submitted, the IVR service
//!   answers with the next page, the session parses and runs it until it plays its prompt and listens again.
//! - `vxml/new_session_first_page`: a new call: script runtime and context created, first page run to its prompt.
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

fn report() {
    let now = Instant::now();
    let mut s = new_session(now);
    let n = 5_000;
    let t = Instant::now();
    for _ in 0..n {
        cycle(&mut s, now);
    }
    let per = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..200 {
        black_box(new_session(now));
    }
    let per_new = t.elapsed() / 200;
    let before = rss_bytes();
    let sessions: Vec<Session> = (0..500).map(|_| new_session(now)).collect();
    let after = rss_bytes();
    let heap = sessions.iter().map(|s| s.script_memory()).sum::<i64>() / sessions.len() as i64;
    let rss = match (before, after) {
        (Some(b), Some(a)) => format!("{} KB", a.saturating_sub(b) / 500 / 1024),
        _ => "n/a".into(),
    };
    eprintln!(
        "vxml page ({} bytes) on a live session: {:.1} us/page, {:.0} pages/s/core; new session + first page: {:.1} us \
         ({:.0}/s); idle session: script heap {} KB, RSS growth {rss}/session",
        PAGE.len(),
        per.as_secs_f64() * 1e6,
        1.0 / per.as_secs_f64(),
        per_new.as_secs_f64() * 1e6,
        1.0 / per_new.as_secs_f64(),
        heap / 1024,
    );
    drop(sessions);
}

/// `VXML_BENCH_CYCLES=N`: run N page cycles and exit, without criterion (for `valgrind --tool=callgrind`, whose
/// instruction counts are a noise-free comparison on a shared machine).
fn cycles_only() -> bool {
    let Some(n) = std::env::var("VXML_BENCH_CYCLES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    else {
        return false;
    };
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
    g.bench_function("page_on_live_session", |b| b.iter(|| cycle(&mut s, now)));
    g.bench_function("new_session_first_page", |b| {
        b.iter(|| black_box(new_session(now)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
