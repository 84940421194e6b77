//! The send path of a scheduler: every datagram of a tick goes through one [`Outbox`].
//!
//! Each call sends from its own socket (its SDP port, which symmetric-RTP peers expect), so `sendmmsg`, which
//! batches on one socket, has nothing to batch. What can be batched is the syscall: with io_uring the outbox
//! queues one `sendmsg` per datagram and submits the whole tick's worth in one `io_uring_enter`. Where io_uring is
//! not available (an old kernel, a seccomp filter), each datagram is one non-blocking `sendto`.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use super::uring::UringSend;

/// How the outbox sends.
pub(crate) enum Outbox {
    /// One `sendto` per datagram, at once.
    Direct,
    /// Queued and submitted together by [`Outbox::flush`].
    Uring(Box<UringSend>),
}

impl Outbox {
    /// An io_uring outbox when `batch` is asked and the kernel allows it, else direct sends.
    pub(crate) fn new(batch: bool) -> Outbox {
        if !batch {
            return Outbox::Direct;
        }
        match UringSend::new() {
            Ok(u) => Outbox::Uring(Box::new(u)),
            Err(e) => {
                tracing::warn!(error = %e, "io_uring unavailable; one sendto per packet");
                Outbox::Direct
            }
        }
    }

    /// Sends (or queues) `data` to `to` from `sock`. An error returned here is final for this datagram; errors of
    /// queued datagrams come out of [`Outbox::flush`] with `token`.
    pub(crate) fn send(
        &mut self,
        sock: &UdpSocket,
        fixed: Option<u32>,
        token: u64,
        data: &[u8],
        to: SocketAddr,
    ) -> io::Result<()> {
        match self {
            Outbox::Direct => socket2::SockRef::from(sock)
                .send_to(data, &to.into())
                .map(drop),
            Outbox::Uring(u) => {
                if u.is_full() {
                    // Failures of the datagrams sent early stay queued in `u` for the next `flush`.
                    if let Err(e) = u.submit() {
                        self.fall_back(e);
                        return self.send(sock, fixed, token, data, to);
                    }
                }
                u.push(sock, fixed, token, data, to)
            }
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

    fn fall_back(&mut self, e: io::Error) {
        tracing::warn!(error = %e, "io_uring failed; one sendto per packet from now on");
        *self = Outbox::Direct;
    }

    /// Sends everything queued; `failed` hears of each datagram the kernel refused, by token. Must run before any
    /// socket with queued datagrams closes.
    pub(crate) fn flush(&mut self, failed: &mut dyn FnMut(u64, io::Error)) {
        if let Outbox::Uring(u) = self {
            let res = u.submit();
            u.take_failures(failed);
            if let Err(e) = res {
                self.fall_back(e);
            }
        }
    }
}
