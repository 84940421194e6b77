//! The RFC 4733 receiver fed arbitrary telephone-event packets, clock steps, timeouts and resets.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vxgate_media::dtmf::{ReportAt, Rfc4733Receiver};

#[derive(Debug, Arbitrary)]
enum Op<'a> {
    Packet {
        ts: u32,
        marker: bool,
        payload: &'a [u8],
    },
    Advance {
        ms: u16,
    },
    PollTimeout,
    PollEvent,
    Reset,
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    report_at_end: bool,
    end_timeout_ms: u16,
    ops: Vec<Op<'a>>,
}

fuzz_target!(|input: Input<'_>| {
    let t0 = Instant::now();
    let mut now = t0;
    let report_at = if input.report_at_end {
        ReportAt::End
    } else {
        ReportAt::Start
    };
    let mut rx = Rfc4733Receiver::with_report_at(
        Duration::from_millis(u64::from(input.end_timeout_ms)),
        report_at,
    );
    for op in input.ops {
        match op {
            Op::Packet {
                ts,
                marker,
                payload,
            } => {
                let _ = rx.handle(now, ts, marker, payload);
            }
            Op::Advance { ms } => now += Duration::from_millis(u64::from(ms)),
            Op::PollTimeout => {
                let _ = rx.poll_timeout(now);
            }
            Op::PollEvent => {
                let _ = rx.poll_event();
            }
            Op::Reset => rx.reset(),
        }
        let _ = rx.in_event();
        if let Some(t) = rx.next_timeout() {
            // A deadline is never before the last packet seen, so never far in the past.
            let _ = t.saturating_duration_since(now);
        }
    }
});
