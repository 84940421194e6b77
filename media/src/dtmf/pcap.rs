//! UDP datagrams out of a packet capture (pcap or pcapng), for offline DTMF detection.
//!
//! Link layers: Ethernet (with VLAN tags), Linux cooked (SLL and SLL2), raw IP, BSD loopback (NULL/LOOP); network:
//! IPv4 and IPv6 (fragments are skipped); transport: UDP. Headers are sliced by `etherparse`, files read by
//! `pcap-file`. pcapng timestamps honour each interface's `if_tsresol` (pcap-file 2.0 reports the raw count as
//! nanoseconds; the default resolution is microseconds).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::Block;
use pcap_file::DataLink;

/// A UDP datagram from a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Capture time, from the capture's epoch.
    pub time: Duration,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// What a capture held.
#[derive(Debug, Clone, Default)]
pub struct CaptureFile {
    /// The UDP datagrams, in file order.
    pub datagrams: Vec<Datagram>,
    /// Time of the first packet of any kind (the origin of reported times).
    pub first_packet: Option<Duration>,
    /// Packets that were not UDP over IP, or could not be sliced.
    pub skipped: u64,
    /// Set when the file ended in the middle of a record: what came before is still used.
    pub truncated: Option<String>,
}

/// A capture that cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PcapError {
    /// The file header is not pcap or pcapng, or is damaged.
    #[error("not a readable pcap/pcapng file: {0}")]
    Header(String),
    /// A link type this reader does not know.
    #[error("unsupported link type {0:?} (expected ethernet, linux cooked, raw ip or loopback)")]
    LinkType(DataLink),
}

/// The magic numbers at the start of a pcap (either byte order, µs or ns) or pcapng file.
pub fn is_capture(head: &[u8]) -> bool {
    matches!(
        head.get(..4),
        Some([0xd4, 0xc3, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0xc3, 0xd4])
            | Some([0x4d, 0x3c, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0x3c, 0x4d])
            | Some([0x0a, 0x0d, 0x0d, 0x0a])
    )
}

/// Reads every UDP datagram of a pcap or pcapng capture.
pub fn read_capture(bytes: &[u8]) -> Result<CaptureFile, PcapError> {
    if bytes.get(..4) == Some(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        read_pcapng(bytes)
    } else {
        read_pcap(bytes)
    }
}

fn read_pcap(bytes: &[u8]) -> Result<CaptureFile, PcapError> {
    let mut r =
        pcap_file::pcap::PcapReader::new(bytes).map_err(|e| PcapError::Header(e.to_string()))?;
    let link = r.header().datalink;
    check_link(link)?;
    let mut out = CaptureFile::default();
    while let Some(p) = r.next_packet() {
        match p {
            Ok(p) => out.add(p.timestamp, link, &p.data),
            Err(e) => {
                out.truncated = Some(e.to_string());
                break;
            }
        }
    }
    Ok(out)
}

fn read_pcapng(bytes: &[u8]) -> Result<CaptureFile, PcapError> {
    let mut r = pcap_file::pcapng::PcapNgReader::new(bytes)
        .map_err(|e| PcapError::Header(e.to_string()))?;
    // Per interface: link type and units per second.
    let mut ifaces: Vec<(DataLink, u64)> = Vec::new();
    let mut out = CaptureFile::default();
    while let Some(b) = r.next_block() {
        let b = match b {
            Ok(b) => b,
            Err(e) => {
                out.truncated = Some(e.to_string());
                break;
            }
        };
        match b {
            Block::SectionHeader(_) => ifaces.clear(),
            Block::InterfaceDescription(idb) => {
                let mut per_sec = 1_000_000u64;
                for o in &idb.options {
                    if let InterfaceDescriptionOption::IfTsResol(res) = o {
                        per_sec = tsresol_units(*res);
                    }
                }
                ifaces.push((idb.linktype, per_sec));
            }
            Block::EnhancedPacket(epb) => {
                let Some(&(link, per_sec)) = usize::try_from(epb.interface_id)
                    .ok()
                    .and_then(|i| ifaces.get(i))
                else {
                    out.skipped += 1;
                    continue;
                };
                if check_link(link).is_err() {
                    out.skipped += 1;
                    continue;
                }
                // pcap-file stores the raw 64-bit count as nanoseconds.
                let raw = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                let time = Duration::from_secs(raw / per_sec)
                    + Duration::from_nanos(
                        u64::try_from(
                            u128::from(raw % per_sec) * 1_000_000_000 / u128::from(per_sec),
                        )
                        .unwrap_or(0),
                    );
                out.add(time, link, &epb.data);
            }
            Block::SimplePacket(spb) => {
                // No timestamp: place it at the last known time.
                let Some(&(link, _)) = ifaces.first() else {
                    out.skipped += 1;
                    continue;
                };
                let time = out.datagrams.last().map_or(Duration::ZERO, |d| d.time);
                out.add(time, link, &spb.data);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Units per second of an `if_tsresol` value: 10^n, or 2^n with the top bit set; capped to nanoseconds' range.
fn tsresol_units(res: u8) -> u64 {
    let exp = u32::from(res & 0x7f);
    if res & 0x80 != 0 {
        1u64.checked_shl(exp.min(63)).unwrap_or(1).max(1)
    } else {
        10u64.checked_pow(exp.min(19)).unwrap_or(1_000_000)
    }
}

fn check_link(link: DataLink) -> Result<(), PcapError> {
    match link {
        DataLink::ETHERNET
        | DataLink::LINUX_SLL
        | DataLink::LINUX_SLL2
        | DataLink::RAW
        | DataLink::IPV4
        | DataLink::IPV6
        | DataLink::NULL
        | DataLink::LOOP => Ok(()),
        other => Err(PcapError::LinkType(other)),
    }
}

impl CaptureFile {
    fn add(&mut self, time: Duration, link: DataLink, data: &[u8]) {
        if self.first_packet.is_none_or(|f| time < f) {
            self.first_packet = Some(time);
        }
        match udp(link, data) {
            Some((src, dst, payload)) => self.datagrams.push(Datagram {
                time,
                src,
                dst,
                payload: payload.to_vec(),
            }),
            None => self.skipped += 1,
        }
    }
}

/// The UDP endpoints and payload of one link-layer frame, if it is UDP over IP.
fn udp(link: DataLink, data: &[u8]) -> Option<(SocketAddr, SocketAddr, &[u8])> {
    let sliced = match link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(data).ok()?,
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(data).ok()?,
        // SLL2: 20-byte header, protocol type first (an EtherType).
        DataLink::LINUX_SLL2 => SlicedPacket::from_ip(data.get(20..)?).ok()?,
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => SlicedPacket::from_ip(data).ok()?,
        // BSD loopback: a 4-byte address family in host order, then the IP packet.
        DataLink::NULL | DataLink::LOOP => SlicedPacket::from_ip(data.get(4..)?).ok()?,
        _ => return None,
    };
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match sliced.net.as_ref()? {
        NetSlice::Ipv4(v4) => (
            v4.header().source_addr().into(),
            v4.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(v6) => (
            v6.header().source_addr().into(),
            v6.header().destination_addr().into(),
        ),
        NetSlice::Arp(_) => return None,
    };
    match sliced.transport? {
        TransportSlice::Udp(u) => Some((
            SocketAddr::new(src_ip, u.source_port()),
            SocketAddr::new(dst_ip, u.destination_port()),
            u.payload(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol() {
        assert_eq!(tsresol_units(6), 1_000_000);
        assert_eq!(tsresol_units(9), 1_000_000_000);
        assert_eq!(tsresol_units(0x80 | 10), 1024);
        assert_eq!(tsresol_units(0xff), 1 << 63);
        assert_eq!(tsresol_units(72), 10u64.pow(19)); // capped: 10^72 does not fit
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_capture(&[]).is_err());
        assert!(read_capture(b"RIFF1234WAVEfmt ").is_err());
        assert!(read_capture(&[0xd4, 0xc3, 0xb2, 0xa1, 2]).is_err());
        assert!(read_capture(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0]).is_err());
        assert!(!is_capture(b"RIFF"));
    }

    /// A small pcap and pcapng of a few RTP telephone-event packets (Ethernet, IPv4, UDP).
    fn samples() -> Vec<Vec<u8>> {
        let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        frame.extend_from_slice(&[
            0x45, 0, 0, 44, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        frame.extend_from_slice(&[0x9c, 0x40, 0x4e, 0x20, 0, 24, 0, 0]);
        frame.extend_from_slice(&[0x80, 0xe5, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, 5, 0x8a, 3, 32]);
        let mut pcap = vec![
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0,
            0,
        ];
        let mut ng = vec![
            0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
        ];
        ng.extend_from_slice(&[0xff; 8]);
        ng.extend_from_slice(&[28, 0, 0, 0]);
        ng.extend_from_slice(&[
            1, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0,
            32, 0, 0, 0,
        ]);
        for i in 0..3u32 {
            pcap.extend_from_slice(&(1000 + i).to_le_bytes());
            pcap.extend_from_slice(&0u32.to_le_bytes());
            pcap.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            pcap.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            pcap.extend_from_slice(&frame);
            let len = 32 + frame.len() as u32 + 2; // frame is 58 bytes: 2 bytes of padding
            ng.extend_from_slice(&[6, 0, 0, 0]);
            ng.extend_from_slice(&len.to_le_bytes());
            ng.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
            ng.extend_from_slice(&(1000 + i).to_le_bytes());
            ng.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            ng.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            ng.extend_from_slice(&frame);
            ng.extend_from_slice(&[0, 0]);
            ng.extend_from_slice(&len.to_le_bytes());
        }
        vec![pcap, ng]
    }

    #[test]
    fn samples_parse() {
        for s in samples() {
            let cap = read_capture(&s).unwrap();
            assert_eq!(cap.datagrams.len(), 3, "{:?}", cap.truncated);
            assert_eq!(cap.datagrams[0].dst.port(), 20000);
            assert_eq!(cap.datagrams[0].payload.len(), 16);
        }
    }

    /// Mutated and truncated captures never panic (the reader and the slicer see hostile bytes).
    #[test]
    fn mutations_never_panic() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for s in samples() {
            for cut in 0..s.len() {
                let _ = read_capture(&s[..cut]);
            }
            for _ in 0..5_000 {
                let mut m = s.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() % m.len() as u64) as usize;
                    m[i] = next() as u8;
                }
                if let Ok(cap) = read_capture(&m) {
                    let _ = crate::dtmf::detect_datagrams(
                        &cap.datagrams,
                        Duration::ZERO,
                        &Default::default(),
                    );
                }
            }
        }
    }
}
