//! A scheduler: one OS thread with a single-threaded tokio runtime that owns a share of the calls. It wakes only
//! on its tick (and for commands): each wake-up reads what arrived at its calls' sockets ([`super::recv`]), sends
//! every packet that is due — a timing wheel with one slot per tick holds every call under the tick of its next
//! packet — and hands the tick's datagrams to the kernel together ([`super::send`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::call::{Call, CallIo, Link, OpenCall, MAX_DATAGRAM, MAX_VISIT_DATAGRAMS};
use super::pacer::Pacer;
use super::recv::{self, Poller, RecvBatch};
use super::send::Outbox;
use super::sockopt;
use super::{AudioSink, CallStats, Direction};
use crate::capture::CaptureConfig;
use crate::g711::Law;
use crate::prompt::Prompt;
use crate::rtp::PayloadType;

mod delivery;

/// Longest ptime the wheel must span.
const MAX_PTIME: Duration = Duration::from_millis(40);

/// Requests from handles to the scheduler that owns the call.
pub(crate) enum Command {
    Open(Box<OpenCall>),
    SetRemote(u64, SocketAddr),
    SetDirection(u64, Direction),
    Play(u64, Vec<Prompt>, bool),
    StopPlayout(u64),
    SendDtmf(u64, String),
    StartCapture(u64, CaptureConfig),
    StopCapture(u64),
    TapAudio(u64, Box<dyn AudioSink>),
    UntapAudio(u64),
    SetCodec(u64, Law, PayloadType),
    Stats(u64, oneshot::Sender<CallStats>),
    Close(u64),
}

/// The engine's side of a scheduler.
#[derive(Debug)]
pub(crate) struct SchedulerHandle {
    pub tx: mpsc::UnboundedSender<Command>,
    /// Calls on this scheduler.
    pub load: Arc<AtomicUsize>,
}

/// Starts scheduler thread `index`; `batch_sends` asks for io_uring sends; `realtime` for `SCHED_FIFO` at that
/// priority.
pub(crate) fn spawn(
    index: usize,
    tick: Duration,
    batch_sends: bool,
    realtime: Option<u8>,
) -> std::io::Result<SchedulerHandle> {
    let (tx, rx) = mpsc::unbounded_channel();
    let load = Arc::new(AtomicUsize::new(0));
    let thread_load = Arc::clone(&load);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let poller = Poller::new()?;
    std::thread::Builder::new()
        .name(format!("vxgate-media-{index}"))
        .spawn(move || {
            if let Some(p) = realtime {
                match super::priority::set_realtime(p) {
                    Ok(()) => tracing::debug!(scheduler = index, priority = p, "media scheduler under SCHED_FIFO"),
                    Err(e) => tracing::info!(scheduler = index, error = %e, "media scheduler left at normal priority"),
                }
            }
            rt.block_on(async move {
                let pacer = Pacer::new(tick);
                // The ring is made on the thread that submits to it (single-issuer rings are bound to it).
                let out = Outbox::new(batch_sends);
                Scheduler::new(tick, pacer.epoch(), thread_load, poller, out)
                    .run(rx, pacer)
                    .await;
            });
        })?;
    Ok(SchedulerHandle { tx, load })
}

struct Entry {
    gen: u32,
    call: Call,
    io: CallIo,
    /// The tick the call is filed under in the wheel. A call brought forward ([`Scheduler::with_call_woken`])
    /// leaves a stale copy in its old slot, skipped there because that slot is not its tick's; a second copy in
    /// the same slot is skipped because the first visit has filed the call under a later tick.
    due: u64,
}

/// A socket's token in the poller and the call's in the outbox: slot index, generation, and whether it is the
/// call's separate RTCP socket.
fn token(idx: usize, gen: u32, rtcp: bool) -> u64 {
    ((idx as u64) << 32) | (u64::from(gen) << 1) | u64::from(rtcp)
}

fn untoken(t: u64) -> (usize, u32, bool) {
    (
        (t >> 32) as usize,
        ((t & 0xffff_ffff) >> 1) as u32,
        t & 1 == 1,
    )
}

/// The entry a token names, if it is still the same call.
fn live(entries: &mut [Option<Box<Entry>>], t: u64) -> Option<&mut Entry> {
    let (idx, gen, _) = untoken(t);
    entries
        .get_mut(idx)?
        .as_deref_mut()
        .filter(|e| e.gen == gen)
}

/// The first tick at or after `t` on the grid of `tick` from `epoch`.
fn first_tick_at(epoch: Instant, tick: Duration, t: Instant) -> u64 {
    let d = t.saturating_duration_since(epoch).as_nanos();
    d.div_ceil(tick.as_nanos()) as u64
}

/// Generations fit in 31 bits (the token's low bit tells the socket).
const GEN_MASK: u32 = 0x7fff_ffff;

struct Scheduler {
    tick: Duration,
    epoch: Instant,
    /// Last tick whose slot was processed.
    processed: u64,
    wheel: Vec<Vec<(u32, u32)>>,
    /// Spare vector swapped with the slot being processed, so no slot loses its capacity.
    spare: Vec<(u32, u32)>,
    entries: Vec<Option<Box<Entry>>>,
    gens: Vec<u32>,
    free: Vec<usize>,
    by_id: HashMap<u64, usize>,
    load: Arc<AtomicUsize>,
    pkt: Box<[u8; MAX_DATAGRAM]>,
    poller: Poller,
    batch: RecvBatch,
    out: Outbox,
    /// When the previous delivery of received datagrams ended: no arrival stamp is put before it (see [`delivery`]).
    floor: Instant,
    /// Sockets that still held data when their read budget for the tick ran out (read first next tick).
    backlog: Vec<u64>,
    backlog_next: Vec<u64>,
    /// Receiving through io_uring (else through `poller`).
    uring_rx: bool,
    /// Sockets whose io_uring receive ended, to arm again.
    rearm: Vec<u64>,
}

impl Scheduler {
    fn new(
        tick: Duration,
        epoch: Instant,
        load: Arc<AtomicUsize>,
        poller: Poller,
        out: Outbox,
    ) -> Scheduler {
        let span = (MAX_PTIME.as_nanos() / tick.as_nanos().max(1)) as usize;
        Scheduler {
            tick,
            epoch,
            processed: 0,
            wheel: vec![Vec::new(); span * 2 + 4],
            spare: Vec::new(),
            entries: Vec::new(),
            gens: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            load,
            pkt: Box::new([0; MAX_DATAGRAM]),
            poller,
            batch: RecvBatch::new(),
            floor: epoch,
            backlog: Vec::new(),
            backlog_next: Vec::new(),
            uring_rx: out.receives(),
            out,
            rearm: Vec::new(),
        }
    }

    fn tick_at(&self, k: u64) -> Instant {
        self.epoch + Duration::from_nanos((self.tick.as_nanos() as u64).saturating_mul(k))
    }

    fn current_tick(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.epoch).as_nanos() / self.tick.as_nanos()) as u64
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>, mut pacer: Pacer) {
        loop {
            tokio::select! {
                biased;
                () = pacer.wait(self.processed) => {
                    let now = Instant::now();
                    // Sends first, so their timing does not depend on how much arrived; then what arrived (in the
                    // same io_uring submission, or through epoll). A call may so see a datagram stamped a little
                    // before the `now` of its own visit this tick: the protocol cores take time that steps back
                    // (saturating), and arrival times stay the kernel's.
                    self.run_ticks(now);
                    self.complete();
                    self.receive();
                    // Commands get their turn even when the ticks run back to back (the thread is behind): drain
                    // the queue, then yield to the runtime once per wake-up.
                    while let Ok(cmd) = rx.try_recv() {
                        self.command(cmd);
                    }
                    self.complete();
                    tokio::task::yield_now().await;
                }
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    self.command(cmd);
                    while let Ok(cmd) = rx.try_recv() {
                        self.command(cmd);
                    }
                    self.complete();
                }
            }
        }
        let ids: Vec<u64> = self.by_id.keys().copied().collect();
        for id in ids {
            self.close(id);
        }
    }

    fn run_ticks(&mut self, now: Instant) {
        let current = self.current_tick(now);
        let w = self.wheel.len() as u64;
        // After a stall longer than the wheel, every slot is visited once; calls catch up or skip themselves.
        let first = (self.processed + 1).max(current.saturating_sub(w - 1));
        for k in first..=current {
            let slot = (k % w) as usize;
            std::mem::swap(&mut self.wheel[slot], &mut self.spare);
            let mut due = std::mem::take(&mut self.spare);
            for &(idx, gen) in &due {
                // A scheduler catching up after a stall queues more than a tick's worth: hand the batch over
                // before the queue fills, so every datagram still goes through the ring (the direct `sendto`
                // fallback costs more per packet just when time is short).
                if self.out.room() < MAX_VISIT_DATAGRAMS {
                    self.complete();
                }
                let Some(Some(e)) = self.entries.get_mut(idx as usize) else {
                    continue;
                };
                if e.gen != gen || e.due % w != k % w {
                    continue;
                }
                let mut link = Link {
                    io: &e.io,
                    out: &mut self.out,
                    token: token(idx as usize, gen, false),
                };
                let next = e.call.on_tick(now, &mut link, &mut self.pkt[..]);
                let t = first_tick_at(self.epoch, self.tick, next).max(k + 1);
                e.due = t;
                self.wheel[(t % w) as usize].push((idx, gen));
            }
            due.clear();
            self.spare = due;
            if k < current {
                // Catching up: each overdue tick's datagrams go out and what they brought back is delivered
                // before the next tick's, as on time. Sending every overdue tick first would put thousands of
                // calls' state (and their sockets' in the kernel) in play at once, each visit missing the cache.
                self.complete();
            }
        }
        self.processed = current;
    }

    fn call_mut(&mut self, id: u64) -> Option<&mut Call> {
        let i = *self.by_id.get(&id)?;
        self.entries
            .get_mut(i)
            .and_then(Option::as_mut)
            .map(|e| &mut e.call)
    }

    fn with_call(&mut self, id: u64, f: impl FnOnce(&mut Call)) {
        match self.call_mut(id) {
            Some(c) => f(c),
            None => tracing::debug!(call = id, "command for a closed media session"),
        }
    }

    /// Runs a command that may give a quiet call something to do at its frame times (see [`Call::quiet`]): the
    /// call's frame clock first settles (quiet frames are not sent late), and if the call is filed for a later
    /// visit it is brought forward to the next tick.
    fn with_call_woken(&mut self, id: u64, now: Instant, f: impl FnOnce(&mut Call)) {
        let Some(&idx) = self.by_id.get(&id) else {
            tracing::debug!(call = id, "command for a closed media session");
            return;
        };
        let next = self.processed + 1;
        let w = self.wheel.len() as u64;
        let Some(Some(e)) = self.entries.get_mut(idx) else {
            return;
        };
        e.call.settle(now);
        f(&mut e.call);
        if e.due > next {
            e.due = next;
            self.wheel[(next % w) as usize].push((idx as u32, e.gen));
        }
    }

    fn command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Open(open) => self.open(*open, now),
            Command::SetRemote(id, addr) => self.with_call_woken(id, now, |c| c.set_remote(addr)),
            Command::SetDirection(id, d) => self.with_call_woken(id, now, |c| c.set_direction(d)),
            Command::Play(id, prompts, barge_in) => {
                self.with_call_woken(id, now, |c| c.play(prompts, barge_in))
            }
            Command::StopPlayout(id) => self.with_call(id, Call::stop_playout),
            Command::SendDtmf(id, digits) => {
                self.with_call_woken(id, now, |c| c.send_dtmf(now, &digits))
            }
            Command::StartCapture(id, cfg) => {
                self.with_call_woken(id, now, |c| c.start_capture(now, cfg))
            }
            Command::StopCapture(id) => self.with_call(id, Call::stop_capture),
            Command::TapAudio(id, sink) => self.with_call(id, |c| c.tap_audio(now, sink)),
            Command::UntapAudio(id) => self.with_call(id, |c| c.untap_audio(now)),
            Command::SetCodec(id, law, pt) => self.with_call(id, |c| c.set_codec(law, pt)),
            Command::Stats(id, reply) => self.with_call(id, |c| {
                let _ = reply.send(c.stats());
            }),
            Command::Close(id) => self.close(id),
        }
    }

    fn open(&mut self, mut open: OpenCall, now: Instant) {
        let (Some(rtp), rtcp) = (open.lease.rtp.take(), open.lease.rtcp.take()) else {
            self.load.fetch_sub(1, Ordering::Relaxed);
            return;
        };
        // Phase: the least crowded tick within one ptime, so calls spread over the grid.
        let w = self.wheel.len() as u64;
        let ptime_ticks = ((open.ptime.as_nanos() / self.tick.as_nanos()) as u64).clamp(1, w - 2);
        let base = self.current_tick(now).max(self.processed) + 1;
        let first = (base..base + ptime_ticks)
            .min_by_key(|k| self.wheel[(k % w) as usize].len())
            .unwrap_or(base);
        let call = Call::new(&open, now, self.tick_at(first));
        let id = open.id;
        let rtp_fixed = self.out.register(&rtp);
        let rtcp_fixed = rtcp.as_ref().and_then(|s| self.out.register(s));
        let io = CallIo {
            rtp,
            rtcp,
            rtp_fixed,
            rtcp_fixed,
            _lease: open.lease,
        };
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.entries.push(None);
                self.gens.push(0);
                self.entries.len() - 1
            }
        };
        self.gens[idx] = self.gens[idx].wrapping_add(1) & GEN_MASK;
        let gen = self.gens[idx];
        let sockets = [(false, Some(&io.rtp)), (true, io.rtcp.as_ref())];
        let mut watched = Vec::with_capacity(2);
        let mut failed = None;
        for (rtcp, sock) in sockets {
            let Some(sock) = sock else { continue };
            let t = token(idx, gen, rtcp);
            if sock.local_addr().is_ok_and(|a| a.is_ipv4()) {
                if let Err(e) = sockopt::atomic_datagrams(sock) {
                    tracing::debug!(call = id, error = %e, "don't-fragment not set");
                }
            }
            let res = recv::enable_timestamps(sock).and_then(|()| {
                if self.uring_rx {
                    self.out.arm_recv(sock.as_raw_fd(), t)
                } else {
                    self.poller.add(sock.as_raw_fd(), t)
                }
            });
            match res {
                Ok(()) => watched.push((sock.as_raw_fd(), t)),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            tracing::error!(call = id, error = %e, "media socket could not join the scheduler");
            for (fd, t) in watched {
                if self.uring_rx {
                    self.out.cancel_recv(t);
                } else {
                    self.poller.remove(fd);
                }
            }
            self.out.unregister(io.rtp_fixed);
            self.out.unregister(io.rtcp_fixed);
            self.free.push(idx);
            self.load.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        self.entries[idx] = Some(Box::new(Entry {
            gen,
            call,
            io,
            due: first,
        }));
        self.by_id.insert(id, idx);
        self.wheel[(first % w) as usize].push((idx as u32, gen));
    }

    fn close(&mut self, id: u64) {
        let Some(idx) = self.by_id.remove(&id) else {
            return;
        };
        let Some(mut e) = self.entries.get_mut(idx).and_then(Option::take) else {
            return;
        };
        let mut link = Link {
            io: &e.io,
            out: &mut self.out,
            token: token(idx, e.gen, false),
        };
        let now = Instant::now().max(self.floor);
        e.call.close(now, &mut link, &mut self.pkt[..]);
        if self.uring_rx {
            self.out.cancel_recv(token(idx, e.gen, false));
            if e.io.rtcp.is_some() {
                self.out.cancel_recv(token(idx, e.gen, true));
            }
        } else {
            self.poller.remove(e.io.rtp.as_raw_fd());
            if let Some(s) = e.io.rtcp.as_ref() {
                self.poller.remove(s.as_raw_fd());
            }
        }
        // The BYE leaves (and the receives end) before the sockets close.
        self.complete();
        // The ring holds its own reference to a registered socket: released here, the socket closes with `e`.
        self.out.unregister(e.io.rtp_fixed);
        self.out.unregister(e.io.rtcp_fixed);
        self.free.push(idx);
        self.load.fetch_sub(1, Ordering::Relaxed);
        tracing::debug!(call = id, "media session closed");
        // Dropping the entry closes the sockets and returns the ports to the pool.
        drop(e);
    }
}
