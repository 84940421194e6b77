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
//! This module (with [`super::uring`]) holds the engine's only `unsafe` code: the `recvmmsg` call and the reading
//! of the socket addresses and control messages the kernel wrote.

use std::io;
use std::mem::{size_of, MaybeUninit};
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
    addrs: Box<[MaybeUninit<libc::sockaddr_storage>; BATCH]>,
    controls: Box<[[u64; CONTROL_LEN / 8]; BATCH]>,
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
            addrs: Box::new([MaybeUninit::uninit(); BATCH]),
            controls: Box::new([[0; CONTROL_LEN / 8]; BATCH]),
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
            h.msg_name = self.addrs[i].as_mut_ptr().cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut self.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = self.controls[i].as_mut_ptr().cast();
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
        let from = sockaddr(&self.addrs[i], h.msg_hdr.msg_namelen as usize)?;
        let stamp = if h.msg_hdr.msg_flags & libc::MSG_CTRUNC != 0 {
            None
        } else {
            timestamp(&h.msg_hdr)
        };
        Some(Datagram {
            from,
            stamp,
            data: &self.bufs[i][..len],
        })
    }
}

/// The source address the kernel wrote.
fn sockaddr(addr: &MaybeUninit<libc::sockaddr_storage>, len: usize) -> Option<SocketAddr> {
    let p = addr.as_ptr();
    if len < size_of::<libc::sa_family_t>() {
        return None;
    }
    // SAFETY: the kernel wrote `len` ≥ 2 bytes starting with the family; the storage is aligned for every
    // sockaddr type, and each branch reads only a struct that fits in the `len` bytes written.
    unsafe {
        match libc::c_int::from((*p).ss_family) {
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                let a = &*p.cast::<libc::sockaddr_in>();
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                    u16::from_be(a.sin_port),
                )))
            }
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                let a = &*p.cast::<libc::sockaddr_in6>();
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(a.sin6_addr.s6_addr),
                    u16::from_be(a.sin6_port),
                    u32::from_be(a.sin6_flowinfo),
                    a.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

/// The `SCM_TIMESTAMPNS` control message of a received datagram, if present.
fn timestamp(h: &libc::msghdr) -> Option<SystemTime> {
    // SAFETY: `h` is a header the kernel just filled: `msg_control`/`msg_controllen` describe control messages
    // inside our own buffer; the CMSG_* helpers stay within `msg_controllen`, and the timespec is read unaligned
    // from inside the message whose length was checked.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET
                && (*c).cmsg_type == SO_TIMESTAMPNS
                && (*c).cmsg_len as usize
                    >= libc::CMSG_LEN(size_of::<libc::timespec>() as u32) as usize
            {
                let ts = libc::CMSG_DATA(c).cast::<libc::timespec>().read_unaligned();
                let secs = u64::try_from(ts.tv_sec).ok()?;
                let nanos = u32::try_from(ts.tv_nsec)
                    .ok()
                    .filter(|n| *n < 1_000_000_000)?;
                return SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos));
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
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
