//! Batched sends through io_uring: a scheduler queues every datagram of its tick as one `sendmsg` submission
//! entry (each from its own call's socket) and submits them all with one `io_uring_enter`.
//!
//! Every entry carries `MSG_DONTWAIT`, so the kernel completes it during the submit — sent, or refused at once
//! (`EAGAIN` on a full socket buffer) — and never parks it for later; [`UringSend::submit`] therefore reaps every
//! completion before it returns and the slots can be reused. Allocation-free after [`UringSend::new`]: datagrams,
//! addresses and message headers live in fixed slots.
//!
//! With [`super::recv`] this is the engine's only `unsafe` code: handing the kernel pointers into the slots.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use io_uring::{opcode, types, IoUring};
use socket2::SockAddr;

use super::call::MAX_DATAGRAM;

/// Datagrams queued before a submit is forced (a scheduler sends a few hundred per tick at full load).
const SLOTS: usize = 512;
/// Most sockets registered with one ring (bounded by the open-file limit too).
const MAX_FIXED: u32 = 16_384;

/// One queued datagram.
struct Slot {
    buf: [u8; MAX_DATAGRAM],
    addr: SockAddr,
    iov: libc::iovec,
    hdr: libc::msghdr,
    token: u64,
}

/// The io_uring send queue of one scheduler.
pub(crate) struct UringSend {
    ring: IoUring,
    slots: Box<[Slot]>,
    queued: usize,
    /// `IORING_OP_SEND` with a destination address (Linux 6.0): no message header for the kernel to copy in.
    /// Older kernels get `IORING_OP_SENDMSG`.
    plain_send: bool,
    /// Free indexes of the ring's registered-file table (sockets registered once skip the descriptor lookup on
    /// every send); empty when the table could not be set up.
    free_fixed: Vec<u32>,
    /// Datagrams the kernel refused in the last flushes: (token, errno). Reported and cleared by `take_failures`.
    failed: Vec<(u64, i32)>,
}

impl UringSend {
    /// Sets up the ring; fails where io_uring is not available.
    pub(crate) fn new() -> io::Result<UringSend> {
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_coop_taskrun()
            .build(SLOTS as u32)
            .or_else(|_| IoUring::new(SLOTS as u32))?;
        let unspecified = SockAddr::from(SocketAddr::from(([0, 0, 0, 0], 0)));
        let slots = (0..SLOTS)
            .map(|_| Slot {
                buf: [0; MAX_DATAGRAM],
                addr: unspecified.clone(),
                iov: libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                },
                // SAFETY: `msghdr` is a plain C struct; all-zero is a valid value (no name, no iovecs, no control).
                hdr: unsafe { std::mem::zeroed() },
                token: 0,
            })
            .collect();
        let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(1024, |(soft, _)| soft);
        let fixed = MAX_FIXED.min(u32::try_from(nofile).unwrap_or(MAX_FIXED));
        let free_fixed = match ring.submitter().register_files_sparse(fixed) {
            Ok(()) => (0..fixed).rev().collect(),
            Err(e) => {
                tracing::debug!(error = %e, "io_uring file table unavailable; sends look sockets up");
                Vec::new()
            }
        };
        let mut u = UringSend {
            ring,
            slots,
            queued: 0,
            plain_send: true,
            free_fixed,
            failed: Vec::with_capacity(64),
        };
        u.plain_send = u.probe_plain_send();
        Ok(u)
    }

    /// Whether this kernel takes a destination address on `IORING_OP_SEND`: one datagram to ourselves.
    fn probe_plain_send(&mut self) -> bool {
        let Ok(sock) = UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)) else {
            return false;
        };
        let Ok(to) = sock.local_addr() else {
            return false;
        };
        if self.push(&sock, None, 0, b"probe", to).is_err() || self.submit().is_err() {
            return false;
        }
        let ok = self.failed.is_empty();
        self.failed.clear();
        ok
    }

    /// Registers `sock` with the ring; the index is then used instead of the descriptor. `None` when the table is
    /// full or missing (the descriptor is used).
    pub(crate) fn register(&mut self, sock: &UdpSocket) -> Option<u32> {
        let i = self.free_fixed.pop()?;
        match self
            .ring
            .submitter()
            .register_files_update(i, &[sock.as_raw_fd()])
        {
            Ok(_) => Some(i),
            Err(e) => {
                tracing::debug!(error = %e, "socket not registered with io_uring");
                self.free_fixed.push(i);
                None
            }
        }
    }

    /// Releases index `i` (after the last submit that used it): the ring drops its reference to the socket.
    pub(crate) fn unregister(&mut self, i: u32) {
        if self
            .ring
            .submitter()
            .register_files_update(i, &[-1])
            .is_ok()
        {
            self.free_fixed.push(i);
        }
    }

    /// No slot left: submit before pushing.
    pub(crate) fn is_full(&self) -> bool {
        self.queued == SLOTS
    }

    /// Queues `data` for `to` from `sock` (registered as `fixed`, if it is). The socket must stay open until the
    /// next submit.
    pub(crate) fn push(
        &mut self,
        sock: &UdpSocket,
        fixed: Option<u32>,
        token: u64,
        data: &[u8],
        to: SocketAddr,
    ) -> io::Result<()> {
        if data.len() > MAX_DATAGRAM || self.queued == SLOTS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("datagram of {} bytes not queued", data.len()),
            ));
        }
        let i = self.queued;
        let s = &mut self.slots[i];
        s.buf[..data.len()].copy_from_slice(data);
        s.addr = SockAddr::from(to);
        s.token = token;
        let entry = if self.plain_send {
            let send = match fixed {
                Some(f) => opcode::Send::new(types::Fixed(f), s.buf.as_ptr(), data.len() as u32),
                None => opcode::Send::new(
                    types::Fd(sock.as_raw_fd()),
                    s.buf.as_ptr(),
                    data.len() as u32,
                ),
            };
            send.dest_addr(s.addr.as_ptr().cast())
                .dest_addr_len(s.addr.len())
                .flags(libc::MSG_DONTWAIT)
                .build()
        } else {
            s.iov = libc::iovec {
                iov_base: s.buf.as_mut_ptr().cast(),
                iov_len: data.len(),
            };
            s.hdr.msg_name = s.addr.as_ptr().cast_mut().cast();
            s.hdr.msg_namelen = s.addr.len();
            s.hdr.msg_iov = &mut s.iov;
            s.hdr.msg_iovlen = 1;
            let send = match fixed {
                Some(f) => opcode::SendMsg::new(types::Fixed(f), &s.hdr),
                None => opcode::SendMsg::new(types::Fd(sock.as_raw_fd()), &s.hdr),
            };
            send.flags(libc::MSG_DONTWAIT as u32).build()
        }
        .user_data(i as u64);
        // SAFETY: the entry points at this slot's buffer, address (and header and iovec), which live in a boxed
        // slice that neither moves nor is written again until `submit` has reaped this entry's completion; the
        // socket is kept open (or registered) by the caller until then (see `Outbox::flush`).
        let pushed = unsafe { self.ring.submission().push(&entry) };
        if pushed.is_err() {
            // Cannot happen: the submission queue holds `SLOTS` entries and only `queued < SLOTS` are in it.
            return Err(io::Error::other("io_uring submission queue full"));
        }
        self.queued += 1;
        Ok(())
    }

    /// Hands the datagrams the kernel refused since the last call to `failed`, by token.
    pub(crate) fn take_failures(&mut self, failed: &mut dyn FnMut(u64, io::Error)) {
        for (token, errno) in self.failed.drain(..) {
            failed(token, io::Error::from_raw_os_error(errno));
        }
    }

    /// Submits what is queued and waits for every completion (all are immediate, see the module doc); refused
    /// datagrams are kept for [`UringSend::take_failures`]. An error means the ring itself failed.
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        let mut pending = self.queued;
        while pending > 0 {
            match self.ring.submit_and_wait(pending) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                // The ring itself failed: its caller stops using it (and drops it; nothing of ours is in flight,
                // since a failed `io_uring_enter` consumed no entry and every earlier one has completed).
                Err(e) => return Err(e),
            }
            for cqe in self.ring.completion() {
                pending = pending.saturating_sub(1);
                if cqe.result() < 0 {
                    let token = usize::try_from(cqe.user_data())
                        .ok()
                        .and_then(|i| self.slots.get(i))
                        .map_or(0, |s| s.token);
                    self.failed.push((token, -cqe.result()));
                }
            }
        }
        self.queued = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_datagrams_leave_on_submit_and_refusals_come_back_by_token() {
        let Ok(mut u) = UringSend::new() else {
            return; // io_uring not permitted here: the outbox falls back to sendto
        };
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let fixed = u.register(&tx);
        let to = rx.local_addr().unwrap();
        for i in 0..3u8 {
            u.push(&tx, fixed, 10 + u64::from(i), &[i; 7], to).unwrap();
        }
        // An IPv6 destination from an IPv4 socket: refused by the kernel, reported with its token.
        u.push(&tx, fixed, 99, b"x", "[::1]:9".parse().unwrap())
            .unwrap();
        let mut buf = [0u8; 64];
        assert!(
            rx.recv_from(&mut buf).is_err(),
            "nothing leaves before the submit"
        );
        u.submit().unwrap();
        for i in 0..3u8 {
            let (n, from) = rx.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[i; 7]);
            assert_eq!(from, tx.local_addr().unwrap());
        }
        let mut failed = Vec::new();
        u.take_failures(&mut |t, e| failed.push((t, e.kind())));
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, 99);
        if let Some(i) = fixed {
            u.unregister(i);
        }
        // Unregistered (or never registered): sends by descriptor still work.
        u.push(&tx, None, 1, b"again", to).unwrap();
        u.submit().unwrap();
        let (n, _) = rx.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"again");
    }

    #[test]
    fn more_datagrams_than_slots() {
        let Ok(mut u) = UringSend::new() else {
            return;
        };
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let mut sent = 0;
        while !u.is_full() {
            u.push(&tx, None, 0, b"y", to).unwrap();
            sent += 1;
        }
        assert_eq!(sent, SLOTS);
        assert!(u.push(&tx, None, 0, b"y", to).is_err());
        u.submit().unwrap();
        assert!(!u.is_full());
    }
}
