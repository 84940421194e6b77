//! The telephone-event payload (RFC 4733 §2.3): 4 bytes per event block.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! A packet may carry several consecutive, contiguous events (§2.5.1.5 / §2.5.2.4): then the payload is several
//! 4-byte blocks, the RTP timestamp is the start of the first, and each next event starts where the previous one
//! ended (previous start + previous duration).

use super::DtmfError;

/// One 4-byte telephone-event block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0-15 are DTMF, RFC 4733 §3.2; other codes are other tones and signals).
    pub event: u8,
    /// The E bit: this packet carries the event's final duration (§2.3.3).
    pub end: bool,
    /// Power level, 0 to 63 meaning 0 to -63 dBm0 (§2.3.4). Six bits; higher bits are dropped when writing.
    pub volume: u8,
    /// Duration so far in RTP timestamp units, from the event's (segment's) timestamp (§2.3.5).
    pub duration: u16,
}

impl TelephoneEvent {
    /// The payload size of one event block.
    pub const LEN: usize = 4;

    /// Parses exactly one 4-byte block. The reserved R bit is ignored, as §2.3.2 requires of receivers.
    pub fn parse(bytes: &[u8]) -> Result<TelephoneEvent, DtmfError> {
        match *bytes {
            [event, flags, d0, d1] => Ok(TelephoneEvent {
                event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3f,
                duration: u16::from_be_bytes([d0, d1]),
            }),
            _ => Err(DtmfError::BadLength { len: bytes.len() }),
        }
    }

    /// Parses a payload of one or more blocks (§2.5.2.4). Fails on an empty payload or one whose length is not a
    /// multiple of 4.
    pub fn parse_all(bytes: &[u8]) -> Result<TelephoneEvents<'_>, DtmfError> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(Self::LEN) {
            return Err(DtmfError::BadLength { len: bytes.len() });
        }
        Ok(TelephoneEvents { rest: bytes })
    }

    /// The 4 wire bytes; R is sent as 0 (§2.3.2).
    pub fn to_bytes(&self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        let e = if self.end { 0x80 } else { 0 };
        [self.event, e | (self.volume & 0x3f), d0, d1]
    }

    /// Writes the 4 wire bytes at the start of `out`; returns the bytes written, or `None` if `out` is too short.
    pub fn write(&self, out: &mut [u8]) -> Option<usize> {
        let dst = out.get_mut(..Self::LEN)?;
        dst.copy_from_slice(&self.to_bytes());
        Some(Self::LEN)
    }
}

/// The blocks of a telephone-event payload, in order. Made by [`TelephoneEvent::parse_all`].
#[derive(Debug, Clone)]
pub struct TelephoneEvents<'a> {
    rest: &'a [u8],
}

impl Iterator for TelephoneEvents<'_> {
    type Item = TelephoneEvent;

    fn next(&mut self) -> Option<TelephoneEvent> {
        let (block, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        TelephoneEvent::parse(block).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc4733_layout() {
        // Digit 1, E set, R set (must be ignored), volume 10, duration 0x08c0 (SIPp's dtmf_2833_1.pcap end packet
        // has 01 8a 08 c0).
        let ev = TelephoneEvent::parse(&[0x01, 0xca, 0x08, 0xc0]).unwrap();
        assert_eq!(
            ev,
            TelephoneEvent {
                event: 1,
                end: true,
                volume: 10,
                duration: 2240
            }
        );
        assert_eq!(ev.to_bytes(), [0x01, 0x8a, 0x08, 0xc0], "R written as 0");
        let ev = TelephoneEvent::parse(&[11, 0x3f, 0xff, 0xff]).unwrap();
        assert_eq!(
            ev,
            TelephoneEvent {
                event: 11,
                end: false,
                volume: 63,
                duration: 0xffff
            }
        );
    }

    #[test]
    fn rejects_bad_lengths() {
        for len in [0usize, 1, 3, 5, 7] {
            let bytes = vec![0u8; len];
            assert_eq!(
                TelephoneEvent::parse_all(&bytes).unwrap_err(),
                DtmfError::BadLength { len }
            );
        }
        assert!(TelephoneEvent::parse(&[0; 8]).is_err());
        assert_eq!(
            DtmfError::BadLength { len: 3 }.to_string(),
            "telephone-event payload of 3 bytes: expected a non-zero multiple of 4"
        );
    }

    #[test]
    fn multiple_blocks() {
        let bytes = [1, 0x8a, 0, 160, 2, 0x0a, 0, 80];
        let evs: Vec<_> = TelephoneEvent::parse_all(&bytes).unwrap().collect();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].event, 1);
        assert!(evs[0].end);
        assert_eq!(evs[1].duration, 80);
    }

    #[test]
    fn write_needs_room() {
        let ev = TelephoneEvent {
            event: 5,
            end: false,
            volume: 0x7f,
            duration: 400,
        };
        let mut buf = [0u8; 3];
        assert_eq!(ev.write(&mut buf), None);
        let mut buf = [0u8; 6];
        assert_eq!(ev.write(&mut buf), Some(4));
        assert_eq!(&buf[..4], &[5, 0x3f, 1, 144]);
    }
}
