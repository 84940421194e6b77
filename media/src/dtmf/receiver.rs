//! RFC 4733 receive: telephone-event packets in, each digit out exactly once.
//!
//! The rules (RFC 4733 §2.5.2, with the sender side in §2.5.1):
//! - An event is identified by its RTP timestamp (§2.5.1.2: every packet of one event carries the event's start
//!   time). Updates and the three redundant end packets (§2.5.1.4) of one event are one digit.
//! - A digit is reported once, at the first packet seen of its event ([`ReportAt::Start`], the default: start packet,
//!   update or — when every earlier packet was lost — an end packet), or when the event ends ([`ReportAt::End`]:
//!   the E bit, a newer event, or `end_timeout` with no packet), then with its final duration.
//! - An event with no end packet is ended `end_timeout` after its last packet ([`Rfc4733Receiver::poll_timeout`]);
//!   it still counts once, and a late packet of it reports nothing.
//! - A long event (§2.5.1.3 / §2.5.2.3) is sent in segments of 0xFFFF units, each segment with a new timestamp
//!   (previous timestamp + 0xFFFF) and no marker bit; a segment that continues an event not ended by an E bit is the
//!   same digit.
//! - A different key with the same timestamp as the previous event (a sender that does not advance its clock
//!   between digits when it sends no audio) is a new event; late packets of the earlier key stay ignored.
//! - Reordered and duplicated packets: a packet of an event already seen updates it or is dropped; a packet of an
//!   event older than the newest one seen (a late straggler whose newer successor already arrived) is dropped —
//!   reporting it would put the digits out of order. A timestamp more than [`MAX_REORDER`] samples older is taken as
//!   a sender clock jump instead, and starts a new event.
//! - Several events in one packet (§2.5.1.5 / §2.5.2.4): each block starts where the previous one ended.
//! - Event codes 16-255 (other tones and signals) are ignored, not errors; the R bit and volume are ignored.
//!
//! The RTP layer calls [`Rfc4733Receiver::reset`] when the stream's SSRC changes (a new timestamp space).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Digit, DigitEvent, DtmfError, DtmfSource, TelephoneEvent};

/// How far back (in 8 kHz samples, 2 s) a timestamp older than the newest event may lie and still be taken as a
/// reordered straggler; anything older is a timestamp discontinuity.
pub const MAX_REORDER: u32 = 16_000;

/// How many recent event (and long-event segment) timestamps are remembered to recognise late duplicates.
const HISTORY: usize = 32;

/// The segment length of a long event (RFC 4733 §2.5.1.3): the largest duration the 16-bit field holds.
const SEGMENT: u32 = 0xFFFF;

/// When the receiver reports a digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportAt {
    /// At the first packet seen of the event: lowest latency, what barge-in wants. The duration reported is that
    /// packet's duration field.
    #[default]
    Start,
    /// When the event ends (E bit, a newer event, or the end timeout), with the final duration.
    End,
}

/// How an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    No,
    /// An E bit arrived: the event is final, a later segment cannot continue it.
    EndBit,
    /// A newer event started, or the timeout fired: a late segment may still continue it (§2.5.2.3).
    Implicit,
}

/// The newest event.
#[derive(Debug, Clone, Copy)]
struct Event {
    digit: Digit,
    /// Timestamp of the first segment: the event's identity and start.
    first_ts: u32,
    /// Timestamp of the current segment.
    seg_ts: u32,
    /// Units in the segments before the current one.
    before: u32,
    /// The largest duration seen in the current segment (reordered updates carry smaller ones).
    seg_duration: u16,
    last_seen: Instant,
    ended: Ended,
    reported: bool,
}

impl Event {
    fn duration(&self) -> u32 {
        self.before.saturating_add(u32::from(self.seg_duration))
    }

    fn report(&mut self) -> DigitEvent {
        self.reported = true;
        DigitEvent {
            digit: self.digit,
            source: DtmfSource::Rfc4733,
            rtp_timestamp: self.first_ts,
            duration_samples: self.duration(),
        }
    }
}

/// Telephone-event receiver for one RTP stream (sans-IO).
#[derive(Debug)]
pub struct Rfc4733Receiver {
    end_timeout: Duration,
    report_at: ReportAt,
    last: Option<Event>,
    /// Timestamp of the newest event or segment seen.
    newest: Option<u32>,
    /// Recent event and segment timestamps, newest at the back.
    history: VecDeque<(u32, Digit)>,
    /// Digits found but not yet returned (a packet with several event blocks can end one and start another).
    pending: VecDeque<DigitEvent>,
}

/// `a` is after `b` in RTP timestamp (serial number) order.
fn ts_after(a: u32, b: u32) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d < 0x8000_0000
}

impl Rfc4733Receiver {
    /// A receiver that reports at the first packet and ends an event `end_timeout` after its last packet when no end
    /// packet arrives. A few update intervals is usual (the sender updates every 50 ms): e.g. 250 ms.
    pub fn new(end_timeout: Duration) -> Rfc4733Receiver {
        Self::with_report_at(end_timeout, ReportAt::Start)
    }

    /// A receiver with the given report point.
    pub fn with_report_at(end_timeout: Duration, report_at: ReportAt) -> Rfc4733Receiver {
        Rfc4733Receiver {
            end_timeout,
            report_at,
            last: None,
            newest: None,
            history: VecDeque::with_capacity(HISTORY),
            pending: VecDeque::new(),
        }
    }

    /// Forgets every event: call it when the stream's SSRC changes (a new timestamp space). Undelivered digits stay
    /// queued.
    pub fn reset(&mut self) {
        self.last = None;
        self.newest = None;
        self.history.clear();
    }

    /// Whether an event is in progress (seen, not ended): a key is held down.
    pub fn in_event(&self) -> bool {
        self.last.is_some_and(|e| e.ended == Ended::No)
    }

    /// Handles the payload of one telephone-event RTP packet. Returns the digit this packet reveals, if any; when
    /// one packet reveals two (several event blocks), the second comes from [`Self::poll_event`].
    pub fn handle(
        &mut self,
        now: Instant,
        rtp_timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Result<Option<DigitEvent>, DtmfError> {
        let blocks = TelephoneEvent::parse_all(payload)?;
        let mut ts = rtp_timestamp;
        for (i, ev) in blocks.enumerate() {
            self.handle_block(now, ts, marker && i == 0, ev);
            ts = ts.wrapping_add(u32::from(ev.duration));
        }
        Ok(self.pending.pop_front())
    }

    /// A digit found but not yet returned, if any.
    pub fn poll_event(&mut self) -> Option<DigitEvent> {
        self.pending.pop_front()
    }

    /// Ends an event whose packets stopped `end_timeout` ago. Returns a queued digit first, then (with
    /// [`ReportAt::End`]) the digit of the event that timed out.
    pub fn poll_timeout(&mut self, now: Instant) -> Option<DigitEvent> {
        if let Some(d) = self.pending.pop_front() {
            return Some(d);
        }
        let ev = self.last.as_mut()?;
        if ev.ended == Ended::No && now >= ev.last_seen + self.end_timeout {
            tracing::debug!(ts = ev.first_ts, digit = %ev.digit, "telephone-event ended by timeout");
            ev.ended = Ended::Implicit;
            if !ev.reported {
                return Some(ev.report());
            }
        }
        None
    }

    /// When [`Self::poll_timeout`] next has something to do.
    pub fn next_timeout(&self) -> Option<Instant> {
        match self.last {
            Some(ev) if ev.ended == Ended::No => Some(ev.last_seen + self.end_timeout),
            _ => None,
        }
    }

    fn remember(&mut self, ts: u32, digit: Digit) {
        if self.history.contains(&(ts, digit)) {
            return;
        }
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back((ts, digit));
        if self.newest.is_none_or(|n| ts_after(ts, n)) {
            self.newest = Some(ts);
        }
    }

    fn end_last(&mut self, how: Ended) {
        let report_at = self.report_at;
        if let Some(ev) = self.last.as_mut() {
            if ev.ended == Ended::No {
                ev.ended = how;
            }
            if report_at == ReportAt::End && !ev.reported {
                let d = ev.report();
                self.pending.push_back(d);
            }
        }
    }

    fn handle_block(&mut self, now: Instant, ts: u32, marker: bool, te: TelephoneEvent) {
        let Some(digit) = Digit::from_event(te.event) else {
            tracing::trace!(
                event = te.event,
                "telephone-event not a dtmf digit: ignored"
            );
            return;
        };
        let report_at = self.report_at;

        // A packet of the newest event's current segment: an update, an end or a duplicate.
        if let Some(ev) = self.last.as_mut() {
            if ts == ev.seg_ts && digit == ev.digit {
                if ev.ended == Ended::EndBit {
                    return; // redundant or late end packet, or a straggler update
                }
                ev.seg_duration = ev.seg_duration.max(te.duration);
                ev.last_seen = now;
                if ev.ended == Ended::Implicit {
                    // Timed out, but packets came back: keep it open to recognise its next segment. Not reported
                    // again.
                    ev.ended = Ended::No;
                }
                if te.end {
                    ev.ended = Ended::EndBit;
                    if report_at == ReportAt::End && !ev.reported {
                        let d = ev.report();
                        self.pending.push_back(d);
                    }
                }
                return;
            }
            // The next segment of a long event (§2.5.2.3): same digit, no marker, timestamp a whole number of
            // segments later, the event not ended by an E bit.
            let gap = ts.wrapping_sub(ev.seg_ts);
            if !marker
                && digit == ev.digit
                && ev.ended != Ended::EndBit
                && ts_after(ts, ev.seg_ts)
                && gap.is_multiple_of(SEGMENT)
            {
                ev.before = ev.before.saturating_add(gap);
                ev.seg_ts = ts;
                ev.seg_duration = te.duration;
                ev.last_seen = now;
                ev.ended = if te.end { Ended::EndBit } else { Ended::No };
                let done = te.end && report_at == ReportAt::End && !ev.reported;
                if done {
                    let d = ev.report();
                    self.pending.push_back(d);
                }
                self.remember(ts, digit);
                return;
            }
        }

        if self.history.contains(&(ts, digit)) {
            return; // an older event or segment already handled
        }
        if let Some(newest) = self.newest {
            if ts_after(newest, ts) && newest.wrapping_sub(ts) <= MAX_REORDER {
                tracing::debug!(ts, newest, %digit, "telephone-event older than the newest event: dropped");
                return;
            }
        }

        // A new event. The previous one, if still open, ended when this one began.
        self.end_last(Ended::Implicit);
        let mut ev = Event {
            digit,
            first_ts: ts,
            seg_ts: ts,
            before: 0,
            seg_duration: te.duration,
            last_seen: now,
            ended: if te.end { Ended::EndBit } else { Ended::No },
            reported: false,
        };
        if report_at == ReportAt::Start || te.end {
            self.pending.push_back(ev.report());
        }
        tracing::debug!(ts, %digit, marker, end = te.end, "telephone-event: new event");
        self.last = Some(ev);
        self.remember(ts, digit);
        // Newer than the newest, or a clock jump: either way the timeline restarts here.
        self.newest = Some(ts);
    }
}

#[cfg(test)]
#[path = "receiver_tests.rs"]
mod tests;
