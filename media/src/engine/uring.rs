//! The scheduler's io_uring: batched sends, and (with [`super::uring_recv`]) multishot receives.
//!
//! Sending: every datagram of a tick is one `send` submission entry (each from its own call's socket, with the
//! destination address) and the tick's entries go to the kernel in one `io_uring_enter`. Every entry carries
//! `MSG_DONTWAIT`, so the kernel completes it during the submit — sent, or refused at once (`EAGAIN` on a full
//! socket buffer) — and never parks it for later; [`Uring::complete`] therefore reaps every send before it
//! returns and the slots can be reused. Allocation-free after [`Uring::new`]: datagrams and addresses live in
//! fixed slots. Sockets are registered in the ring's file table, so no send looks its descriptor up.
//!
//! Receiving: see [`super::uring_recv`]; its completions come out of the same [`Uring::complete`].
//!
//! With [`super::recv`] and [`super::uring_recv`] this is the engine's only `unsafe` code: handing the kernel
//! pointers into buffers we own.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::SystemTime;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use socket2::SockAddr;

use super::call::MAX_DATAGRAM;
use super::recv::{parse_sockaddr, parse_stamp};
use super::uring_recv::{RecvRing, BGID, RBUFS};

/// Submission queue entries (a tick's sends, plus arming and cancelling receives).
const SQ_ENTRIES: u32 = 1024;
/// Completion queue entries: room for every send slot and every receive buffer at once.
const CQ_ENTRIES: u32 = 8192;
/// `user_data` tag of a receive; the rest is the socket's token.
const RECV: u64 = 1 << 63;
/// `user_data` of a cancel request.
const CANCEL: u64 = 1 << 62;

/// What [`Uring::complete`] reports.
pub(crate) enum Completion<'a> {
    /// A datagram of the call with this token was refused.
    SendFailed { token: u64, error: io::Error },
    /// A datagram arrived at the socket with this token.
    Received {
        token: u64,
        from: SocketAddr,
        stamp: Option<SystemTime>,
        data: &'a [u8],
    },
    /// The socket's multishot receive ended (out of buffers, or an error); arm it again if it is still wanted.
    RecvEnded { token: u64, error: io::Error },
}

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

/// The io_uring of one scheduler.
pub(crate) struct Uring {
    /// Declared first so it drops first: the kernel lets go of the slots and receive buffers before they are freed.
    ring: IoUring,
    /// Multishot receives, where the kernel has them (Linux 6.1: deferred task work, buffer rings).
    recv: Option<RecvRing>,
    slots: Box<[Slot]>,
    queued: usize,
    /// `IORING_OP_SEND` with a destination address (Linux 6.0): no message header for the kernel to copy in.
    /// Older kernels get `IORING_OP_SENDMSG`.
    plain_send: bool,
    /// Free indexes of the ring's registered-file table (sockets registered once skip the descriptor lookup on
    /// every send); empty when the table could not be set up.
    free_fixed: Vec<u32>,
    /// Datagrams the kernel refused, (token, errno), until `complete` reports them.
    failed: Vec<(u64, i32)>,
}

impl Uring {
    /// Sets up the ring; fails where io_uring is not available. `receive` asks for multishot receives too.
    pub(crate) fn new(receive: bool) -> io::Result<Uring> {
        // Deferred task work: receives run inside our own `io_uring_enter`, never interrupting the thread.
        let deferred = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            // The kernel flags pending receive work in the ring (see `complete`).
            .setup_taskrun_flag()
            .setup_cqsize(CQ_ENTRIES)
            .build(SQ_ENTRIES);
        let (ring, deferred) = match deferred {
            Ok(r) => (r, true),
            Err(_) => (
                IoUring::builder()
                    .setup_cqsize(CQ_ENTRIES)
                    .build(SQ_ENTRIES)
                    .or_else(|_| IoUring::new(SQ_ENTRIES))?,
                false,
            ),
        };
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
        let recv = if receive && deferred {
            let r = RecvRing::new();
            // SAFETY: the ring memory is page-aligned, `RBUFS` entries long, and stays allocated until after the
            // io_uring is dropped (field order) or the ring is unregistered (`Drop`).
            match unsafe {
                ring.submitter()
                    .register_buf_ring_with_flags(r.ring_addr(), RBUFS, BGID, 0)
            } {
                Ok(()) => {
                    r.publish();
                    Some(r)
                }
                Err(e) => {
                    tracing::debug!(error = %e, "io_uring buffer ring unavailable; receiving through epoll");
                    None
                }
            }
        } else {
            None
        };
        let mut u = Uring {
            ring,
            recv,
            slots,
            queued: 0,
            plain_send: true,
            free_fixed,
            failed: Vec::with_capacity(64),
        };
        u.plain_send = u.probe_plain_send();
        Ok(u)
    }

    /// Receives go through the ring ([`Uring::arm_recv`]) rather than epoll.
    pub(crate) fn receives(&self) -> bool {
        self.recv.is_some()
    }

    /// Starts the multishot receive of socket `fd`; its datagrams come out of [`Uring::complete`] with `token`.
    pub(crate) fn arm_recv(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        let Some(r) = self.recv.as_ref() else {
            return Err(io::Error::other("io_uring receives not set up"));
        };
        let entry = opcode::RecvMsgMulti::new(types::Fd(fd), &*r.hdr, BGID)
            .build()
            .user_data(RECV | token);
        // SAFETY: the entry points at the template header, which lives (boxed) as long as the ring; the socket
        // stays referenced by the kernel for as long as the receive runs.
        self.push_entry(&entry)
    }

    /// Ends the multishot receive armed with `token` (the socket closes once it has ended).
    pub(crate) fn cancel_recv(&mut self, token: u64) {
        let entry = opcode::AsyncCancel::new(RECV | token)
            .build()
            .user_data(CANCEL);
        if let Err(e) = self.push_entry(&entry) {
            tracing::warn!(error = %e, "io_uring receive not cancelled");
        }
    }

    /// Queues an entry that points at nothing short-lived, submitting first if the queue is full.
    fn push_entry(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        for _ in 0..2 {
            // SAFETY: callers pass entries whose pointers outlive their execution (see each caller).
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            // Full: hand the queue to the kernel (completions stay in the completion queue for `complete`).
            self.ring.submit()?;
        }
        Err(io::Error::other("io_uring submission queue full"))
    }

    /// Whether this kernel takes a destination address on `IORING_OP_SEND`: one datagram to ourselves.
    fn probe_plain_send(&mut self) -> bool {
        let Ok(sock) = UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)) else {
            return false;
        };
        let Ok(to) = sock.local_addr() else {
            return false;
        };
        if self.push(&sock, None, 0, b"probe", to).is_err() {
            return false;
        }
        let mut ok = true;
        let done = self.complete(&mut |c| {
            if let Completion::SendFailed { .. } = c {
                ok = false;
            }
        });
        ok && done.is_ok()
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

    /// Slots left before a submit is needed.
    pub(crate) fn room(&self) -> usize {
        SLOTS - self.queued
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
        // SAFETY (for `push_entry`): the entry points at this slot's buffer and address (and header and iovec),
        // which live in a boxed slice that neither moves nor is written again until `complete` has reaped this
        // entry's completion; the socket is kept open (or registered) by the caller until then.
        self.push_entry(&entry)?;
        self.queued += 1;
        Ok(())
    }

    /// Submits what is queued, waits for every send's completion (all are immediate, see the module doc), runs
    /// the receives the kernel has pending, and reports refused sends and received datagrams to `on`. An error
    /// means the ring itself failed.
    pub(crate) fn complete(&mut self, on: &mut dyn FnMut(Completion<'_>)) -> io::Result<()> {
        let mut pending = self.queued;
        // Bounded, so a socket the kernel keeps feeding cannot hold the scheduler here (20 items a round; the
        // rest runs at the next tick).
        let mut rounds = 0;
        while rounds == 0 || pending > 0 || (self.ring.submission().taskrun() && rounds < 256) {
            rounds += 1;
            // Without waiting (`pending` sends complete within the submit), this also runs the receive work the
            // kernel deferred to us — in rounds of 20 items per enter, flagged `taskrun` while more is left.
            let entered = self.ring.submit_and_wait(pending);
            match entered {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                // The ring itself failed: its caller stops using it (and drops it; nothing of ours is in flight,
                // since a failed `io_uring_enter` consumed no entry and every earlier send has completed).
                Err(e) => return Err(e),
            }
            let Uring {
                ring,
                recv,
                slots,
                failed,
                ..
            } = self;
            for cqe in ring.completion() {
                let ud = cqe.user_data();
                let res = cqe.result();
                if ud == CANCEL {
                    continue;
                }
                if ud & RECV == 0 {
                    pending = pending.saturating_sub(1);
                    if res < 0 {
                        let token = usize::try_from(ud)
                            .ok()
                            .and_then(|i| slots.get(i))
                            .map_or(0, |s| s.token);
                        failed.push((token, -res));
                    }
                    continue;
                }
                let token = ud & !RECV;
                let Some(r) = recv.as_mut() else { continue };
                if let Some(bid) = cqueue::buffer_select(cqe.flags()) {
                    if let Some(msg) = usize::try_from(res).ok().and_then(|n| r.read(bid, n)) {
                        if !msg.is_payload_truncated() {
                            if let Some(from) = parse_sockaddr(msg.name_data()) {
                                on(Completion::Received {
                                    token,
                                    from,
                                    stamp: parse_stamp(msg.control_data()),
                                    data: msg.payload_data(),
                                });
                            }
                        }
                    }
                    r.give_back(bid);
                }
                if !cqueue::more(cqe.flags()) && res != -libc::ECANCELED {
                    let error = if res < 0 {
                        io::Error::from_raw_os_error(-res)
                    } else {
                        io::Error::other("multishot receive ended")
                    };
                    on(Completion::RecvEnded { token, error });
                }
            }
            if let Some(r) = recv.as_ref() {
                r.publish();
            }
            for (token, errno) in failed.drain(..) {
                on(Completion::SendFailed {
                    token,
                    error: io::Error::from_raw_os_error(errno),
                });
            }
        }
        self.queued = 0;
        Ok(())
    }
}

impl Drop for Uring {
    fn drop(&mut self) {
        if self.recv.is_some() {
            // The kernel lets go of the buffer ring now; the io_uring itself (and any receive still armed) goes
            // when `ring` drops, before the buffers are freed.
            let _ = self.ring.submitter().unregister_buf_ring(BGID);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Submits and collects the refusals.
    fn submit(u: &mut Uring) -> Vec<(u64, io::ErrorKind)> {
        let mut failed = Vec::new();
        u.complete(&mut |c| {
            if let Completion::SendFailed { token, error } = c {
                failed.push((token, error.kind()));
            }
        })
        .unwrap();
        failed
    }

    #[test]
    fn queued_datagrams_leave_on_submit_and_refusals_come_back_by_token() {
        let Ok(mut u) = Uring::new(false) else {
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
        let failed = submit(&mut u);
        for i in 0..3u8 {
            let (n, from) = rx.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[i; 7]);
            assert_eq!(from, tx.local_addr().unwrap());
        }
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, 99);
        if let Some(i) = fixed {
            u.unregister(i);
        }
        // Unregistered (or never registered): sends by descriptor still work.
        u.push(&tx, None, 1, b"again", to).unwrap();
        assert!(submit(&mut u).is_empty());
        let (n, _) = rx.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"again");
    }

    #[test]
    fn more_datagrams_than_slots() {
        let Ok(mut u) = Uring::new(false) else {
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
        assert!(submit(&mut u).is_empty());
        assert!(!u.is_full());
    }

    #[test]
    fn multishot_receives_with_stamps_until_cancelled() {
        let Ok(mut u) = Uring::new(true) else {
            return;
        };
        if !u.receives() {
            return; // kernel without deferred task work or buffer rings: epoll does the receiving
        }
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        super::super::recv::enable_timestamps(&rx).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        u.arm_recv(rx.as_raw_fd(), 5).unwrap();
        let mut got = Vec::new();
        let collect = |u: &mut Uring, got: &mut Vec<(u64, SocketAddr, bool, Vec<u8>)>| {
            u.complete(&mut |c| match c {
                Completion::Received {
                    token,
                    from,
                    stamp,
                    data,
                } => got.push((token, from, stamp.is_some(), data.to_vec())),
                Completion::RecvEnded { token, error } => panic!("receive {token} ended: {error}"),
                Completion::SendFailed { .. } => {}
            })
            .unwrap();
        };
        collect(&mut u, &mut got);
        // More datagrams over the test than the ring has buffers (each round fits the socket's receive buffer).
        for round in 0..12u32 {
            for i in 0..200u32 {
                tx.send_to(&(round * 200 + i).to_be_bytes(), to).unwrap();
            }
            collect(&mut u, &mut got);
        }
        assert_eq!(got.len(), 2400);
        for (i, (token, from, stamped, data)) in got.iter().enumerate() {
            assert_eq!(*token, 5);
            assert_eq!(*from, tx.local_addr().unwrap());
            assert!(stamped);
            assert_eq!(data, &(i as u32).to_be_bytes());
        }
        u.cancel_recv(5);
        collect(&mut u, &mut got);
        tx.send_to(b"late", to).unwrap();
        collect(&mut u, &mut got);
        assert_eq!(got.len(), 2400, "nothing after the cancel");
        let mut buf = [0u8; 8];
        assert_eq!(rx.recv(&mut buf).unwrap(), 4, "the socket keeps it");
    }
}
