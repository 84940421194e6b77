//! The receivers' audio tap of `bench rtp`: the arrival of every packet inside the measuring window.
//!
//! The tap runs on the engine's scheduler threads, once per packet, among thousands of calls whose state has left
//! the cache since their last packet; a log per stream would add a cold cache line per packet (the log's tail) to
//! what is being measured. So the taps of one scheduler thread append to one log of that thread, whose tail stays
//! in the cache, and each entry holds what is needed later: the stream and its arrival minus its RTP time. The
//! stream's own constant (where its two clocks started) cancels when the stream's smallest value is subtracted.

use std::cell::RefCell;
use std::sync::mpsc;
use std::time::Instant;

use vxgate_media::engine::AudioSink;
use vxgate_media::g711::Law;
use vxgate_media::rtp::SeqNo;

/// Nanoseconds per sample at 8 kHz.
const NS_PER_SAMPLE: i64 = 125_000;

/// One packet: its stream, and arrival − RTP time in ns.
pub type Entry = (u32, i64);

thread_local! {
    /// What the taps of this thread have recorded.
    static LOG: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// The tap of one receiver.
pub struct Tap {
    /// The stream's index.
    pub stream: u32,
    /// The measuring window; packets outside it are not logged.
    pub window: (Instant, Instant),
    /// Zero of the arrival times.
    pub epoch: Instant,
    /// Entries the thread's log must have room for before the window opens.
    pub reserve: usize,
    /// Where the thread's log goes when the tap stops (the first tap to stop takes it, the others send nothing).
    pub done: mpsc::Sender<Vec<Entry>>,
}

impl AudioSink for Tap {
    fn audio(&mut self, now: Instant, _seq: SeqNo, timestamp: u64, _law: Law, _payload: &[u8]) {
        if now < self.window.0 {
            // Warm-up: make the room now, written once, so the window sees neither a reallocation nor page faults.
            LOG.with(|l| {
                let mut l = l.borrow_mut();
                if l.capacity() < self.reserve {
                    let mut room = vec![(0, -1); self.reserve];
                    room.clear();
                    *l = room;
                }
            });
            return;
        }
        if now > self.window.1 {
            return;
        }
        // Nanoseconds fit an i64 for 292 years, and an extended RTP time times 125 µs for longer than a run.
        let at = now.saturating_duration_since(self.epoch).as_nanos() as i64;
        let value = at - (timestamp as i64).saturating_mul(NS_PER_SAMPLE);
        LOG.with(|l| l.borrow_mut().push((self.stream, value)));
    }

    fn stop(&mut self, _now: Instant) {
        let log = LOG.with(|l| std::mem::take(&mut *l.borrow_mut()));
        let _ = self.done.send(log);
    }
}

/// Per stream, arrival lateness against the stream's ideal grid (its earliest packet, relative to RTP time, is on
/// time), in µs; and the packets received per stream.
pub fn offsets(logs: impl IntoIterator<Item = Vec<Entry>>, streams: usize) -> (Vec<i64>, u64) {
    let entries: Vec<Entry> = logs.into_iter().flatten().collect();
    let mut min = vec![i64::MAX; streams];
    for &(s, v) in &entries {
        if let Some(m) = min.get_mut(s as usize) {
            *m = (*m).min(v);
        }
    }
    let offsets: Vec<i64> = entries
        .iter()
        .filter_map(|&(s, v)| min.get(s as usize).map(|m| (v - m) / 1000))
        .collect();
    let received = offsets.len() as u64;
    (offsets, received)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_against_each_streams_own_earliest_packet() {
        // Stream 0 on time then 3 ms late; stream 1 starts at another RTP time and is always on time.
        let ms = 1_000_000;
        let log = vec![
            (0, 5 * ms - 1000 * NS_PER_SAMPLE),
            (1, 7 * ms - 50_000 * NS_PER_SAMPLE),
            (0, 25 * ms - 1160 * NS_PER_SAMPLE),
            (1, 27 * ms - 50_160 * NS_PER_SAMPLE),
            (0, 48 * ms - 1320 * NS_PER_SAMPLE),
        ];
        let (mut offsets, received) = offsets([log, Vec::new()], 2);
        offsets.sort_unstable();
        assert_eq!(received, 5);
        assert_eq!(offsets, vec![0, 0, 0, 0, 3000]);
    }
}
