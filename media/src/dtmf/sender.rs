//! RFC 4733 send: the telephone-event packets of a digit string, on a schedule (sans-IO).
//!
//! Per digit (RFC 4733 §2.5.1): a start packet with the marker bit and duration 0 at the event start; an update every
//! `update_interval` (default 50 ms) carrying the duration so far; at the end, the end packet (E bit, final
//! duration) sent three times (§2.5.1.4), one update interval apart. A tone longer than 0xFFFF units (8.19 s) is sent
//! as segments (§2.5.1.3): each new segment has the timestamp of the previous one + 0xFFFF and no marker, and the
//! previous segment gets a final packet with duration 0xFFFF, also sent three times ("the final packet for each event
//! and for each segment", §2.5.1.4). The next digit starts `pause` after the previous tone ended, and never before its
//! last end packet went out.
//!
//! The RTP layer stamps sequence number and SSRC, and turns [`OutEvent::event_start`] into the RTP timestamp (all
//! packets of one segment share it).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Digit, TelephoneEvent, CLOCK_RATE};

/// One telephone-event packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutEvent {
    /// The 4-byte payload.
    pub payload: [u8; 4],
    /// The RTP marker bit: set on the first packet of an event (not on later segments of a long one).
    pub marker: bool,
    /// Start of this packet's event segment: the instant whose RTP time is the packet's timestamp.
    pub event_start: Instant,
    /// Units (8 kHz samples) from the event's first segment to this segment: 0, or k × 0xFFFF for a long event.
    pub segment_offset: u32,
    /// When the packet is due.
    pub send_at: Instant,
    /// The digit.
    pub digit: Digit,
    /// This is an end packet (one of the three).
    pub end: bool,
}

/// Telephone-event sender for one RTP stream.
#[derive(Debug)]
pub struct Rfc4733Sender {
    update_interval: Duration,
    volume: u8,
    out: VecDeque<OutEvent>,
    /// The earliest start of the next queued digit.
    next_start: Option<Instant>,
}

/// Units of the 8 kHz clock in a duration (saturating).
fn units(d: Duration) -> u32 {
    u32::try_from(d.as_nanos() * u128::from(CLOCK_RATE) / 1_000_000_000).unwrap_or(u32::MAX)
}

/// The duration of a number of 8 kHz units (125 µs each, exact).
fn span(units: u32) -> Duration {
    Duration::from_nanos(u64::from(units) * 125_000)
}

const SEGMENT: u32 = 0xFFFF;

impl Default for Rfc4733Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Rfc4733Sender {
    /// A sender with 50 ms updates and volume 10 (-10 dBm0).
    pub fn new() -> Rfc4733Sender {
        Self::with_params(Duration::from_millis(50), 10)
    }

    /// A sender with the given update interval (clamped to at least 1 ms) and volume (0-63, as -dBm0).
    pub fn with_params(update_interval: Duration, volume: u8) -> Rfc4733Sender {
        Rfc4733Sender {
            update_interval: update_interval.max(Duration::from_millis(1)),
            volume: volume.min(63),
            out: VecDeque::new(),
            next_start: None,
        }
    }

    /// Queues digits: each a tone of `tone`, followed by `pause` of silence. The first starts at `now` or when the
    /// digits already queued are done, whichever is later.
    pub fn queue(&mut self, now: Instant, digits: &[Digit], tone: Duration, pause: Duration) {
        for &digit in digits {
            let start = self.next_start.map_or(now, |n| n.max(now));
            let last_end = self.schedule(digit, start, units(tone));
            let tone_end = start + span(units(tone));
            self.next_start = Some((tone_end + pause).max(last_end));
        }
    }

    /// Drops every packet not yet sent (e.g. the call ends). An event cut short gets no end packet.
    pub fn cancel(&mut self) {
        self.out.clear();
        self.next_start = None;
    }

    /// Nothing left to send.
    pub fn is_idle(&self) -> bool {
        self.out.is_empty()
    }

    /// The next packet due at `now`, if any; call until `None`.
    pub fn poll(&mut self, now: Instant) -> Option<OutEvent> {
        if self.out.front()?.send_at <= now {
            self.out.pop_front()
        } else {
            None
        }
    }

    /// When the next packet is due.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.out.front().map(|p| p.send_at)
    }

    /// Appends one digit's packets; returns the send time of its last packet.
    fn schedule(&mut self, digit: Digit, start: Instant, total: u32) -> Instant {
        let step = units(self.update_interval).max(1);
        let volume = self.volume;
        let interval = self.update_interval;
        let mut first = true;
        let mut packets: Vec<OutEvent> = Vec::new();
        let mut push =
            |out: &mut Vec<OutEvent>, duration: u32, seg: u32, end: bool, send_at: Instant| {
                let te = TelephoneEvent {
                    event: digit.event(),
                    end,
                    volume,
                    // Callers keep duration <= SEGMENT = u16::MAX.
                    duration: u16::try_from(duration).unwrap_or(u16::MAX),
                };
                out.push(OutEvent {
                    payload: te.to_bytes(),
                    marker: std::mem::take(&mut first),
                    event_start: start + span(seg),
                    segment_offset: seg,
                    send_at,
                    digit,
                    end,
                });
            };
        // The final packet of a segment (duration 0xFFFF, no E bit), three times (§2.5.1.3, §2.5.1.4).
        let close_at = |seg: u32| {
            let at = start + span(seg + SEGMENT);
            [at, at + interval, at + interval * 2]
        };
        let mut seg = 0u32;
        let mut elapsed = 0u32;
        while elapsed < total {
            while elapsed - seg > SEGMENT {
                // Close the segment at 0xFFFF and go on in the next one, with a new timestamp (§2.5.1.3).
                for at in close_at(seg) {
                    push(&mut packets, SEGMENT, seg, false, at);
                }
                seg += SEGMENT;
            }
            push(
                &mut packets,
                elapsed - seg,
                seg,
                false,
                start + span(elapsed),
            );
            elapsed = elapsed.saturating_add(step);
        }
        while total - seg > SEGMENT {
            for at in close_at(seg) {
                push(&mut packets, SEGMENT, seg, false, at);
            }
            seg += SEGMENT;
        }
        let end_at = start + span(total);
        for i in 0..3u32 {
            push(&mut packets, total - seg, seg, true, end_at + interval * i);
        }
        // A segment's repeated final packets overlap the next segment's first updates: send in time order (the
        // sort is stable, so the marked start packet stays first).
        packets.sort_by_key(|p| p.send_at);
        let last = packets.last().map_or(end_at, |p| p.send_at);
        self.out.extend(packets);
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(tx: &mut Rfc4733Sender, t0: Instant) -> Vec<(u64, TelephoneEvent, bool, u32, u64)> {
        let mut out = Vec::new();
        let mut now = t0;
        while let Some(next) = tx.next_timeout() {
            now = now.max(next);
            while let Some(p) = tx.poll(now) {
                let te = TelephoneEvent::parse(&p.payload).unwrap();
                let ms = (p.send_at - t0).as_millis() as u64;
                let start_units = ((p.event_start - t0).as_nanos() / 125_000) as u64;
                out.push((ms, te, p.marker, p.segment_offset, start_units));
            }
        }
        out
    }

    #[test]
    fn one_digit_schedule() {
        let t0 = Instant::now();
        let mut tx = Rfc4733Sender::new();
        tx.queue(
            t0,
            &[Digit::D1, Digit::Pound],
            Duration::from_millis(120),
            Duration::from_millis(80),
        );
        assert_eq!(tx.next_timeout(), Some(t0));
        assert!(tx.poll(t0 - Duration::from_millis(0)).is_some());
        let mut tx = Rfc4733Sender::new();
        tx.queue(
            t0,
            &[Digit::D1, Digit::Pound],
            Duration::from_millis(120),
            Duration::from_millis(80),
        );
        let got = drain(&mut tx, t0);
        let summary: Vec<_> = got
            .iter()
            .map(|(ms, te, m, _, st)| (*ms, te.event, te.end, te.duration, *m, *st))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, 1, false, 0, true, 0),
                (50, 1, false, 400, false, 0),
                (100, 1, false, 800, false, 0),
                (120, 1, true, 960, false, 0),
                (170, 1, true, 960, false, 0),
                (220, 1, true, 960, false, 0),
                // next digit: 80 ms after the tone ended (200 ms) but not before the last end packet (220 ms)
                (220, 11, false, 0, true, 1760),
                (270, 11, false, 400, false, 1760),
                (320, 11, false, 800, false, 1760),
                (340, 11, true, 960, false, 1760),
                (390, 11, true, 960, false, 1760),
                (440, 11, true, 960, false, 1760),
            ]
        );
        assert!(got.iter().all(|g| g.1.volume == 10));
        assert!(tx.is_idle());
    }

    #[test]
    fn poll_waits_for_due_time() {
        let t0 = Instant::now();
        let mut tx = Rfc4733Sender::new();
        tx.queue(
            t0 + Duration::from_millis(5),
            &[Digit::D9],
            Duration::from_millis(100),
            Duration::ZERO,
        );
        assert_eq!(tx.poll(t0), None);
        assert!(tx.poll(t0 + Duration::from_millis(5)).unwrap().marker);
        assert_eq!(tx.poll(t0 + Duration::from_millis(54)), None);
        assert!(tx.poll(t0 + Duration::from_millis(55)).is_some());
        tx.cancel();
        assert!(tx.is_idle());
        assert_eq!(tx.next_timeout(), None);
    }

    #[test]
    fn long_tone_is_sent_in_segments() {
        let t0 = Instant::now();
        let mut tx = Rfc4733Sender::new();
        tx.queue(t0, &[Digit::D0], Duration::from_secs(20), Duration::ZERO); // 160000 units
        let got = drain(&mut tx, t0);
        assert_eq!(got.iter().filter(|g| g.2).count(), 1, "one marker");
        let segs: Vec<u32> = got.iter().map(|g| g.3).collect();
        assert_eq!(segs.last(), Some(&(2 * 0xFFFF)));
        for g in &got {
            assert_eq!(g.4, u64::from(g.3), "timestamp = first segment + offset");
        }
        // each earlier segment closes at 0xFFFF, and that final packet goes out three times, one update interval
        // apart (§2.5.1.4: "the final packet for each event and for each segment")
        for s in [0, 0xFFFF] {
            let closes: Vec<u64> = got
                .iter()
                .filter(|g| g.3 == s && g.1.duration == 0xFFFF && !g.1.end)
                .map(|g| g.0)
                .collect();
            let at = (u64::from(s) + 0xFFFF) / 8; // ms
            assert_eq!(closes, vec![at, at + 50, at + 100], "segment {s}");
        }
        let ends: Vec<_> = got.iter().filter(|g| g.1.end).collect();
        assert_eq!(ends.len(), 3);
        assert!(ends
            .iter()
            .all(|g| u32::from(g.1.duration) == 160_000 - 2 * 0xFFFF));
        // times never go backwards
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn zero_length_tone_still_has_a_marked_packet() {
        let t0 = Instant::now();
        let mut tx = Rfc4733Sender::new();
        tx.queue(t0, &[Digit::A], Duration::ZERO, Duration::ZERO);
        let got = drain(&mut tx, t0);
        assert_eq!(got.len(), 3);
        assert!(got[0].2 && got[0].1.end && got[0].1.duration == 0);
    }
}
