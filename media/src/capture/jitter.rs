//! A small jitter buffer for recording: reorders packets by sequence number, drops duplicates and packets that
//! come too late, and tells how many samples of silence fill each gap.
//!
//! The buffer holds at most `depth` packets; pushing one more releases the oldest. A gap is measured on the RTP
//! timestamps (the next packet's timestamp minus where the previous one ended), so any ptime works; a gap that is
//! negative or implausibly large (a sender timestamp jump) is not filled.

use std::collections::BTreeMap;

/// The largest gap filled with silence, in samples (2 s at 8 kHz); a larger jump is taken as a timestamp reset.
pub const MAX_GAP: u32 = 16_000;

/// A packet released from the buffer, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// Samples of silence to insert before this packet's audio (lost packets).
    pub gap: u32,
    /// The packet's sequence number.
    pub seq: u16,
    /// The packet's RTP timestamp.
    pub timestamp: u32,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Reorders audio packets (sans-IO; counts packets, not time).
#[derive(Debug)]
pub struct JitterBuffer {
    depth: usize,
    /// Extended sequence number → (timestamp, payload).
    held: BTreeMap<u64, (u32, Vec<u8>)>,
    /// Highest extended sequence number seen (for unwrapping).
    highest: Option<u64>,
    /// Extended sequence number of the last packet released.
    released: Option<u64>,
    /// RTP timestamp just after the last released packet's audio.
    next_ts: Option<u32>,
    duplicates: u64,
    late: u64,
}

impl JitterBuffer {
    /// A buffer that holds up to `depth` packets (at least 1).
    pub fn new(depth: usize) -> JitterBuffer {
        JitterBuffer {
            depth: depth.max(1),
            held: BTreeMap::new(),
            highest: None,
            released: None,
            next_ts: None,
            duplicates: 0,
            late: 0,
        }
    }

    /// Packets dropped as duplicates so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Packets dropped because they arrived after their place was played out.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Extends a 16-bit sequence number to 64 bits, next to the highest one seen (RFC 3550 §A.1 style).
    fn extend(&mut self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            let e = (1u64 << 16) + u64::from(seq); // room below the first for reordered predecessors
            self.highest = Some(e);
            return e;
        };
        let cycle = h & !0xffff;
        let candidates = [cycle.wrapping_sub(1 << 16), cycle, cycle + (1 << 16)];
        let e = candidates
            .iter()
            .map(|c| c.wrapping_add(u64::from(seq)))
            .min_by_key(|e| e.abs_diff(h))
            .unwrap_or(h); // candidates is non-empty
        if e > h {
            self.highest = Some(e);
        }
        e
    }

    /// Adds a packet; returns the packets it pushes out, in order.
    pub fn push(&mut self, seq: u16, timestamp: u32, payload: &[u8]) -> Vec<Released> {
        let e = self.extend(seq);
        if self.released.is_some_and(|r| e <= r) {
            self.late += 1;
            return Vec::new();
        }
        if self.held.contains_key(&e) {
            self.duplicates += 1;
            return Vec::new();
        }
        self.held.insert(e, (timestamp, payload.to_vec()));
        let mut out = Vec::new();
        while self.held.len() > self.depth {
            if let Some(r) = self.pop() {
                out.push(r);
            }
        }
        out
    }

    /// Releases everything held (end of recording).
    pub fn flush(&mut self) -> Vec<Released> {
        let mut out = Vec::new();
        while let Some(r) = self.pop() {
            out.push(r);
        }
        out
    }

    fn pop(&mut self) -> Option<Released> {
        let (e, (ts, payload)) = self.held.pop_first()?;
        let gap = match self.next_ts {
            Some(expected) => {
                let d = ts.wrapping_sub(expected);
                if d <= MAX_GAP {
                    d
                } else {
                    0
                }
            }
            None => 0,
        };
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.next_ts = Some(ts.wrapping_add(len));
        self.released = Some(e);
        Some(Released {
            gap,
            seq: (e & 0xffff) as u16,
            timestamp: ts,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seq: u16) -> u32 {
        u32::from(seq).wrapping_mul(160)
    }

    fn feed(jb: &mut JitterBuffer, seqs: &[u16]) -> Vec<(u32, u8)> {
        let mut out = Vec::new();
        for &s in seqs {
            for r in jb.push(s, ts(s), &[s as u8; 160]) {
                out.push((r.gap, r.payload[0]));
            }
        }
        for r in jb.flush() {
            out.push((r.gap, r.payload[0]));
        }
        out
    }

    #[test]
    fn reorders_and_drops_duplicates() {
        let mut jb = JitterBuffer::new(3);
        let got = feed(&mut jb, &[1, 3, 2, 2, 4, 6, 5, 5, 7]);
        assert_eq!(got, (1..=7).map(|s| (0, s as u8)).collect::<Vec<_>>());
        assert_eq!(jb.duplicates(), 2);
    }

    #[test]
    fn gaps_become_silence_and_late_packets_are_dropped() {
        let mut jb = JitterBuffer::new(2);
        let got = feed(&mut jb, &[10, 11, 14, 15, 16, 12]);
        assert_eq!(got, vec![(0, 10), (0, 11), (320, 14), (0, 15), (0, 16)]);
        assert_eq!(jb.late(), 1);
    }

    #[test]
    fn sequence_wraps() {
        let mut jb = JitterBuffer::new(2);
        let got = feed(&mut jb, &[65534, 0, 65535, 1, 2]);
        let order: Vec<u8> = got.iter().map(|g| g.1).collect();
        assert_eq!(order, vec![254, 255, 0, 1, 2]);
        assert!(got.iter().all(|g| g.0 == 0), "{got:?}");
    }

    #[test]
    fn timestamp_jump_is_not_filled() {
        let mut jb = JitterBuffer::new(1);
        jb.push(1, 1000, &[0; 160]);
        let r = jb.push(2, 1_000_000, &[0; 160]);
        assert_eq!(r[0].gap, 0);
        let r = jb.flush();
        assert_eq!(r[0].gap, 0);
    }
}
