//! RFC 4733 receive edge cases on a virtual clock.

use super::*;
use crate::dtmf::{Rfc4733Sender, TelephoneEvent};
use rand::{rngs::StdRng, Rng, SeedableRng};

const T: Duration = Duration::from_millis(250);

fn ms(t0: Instant, m: u64) -> Instant {
    t0 + Duration::from_millis(m)
}

fn pkt(event: u8, end: bool, duration: u16) -> [u8; 4] {
    TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

/// Feeds (time ms, ts, marker, payload) and collects every digit, draining timeouts at each step.
fn run(
    rx: &mut Rfc4733Receiver,
    t0: Instant,
    packets: &[(u64, u32, bool, [u8; 4])],
) -> Vec<DigitEvent> {
    let mut out = Vec::new();
    for &(m, ts, marker, p) in packets {
        let now = ms(t0, m);
        while let Some(d) = rx.poll_timeout(now) {
            out.push(d);
        }
        if let Some(d) = rx.handle(now, ts, marker, &p).unwrap() {
            out.push(d);
        }
        while let Some(d) = rx.poll_event() {
            out.push(d);
        }
    }
    out
}

fn digits(evs: &[DigitEvent]) -> String {
    evs.iter().map(|e| e.digit.to_char()).collect()
}

/// A standard 100 ms digit: start, one update, three end packets.
fn press(event: u8, ts: u32, at: u64) -> Vec<(u64, u32, bool, [u8; 4])> {
    vec![
        (at, ts, true, pkt(event, false, 0)),
        (at + 50, ts, false, pkt(event, false, 400)),
        (at + 100, ts, false, pkt(event, true, 800)),
        (at + 150, ts, false, pkt(event, true, 800)),
        (at + 200, ts, false, pkt(event, true, 800)),
    ]
}

#[test]
fn one_event_one_digit_at_first_packet() {
    let t0 = Instant::now();
    let mut rx = Rfc4733Receiver::new(T);
    let p = press(5, 1000, 0);
    let first = rx
        .handle(t0, 1000, true, &p[0].3)
        .unwrap()
        .expect("reported at the start packet");
    assert_eq!(first.digit, Digit::D5);
    assert_eq!(first.source, DtmfSource::Rfc4733);
    assert_eq!(first.rtp_timestamp, 1000);
    assert_eq!(first.duration_samples, 0);
    assert!(rx.in_event());
    assert_eq!(run(&mut rx, t0, &p[1..]), vec![]);
    assert!(!rx.in_event());
    assert_eq!(rx.next_timeout(), None);
}

#[test]
fn report_at_end_gives_final_duration_once() {
    let t0 = Instant::now();
    let mut rx = Rfc4733Receiver::with_report_at(T, ReportAt::End);
    let got = run(&mut rx, t0, &press(11, 1000, 0));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].digit, Digit::Pound);
    assert_eq!(got[0].duration_samples, 800);
}

#[test]
fn start_packets_lost_digit_comes_from_end_packet() {
    let t0 = Instant::now();
    for mode in [ReportAt::Start, ReportAt::End] {
        let mut rx = Rfc4733Receiver::with_report_at(T, mode);
        let p = press(7, 4242, 0);
        let got = run(&mut rx, t0, &p[2..]);
        assert_eq!(digits(&got), "7", "{mode:?}");
        assert_eq!(got[0].duration_samples, 800);
        // Only the last of the three end packets arrives.
        let mut rx = Rfc4733Receiver::with_report_at(T, mode);
        assert_eq!(digits(&run(&mut rx, t0, &p[4..])), "7");
    }
}

#[test]
fn missing_end_packet_ends_by_timeout_and_counts_once() {
    let t0 = Instant::now();
    let mut rx = Rfc4733Receiver::with_report_at(T, ReportAt::End);
    let p = press(3, 8000, 0);
    assert_eq!(run(&mut rx, t0, &p[..2]), vec![]);
    assert_eq!(rx.next_timeout(), Some(ms(t0, 50) + T));
    assert_eq!(rx.poll_timeout(ms(t0, 299)), None);
    let d = rx.poll_timeout(ms(t0, 300)).expect("ended by timeout");
    assert_eq!((d.digit, d.duration_samples), (Digit::D3, 400));
    assert_eq!(rx.poll_timeout(ms(t0, 900)), None);
    assert_eq!(rx.next_timeout(), None);
    // The end packets arrive after all: no second digit.
    assert_eq!(run(&mut rx, t0, &p[2..]), vec![]);

    let mut rx = Rfc4733Receiver::new(T);
    assert_eq!(digits(&run(&mut rx, t0, &p[..2])), "3");
    assert_eq!(
        rx.poll_timeout(ms(t0, 1000)),
        None,
        "already reported at the start"
    );
    assert!(!rx.in_event());
    assert_eq!(run(&mut rx, t0, &p[2..]), vec![]);
}

#[test]
fn duplicates_and_reordering_never_double() {
    let t0 = Instant::now();
    let p = press(1, 500, 0);
    // End first, then updates and the start, each twice.
    let mut order = vec![p[3], p[1], p[1], p[0], p[4], p[0], p[2], p[2]];
    for mode in [ReportAt::Start, ReportAt::End] {
        let mut rx = Rfc4733Receiver::with_report_at(T, mode);
        let got = run(&mut rx, t0, &order);
        assert_eq!(digits(&got), "1", "{mode:?}");
    }
    // Updates with decreasing durations keep the largest.
    order = vec![p[1], p[0]];
    let mut rx = Rfc4733Receiver::with_report_at(T, ReportAt::End);
    run(&mut rx, t0, &order);
    let d = rx.poll_timeout(ms(t0, 10_000)).unwrap();
    assert_eq!(d.duration_samples, 400);
}

#[test]
fn same_key_twice_is_two_digits() {
    let t0 = Instant::now();
    let mut rx = Rfc4733Receiver::new(T);
    let mut pk = press(9, 1000, 0);
    pk.extend(press(9, 1000 + 2400, 300));
    assert_eq!(digits(&run(&mut rx, t0, &pk)), "99");
}

#[test]
fn late_packets_of_an_older_event_are_dropped() {
    let t0 = Instant::now();
    let a = press(1, 1000, 0);
    let b = press(2, 3000, 300);
    // A's start seen, then B starts, then A's late end packets.
    let mut rx = Rfc4733Receiver::new(T);
    let seq = vec![a[0], b[0], a[2], b[1], a[3], b[2], a[4]];
    assert_eq!(digits(&run(&mut rx, t0, &seq)), "12");
    // A entirely lost but for an end packet arriving after B: dropped (it would reorder the digits).
    let mut rx = Rfc4733Receiver::new(T);
    let seq = vec![b[0], a[3], b[2], b[3]];
    assert_eq!(digits(&run(&mut rx, t0, &seq)), "2");
    // In End mode too; and the old event does not end the newer one.
    let mut rx = Rfc4733Receiver::with_report_at(T, ReportAt::End);
    let seq = vec![a[0], b[0], a[2], b[1], a[3], b[2], a[4], b[3]];
    assert_eq!(digits(&run(&mut rx, t0, &seq)), "12");
}

#[test]
fn end_of_an_earlier_event_after_a_later_events_end() {
    let t0 = Instant::now();
    let a = press(4, 1000, 0);
    let b = press(6, 3000, 300);
    let c = press(8, 5000, 600);
    let mut rx = Rfc4733Receiver::new(T);
    let seq = vec![a[0], a[2], b[0], b[2], c[0], a[4], b[4], c[2], a[3]];
    assert_eq!(digits(&run(&mut rx, t0, &seq)), "468");
}

#[test]
fn long_event_segments_count_once() {
    let t0 = Instant::now();
    let ts = 100u32;
    let s1 = ts.wrapping_add(0xFFFF);
    let s2 = ts.wrapping_add(2 * 0xFFFF);
    let seq = vec![
        (0, ts, true, pkt(0, false, 0)),
        (4000, ts, false, pkt(0, false, 32000)),
        (8191, ts, false, pkt(0, false, 0xFFFF)),
        (8200, s1, false, pkt(0, false, 80)),
        (12000, s1, false, pkt(0, false, 30000)),
        // segment 1's closing packet lost; segment 2 continues
        (16400, s2, false, pkt(0, false, 160)),
        (16500, s2, false, pkt(0, true, 1000)),
        (16550, s2, false, pkt(0, true, 1000)),
        // a straggler of segment 1
        (16560, s1, false, pkt(0, false, 40000)),
    ];
    let slow = Duration::from_secs(5); // these updates are sparse; the timeout must not fire between them
    let mut rx = Rfc4733Receiver::new(slow);
    let got = run(&mut rx, t0, &seq);
    assert_eq!(digits(&got), "0");
    assert_eq!(got[0].rtp_timestamp, ts);
    let mut rx = Rfc4733Receiver::with_report_at(slow, ReportAt::End);
    let got = run(&mut rx, t0, &seq);
    assert_eq!(digits(&got), "0");
    assert_eq!(got[0].duration_samples, 2 * 0xFFFF + 1000);
}

#[test]
fn long_event_resumes_after_a_timeout_gap() {
    let t0 = Instant::now();
    let ts = u32::MAX - 100; // the segments also wrap the 32-bit timestamp
    let s1 = ts.wrapping_add(0xFFFF);
    let seq = vec![
        (0, ts, true, pkt(2, false, 0)),
        (8000, ts, false, pkt(2, false, 64000)),
        // 1 s of loss: the timeout fires
        (9000, s1, false, pkt(2, false, 7000)),
        (9100, s1, false, pkt(2, true, 7800)),
    ];
    let mut rx = Rfc4733Receiver::with_report_at(T, ReportAt::End);
    let got = run(&mut rx, t0, &seq);
    assert_eq!(digits(&got), "2", "{got:?}");
    // A marker on the next "segment" means a new event.
    let mut rx = Rfc4733Receiver::new(T);
    let mut seq2 = seq.clone();
    seq2[2].2 = true;
    assert_eq!(digits(&run(&mut rx, t0, &seq2)), "22");
}

#[test]
fn other_event_codes_are_ignored() {
    let t0 = Instant::now();
    let mut rx = Rfc4733Receiver::new(T);
    for code in [16u8, 32, 36, 64, 255] {
        assert_eq!(
            rx.handle(t0, 100, true, &pkt(code, false, 0)).unwrap(),
            None
        );
        assert_eq!(
            rx.handle(t0, 100, false, &pkt(code, true, 800)).unwrap(),
            None
        );
    }
    assert_eq!(rx.next_timeout(), None);
    assert_eq!(
        rx.handle(t0, 900, true, &pkt(15, false, 0))
            .unwrap()
            .map(|d| d.digit),
        Some(Digit::D)
    );
}

#[test]
fn bad_payloads_are_errors_not_panics() {
    let t0 = Instant::now();
    let mut rx = Rfc4733Receiver::new(T);
    for bad in [&[][..], &[1], &[1, 2, 3], &[1, 2, 3, 4, 5]] {
        assert!(matches!(
            rx.handle(t0, 0, true, bad),
            Err(DtmfError::BadLength { .. })
        ));
    }
    assert_eq!(rx.next_timeout(), None);
}

#[test]
fn several_events_in_one_packet() {
    // §2.5.2.4: "1" (800 units, ended) then "2" starting where "1" ended.
    let t0 = Instant::now();
    let mut rx = Rfc4733Receiver::new(T);
    let mut payload = pkt(1, true, 800).to_vec();
    payload.extend_from_slice(&pkt(2, false, 160));
    let first = rx.handle(t0, 10_000, true, &payload).unwrap().unwrap();
    let second = rx.poll_event().unwrap();
    assert_eq!((first.digit, first.rtp_timestamp), (Digit::D1, 10_000));
    assert_eq!((second.digit, second.rtp_timestamp), (Digit::D2, 10_800));
    // The next packet repeats "2" alone, with its own timestamp: same event.
    assert_eq!(
        rx.handle(t0, 10_800, false, &pkt(2, true, 800)).unwrap(),
        None
    );
    assert_eq!(rx.poll_event(), None);
}

#[test]
fn timestamp_wrap_between_events() {
    let t0 = Instant::now();
    let mut rx = Rfc4733Receiver::new(T);
    let mut seq = press(1, u32::MAX - 1000, 0);
    seq.extend(press(2, 2000, 300));
    seq.push((600, u32::MAX - 1000, false, pkt(1, true, 800)));
    assert_eq!(digits(&run(&mut rx, t0, &seq)), "12");
}

#[test]
fn reset_and_clock_jump() {
    let t0 = Instant::now();
    let mut rx = Rfc4733Receiver::new(T);
    assert_eq!(digits(&run(&mut rx, t0, &press(1, 50_000, 0))), "1");
    // Slightly older timestamp, no reset: a straggler, dropped.
    assert_eq!(digits(&run(&mut rx, t0, &press(2, 45_000, 300))), "");
    // After reset (new SSRC) the same packets are a new digit.
    rx.reset();
    assert_eq!(digits(&run(&mut rx, t0, &press(2, 45_000, 600))), "2");
    // A jump far back (more than MAX_REORDER) is a sender clock restart: a new event.
    assert_eq!(digits(&run(&mut rx, t0, &press(3, 1_000, 900))), "3");
    assert_eq!(digits(&run(&mut rx, t0, &press(4, 3_000, 1200))), "4");
}

/// Sender → lossy, duplicating, reordering network → receiver: the digits arrive once each, in order, whenever at
/// least one packet of each digit gets through.
#[test]
fn sender_to_receiver_through_a_bad_network() {
    let keys: Vec<Digit> = "0123456789*#ABCD5550"
        .chars()
        .filter_map(Digit::from_char)
        .collect();
    for seed in 0..200u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let t0 = Instant::now();
        let mut tx = Rfc4733Sender::new();
        tx.queue(
            t0,
            &keys,
            Duration::from_millis(rng.random_range(40..300)),
            Duration::from_millis(60),
        );
        let mut sent = Vec::new();
        let mut now = t0;
        while !tx.is_idle() {
            while let Some(p) = tx.poll(now) {
                sent.push(p);
            }
            now += Duration::from_millis(10);
        }
        // The RTP timestamp of an event: its start on the 8 kHz clock from a random base.
        let base: u32 = rng.random();
        let stamp = |p: &crate::dtmf::OutEvent| {
            let u = (p.event_start - t0).as_nanos() / 125_000;
            base.wrapping_add(u as u32)
        };
        let mut net: Vec<(Instant, u32, bool, [u8; 4], Digit)> = Vec::new();
        for p in &sent {
            let mut copies = if rng.random_bool(0.3) { 0 } else { 1 };
            if rng.random_bool(0.1) {
                copies += 1;
            }
            for _ in 0..copies {
                let delay = Duration::from_millis(rng.random_range(0..40));
                net.push((p.send_at + delay, stamp(p), p.marker, p.payload, p.digit));
            }
        }
        net.sort_by_key(|n| n.0);
        // Expected: each digit with a packet through, unless all its packets arrive after a later digit's first one
        // (then it is dropped rather than reported out of order).
        let mut expected = String::new();
        let mut newest: Option<u32> = None;
        for n in &net {
            let k = n.1.wrapping_sub(base);
            if newest.is_none_or(|m| k > m) {
                newest = Some(k);
                expected.push(n.4.to_char());
            }
        }
        for mode in [ReportAt::Start, ReportAt::End] {
            let mut rx = Rfc4733Receiver::with_report_at(T, mode);
            let mut got = String::new();
            for &(at, ts, m, payload, _) in &net {
                while let Some(d) = rx.poll_timeout(at) {
                    got.push(d.digit.to_char());
                }
                if let Some(d) = rx.handle(at, ts, m, &payload).unwrap() {
                    got.push(d.digit.to_char());
                }
                while let Some(d) = rx.poll_event() {
                    got.push(d.digit.to_char());
                }
            }
            while let Some(d) = rx.poll_timeout(now + Duration::from_secs(10)) {
                got.push(d.digit.to_char());
            }
            if got != expected {
                for n in &net {
                    eprintln!(
                        "{:?} ts={} m={} {:?}",
                        n.0 - t0,
                        n.1.wrapping_sub(base),
                        n.2,
                        TelephoneEvent::parse(&n.3)
                    );
                }
            }
            assert_eq!(got, expected, "seed {seed} {mode:?}");
        }
    }
}

#[test]
fn a_new_key_reusing_the_previous_timestamp() {
    let t0 = Instant::now();
    let a = press(1, 7000, 0);
    let mut b = press(2, 7000, 300);
    b[0].2 = true;
    let mut seq = a.clone();
    seq.extend(b.clone());
    // Late end packets of "1" after "2" began.
    seq.push((560, 7000, false, pkt(1, true, 800)));
    seq.push((570, 7000, false, pkt(2, true, 800)));
    for mode in [ReportAt::Start, ReportAt::End] {
        let mut rx = Rfc4733Receiver::with_report_at(T, mode);
        assert_eq!(digits(&run(&mut rx, t0, &seq)), "12", "{mode:?}");
    }
}

/// A 20 s key press from our sender (three segments, §2.5.1.3) is one digit with the whole duration.
#[test]
fn long_press_from_the_sender() {
    let t0 = Instant::now();
    let base = u32::MAX - 50_000; // the segments cross the 32-bit wrap
    for mode in [ReportAt::Start, ReportAt::End] {
        let mut tx2 = Rfc4733Sender::new();
        tx2.queue(t0, &[Digit::D8], Duration::from_secs(20), Duration::ZERO);
        let mut rx = Rfc4733Receiver::with_report_at(T, mode);
        let mut got = Vec::new();
        while let Some(at) = tx2.next_timeout() {
            while let Some(p) = tx2.poll(at) {
                let ts = base.wrapping_add(((p.event_start - t0).as_nanos() / 125_000) as u32);
                got.extend(rx.handle(at, ts, p.marker, &p.payload).unwrap());
            }
        }
        assert_eq!(got.len(), 1, "{mode:?}: {got:?}");
        assert_eq!(got[0].rtp_timestamp, base);
        if mode == ReportAt::End {
            assert_eq!(got[0].duration_samples, 160_000);
        }
    }
}
