//! The per-packet path of the media engine (criterion): what one call costs per 20 ms frame on each side, without
//! the syscalls. `vxgate bench rtp` measures the whole engine on loopback.
//!
//! - `send/frame`: playout fills a 160-sample frame from a shared prompt and the sender writes the RTP packet.
//! - `send/frame_transcoded`: the same with the prompt in µ-law and the call in A-law.
//! - `receive/packet`: the receiver parses and judges one packet (sequence, duplicate window, jitter).
//! - `rtcp/report` and `rtcp/parse`: one SR + SDES compound written, one read.
//!
//! `cargo bench --bench rtp -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vxgate_media::g711::Law;
use vxgate_media::playout::{Playout, PlayoutConfig};
use vxgate_media::prompt::Prompt;
use vxgate_media::rtp::{
    self, PayloadType, Receiver, ReceiverConfig, RtpTime, Sender, SenderConfig, Session,
    SessionConfig, Ssrc,
};

fn prompt(law: Law) -> Prompt {
    let bytes: Vec<u8> = (0..8000u32 * 60)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    Prompt::from_g711(law, Arc::from(bytes), "bench")
}

fn sender() -> Sender {
    Sender::new(SenderConfig {
        ssrc: Ssrc(0x1234_5678),
        payload_type: PayloadType::PCMA,
        initial_seq: 0,
        initial_ts: RtpTime(0),
    })
}

fn send(c: &mut Criterion) {
    let mut g = c.benchmark_group("send");
    g.throughput(Throughput::Elements(1));
    for (name, prompt_law) in [("frame", Law::Alaw), ("frame_transcoded", Law::Ulaw)] {
        let p = prompt(prompt_law);
        let mut playout = Playout::new(
            Law::Alaw,
            PlayoutConfig {
                gap: Duration::ZERO,
            },
        );
        let mut s = sender();
        let now = Instant::now();
        let mut frame = [0u8; 160];
        let mut pkt = [0u8; 1500];
        g.bench_function(name, |b| {
            b.iter(|| {
                if !playout.is_playing() {
                    playout.play([p.clone()], false);
                }
                playout.fill(&mut frame);
                let n = s.audio(now, &frame, 160, &mut pkt).unwrap();
                black_box(&pkt[..n]);
            })
        });
    }
    g.finish();
}

fn receive(c: &mut Criterion) {
    let mut g = c.benchmark_group("receive");
    g.throughput(Throughput::Elements(1));
    let mut s = sender();
    let t0 = Instant::now();
    let mut pkt = [0u8; 1500];
    let n = s.audio(t0, &[0xd5; 160], 160, &mut pkt).unwrap();
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut seq: u16 = 0;
    let mut ts: u32 = 0;
    let mut now = t0;
    g.bench_function("packet", |b| {
        b.iter(|| {
            // The next packet of the stream: new sequence number and timestamp, 20 ms later.
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            now += Duration::from_millis(20);
            pkt[2..4].copy_from_slice(&seq.to_be_bytes());
            pkt[4..8].copy_from_slice(&ts.to_be_bytes());
            black_box(r.handle(now, &pkt[..n]).is_ok());
        })
    });
    g.finish();
}

fn rtcp_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("rtcp");
    let t0 = Instant::now();
    let mut session = Session::new(
        SessionConfig {
            sender: SenderConfig {
                ssrc: Ssrc(1),
                payload_type: PayloadType::PCMU,
                initial_seq: 0,
                initial_ts: RtpTime(0),
            },
            receiver: ReceiverConfig::default(),
            cname: "vxgate@127.0.0.1".into(),
            session_bandwidth: 10_000.0,
            seed: 1,
        },
        t0,
        SystemTime::now(),
    );
    let mut pkt = [0u8; 1500];
    session
        .sender()
        .audio(t0, &[0xff; 160], 160, &mut pkt)
        .unwrap();
    let mut out = [0u8; 512];
    let mut now = t0;
    g.bench_function("report", |b| {
        b.iter(|| {
            now += Duration::from_secs(10);
            black_box(session.poll_rtcp(now, &mut out).unwrap());
        })
    });
    let n = session.bye(now, &mut out).unwrap();
    g.bench_function("parse", |b| {
        b.iter(|| black_box(rtp::rtcp::read(&out[..n]).unwrap().count()))
    });
    g.finish();
}

criterion_group!(benches, send, receive, rtcp_path);
criterion_main!(benches);
