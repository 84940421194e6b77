//! The media engine over real UDP on 127.0.0.1: a sender session plays a prompt and DTMF to a receiver session
//! through a shim that drops, duplicates and reorders packets; audio and digits arrive as sent. And a flood of
//! garbage at one call's ports leaves another call's stream intact.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use vxgate_media::dtmf::{Digit, DtmfSource};
use vxgate_media::engine::{
    AudioSink, Direction, EngineConfig, MediaEngine, MediaEvent, SessionConfig,
};
use vxgate_media::g711::{self, Law};
use vxgate_media::prompt::Prompt;
use vxgate_media::rtp::{RtpPacket, SeqNo};

/// Upper bound on any wait, so a broken engine fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(20);

type Frames = Arc<Mutex<Vec<(u64, u64, Vec<u8>)>>>;

/// Collects every audio packet a session accepts.
struct Collect(Frames);

impl AudioSink for Collect {
    fn audio(&mut self, _now: Instant, seq: SeqNo, timestamp: u64, _law: Law, payload: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((seq.0, timestamp, payload.to_vec()));
    }
}

/// A prompt whose 160-sample frames are all different and contain no silence code.
fn distinct_prompt(frames: usize, law: Law) -> Prompt {
    let mut x: u32 = 0x1234_5678;
    let bytes: Vec<u8> = (0..frames * 160)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x % 200) as u8 + 20
        })
        .collect();
    Prompt::from_g711(law, Arc::from(bytes), "distinct")
}

fn engine_config(port_min: u16) -> EngineConfig {
    EngineConfig {
        port_min,
        port_max: port_min + 199,
        schedulers: 2,
        ..EngineConfig::default()
    }
}

/// What the shim did, by RTP sequence number.
#[derive(Default, Debug)]
struct ShimLog {
    first: Option<u16>,
    forwarded: HashSet<u16>,
    dropped: HashSet<u16>,
}

/// Forwards datagrams from `sock` to `to`: drops every 7th, sends every 5th twice, and holds every 4th back until
/// after the next one (reordering). Deterministic by arrival index.
async fn shim(sock: UdpSocket, to: SocketAddr, log: Arc<Mutex<ShimLog>>) {
    let mut buf = [0u8; 1500];
    let mut held: Option<Vec<u8>> = None;
    let mut i = 0u64;
    loop {
        let Ok((n, _)) = sock.recv_from(&mut buf).await else {
            return;
        };
        i += 1;
        let data = buf[..n].to_vec();
        let seq = RtpPacket::parse(&data).ok().map(|p| p.seq);
        if i.is_multiple_of(7) {
            if let Some(s) = seq {
                log.lock().unwrap().dropped.insert(s);
            }
            continue;
        }
        if let Some(s) = seq {
            let mut log = log.lock().unwrap();
            log.first.get_or_insert(s);
            log.forwarded.insert(s);
        }
        if i.is_multiple_of(4) && held.is_none() {
            held = Some(data);
            continue;
        }
        let _ = sock.send_to(&data, to).await;
        if i.is_multiple_of(5) {
            let _ = sock.send_to(&data, to).await;
        }
        if let Some(h) = held.take() {
            let _ = sock.send_to(&h, to).await;
        }
    }
}

async fn next_event(
    rx: &mut mpsc::Receiver<MediaEvent>,
    want: impl Fn(&MediaEvent) -> bool,
) -> MediaEvent {
    tokio::time::timeout(GUARD, async {
        loop {
            let ev = rx.recv().await.expect("event channel open");
            if want(&ev) {
                return ev;
            }
        }
    })
    .await
    .expect("event within the guard time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_and_dtmf_cross_a_lossy_reordering_shim() {
    lossy_shim(engine_config(42000)).await;
}

/// The same through the engine's other I/O path: one `sendto` per packet, epoll and `recvmmsg` for receiving
/// (what a kernel without io_uring gets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_and_dtmf_cross_a_lossy_reordering_shim_without_io_uring() {
    lossy_shim(EngineConfig {
        io_uring: false,
        ..engine_config(43600)
    })
    .await;
}

async fn lossy_shim(cfg: EngineConfig) {
    let engine = MediaEngine::start(cfg).await.unwrap();
    let prompt = distinct_prompt(50, Law::Ulaw); // 1 s

    // Sender speaks A-law: the µ-law prompt is transcoded on the fly.
    let mut tx_cfg = SessionConfig::new(Law::Alaw);
    tx_cfg.rtcp_mux = true;
    let (tx, mut tx_events) = engine.open(tx_cfg).await.unwrap();
    let mut rx_cfg = SessionConfig::new(Law::Alaw);
    rx_cfg.rtcp_mux = true;
    let (rx, mut rx_events) = engine.open(rx_cfg).await.unwrap();
    rx.set_direction(Direction::RecvOnly);
    rx.set_remote(tx.local_addr());
    let frames: Frames = Arc::default();
    rx.tap_audio(Box::new(Collect(Arc::clone(&frames))));

    let shim_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let shim_addr = shim_sock.local_addr().unwrap();
    let log = Arc::new(Mutex::new(ShimLog::default()));
    let shim_task = tokio::spawn(shim(shim_sock, rx.local_addr(), Arc::clone(&log)));
    tx.set_remote(shim_addr);

    tx.play(vec![prompt.clone()], false);
    match next_event(&mut tx_events, |e| {
        matches!(e, MediaEvent::PromptDone { .. })
    })
    .await
    {
        MediaEvent::PromptDone {
            played,
            interrupted,
        } => {
            assert!(!interrupted);
            assert_eq!(played, Duration::from_secs(1));
        }
        other => panic!("{other:?}"),
    }

    // Digits: each is reported once although the shim drops, doubles and reorders their packets.
    tx.send_dtmf("1#9");
    let mut digits = Vec::new();
    for _ in 0..3 {
        if let MediaEvent::Dtmf { digit, source } =
            next_event(&mut rx_events, |e| matches!(e, MediaEvent::Dtmf { .. })).await
        {
            assert_eq!(source, DtmfSource::Rfc4733);
            digits.push(digit);
        }
    }
    assert_eq!(digits, vec![Digit::D1, Digit::Pound, Digit::D9]);

    // Let the last audio through, then stop the stream and compare.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = rx.stats().await.expect("receiver alive");
    tx.close();
    rx.close();
    shim_task.abort();

    let mut expected: HashMap<Vec<u8>, usize> = HashMap::new();
    for i in 0..50 {
        let src = prompt.frame(i, 160).unwrap();
        let mut a = vec![0u8; 160];
        g711::transcode(Law::Ulaw, Law::Alaw, src, &mut a).unwrap();
        expected.insert(a, i);
    }
    let frames = frames.lock().unwrap();
    let log = log.lock().unwrap();
    // Every packet the receiver accepted is one the shim forwarded, once (duplicates discarded).
    let seqs: Vec<u64> = frames.iter().map(|f| f.0).collect();
    let unique: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seqs.len(),
        "a duplicate reached the application"
    );
    for (seq, _, _) in frames.iter() {
        assert!(
            log.forwarded.contains(&(*seq as u16)),
            "seq {seq} was never forwarded"
        );
    }
    // Prompt frames arrive bit-exact and with a timestamp that matches their place in the prompt.
    let mut got = HashSet::new();
    let mut base: Option<u64> = None;
    for (_, ts, payload) in frames.iter() {
        if let Some(&i) = expected.get(payload) {
            let b = ts - 160 * i as u64;
            assert_eq!(*base.get_or_insert(b), b, "frame {i} out of place");
            got.insert(i);
        } else {
            assert!(
                payload.iter().all(|&b| b == Law::Alaw.silence()),
                "payload neither prompt nor silence"
            );
        }
    }
    // Each prompt frame the shim forwarded arrived; a missing one was dropped by the shim, or was the stream's
    // first packet (spent on probation, RFC 3550 A.1).
    let (seq0, i0) = frames
        .iter()
        .find_map(|(seq, _, p)| expected.get(p).map(|&i| (*seq as u16, i)))
        .expect("some prompt frame arrived");
    for i in (0..50).filter(|i| !got.contains(i)) {
        let seq = seq0.wrapping_add(i as u16).wrapping_sub(i0 as u16);
        assert!(
            log.dropped.contains(&seq) || log.first == Some(seq),
            "frame {i} (seq {seq}) forwarded but lost"
        );
    }
    assert!(got.len() >= 40, "{} of 50 frames", got.len());
    assert!(
        stats.session.receive.duplicated > 0,
        "the shim doubled packets"
    );
    assert!(stats.session.receive.late > 0, "the shim reordered packets");
    let r = stats.session.receive;
    assert!(
        r.expected > r.received - r.duplicated,
        "the shim dropped packets: {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_at_one_port_does_not_disturb_another_call() {
    garbage_flood(engine_config(42400)).await;
}

/// The same with epoll and `recvmmsg` doing the receiving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_at_one_port_does_not_disturb_another_call_without_io_uring() {
    garbage_flood(EngineConfig {
        io_uring: false,
        ..engine_config(44000)
    })
    .await;
}

async fn garbage_flood(cfg: EngineConfig) {
    let engine = MediaEngine::start(cfg).await.unwrap();
    let prompt = distinct_prompt(40, Law::Ulaw);

    // Two calls, each a sender → receiver pair.
    let mut pairs = Vec::new();
    for _ in 0..2 {
        let (tx, tx_events) = engine.open(SessionConfig::new(Law::Ulaw)).await.unwrap();
        let (rx, _rx_events) = engine.open(SessionConfig::new(Law::Ulaw)).await.unwrap();
        rx.set_direction(Direction::RecvOnly);
        rx.set_remote(tx.local_addr());
        let frames: Frames = Arc::default();
        rx.tap_audio(Box::new(Collect(Arc::clone(&frames))));
        tx.set_remote(rx.local_addr());
        pairs.push((tx, tx_events, rx, _rx_events, frames));
    }
    // Flood the first receiver's RTP and RTCP ports with junk: random bytes, bogus RTP from random SSRCs, RTCP
    // with lengths that lie.
    let victim = pairs[0].2.local_addr();
    let flood = tokio::spawn(async move {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rtcp = SocketAddr::new(victim.ip(), victim.port() + 1);
        let mut x: u64 = 42;
        let mut sent = 0u64;
        loop {
            let mut d = [0u8; 172];
            for b in d.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            match sent % 3 {
                0 => d[0] = 0x80 | (d[0] & 0x0f),
                1 => {
                    d[0] = 0x81;
                    d[1] = 0xc9;
                    d[2] = 0xff;
                }
                _ => {}
            }
            let len = 1 + (x as usize % d.len());
            let _ = s.send_to(&d[..len], victim).await;
            let _ = s.send_to(&d[..len], rtcp).await;
            sent += 1;
            if sent.is_multiple_of(64) {
                tokio::task::yield_now().await;
            }
        }
    });
    for (tx, _, _, _, _) in &pairs {
        tx.play(vec![prompt.clone()], false);
    }
    for (_, tx_events, _, _, _) in pairs.iter_mut() {
        next_event(tx_events, |e| matches!(e, MediaEvent::PromptDone { .. })).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    flood.abort();

    for (k, (_, _, rx, _, frames)) in pairs.iter().enumerate() {
        let stats = rx.stats().await.unwrap();
        let frames = frames.lock().unwrap();
        let mut got = 0;
        for (_, _, payload) in frames.iter() {
            let is_prompt = (0..40).any(|i| prompt.frame(i, 160) == Some(&payload[..]));
            assert!(
                is_prompt || payload.iter().all(|&b| b == 0xff),
                "call {k}: foreign payload accepted"
            );
            got += usize::from(is_prompt);
        }
        // Loopback loses nothing of a 50 packet/s stream: every prompt frame arrives (the first packet of the
        // stream may be the one spent on probation, and it is silence unless the prompt was queued in time).
        assert!(
            got >= if k == 1 { 39 } else { 30 },
            "call {k}: {got} of 40 prompt frames"
        );
        if k == 1 {
            assert_eq!(stats.session.receive.lost, 0, "call {k}: {stats:?}");
        } else {
            // The victim's own socket buffer may overflow under the flood; it must still hold its stream.
            assert!(stats.foreign_address > 0, "{stats:?}");
            assert!(stats.session.rtcp_malformed > 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_sends_bye_and_releases_ports() {
    let engine = MediaEngine::start(engine_config(42800)).await.unwrap();
    let (a, _a_events) = engine.open(SessionConfig::new(Law::Ulaw)).await.unwrap();
    let (b, mut b_events) = engine.open(SessionConfig::new(Law::Ulaw)).await.unwrap();
    a.set_remote(b.local_addr());
    b.set_remote(a.local_addr());
    // wait until b has locked on a's stream, then close a
    next_event(&mut b_events, |e| {
        matches!(e, MediaEvent::RemoteSource { .. })
    })
    .await;
    assert_eq!(engine.ports_in_use(), 2);
    a.close();
    next_event(&mut b_events, |e| *e == MediaEvent::RemoteBye).await;
    drop(b);
    tokio::time::timeout(GUARD, async {
        while engine.ports_in_use() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("ports released");
}

/// Two sessions on one scheduler (`open_beside`, as for the two legs of a relayed call) exchange media both ways,
/// on an engine with two schedulers, and several pairs can share a scheduler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_opened_beside_each_other_exchange_media() {
    let engine = MediaEngine::start(engine_config(45000)).await.unwrap();
    let mut pairs = Vec::new();
    for _ in 0..3 {
        let (a, a_events) = engine.open(SessionConfig::new(Law::Ulaw)).await.unwrap();
        let (b, b_events) = engine
            .open_beside(SessionConfig::new(Law::Alaw), &a)
            .await
            .unwrap();
        a.set_remote(b.local_addr());
        b.set_remote(a.local_addr());
        pairs.push((a, a_events, b, b_events));
    }
    for (i, (a, a_events, b, b_events)) in pairs.iter_mut().enumerate() {
        let (to_b, to_a) = (["1", "2", "3"][i], ["7", "8", "9"][i]);
        a.send_dtmf(to_b);
        b.send_dtmf(to_a);
        for (events, want) in [(b_events, to_b), (a_events, to_a)] {
            let ev = next_event(events, |e| matches!(e, MediaEvent::Dtmf { .. })).await;
            let MediaEvent::Dtmf { digit, source } = ev else {
                unreachable!()
            };
            assert_eq!(source, DtmfSource::Rfc4733);
            assert_eq!(digit.to_string(), want);
        }
    }
}

/// 8 kHz µ-law of a DTMF tone pair for `ms` milliseconds followed by as much silence.
fn tone_prompt(low: f64, high: f64, ms: usize) -> Prompt {
    let n = ms * 8;
    let pcm: Vec<i16> = (0..2 * n)
        .map(|i| {
            if i >= n {
                return 0;
            }
            let t = i as f64 / 8000.0;
            let v = 0.35 * (2.0 * std::f64::consts::PI * low * t).sin()
                + 0.35 * (2.0 * std::f64::consts::PI * high * t).sin();
            (v * 16384.0) as i16
        })
        .collect();
    let mut bytes = vec![0u8; pcm.len()];
    g711::encode(Law::Ulaw, &pcm, &mut bytes).unwrap();
    Prompt::from_g711(Law::Ulaw, Arc::from(bytes), "tone")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_inband_dtmf_and_capture() {
    let engine = MediaEngine::start(engine_config(43200)).await.unwrap();
    let (caller, mut caller_events) = engine.open(SessionConfig::new(Law::Ulaw)).await.unwrap();
    let mut cfg = SessionConfig::new(Law::Ulaw);
    cfg.inband_dtmf = true;
    let (gw, mut gw_events) = engine.open(cfg).await.unwrap();
    caller.set_remote(gw.local_addr());
    gw.set_remote(caller.local_addr());

    // The gateway plays a long prompt with barge-in; the caller presses 5 (RFC 4733): the prompt stops.
    gw.play(vec![distinct_prompt(500, Law::Ulaw)], true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    caller.send_dtmf("5");
    let ev = next_event(&mut gw_events, |e| matches!(e, MediaEvent::Dtmf { .. })).await;
    assert_eq!(
        ev,
        MediaEvent::Dtmf {
            digit: Digit::D5,
            source: DtmfSource::Rfc4733
        }
    );
    match next_event(&mut gw_events, |e| {
        matches!(e, MediaEvent::PromptDone { .. })
    })
    .await
    {
        MediaEvent::PromptDone {
            played,
            interrupted,
        } => {
            assert!(interrupted);
            assert!(played < Duration::from_secs(10), "{played:?}");
        }
        other => panic!("{other:?}"),
    }

    // In-band: the caller plays a 697 + 1336 Hz tone ("2") as audio, once its telephone-event (whose packets
    // replace the audio) is over.
    tokio::time::sleep(Duration::from_millis(500)).await;
    caller.play(vec![tone_prompt(697.0, 1336.0, 120)], false);
    let ev = next_event(&mut gw_events, |e| matches!(e, MediaEvent::Dtmf { .. })).await;
    assert_eq!(
        ev,
        MediaEvent::Dtmf {
            digit: Digit::D2,
            source: DtmfSource::Inband
        }
    );
    next_event(&mut caller_events, |e| {
        matches!(e, MediaEvent::PromptDone { .. })
    })
    .await;

    // Capture: half a second of the caller's audio is recorded until stopped.
    let mut cc = vxgate_media::capture::CaptureConfig::new(Law::Ulaw);
    cc.no_input_timeout = None;
    cc.dtmf_term = false;
    gw.start_capture(cc);
    caller.play(vec![distinct_prompt(25, Law::Ulaw)], false);
    next_event(&mut caller_events, |e| {
        matches!(e, MediaEvent::PromptDone { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    gw.stop_capture();
    match next_event(&mut gw_events, |e| matches!(e, MediaEvent::Recorded(_))).await {
        MediaEvent::Recorded(rec) => {
            assert!(rec.heard_speech);
            assert!(
                rec.duration() >= Duration::from_millis(500),
                "{:?}",
                rec.duration()
            );
        }
        other => panic!("{other:?}"),
    }
}
