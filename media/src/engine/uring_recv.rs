//! Receiving through the scheduler's io_uring: one multishot `recvmsg` per socket, armed once, landing datagrams in
//! a ring of buffers shared with the kernel (a provided-buffer ring).
//!
//! With the ring set up for deferred task work, the kernel does not read a socket when a datagram arrives: it
//! notes the socket's readiness, and the reads happen inside the scheduler's next `io_uring_enter` — the same
//! syscall that submits the tick's sends. So receiving costs no syscall and no epoll bookkeeping per packet, and
//! the arrival time still comes from the kernel's stamp (`SO_TIMESTAMPNS`, in each buffer's control data).
//!
//! Buffers are shared by the scheduler's sockets. Each holds io_uring's `recvmsg` header, the source address, the
//! control messages and the datagram. A socket whose multishot read ends — out of buffers (`ENOBUFS`, when
//! datagrams arrived faster than the ticks give buffers back) or an error — is re-armed at the next tick; its
//! datagrams wait in its own kernel queue meanwhile, so nothing is lost to another call's flood, only delayed.

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::{BufRingEntry, RecvMsgOut};

use super::call::MAX_DATAGRAM;

/// Buffers in the ring (a power of two; 16 times a full scheduler's arrivals per tick).
pub(crate) const RBUFS: u16 = 2048;
/// Room reserved in each buffer for the source address (a `sockaddr_in6`).
const NAME_LEN: usize = 28;
/// Room reserved in each buffer for control messages (one `SCM_TIMESTAMPNS` takes 32 bytes).
const CONTROL_LEN: usize = 64;
/// One buffer: io_uring's 16-byte `recvmsg` header, name, control and a full datagram.
pub(crate) const RBUF_LEN: usize = 2048;
const _: () = assert!(16 + NAME_LEN + CONTROL_LEN + MAX_DATAGRAM <= RBUF_LEN);
/// Buffer group id of the ring.
pub(crate) const BGID: u16 = 0;

/// The provided-buffer ring of one scheduler's io_uring.
pub(crate) struct RecvRing {
    /// `RBUFS` ring entries (page-aligned, as the kernel requires).
    entries: NonNull<BufRingEntry>,
    /// `RBUFS` × `RBUF_LEN` bytes the kernel writes datagrams into.
    bufs: NonNull<u8>,
    /// Our copy of the ring's tail (published to the kernel by `publish`).
    tail: u16,
    /// The template every multishot `recvmsg` is armed with: only the name and control lengths matter.
    pub(crate) hdr: Box<libc::msghdr>,
}

fn entries_layout() -> Layout {
    // RBUFS entries of 16 bytes, page-aligned: a valid layout (non-zero size, power-of-two alignment).
    Layout::from_size_align(usize::from(RBUFS) * size_of::<BufRingEntry>(), 4096)
        .unwrap_or_else(|_| unreachable!("constant layout"))
}

fn bufs_layout() -> Layout {
    Layout::from_size_align(usize::from(RBUFS) * RBUF_LEN, 64)
        .unwrap_or_else(|_| unreachable!("constant layout"))
}

impl RecvRing {
    /// Allocates the ring and its buffers (all handed to the kernel once [`RecvRing::publish`] runs).
    pub(crate) fn new() -> RecvRing {
        // SAFETY: both layouts have non-zero size; a null result is handled by `handle_alloc_error`.
        let (entries, bufs) = unsafe {
            (
                alloc::alloc_zeroed(entries_layout()),
                alloc::alloc_zeroed(bufs_layout()),
            )
        };
        let entries = NonNull::new(entries.cast::<BufRingEntry>())
            .unwrap_or_else(|| alloc::handle_alloc_error(entries_layout()));
        let bufs = NonNull::new(bufs).unwrap_or_else(|| alloc::handle_alloc_error(bufs_layout()));
        // SAFETY: `msghdr` is a plain C struct; all-zero is a valid value.
        let mut hdr: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
        hdr.msg_namelen = NAME_LEN as libc::socklen_t;
        hdr.msg_controllen = CONTROL_LEN as _;
        let mut r = RecvRing {
            entries,
            bufs,
            tail: 0,
            hdr,
        };
        for bid in 0..RBUFS {
            r.give_back(bid);
        }
        r
    }

    /// Address of the ring entries, for registration.
    pub(crate) fn ring_addr(&self) -> u64 {
        self.entries.as_ptr() as u64
    }

    /// Returns buffer `bid` to the kernel (visible after [`RecvRing::publish`]).
    pub(crate) fn give_back(&mut self, bid: u16) {
        let bid = bid & (RBUFS - 1);
        let i = usize::from(self.tail & (RBUFS - 1));
        // SAFETY: `i < RBUFS`, inside the entries allocation; the kernel reads entries only between the head and
        // the published tail, and this one is past the published tail until `publish`.
        let e = unsafe { &mut *self.entries.as_ptr().add(i) };
        e.set_addr(self.bufs.as_ptr() as u64 + u64::from(bid) * RBUF_LEN as u64);
        e.set_len(RBUF_LEN as u32);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes the buffers given back visible to the kernel.
    pub(crate) fn publish(&self) {
        // SAFETY: the tail field overlays the reserved field of entry 0, which is valid, aligned memory; the
        // kernel reads it with an acquire load, we write it with a release store after the entries.
        unsafe {
            let tail = BufRingEntry::tail(self.entries.as_ptr()).cast::<AtomicU16>();
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    /// The `len` bytes the kernel wrote into buffer `bid`, parsed.
    pub(crate) fn read(&self, bid: u16, len: usize) -> Option<RecvMsgOut<'_>> {
        let len = len.min(RBUF_LEN);
        // SAFETY: buffer `bid` (< RBUFS) lies inside the allocation; the kernel has finished writing it (its
        // completion was posted) and will not write it again until `give_back` returns it.
        let buf = unsafe {
            std::slice::from_raw_parts(
                self.bufs
                    .as_ptr()
                    .add(usize::from(bid & (RBUFS - 1)) * RBUF_LEN),
                len,
            )
        };
        RecvMsgOut::parse(buf, &self.hdr).ok()
    }
}

impl Drop for RecvRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with these layouts; the owner unregisters the ring from the kernel (and
        // drops the io_uring) before this runs, so the kernel no longer refers to either.
        unsafe {
            alloc::dealloc(self.entries.as_ptr().cast(), entries_layout());
            alloc::dealloc(self.bufs.as_ptr(), bufs_layout());
        }
    }
}
