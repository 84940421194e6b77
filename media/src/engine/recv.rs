//! The receive path of a scheduler: one epoll set over the sockets of all its calls, drained on the scheduler's
//! tick with one `recvmmsg` per ready socket, and the kernel's arrival time of every datagram (`SO_TIMESTAMPNS`).
//!
//! Why: a task per call woken by the runtime for every packet costs a wake-up, a task poll and two receive
//! syscalls (the second one only to learn the socket is empty) per packet. Here nothing wakes for a packet: at
//! each tick the scheduler asks epoll which sockets hold data (one syscall for all of them) and reads each one's
//! queue in one syscall. Handling a packet up to one tick after it arrived would skew every timing that depends on
//! arrival (interarrival jitter, DTMF timeouts, the audio tap's times), so the arrival time is the kernel's
//! timestamp of the datagram, not the time the scheduler looked.
//!
//! The epoll set is edge-triggered: a socket is reported once per arrival, not again at every tick while it holds
//! data, so the scheduler reads a socket until `recvmmsg` returns less than a full batch (the queue is empty), and
//! a socket it stops reading earlier is its to revisit.
//!
//! Per-call isolation: each socket keeps its own kernel queue (a flood fills only its own receive buffer), and
//! each socket is read at most [`MAX_BATCHES_PER_TICK`] × [`BATCH`] datagrams per tick, so a flooded socket
//! cannot hold the scheduler away from the others; what it does not read this tick stays queued for the next
//! (or is dropped by the kernel at that socket alone).
//!
//! This module (with [`super::uring`] and [`super::uring_recv`]) holds the engine's only `unsafe` code: here, the
//! `recvmmsg` call on buffers we own. Addresses and control messages are parsed from bytes, without `unsafe`.

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, SystemTime};

use nix::sys::epoll::{self, EpollCreateFlags, EpollEvent, EpollFlags, EpollOp};

use super::call::MAX_DATAGRAM;

/// Datagrams read by one `recvmmsg`.
pub(crate) const BATCH: usize = 16;
/// Most `recvmmsg` calls on one socket per tick (a flood beyond waits for the next tick, or is dropped by the
/// kernel at that socket's full buffer).
pub(crate) const MAX_BATCHES_PER_TICK: usize = 4;

/// `SO_TIMESTAMPNS` (and its control message type `SCM_TIMESTAMPNS`): 35 on every architecture Rust's std
/// supports on Linux except MIPS, SPARC and PA-RISC, which we do not build for.
const SO_TIMESTAMPNS: libc::c_int = 35;
/// Room for one `SCM_TIMESTAMPNS` control message (`CMSG_SPACE(sizeof(struct timespec))`) and a spare one.
const CONTROL_LEN: usize = 64;
/// Room for a source address (`sockaddr_in6` is the largest we use; `sockaddr_storage` for good measure).
const NAME_LEN: usize = 128;

/// Bytes the kernel writes a `sockaddr` or `cmsghdr` records into, aligned as those structs are.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Aligned<const N: usize>([u8; N]);

/// Asks the kernel to stamp every datagram `fd` receives with its arrival time (`CLOCK_REALTIME`).
pub(crate) fn enable_timestamps(fd: &impl AsRawFd) -> io::Result<()> {
    nix::sys::socket::setsockopt(
        fd.as_raw_fd(),
        nix::sys::socket::sockopt::ReceiveTimestampns,
        &true,
    )
    .map_err(io::Error::from)
}

/// An edge-triggered epoll set: the sockets of one scheduler's calls, each with a 64-bit token.
pub(crate) struct Poller {
    epfd: OwnedFd,
    events: Vec<EpollEvent>,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let fd = epoll::epoll_create1(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?;
        // SAFETY: `epoll_create1` just returned this descriptor; nothing else owns it.
        let epfd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Poller {
            epfd,
            events: Vec::new(),
        })
    }

    /// Watches `fd` for input; `token` comes back each time data arrives (the reader must drain the socket, or
    /// remember to come back: data already queued is not reported again).
    pub(crate) fn add(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLET, token);
        epoll::epoll_ctl(self.epfd.as_raw_fd(), EpollOp::EpollCtlAdd, fd, &mut ev)
            .map_err(io::Error::from)?;
        // One slot per watched socket, so one `epoll_wait` reports every ready socket (grown here, not per packet).
        self.events.push(EpollEvent::empty());
        Ok(())
    }

    /// Stops watching `fd` (before it is closed).
    pub(crate) fn remove(&mut self, fd: RawFd) {
        if epoll::epoll_ctl(self.epfd.as_raw_fd(), EpollOp::EpollCtlDel, fd, None).is_ok() {
            self.events.pop();
        }
    }

    /// The tokens of the sockets that received data (or an error) since they were last reported, without waiting.
    pub(crate) fn ready(&mut self) -> impl Iterator<Item = u64> + '_ {
        let n = if self.events.is_empty() {
            0
        } else {
            match epoll::epoll_wait(self.epfd.as_raw_fd(), &mut self.events, 0) {
                Ok(n) => n,
                Err(e) => {
                    if e != nix::errno::Errno::EINTR {
                        tracing::warn!(error = %e, "epoll_wait failed");
                    }
                    0
                }
            }
        };
        self.events[..n].iter().map(EpollEvent::data)
    }
}

/// One received datagram, as [`RecvBatch::get`] returns it.
pub(crate) struct Datagram<'a> {
    pub from: SocketAddr,
    /// Kernel arrival time (wall clock), if the kernel stamped it.
    pub stamp: Option<SystemTime>,
    pub data: &'a [u8],
}

/// Buffers for one `recvmmsg` of up to [`BATCH`] datagrams, allocated once per scheduler.
pub(crate) struct RecvBatch {
    bufs: Box<[[u8; MAX_DATAGRAM]; BATCH]>,
    addrs: Box<[Aligned<NAME_LEN>; BATCH]>,
    controls: Box<[Aligned<CONTROL_LEN>; BATCH]>,
    iovs: Box<[libc::iovec; BATCH]>,
    hdrs: Box<[libc::mmsghdr; BATCH]>,
    received: usize,
}

impl RecvBatch {
    pub(crate) fn new() -> RecvBatch {
        // SAFETY: `iovec` and `mmsghdr` are plain C structs for which all-zero bytes are valid values (null
        // pointers, zero lengths); every pointer in them is set before each use in `recv`.
        let iovs: Box<[libc::iovec; BATCH]> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: as above.
        let hdrs: Box<[libc::mmsghdr; BATCH]> = Box::new(unsafe { std::mem::zeroed() });
        RecvBatch {
            bufs: Box::new([[0; MAX_DATAGRAM]; BATCH]),
            addrs: Box::new([Aligned([0; NAME_LEN]); BATCH]),
            controls: Box::new([Aligned([0; CONTROL_LEN]); BATCH]),
            iovs,
            hdrs,
            received: 0,
        }
    }

    /// Reads what `fd` holds, up to [`BATCH`] datagrams, without waiting. Returns how many (0: nothing queued).
    pub(crate) fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.received = 0;
        for i in 0..BATCH {
            self.iovs[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: MAX_DATAGRAM,
            };
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = self.addrs[i].0.as_mut_ptr().cast();
            h.msg_namelen = NAME_LEN as libc::socklen_t;
            h.msg_iov = &mut self.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = self.controls[i].0.as_mut_ptr().cast();
            h.msg_controllen = CONTROL_LEN as _;
            h.msg_flags = 0;
            self.hdrs[i].msg_len = 0;
        }
        // SAFETY: every header points into buffers owned by `self` (boxed, so they do not move) with the lengths
        // given, and they stay borrowed (`&mut self`) for the whole call; the kernel writes at most those lengths.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        self.received = (n as usize).min(BATCH);
        Ok(self.received)
    }

    /// Datagram `i` of the last [`RecvBatch::recv`] (`None` past the count, or with an address of an unknown family).
    pub(crate) fn get(&self, i: usize) -> Option<Datagram<'_>> {
        if i >= self.received {
            return None;
        }
        let h = &self.hdrs[i];
        let len = (h.msg_len as usize).min(MAX_DATAGRAM);
        let name_len = (h.msg_hdr.msg_namelen as usize).min(NAME_LEN);
        let from = parse_sockaddr(&self.addrs[i].0[..name_len])?;
        #[allow(clippy::unnecessary_cast)]
        // `msg_controllen` is a `size_t` on glibc, a `socklen_t` on musl
        let control_len = (h.msg_hdr.msg_controllen as usize).min(CONTROL_LEN);
        let stamp = parse_stamp(&self.controls[i].0[..control_len]);
        Some(Datagram {
            from,
            stamp,
            data: &self.bufs[i][..len],
        })
    }
}

/// A socket address as the kernel writes it (`sockaddr_in` or `sockaddr_in6`, native-endian family, network-order
/// port and address); `None` for a short buffer or another family.
pub(crate) fn parse_sockaddr(b: &[u8]) -> Option<SocketAddr> {
    let family = i32::from(u16::from_ne_bytes(b.get(0..2)?.try_into().ok()?));
    let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
    match family {
        libc::AF_INET => {
            let ip: [u8; 4] = b.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 => {
            let flow = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?);
            let ip: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            let scope = u32::from_ne_bytes(b.get(24..28)?.try_into().ok()?);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flow,
                scope,
            )))
        }
        _ => None,
    }
}

/// The `SCM_TIMESTAMPNS` stamp among the control messages the kernel wrote (`struct cmsghdr` records, each padded
/// to the size of a `size_t`), if there is one.
pub(crate) fn parse_stamp(control: &[u8]) -> Option<SystemTime> {
    const WORD: usize = size_of::<usize>();
    let hdr = size_of::<libc::cmsghdr>();
    let mut off = 0;
    while off + hdr <= control.len() {
        let len = usize::from_ne_bytes(control.get(off..off + WORD)?.try_into().ok()?);
        let level = i32::from_ne_bytes(control.get(off + WORD..off + WORD + 4)?.try_into().ok()?);
        let kind = i32::from_ne_bytes(
            control
                .get(off + WORD + 4..off + WORD + 8)?
                .try_into()
                .ok()?,
        );
        if len < hdr {
            return None;
        }
        if level == libc::SOL_SOCKET && kind == SO_TIMESTAMPNS && len >= hdr + 16 {
            let d = off + hdr;
            let secs = i64::from_ne_bytes(control.get(d..d + 8)?.try_into().ok()?);
            let nanos = i64::from_ne_bytes(control.get(d + 8..d + 16)?.try_into().ok()?);
            let secs = u64::try_from(secs).ok()?;
            let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
            return SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos));
        }
        off += len.div_ceil(WORD) * WORD;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn batch_reads_queued_datagrams_with_addresses_and_stamps() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        enable_timestamps(&rx).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let before = SystemTime::now();
        for i in 0..(BATCH as u8 + 3) {
            tx.send_to(&[i; 5], to).unwrap();
        }
        let mut poller = Poller::new().unwrap();
        poller.add(rx.as_raw_fd(), 77).unwrap();
        assert_eq!(poller.ready().collect::<Vec<_>>(), vec![77]);
        let mut b = RecvBatch::new();
        assert_eq!(b.recv(rx.as_raw_fd()).unwrap(), BATCH);
        for i in 0..BATCH {
            let d = b.get(i).unwrap();
            assert_eq!(d.from, tx.local_addr().unwrap());
            assert_eq!(d.data, &[i as u8; 5]);
            let stamp = d.stamp.expect("kernel timestamp");
            assert!(stamp >= before - Duration::from_secs(1));
        }
        assert!(b.get(BATCH).is_none());
        // Edge-triggered: the rest is not reported again until something new arrives.
        assert_eq!(poller.ready().count(), 0);
        assert_eq!(b.recv(rx.as_raw_fd()).unwrap(), 3);
        assert_eq!(b.recv(rx.as_raw_fd()).unwrap(), 0);
        tx.send_to(b"new", to).unwrap();
        assert_eq!(poller.ready().collect::<Vec<_>>(), vec![77]);
        poller.remove(rx.as_raw_fd());
    }

    #[test]
    fn parsers_refuse_short_and_lying_input() {
        assert_eq!(parse_sockaddr(&[]), None);
        assert_eq!(parse_sockaddr(&[2, 0, 0]), None);
        let mut v4 = [0u8; 16];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&5004u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 9]);
        assert_eq!(parse_sockaddr(&v4), Some("127.0.0.9:5004".parse().unwrap()));
        assert_eq!(parse_sockaddr(&v4[..7]), None);
        assert_eq!(parse_stamp(&[]), None);
        // A record claiming less than its own header ends the walk instead of looping.
        let mut c = [0u8; 32];
        c[..8].copy_from_slice(&3usize.to_ne_bytes());
        assert_eq!(parse_stamp(&c), None);
        // A timestamp record cut short.
        c[..8].copy_from_slice(&32usize.to_ne_bytes());
        c[8..12].copy_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
        c[12..16].copy_from_slice(&SO_TIMESTAMPNS.to_ne_bytes());
        assert_eq!(parse_stamp(&c[..24]), None);
        c[16..24].copy_from_slice(&7i64.to_ne_bytes());
        c[24..32].copy_from_slice(&9i64.to_ne_bytes());
        assert_eq!(
            parse_stamp(&c),
            Some(SystemTime::UNIX_EPOCH + Duration::new(7, 9))
        );
    }

    #[test]
    fn ipv6_source_addresses() {
        let Ok(rx) = UdpSocket::bind("[::1]:0") else {
            return; // no IPv6 loopback in this environment
        };
        let tx = UdpSocket::bind("[::1]:0").unwrap();
        tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
        let mut b = RecvBatch::new();
        // Loopback delivers within `send_to`.
        assert_eq!(b.recv(rx.as_raw_fd()).unwrap(), 1);
        let d = b.get(0).unwrap();
        assert_eq!(d.from, tx.local_addr().unwrap());
        assert!(d.stamp.is_none(), "timestamps were not asked for");
    }
}
