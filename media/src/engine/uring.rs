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
        Ok(UringSend {
            ring,
            slots,
            queued: 0,
            failed: Vec::with_capacity(64),
        })
    }

    /// No slot left: submit before pushing.
    pub(crate) fn is_full(&self) -> bool {
        self.queued == SLOTS
    }

    /// Queues `data` for `to` from `sock`. The socket must stay open until the next submit.
    pub(crate) fn push(
        &mut self,
        sock: &UdpSocket,
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
        s.iov = libc::iovec {
            iov_base: s.buf.as_mut_ptr().cast(),
            iov_len: data.len(),
        };
        s.hdr.msg_name = s.addr.as_ptr().cast_mut().cast();
        s.hdr.msg_namelen = s.addr.len();
        s.hdr.msg_iov = &mut s.iov;
        s.hdr.msg_iovlen = 1;
        s.token = token;
        let entry = opcode::SendMsg::new(types::Fd(sock.as_raw_fd()), &s.hdr)
            .flags(libc::MSG_DONTWAIT as u32)
            .build()
            .user_data(i as u64);
        // SAFETY: the entry points at this slot's header, iovec, address and buffer, which live in a boxed slice
        // that neither moves nor is written again until `submit` has reaped this entry's completion; the socket is
        // kept open by the caller until then (see `Outbox::flush`).
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
