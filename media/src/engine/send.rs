//! The send path of a scheduler: every datagram of a tick goes through one [`Outbox`].
//!
//! Each call sends from its own socket (its SDP port, which symmetric-RTP peers expect), so `sendmmsg`, which
//! batches on one socket, has nothing to batch. What can be batched is the syscall: with io_uring the outbox
//! queues one `sendmsg` per datagram and submits the whole tick's worth in one `io_uring_enter`. Where io_uring is
//! not available (an old kernel, a seccomp filter), each datagram is one non-blocking `sendto`.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::RawFd;

pub(crate) use super::uring::Completion;
use super::uring::Uring;

/// How the outbox sends.
pub(crate) enum Outbox {
    /// One `sendto` per datagram, at once.
    Direct,
    /// Queued and submitted together by [`Outbox::complete`] (which also delivers io_uring receives).
    Uring(Box<Uring>),
}

impl Outbox {
    /// An io_uring outbox (with io_uring receives where the kernel has them) when `batch` is asked and the kernel
    /// allows it, else direct sends.
    pub(crate) fn new(batch: bool) -> Outbox {
        if !batch {
            return Outbox::Direct;
        }
        match Uring::new(true) {
            Ok(u) => Outbox::Uring(Box::new(u)),
            Err(e) => {
                tracing::warn!(error = %e, "io_uring unavailable; one sendto per packet");
                Outbox::Direct
            }
        }
    }

    /// Sends (or queues) `data` to `to` from `sock` (`fixed`: its registration, if any). An error returned here
    /// is final for this datagram; errors of queued datagrams come out of [`Outbox::complete`] with `token`.
    pub(crate) fn send(
        &mut self,
        sock: &UdpSocket,
        fixed: Option<u32>,
        token: u64,
        data: &[u8],
        to: SocketAddr,
    ) -> io::Result<()> {
        match self {
            Outbox::Uring(u) if !u.is_full() => u.push(sock, fixed, token, data, to),
            // Every slot taken (a scheduler catching up after a stall): this one goes at once.
            _ => socket2::SockRef::from(sock)
                .send_to(data, &to.into())
                .map(drop),
        }
    }

    /// Datagrams that can still be queued before [`Outbox::complete`] must run (unbounded for direct sends).
    pub(crate) fn room(&self) -> usize {
        match self {
            Outbox::Direct => usize::MAX,
            Outbox::Uring(u) => u.room(),
        }
    }

    /// Registers `sock` for faster sends (io_uring's file table); the index goes with every send from it.
    pub(crate) fn register(&mut self, sock: &UdpSocket) -> Option<u32> {
        match self {
            Outbox::Direct => None,
            Outbox::Uring(u) => u.register(sock),
        }
    }

    /// Releases a registration (after the flush that sent the socket's last datagram, before it closes).
    pub(crate) fn unregister(&mut self, fixed: Option<u32>) {
        if let (Outbox::Uring(u), Some(i)) = (self, fixed) {
            u.unregister(i);
        }
    }

    /// Receives go through io_uring ([`Outbox::arm_recv`]) rather than epoll.
    pub(crate) fn receives(&self) -> bool {
        matches!(self, Outbox::Uring(u) if u.receives())
    }

    /// Starts receiving on `fd` through io_uring; datagrams come out of [`Outbox::complete`] with `token`.
    pub(crate) fn arm_recv(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        match self {
            Outbox::Uring(u) => u.arm_recv(fd, token),
            Outbox::Direct => Err(io::Error::other("no io_uring")),
        }
    }

    /// Stops the io_uring receive armed with `token`.
    pub(crate) fn cancel_recv(&mut self, token: u64) {
        if let Outbox::Uring(u) = self {
            u.cancel_recv(token);
        }
    }

    /// Sends everything queued and delivers what the kernel reports: refused datagrams and, with io_uring
    /// receives, arrived ones. Must run before any socket with queued datagrams closes. If the ring fails, the
    /// outbox falls back to direct sends (and the caller, seeing [`Outbox::receives`] turn false, to epoll).
    pub(crate) fn complete(&mut self, on: &mut dyn FnMut(Completion<'_>)) {
        if let Outbox::Uring(u) = self {
            if let Err(e) = u.complete(on) {
                tracing::warn!(error = %e, "io_uring failed; one sendto per packet from now on");
                *self = Outbox::Direct;
            }
        }
    }
}
