//! A scheduler: one OS thread with a single-threaded tokio runtime that owns a share of the calls. A timing wheel
//! with one slot per tick holds every call under the tick of its next packet; each wake-up sends what is due.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, LocalSet};

use super::call::{Call, CallIo, OpenCall, MAX_DATAGRAM};
use super::pacer::Pacer;
use super::{AudioSink, CallStats, Direction};
use crate::capture::CaptureConfig;
use crate::g711::Law;
use crate::prompt::Prompt;
use crate::rtp::PayloadType;

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

/// Starts scheduler thread `index`.
pub(crate) fn spawn(index: usize, tick: Duration) -> std::io::Result<SchedulerHandle> {
    let (tx, rx) = mpsc::unbounded_channel();
    let load = Arc::new(AtomicUsize::new(0));
    let thread_load = Arc::clone(&load);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(format!("vxgate-media-{index}"))
        .spawn(move || {
            let local = LocalSet::new();
            local.block_on(&rt, async move {
                let pacer = Pacer::new(tick);
                Scheduler::new(tick, pacer.epoch(), thread_load)
                    .run(rx, pacer)
                    .await;
            });
        })?;
    Ok(SchedulerHandle { tx, load })
}

struct Entry {
    gen: u32,
    call: Rc<RefCell<Call>>,
    io: Rc<CallIo>,
    task: JoinHandle<()>,
}

struct Scheduler {
    tick: Duration,
    epoch: Instant,
    /// Last tick whose slot was processed.
    processed: u64,
    wheel: Vec<Vec<(u32, u32)>>,
    /// Spare vector swapped with the slot being processed, so no slot loses its capacity.
    spare: Vec<(u32, u32)>,
    entries: Vec<Option<Entry>>,
    gens: Vec<u32>,
    free: Vec<usize>,
    by_id: HashMap<u64, usize>,
    load: Arc<AtomicUsize>,
    pkt: Box<[u8; MAX_DATAGRAM]>,
}

impl Scheduler {
    fn new(tick: Duration, epoch: Instant, load: Arc<AtomicUsize>) -> Scheduler {
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
        }
    }

    fn tick_at(&self, k: u64) -> Instant {
        self.epoch + Duration::from_nanos((self.tick.as_nanos() as u64).saturating_mul(k))
    }

    /// The first tick at or after `t`.
    fn tick_of(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.epoch).as_nanos();
        d.div_ceil(self.tick.as_nanos()) as u64
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
                    self.run_ticks(now);
                    // Commands and the receive tasks get their turn even when the ticks run back to back (the
                    // thread is behind): drain the queue, then yield to the runtime once per wake-up.
                    while let Ok(cmd) = rx.try_recv() {
                        self.command(cmd);
                    }
                    tokio::task::yield_now().await;
                }
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    self.command(cmd);
                    while let Ok(cmd) = rx.try_recv() {
                        self.command(cmd);
                    }
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
                let Some(Some(e)) = self.entries.get(idx as usize) else {
                    continue;
                };
                if e.gen != gen {
                    continue;
                }
                let next = e.call.borrow_mut().on_tick(now, &e.io, &mut self.pkt[..]);
                let t = self.tick_of(next).max(k + 1);
                self.wheel[(t % w) as usize].push((idx, gen));
            }
            due.clear();
            self.spare = due;
        }
        self.processed = current;
    }

    fn entry(&self, id: u64) -> Option<&Entry> {
        self.by_id
            .get(&id)
            .and_then(|&i| self.entries.get(i))
            .and_then(Option::as_ref)
    }

    fn with_call(&self, id: u64, f: impl FnOnce(&mut Call)) {
        match self.entry(id) {
            Some(e) => f(&mut e.call.borrow_mut()),
            None => tracing::debug!(call = id, "command for a closed media session"),
        }
    }

    fn command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Open(open) => self.open(*open, now),
            Command::SetRemote(id, addr) => self.with_call(id, |c| c.set_remote(addr)),
            Command::SetDirection(id, d) => self.with_call(id, |c| c.set_direction(d)),
            Command::Play(id, prompts, barge_in) => {
                self.with_call(id, |c| c.play(prompts, barge_in))
            }
            Command::StopPlayout(id) => self.with_call(id, Call::stop_playout),
            Command::SendDtmf(id, digits) => self.with_call(id, |c| c.send_dtmf(now, &digits)),
            Command::StartCapture(id, cfg) => self.with_call(id, |c| c.start_capture(now, cfg)),
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
        let rtp = open.lease.rtp.take().map(UdpSocket::from_std).transpose();
        let rtcp = open.lease.rtcp.take().map(UdpSocket::from_std).transpose();
        let (rtp, rtcp) = match (rtp, rtcp) {
            (Ok(Some(rtp)), Ok(rtcp)) => (rtp, rtcp),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(call = open.id, error = %e, "media socket could not join the scheduler");
                self.load.fetch_sub(1, Ordering::Relaxed);
                return;
            }
            (Ok(None), _) => {
                self.load.fetch_sub(1, Ordering::Relaxed);
                return;
            }
        };
        // Phase: the least crowded tick within one ptime, so calls spread over the grid.
        let w = self.wheel.len() as u64;
        let ptime_ticks = ((open.ptime.as_nanos() / self.tick.as_nanos()) as u64).clamp(1, w - 2);
        let base = self.current_tick(now).max(self.processed) + 1;
        let first = (base..base + ptime_ticks)
            .min_by_key(|k| self.wheel[(k % w) as usize].len())
            .unwrap_or(base);
        let call = Rc::new(RefCell::new(Call::new(&open, now, self.tick_at(first))));
        let id = open.id;
        let io = Rc::new(CallIo {
            rtp,
            rtcp,
            _lease: open.lease,
        });
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.entries.push(None);
                self.gens.push(0);
                self.entries.len() - 1
            }
        };
        self.gens[idx] = self.gens[idx].wrapping_add(1);
        let gen = self.gens[idx];
        let task = tokio::task::spawn_local(receive(Rc::clone(&call), Rc::clone(&io)));
        self.entries[idx] = Some(Entry {
            gen,
            call,
            io,
            task,
        });
        self.by_id.insert(id, idx);
        self.wheel[(first % w) as usize].push((idx as u32, gen));
    }

    fn close(&mut self, id: u64) {
        let Some(idx) = self.by_id.remove(&id) else {
            return;
        };
        let Some(e) = self.entries.get_mut(idx).and_then(Option::take) else {
            return;
        };
        e.call
            .borrow_mut()
            .close(Instant::now(), &e.io, &mut self.pkt[..]);
        e.task.abort();
        self.free.push(idx);
        self.load.fetch_sub(1, Ordering::Relaxed);
        tracing::debug!(call = id, "media session closed");
        // The sockets close, and the ports return to the pool, when the aborted task drops its `CallIo`.
    }
}

/// The receive loop of one call: reads its RTP and RTCP sockets and hands each datagram to the call.
async fn receive(call: Rc<RefCell<Call>>, io: Rc<CallIo>) {
    let mut rtp_buf = [0u8; MAX_DATAGRAM];
    let mut rtcp_buf = [0u8; MAX_DATAGRAM];
    loop {
        let res = tokio::select! {
            r = io.rtp.recv_from(&mut rtp_buf) => r.map(|(n, from)| {
                call.borrow_mut().on_rtp(Instant::now(), from, &rtp_buf[..n]);
            }),
            r = recv_opt(io.rtcp.as_ref(), &mut rtcp_buf) => r.map(|(n, from)| {
                call.borrow_mut().on_rtcp(Instant::now(), from, &rtcp_buf[..n]);
            }),
        };
        if let Err(e) = res {
            // Unconnected UDP sockets rarely fail on receive; back off so a failing socket cannot spin the thread.
            let id = call.borrow().id;
            tracing::debug!(call = id, error = %e, "media receive error");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn recv_opt(
    sock: Option<&UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}
