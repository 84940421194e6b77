//! RTCP wire format (RFC 3550 §6.4–§6.6): writing SR, RR, SDES CNAME and BYE into a caller's buffer, and
//! reading a received compound packet after the validity checks of Appendix A.2. Written here rather than taken
//! from a crate because the A.2 checks and an allocation-free reader are the point, and the formats are small.

use super::error::RtcpError;
use super::id::{RtpTime, Ssrc};

/// Packet types (RFC 3550 §12.1).
pub mod pt {
    /// Sender report.
    pub const SR: u8 = 200;
    /// Receiver report.
    pub const RR: u8 = 201;
    /// Source description.
    pub const SDES: u8 = 202;
    /// Goodbye.
    pub const BYE: u8 = 203;
    /// Application-defined.
    pub const APP: u8 = 204;
}

/// Sender information of an SR (§6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// NTP timestamp, 32.32 fixed point seconds since 1900.
    pub ntp: u64,
    /// The same instant in RTP timestamp units.
    pub rtp_time: RtpTime,
    /// Packets sent since starting.
    pub packet_count: u32,
    /// Payload octets sent since starting.
    pub octet_count: u32,
}

/// One report block (§6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: Ssrc,
    /// Fraction lost since the previous report, /256.
    pub fraction_lost: u8,
    /// Cumulative lost, 24-bit signed.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from that source (0 if none).
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

/// One piece of a received compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpItem<'a> {
    /// An SR's sender information.
    SenderReport {
        /// The sender.
        ssrc: Ssrc,
        /// What it says.
        info: SenderInfo,
    },
    /// A report block of an SR or RR.
    Report {
        /// Who reports.
        reporter: Ssrc,
        /// The block.
        block: ReportBlock,
    },
    /// The CNAME of a source (SDES item 1).
    Cname {
        /// The source.
        ssrc: Ssrc,
        /// The name, as sent.
        cname: &'a [u8],
    },
    /// A source leaving.
    Bye {
        /// The source.
        ssrc: Ssrc,
    },
    /// A packet type this reader does not interpret (APP, RTPFB, XR, ...).
    Other {
        /// Its packet type.
        pt: u8,
    },
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks a compound packet as RFC 3550 Appendix A.2 does: version 2 everywhere, the first packet an SR or RR
/// without padding, padding only on the last packet, the lengths adding up to the datagram, and each count
/// fitting its packet.
pub fn validate(buf: &[u8]) -> Result<(), RtcpError> {
    if buf.len() < 4 {
        return Err(RtcpError::Short {
            len: buf.len(),
            need: 4,
        });
    }
    if buf[1] != pt::SR && buf[1] != pt::RR {
        return Err(RtcpError::FirstType(buf[1]));
    }
    if buf[0] & 0x20 != 0 {
        return Err(RtcpError::Padding("padding bit set on the first packet"));
    }
    let mut at = 0;
    while at < buf.len() {
        if buf.len() - at < 4 {
            return Err(RtcpError::Short {
                len: buf.len(),
                need: at + 4,
            });
        }
        let version = buf[at] >> 6;
        if version != 2 {
            return Err(RtcpError::Version(version));
        }
        let len = (usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]])) + 1) * 4;
        let end = at + len;
        if end > buf.len() {
            return Err(RtcpError::Short {
                len: buf.len(),
                need: end,
            });
        }
        let mut body_end = end;
        if buf[at] & 0x20 != 0 {
            if end != buf.len() {
                return Err(RtcpError::Padding(
                    "padding bit set on a packet that is not the last",
                ));
            }
            let count = usize::from(buf[end - 1]);
            if count == 0 || count > len - 4 {
                return Err(RtcpError::Padding(
                    "padding count zero or longer than the packet",
                ));
            }
            body_end -= count;
        }
        check_counts(&buf[at..body_end])?;
        at = end;
    }
    Ok(())
}

fn check_counts(p: &[u8]) -> Result<(), RtcpError> {
    let count = p[0] & 0x1f;
    let need = match p[1] {
        pt::SR => 28 + 24 * usize::from(count),
        pt::RR => 8 + 24 * usize::from(count),
        pt::BYE => 4 + 4 * usize::from(count),
        pt::SDES => {
            let mut at = 4;
            for _ in 0..count {
                at = sdes_chunk_end(p, at).ok_or(RtcpError::Count {
                    pt: p[1],
                    count,
                    len: p.len(),
                })?;
            }
            at
        }
        _ => 4,
    };
    if need > p.len() {
        return Err(RtcpError::Count {
            pt: p[1],
            count,
            len: p.len(),
        });
    }
    Ok(())
}

/// End of the SDES chunk starting at `at` (SSRC, items, a null octet, padding to 32 bits), if it fits.
fn sdes_chunk_end(p: &[u8], at: usize) -> Option<usize> {
    let mut i = at.checked_add(4)?;
    loop {
        let ty = *p.get(i)?;
        if ty == 0 {
            i += 1;
            let end = i.div_ceil(4) * 4;
            return (end <= p.len()).then_some(end);
        }
        let len = usize::from(*p.get(i + 1)?);
        i += 2 + len;
        if i > p.len() {
            return None;
        }
    }
}

/// Iterates over the items of a compound packet that passed [`validate`].
#[derive(Debug, Clone)]
pub struct Items<'a> {
    buf: &'a [u8],
    at: usize,
    /// Within the current packet: next sub-item index and the packet's end.
    sub: usize,
    cursor: usize,
}

/// Validates `buf` and returns an iterator over its items.
pub fn read(buf: &[u8]) -> Result<Items<'_>, RtcpError> {
    validate(buf)?;
    Ok(Items {
        buf,
        at: 0,
        sub: 0,
        cursor: 0,
    })
}

impl<'a> Iterator for Items<'a> {
    type Item = RtcpItem<'a>;

    fn next(&mut self) -> Option<RtcpItem<'a>> {
        // `validate` proved every length below fits `buf`; `get` keeps that true without trusting it.
        loop {
            let hdr = self.buf.get(self.at..self.at + 4)?;
            let count = usize::from(hdr[0] & 0x1f);
            let ty = hdr[1];
            let len = (usize::from(u16::from_be_bytes([hdr[2], hdr[3]])) + 1) * 4;
            let p = self.buf.get(self.at..self.at + len)?;
            let sub = self.sub;
            self.sub += 1;
            let item = match ty {
                pt::SR | pt::RR => {
                    let blocks_at = if ty == pt::SR { 28 } else { 8 };
                    let reporter = Ssrc(be32(p, 4));
                    if ty == pt::SR && sub == 0 {
                        Some(RtcpItem::SenderReport {
                            ssrc: reporter,
                            info: SenderInfo {
                                ntp: (u64::from(be32(p, 8)) << 32) | u64::from(be32(p, 12)),
                                rtp_time: RtpTime(be32(p, 16)),
                                packet_count: be32(p, 20),
                                octet_count: be32(p, 24),
                            },
                        })
                    } else {
                        let k = if ty == pt::SR { sub - 1 } else { sub };
                        (k < count).then(|| {
                            let b = blocks_at + 24 * k;
                            let lost = be32(p, b + 4);
                            // Sign-extend the 24-bit cumulative loss.
                            let cumulative_lost = ((lost << 8) as i32) >> 8;
                            RtcpItem::Report {
                                reporter,
                                block: ReportBlock {
                                    ssrc: Ssrc(be32(p, b)),
                                    fraction_lost: (lost >> 24) as u8,
                                    cumulative_lost,
                                    highest_seq: be32(p, b + 8),
                                    jitter: be32(p, b + 12),
                                    lsr: be32(p, b + 16),
                                    dlsr: be32(p, b + 20),
                                },
                            }
                        })
                    }
                }
                pt::BYE => (sub < count).then(|| RtcpItem::Bye {
                    ssrc: Ssrc(be32(p, 4 + 4 * sub)),
                }),
                pt::SDES => {
                    if sub == 0 {
                        self.cursor = 4;
                    }
                    if sub < count {
                        let start = self.cursor;
                        let end = sdes_chunk_end(p, start)?;
                        self.cursor = end;
                        Some(cname_of(p, start).unwrap_or(RtcpItem::Other { pt: pt::SDES }))
                    } else {
                        None
                    }
                }
                other => (sub == 0).then_some(RtcpItem::Other { pt: other }),
            };
            match item {
                Some(i) => return Some(i),
                None => {
                    self.at += len;
                    self.sub = 0;
                }
            }
        }
    }
}

fn cname_of(p: &[u8], chunk: usize) -> Option<RtcpItem<'_>> {
    let ssrc = Ssrc(be32(p, chunk));
    let mut i = chunk + 4;
    loop {
        let ty = *p.get(i)?;
        if ty == 0 {
            return None;
        }
        let len = usize::from(*p.get(i + 1)?);
        if ty == 1 {
            return Some(RtcpItem::Cname {
                ssrc,
                cname: p.get(i + 2..i + 2 + len)?,
            });
        }
        i += 2 + len;
    }
}

/// Appends RTCP packets to a caller's buffer without allocating.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    /// A writer filling `buf` from the start.
    pub fn new(buf: &'b mut [u8]) -> Writer<'b> {
        Writer { buf, len: 0 }
    }

    /// Octets written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn reserve(&mut self, n: usize) -> Result<&mut [u8], RtcpError> {
        let need = self.len + n;
        if need > self.buf.len() {
            return Err(RtcpError::BufferTooSmall {
                len: self.buf.len(),
                need,
            });
        }
        let s = &mut self.buf[self.len..need];
        self.len = need;
        Ok(s)
    }

    fn header(out: &mut [u8], count: usize, ty: u8, len: usize) {
        out[0] = 0x80 | (count as u8 & 0x1f);
        out[1] = ty;
        out[2..4].copy_from_slice(&((len / 4 - 1) as u16).to_be_bytes());
    }

    fn block(out: &mut [u8], b: &ReportBlock) {
        out[0..4].copy_from_slice(&b.ssrc.0.to_be_bytes());
        let lost = (u32::from(b.fraction_lost) << 24) | (b.cumulative_lost as u32 & 0x00ff_ffff);
        out[4..8].copy_from_slice(&lost.to_be_bytes());
        out[8..12].copy_from_slice(&b.highest_seq.to_be_bytes());
        out[12..16].copy_from_slice(&b.jitter.to_be_bytes());
        out[16..20].copy_from_slice(&b.lsr.to_be_bytes());
        out[20..24].copy_from_slice(&b.dlsr.to_be_bytes());
    }

    /// A sender report with at most one report block (a call has one remote source).
    pub fn sender_report(
        &mut self,
        ssrc: Ssrc,
        info: &SenderInfo,
        block: Option<&ReportBlock>,
    ) -> Result<(), RtcpError> {
        let n = 28 + if block.is_some() { 24 } else { 0 };
        let out = self.reserve(n)?;
        Self::header(out, usize::from(block.is_some()), pt::SR, n);
        out[4..8].copy_from_slice(&ssrc.0.to_be_bytes());
        out[8..16].copy_from_slice(&info.ntp.to_be_bytes());
        out[16..20].copy_from_slice(&info.rtp_time.0.to_be_bytes());
        out[20..24].copy_from_slice(&info.packet_count.to_be_bytes());
        out[24..28].copy_from_slice(&info.octet_count.to_be_bytes());
        if let Some(b) = block {
            Self::block(&mut out[28..52], b);
        }
        Ok(())
    }

    /// A receiver report with at most one report block.
    pub fn receiver_report(
        &mut self,
        ssrc: Ssrc,
        block: Option<&ReportBlock>,
    ) -> Result<(), RtcpError> {
        let n = 8 + if block.is_some() { 24 } else { 0 };
        let out = self.reserve(n)?;
        Self::header(out, usize::from(block.is_some()), pt::RR, n);
        out[4..8].copy_from_slice(&ssrc.0.to_be_bytes());
        if let Some(b) = block {
            Self::block(&mut out[8..32], b);
        }
        Ok(())
    }

    /// An SDES packet with one chunk carrying the CNAME (required in every compound packet, §6.1).
    pub fn sdes_cname(&mut self, ssrc: Ssrc, cname: &[u8]) -> Result<(), RtcpError> {
        let cname = &cname[..cname.len().min(255)];
        let chunk = (4 + 2 + cname.len() + 1).div_ceil(4) * 4;
        let n = 4 + chunk;
        let out = self.reserve(n)?;
        out.fill(0);
        Self::header(out, 1, pt::SDES, n);
        out[4..8].copy_from_slice(&ssrc.0.to_be_bytes());
        out[8] = 1;
        out[9] = cname.len() as u8;
        out[10..10 + cname.len()].copy_from_slice(cname);
        Ok(())
    }

    /// A BYE for `ssrc`.
    pub fn bye(&mut self, ssrc: Ssrc) -> Result<(), RtcpError> {
        let out = self.reserve(8)?;
        Self::header(out, 1, pt::BYE, 8);
        out[4..8].copy_from_slice(&ssrc.0.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> ReportBlock {
        ReportBlock {
            ssrc: Ssrc(0xbbbb_bbbb),
            fraction_lost: 64,
            cumulative_lost: -3,
            highest_seq: 0x0001_0005,
            jitter: 12,
            lsr: 0x1234_5678,
            dlsr: 65536,
        }
    }

    #[test]
    fn compound_round_trip() {
        let mut buf = [0u8; 256];
        let info = SenderInfo {
            ntp: 0xe000_0000_8000_0000,
            rtp_time: RtpTime(160),
            packet_count: 10,
            octet_count: 1600,
        };
        let mut w = Writer::new(&mut buf);
        w.sender_report(Ssrc(0xaaaa_aaaa), &info, Some(&block()))
            .unwrap();
        w.sdes_cname(Ssrc(0xaaaa_aaaa), b"vxgate@127.0.0.1")
            .unwrap();
        w.bye(Ssrc(0xaaaa_aaaa)).unwrap();
        let n = w.len();
        assert_eq!(n % 4, 0);
        let items: Vec<_> = read(&buf[..n]).unwrap().collect();
        assert_eq!(
            items,
            vec![
                RtcpItem::SenderReport {
                    ssrc: Ssrc(0xaaaa_aaaa),
                    info
                },
                RtcpItem::Report {
                    reporter: Ssrc(0xaaaa_aaaa),
                    block: block()
                },
                RtcpItem::Cname {
                    ssrc: Ssrc(0xaaaa_aaaa),
                    cname: b"vxgate@127.0.0.1"
                },
                RtcpItem::Bye {
                    ssrc: Ssrc(0xaaaa_aaaa)
                },
            ]
        );
    }

    /// A receiver report captured from the wire (RFC 3550 §6.4.2 layout), decoded field by field.
    #[test]
    fn receiver_report_known_bytes() {
        let bytes = [
            0x81, 0xc9, 0x00, 0x07, // V=2 RC=1 RR len=7
            0x11, 0x22, 0x33, 0x44, // reporter
            0x55, 0x66, 0x77, 0x88, // source
            0x19, 0xff, 0xff, 0xfe, // fraction 25, cumulative -2
            0x00, 0x02, 0x10, 0x00, // ext highest seq
            0x00, 0x00, 0x00, 0x2a, // jitter 42
            0xde, 0xad, 0xbe, 0xef, // lsr
            0x00, 0x01, 0x80, 0x00, // dlsr 1.5 s
        ];
        let items: Vec<_> = read(&bytes).unwrap().collect();
        assert_eq!(
            items,
            vec![RtcpItem::Report {
                reporter: Ssrc(0x1122_3344),
                block: ReportBlock {
                    ssrc: Ssrc(0x5566_7788),
                    fraction_lost: 25,
                    cumulative_lost: -2,
                    highest_seq: 0x0002_1000,
                    jitter: 42,
                    lsr: 0xdead_beef,
                    dlsr: 0x0001_8000,
                }
            }]
        );
    }

    #[test]
    fn a2_checks() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.receiver_report(Ssrc(1), None).unwrap();
        w.bye(Ssrc(1)).unwrap();
        let n = w.len();
        let good = buf[..n].to_vec();
        assert!(validate(&good).is_ok());

        let mut b = good.clone();
        b[0] = 0x40;
        assert_eq!(validate(&b), Err(RtcpError::Version(1)));
        let mut b = good.clone();
        b[1] = pt::BYE;
        assert_eq!(validate(&b), Err(RtcpError::FirstType(203)));
        let mut b = good.clone();
        b[0] |= 0x20;
        assert!(matches!(validate(&b), Err(RtcpError::Padding(_))));
        let mut b = good.clone();
        b[3] = 9; // length past the end
        assert!(matches!(validate(&b), Err(RtcpError::Short { .. })));
        let mut b = good.clone();
        b[0] = 0x85; // RR claims 5 blocks in 8 octets
        assert!(matches!(
            validate(&b),
            Err(RtcpError::Count {
                pt: 201,
                count: 5,
                len: 8
            })
        ));
        let mut b = good.clone();
        b.push(0); // trailing octet
        assert!(validate(&b).is_err());
        let mut b = good;
        b[8] = 0x9f; // BYE claims 31 sources
        assert!(matches!(
            validate(&b),
            Err(RtcpError::Count { pt: 203, .. })
        ));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut x: u64 = 7;
        for _ in 0..50_000 {
            let mut d = [0u8; 48];
            for v in d.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = x as u8;
            }
            d[0] = 0x80 | (d[0] & 0x3f);
            d[1] = if x & 1 == 0 { pt::SR } else { pt::RR };
            d[2] = 0;
            d[3] %= 12;
            let len = (x >> 8) as usize % 49;
            if let Ok(items) = read(&d[..len]) {
                for _ in items {}
            }
        }
    }

    #[test]
    fn small_buffer_is_an_error() {
        let mut buf = [0u8; 10];
        let mut w = Writer::new(&mut buf);
        assert!(matches!(
            w.receiver_report(Ssrc(1), Some(&block())),
            Err(RtcpError::BufferTooSmall { .. })
        ));
    }
}
