//! RTP packet wire format (RFC 3550 §5.1): a checked, zero-copy view for receiving and an in-place writer for
//! sending. The header fields go through the `rtp` crate's marshalling; the checks it does not make (version,
//! padding count, CSRC and extension lengths that run past the datagram) are made here first, so that hostile
//! bytes are refused with an error instead of reaching the crate's readers.

use bytes::Buf;
use rtp::header::Header;
use webrtc_util::marshal::{Marshal, Unmarshal};

use super::error::PacketError;
use super::id::{PayloadType, RtpTime, Ssrc};

/// Fixed RTP header length.
pub const HEADER_LEN: usize = 12;

/// A received RTP packet: the header fields and the payload (padding removed), borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker bit (first packet of a talkspurt for audio; start of an event for RFC 4733).
    pub marker: bool,
    /// Payload type.
    pub payload_type: PayloadType,
    /// 16-bit sequence number as sent.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: RtpTime,
    /// Synchronization source.
    pub ssrc: Ssrc,
    /// Number of CSRC entries (they are skipped).
    pub csrc_count: u8,
    /// The payload, without header, CSRC list, extension or padding.
    pub payload: &'a [u8],
}

/// Checks an RTP datagram and returns its header length and payload range, without trusting any length field.
fn layout(buf: &[u8]) -> Result<(usize, usize), PacketError> {
    if buf.len() < HEADER_LEN {
        return Err(PacketError::Short {
            len: buf.len(),
            need: HEADER_LEN,
        });
    }
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(PacketError::Version(version));
    }
    let padding = buf[0] & 0x20 != 0;
    let extension = buf[0] & 0x10 != 0;
    let cc = usize::from(buf[0] & 0x0f);
    let pt = buf[1] & 0x7f;
    // RFC 3550 §A.1 / RFC 5761 §4: 72–76 would be RTCP SR/RR/SDES/BYE/APP with the marker bit set.
    if (72..=76).contains(&pt) {
        return Err(PacketError::RtcpPayloadType(pt));
    }
    let mut hdr = HEADER_LEN + 4 * cc;
    if buf.len() < hdr {
        return Err(PacketError::Short {
            len: buf.len(),
            need: hdr,
        });
    }
    if extension {
        if buf.len() < hdr + 4 {
            return Err(PacketError::Short {
                len: buf.len(),
                need: hdr + 4,
            });
        }
        let profile = u16::from_be_bytes([buf[hdr], buf[hdr + 1]]);
        let words = usize::from(u16::from_be_bytes([buf[hdr + 2], buf[hdr + 3]]));
        let start = hdr + 4;
        let end = start + 4 * words;
        if buf.len() < end {
            return Err(PacketError::Short {
                len: buf.len(),
                need: end,
            });
        }
        check_extension_elements(profile, &buf[start..end])?;
        hdr = end;
    }
    let mut end = buf.len();
    if padding {
        // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
        let count = usize::from(buf[buf.len() - 1]);
        if count == 0 || count > buf.len() - hdr {
            return Err(PacketError::Padding {
                count,
                available: buf.len() - hdr,
            });
        }
        end -= count;
    }
    Ok((hdr, end))
}

/// RFC 8285 one-byte (0xBEDE) and two-byte (0x100x) element lists must lie inside the extension block; this walks
/// them the way the `rtp` crate does so that it never reads past the block.
fn check_extension_elements(profile: u16, block: &[u8]) -> Result<(), PacketError> {
    let mut i = 0;
    match profile {
        0xBEDE => {
            while i < block.len() {
                let b = block[i];
                i += 1;
                if b == 0 {
                    continue;
                }
                if b >> 4 == 0x0f {
                    break;
                }
                i += usize::from(b & 0x0f) + 1;
            }
        }
        0x1000 => {
            while i < block.len() {
                let b = block[i];
                i += 1;
                if b == 0 {
                    continue;
                }
                let Some(&len) = block.get(i) else {
                    return Err(PacketError::Extension { profile });
                };
                i += 1 + usize::from(len);
            }
        }
        _ => return Ok(()),
    }
    if i > block.len() {
        return Err(PacketError::Extension { profile });
    }
    Ok(())
}

impl<'a> RtpPacket<'a> {
    /// Parses and checks one RTP datagram.
    pub fn parse(buf: &'a [u8]) -> Result<RtpPacket<'a>, PacketError> {
        let (hdr_len, end) = layout(buf)?;
        // `layout` checked every length the crate's reader will follow, so it stays inside `buf[..hdr_len]`.
        let mut hdr_bytes: &[u8] = &buf[..hdr_len];
        let header =
            Header::unmarshal(&mut hdr_bytes).map_err(|e| PacketError::Header(e.to_string()))?;
        if hdr_bytes.has_remaining() && !header.extension {
            return Err(PacketError::Header(format!(
                "{} unread header octets",
                hdr_bytes.remaining()
            )));
        }
        Ok(RtpPacket {
            marker: header.marker,
            // The crate masks the payload type to 7 bits, so `new` cannot fail.
            payload_type: PayloadType::new(header.payload_type).unwrap_or(PayloadType::PCMU),
            seq: header.sequence_number,
            timestamp: RtpTime(header.timestamp),
            ssrc: Ssrc(header.ssrc),
            csrc_count: header.csrc.len() as u8,
            payload: &buf[hdr_len..end],
        })
    }
}

/// Writes a 12-byte RTP header (version 2, no padding, extension or CSRC) followed by `payload` into `out`,
/// returning the datagram length. Allocates nothing.
pub fn write_packet(
    out: &mut [u8],
    marker: bool,
    pt: PayloadType,
    seq: u16,
    ts: RtpTime,
    ssrc: Ssrc,
    payload: &[u8],
) -> Result<usize, PacketError> {
    let need = HEADER_LEN + payload.len();
    if out.len() < need {
        return Err(PacketError::BufferTooSmall {
            len: out.len(),
            need,
        });
    }
    let header = Header {
        version: 2,
        marker,
        payload_type: pt.get(),
        sequence_number: seq,
        timestamp: ts.0,
        ssrc: ssrc.0,
        ..Header::default()
    };
    let n = header
        .marshal_to(&mut out[..HEADER_LEN])
        .map_err(|e| PacketError::Header(e.to_string()))?;
    out[n..n + payload.len()].copy_from_slice(payload);
    Ok(n + payload.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut out = vec![0u8; 200];
        let n = write_packet(
            &mut out,
            true,
            PayloadType::PCMA,
            0xfffe,
            RtpTime(0xdead_beef),
            Ssrc(0x1234_5678),
            &[1, 2, 3],
        )
        .unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn round_trip() {
        let b = sample();
        assert_eq!(
            &b[..12],
            &[0x80, 0x88, 0xff, 0xfe, 0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x78]
        );
        let p = RtpPacket::parse(&b).unwrap();
        assert!(p.marker);
        assert_eq!(p.payload_type, PayloadType::PCMA);
        assert_eq!(p.seq, 0xfffe);
        assert_eq!(p.timestamp, RtpTime(0xdead_beef));
        assert_eq!(p.ssrc, Ssrc(0x1234_5678));
        assert_eq!(p.payload, &[1, 2, 3]);
    }

    #[test]
    fn rejects_bad_version_and_short() {
        let mut b = sample();
        b[0] = 0x40;
        assert_eq!(RtpPacket::parse(&b), Err(PacketError::Version(1)));
        assert!(matches!(
            RtpPacket::parse(&b[..11]),
            Err(PacketError::Short { len: 11, need: 12 })
        ));
    }

    #[test]
    fn csrc_list_longer_than_datagram_is_refused() {
        let mut b = sample();
        b[0] = 0x8f; // 15 CSRCs announced, none present
        assert!(matches!(
            RtpPacket::parse(&b),
            Err(PacketError::Short { need: 72, .. })
        ));
    }

    #[test]
    fn csrc_list_is_skipped() {
        let mut b = sample();
        b[0] = 0x81;
        b.splice(12..12, [9, 9, 9, 9]);
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(p.csrc_count, 1);
        assert_eq!(p.payload, &[1, 2, 3]);
    }

    #[test]
    fn padding_is_removed_and_checked() {
        let mut b = sample();
        b[0] |= 0x20;
        b.extend_from_slice(&[0, 0, 3]);
        assert_eq!(RtpPacket::parse(&b).unwrap().payload, &[1, 2, 3]);
        let last = b.len() - 1;
        b[last] = 0;
        assert!(matches!(
            RtpPacket::parse(&b),
            Err(PacketError::Padding { count: 0, .. })
        ));
        b[last] = 200;
        assert!(matches!(
            RtpPacket::parse(&b),
            Err(PacketError::Padding { count: 200, .. })
        ));
    }

    #[test]
    fn extension_lengths_are_checked() {
        let mut b = sample();
        b[0] |= 0x10;
        // one-byte profile, one word, element claims 16 bytes
        b.splice(12..12, [0xbe, 0xde, 0, 1, 0x1f, 0, 0, 0]);
        assert!(matches!(
            RtpPacket::parse(&b),
            Err(PacketError::Extension { profile: 0xbede })
        ));
        // a fitting element
        b[16] = 0x12;
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(p.payload, &[1, 2, 3]);
        // block longer than the datagram
        b[15] = 40;
        assert!(matches!(
            RtpPacket::parse(&b),
            Err(PacketError::Short { .. })
        ));
        // two-byte profile, element length past the block
        let mut c = sample();
        c[0] |= 0x10;
        c.splice(12..12, [0x10, 0x00, 0, 1, 0x01, 0x09, 0, 0]);
        assert!(matches!(
            RtpPacket::parse(&c),
            Err(PacketError::Extension { profile: 0x1000 })
        ));
    }

    #[test]
    fn rtcp_types_are_not_rtp() {
        let mut b = sample();
        b[1] = 0xc8; // 200 = SR
        assert_eq!(RtpPacket::parse(&b), Err(PacketError::RtcpPayloadType(72)));
    }

    #[test]
    fn every_truncation_and_random_bytes_never_panic() {
        let b = sample();
        for n in 0..b.len() {
            let _ = RtpPacket::parse(&b[..n]);
        }
        let mut x: u32 = 12345;
        for _ in 0..20_000 {
            let mut d = [0u8; 40];
            for v in d.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *v = x as u8;
            }
            d[0] = 0x80 | (d[0] & 0x3f);
            let len = (x as usize) % 41;
            let _ = RtpPacket::parse(&d[..len]);
        }
    }

    #[test]
    fn small_output_buffer_is_an_error() {
        let mut out = [0u8; 13];
        assert!(matches!(
            write_packet(
                &mut out,
                false,
                PayloadType::PCMU,
                0,
                RtpTime(0),
                Ssrc(0),
                &[0; 2]
            ),
            Err(PacketError::BufferTooSmall { len: 13, need: 14 })
        ));
    }
}
