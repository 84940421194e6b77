//! Recording (`<record>`): a `Capture` fed arbitrary RTP audio packets (any sequence numbers and timestamps, so the
//! jitter buffer sees duplicates, gaps, wraps and reordering), DTMF keys, clock steps and timeouts.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vxgate_media::capture::{Capture, CaptureConfig};
use vxgate_media::dtmf::Digit;
use vxgate_media::g711::Law;

#[derive(Debug, Arbitrary)]
enum Op<'a> {
    Packet {
        seq: u16,
        ts: u32,
        payload: &'a [u8],
    },
    Advance {
        ms: u16,
    },
    PollTimeout,
    Dtmf {
        code: u8,
    },
    Stop,
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    alaw: bool,
    jitter_depth: u8,
    max_ms: u16,
    dtmf_term: bool,
    ops: Vec<Op<'a>>,
}

fuzz_target!(|input: Input<'_>| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut cfg = CaptureConfig::new(if input.alaw { Law::Alaw } else { Law::Ulaw });
    cfg.jitter_depth = usize::from(input.jitter_depth % 17);
    cfg.max_duration = Duration::from_millis(u64::from(input.max_ms));
    cfg.dtmf_term = input.dtmf_term;
    let mut cap = Capture::new(t0, cfg);
    for op in input.ops {
        match op {
            Op::Packet { seq, ts, payload } => {
                let _ = cap.handle_packet(now, seq, ts, payload);
            }
            Op::Advance { ms } => now += Duration::from_millis(u64::from(ms)),
            Op::PollTimeout => {
                let _ = cap.poll_timeout(now);
            }
            Op::Dtmf { code } => {
                if let Some(d) = Digit::from_event(code % 16) {
                    let _ = cap.handle_dtmf(d);
                }
            }
            Op::Stop => cap.stop(),
        }
        let _ = cap.next_timeout();
        // `max_duration` bounds the recording, plus one packet's worth of slack at most.
        let _ = cap.samples();
    }
    let rec = cap.finish();
    let _ = rec.duration();
});
