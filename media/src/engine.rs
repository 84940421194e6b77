//! The media I/O driver: UDP sockets from a port range and one pacing scheduler per core.
//!
//! The protocol cores ([`crate::rtp`], [`crate::playout`], [`crate::dtmf`]) never touch a socket or a clock; this
//! module is the only place that does. Its shape:
//!
//! - **Ports.** Each call gets its own RTP socket on an even port of the configured range and its RTCP socket on
//!   the odd port above (or RTP and RTCP on one port with RFC 5761 `rtcp-mux`). Closing the call returns them.
//! - **Schedulers.** `schedulers` OS threads (one per core by default), each running a single-threaded tokio
//!   runtime that owns its calls outright (no locks, no task per call). A call is pinned to the least loaded
//!   scheduler when it opens. The scheduler wakes on a fine grid (1 ms by default, a periodic `timerfd`) and on
//!   commands from the handles, and nothing else: no packet wakes it.
//! - **Receiving.** No task and no wake-up per call or per packet. Each socket has one multishot `recvmsg`
//!   armed on the scheduler's io_uring, drawing buffers from a ring shared with the kernel; the ring defers the
//!   reads to the scheduler's own thread, so they happen inside the one `io_uring_enter` of each tick that also
//!   submits the sends — no syscall per packet on either side. Where the kernel has no deferred task work or
//!   buffer rings (before Linux 6.1), or io_uring is off, all sockets sit in one edge-triggered epoll set that
//!   the tick asks (one `epoll_wait`, no waiting) which sockets received data, read each with one `recvmmsg` of up
//!   to 16 datagrams. Either way a datagram is handled up to one tick after it arrived, so every datagram carries
//!   the kernel's arrival time (`SO_TIMESTAMPNS`), and that, not the time of the tick, is the `now` the RTP
//!   session (jitter), the DTMF receiver, capture and audio taps see. Each tick sends first and then handles what
//!   arrived, so a call's cores may see an arrival stamped a little before their own tick's `now`; they take time
//!   that steps back. A socket error or a flood of garbage at one call's port stays with that call: its
//!   datagrams queue (or are dropped by the kernel) at its own socket, malformed packets are counted and dropped
//!   by that call's session, and a flood that exhausts the shared buffers only delays other calls' datagrams to
//!   the next tick (they wait in their own sockets; see `uring_recv`).
//! - **Sending.** At each tick, the packet of every call whose ptime boundary has come — one timing wheel per
//!   scheduler, calls spread over its slots so that a 20 ms grid does not mean every call of the core sends in
//!   the same millisecond; the same visit runs the call's RTCP and DTMF timers. Each call sends from its own
//!   socket (its SDP port, which symmetric-RTP peers expect), so `sendmmsg`, which batches datagrams of one
//!   socket, has nothing to batch; instead the tick's datagrams, from all the sockets, go to the kernel in one
//!   io_uring submission (`send` entries with the destination address and `MSG_DONTWAIT`, all completed within
//!   that one syscall; the sockets are registered with the ring so no send looks its descriptor up). Where
//!   io_uring is not available (old kernel, seccomp) or [`EngineConfig::io_uring`] is off, each datagram is one
//!   non-blocking `sendto`.
//! - **No allocation per packet.** Frames and datagrams are built in fixed buffers; receive and send buffers are
//!   allocated once per scheduler; prompts are shared `Arc`s.
//! - **Linux only**: io_uring, epoll, `recvmmsg`, `SO_TIMESTAMPNS`, `SCHED_FIFO`. The `unsafe` code this takes
//!   (syscalls and rings on buffers we own) is confined to the `recv`, `uring`, `uring_recv` and `priority`
//!   submodules.

mod call;
mod events;
mod pacer;
mod ports;
mod priority;
mod recv;
mod scheduler;
mod send;
mod sockopt;
mod uring;
mod uring_recv;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::capture::{CaptureConfig, Recording};
use crate::dtmf::{Digit, DtmfSource};
use crate::g711::Law;
use crate::playout::PlayoutConfig;
use crate::prompt::Prompt;
use crate::rtp::{PayloadType, SeqNo, SessionStats, Ssrc};

use ports::PortPool;
use scheduler::{Command, SchedulerHandle};

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Address the RTP sockets bind to.
    pub bind: IpAddr,
    /// Lowest port of the range (RTP ports are even).
    pub port_min: u16,
    /// Highest port of the range.
    pub port_max: u16,
    /// Default packetisation time for sessions that do not set one.
    pub ptime: Duration,
    /// Scheduler threads; 0 = one per available core.
    pub schedulers: usize,
    /// Scheduler grid; packets leave on this grid (1 ms by default).
    pub tick: Duration,
    /// Canonical name in RTCP SDES (§6.5.1); defaults to `vxgate@<bind>`.
    pub cname: Option<String>,
    /// Hand each tick's datagrams to the kernel in one io_uring submission (default); off, or where io_uring is
    /// not available, each datagram is one `sendto`.
    pub io_uring: bool,
    /// Run the scheduler threads under `SCHED_FIFO` at this priority (1–99), where the process may; `None`
    /// (default) leaves them to the normal scheduler.
    pub realtime_priority: Option<u8>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_min: 16384,
            port_max: 32767,
            ptime: Duration::from_millis(20),
            schedulers: 0,
            tick: Duration::from_millis(1),
            cname: None,
            io_uring: true,
            realtime_priority: None,
        }
    }
}

/// Media direction of a session (RFC 3264 §5.1: `sendrecv`, `sendonly`, `recvonly`, `inactive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Send and receive.
    #[default]
    SendRecv,
    /// Send only (incoming RTP is ignored).
    SendOnly,
    /// Receive only (no RTP is sent; RTCP still is).
    RecvOnly,
    /// Neither (RTCP continues).
    Inactive,
}

impl Direction {
    /// RTP goes out.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Incoming RTP is used.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// Settings of one call's media session (from SDP negotiation).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The G.711 law of the audio.
    pub law: Law,
    /// The audio payload type (normally `law.payload_type()`).
    pub payload_type: u8,
    /// The negotiated telephone-event payload type (RFC 4733), usually 101.
    pub telephone_event: Option<u8>,
    /// Packetisation time: 10, 20, 30 or 40 ms; `None` = the engine's default.
    pub ptime: Option<Duration>,
    /// Look for DTMF tones in the received audio too (peers without telephone-events).
    pub inband_dtmf: bool,
    /// Send nothing while no prompt plays (VAD); the default sends silence, as `no vad` gateways do.
    pub silence_suppression: bool,
    /// RTCP on the RTP port (RFC 5761).
    pub rtcp_mux: bool,
    /// Prompt queue settings.
    pub playout: PlayoutConfig,
    /// Tone length of each digit [`MediaHandle::send_dtmf`] sends.
    pub dtmf_tone: Duration,
    /// Silence after each sent digit.
    pub dtmf_pause: Duration,
}

impl SessionConfig {
    /// A session in `law` with its static payload type, telephone-event 101, the engine's ptime, silence when idle.
    pub fn new(law: Law) -> SessionConfig {
        SessionConfig {
            law,
            payload_type: law.payload_type(),
            telephone_event: Some(101),
            ptime: None,
            inband_dtmf: false,
            silence_suppression: false,
            rtcp_mux: false,
            playout: PlayoutConfig::default(),
            dtmf_tone: Duration::from_millis(100),
            dtmf_pause: Duration::from_millis(100),
        }
    }
}

/// What a session tells its owner.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// A DTMF digit, once per key press, from telephone-events or (with `inband_dtmf`) from the audio.
    Dtmf {
        /// The key.
        digit: Digit,
        /// How it arrived.
        source: DtmfSource,
    },
    /// The prompt queue finished or was cut short (barge-in, stop).
    PromptDone {
        /// Audio time played.
        played: Duration,
        /// Cut short.
        interrupted: bool,
    },
    /// The remote RTP source changed (re-lock after an SSRC change, RFC 3550 §8.2) or was first locked.
    RemoteSource {
        /// Its SSRC.
        ssrc: Ssrc,
    },
    /// The remote sent an RTCP BYE.
    RemoteBye,
    /// A capture ended (max time, final silence, no input, DTMF, or [`MediaHandle::stop_capture`]).
    Recorded(Recording),
    /// The call's socket failed; the call keeps its state but its media may be gone.
    SocketError {
        /// What the OS said.
        error: String,
    },
}

/// Receives every accepted audio packet of a call as it arrives (monitoring, benchmarks, tests). Runs on the
/// call's scheduler thread: it must not block.
pub trait AudioSink: Send {
    /// One accepted audio packet: arrival time, extended sequence number and timestamp, law and payload.
    fn audio(&mut self, now: Instant, seq: SeqNo, timestamp: u64, law: Law, payload: &[u8]);
    /// The tap was removed (by [`MediaHandle::untap_audio`], a new tap or the call closing).
    fn stop(&mut self, now: Instant) {
        let _ = now;
    }
}

/// Counters of a call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallStats {
    /// RTP/RTCP session counters and reception statistics.
    pub session: SessionStats,
    /// Datagrams the OS refused to send (buffer full, unreachable).
    pub send_errors: u64,
    /// Packets skipped because the scheduler fell more than a few ptimes behind.
    pub skipped: u64,
    /// Datagrams from an address other than the remote's.
    pub foreign_address: u64,
}

/// Engine errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The port range is empty or inverted.
    #[error("port range {min}-{max} holds no even/odd pair")]
    PortRange {
        /// Lowest port.
        min: u16,
        /// Highest port.
        max: u16,
    },
    /// Every pair of the range is in use (or could not be bound).
    #[error("no free rtp port pair in {min}-{max}")]
    NoPort {
        /// Lowest port.
        min: u16,
        /// Highest port.
        max: u16,
    },
    /// A session setting is out of range.
    #[error("invalid session setting: {0}")]
    Config(String),
    /// A socket or thread could not be set up.
    #[error("media engine i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The engine has shut down.
    #[error("media engine is shut down")]
    Shutdown,
}

#[derive(Debug)]
struct Shared {
    cfg: EngineConfig,
    ports: Arc<PortPool>,
    schedulers: Vec<SchedulerHandle>,
    next_id: AtomicUsize,
}

/// The media engine: owns the port range and the scheduler threads. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MediaEngine {
    shared: Arc<Shared>,
}

impl MediaEngine {
    /// Starts the scheduler threads.
    pub async fn start(cfg: EngineConfig) -> Result<MediaEngine, EngineError> {
        let ports = Arc::new(PortPool::new(cfg.bind, cfg.port_min, cfg.port_max)?);
        if cfg.tick.is_zero() || cfg.tick > Duration::from_millis(20) {
            return Err(EngineError::Config(format!(
                "tick {:?} outside (0, 20 ms]",
                cfg.tick
            )));
        }
        check_ptime(cfg.ptime)?;
        let n = if cfg.schedulers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            cfg.schedulers
        };
        let mut schedulers = Vec::with_capacity(n);
        for i in 0..n {
            schedulers.push(scheduler::spawn(
                i,
                cfg.tick,
                cfg.io_uring,
                cfg.realtime_priority,
            )?);
        }
        tracing::info!(schedulers = n, bind = %cfg.bind, ports = %format!("{}-{}", cfg.port_min, cfg.port_max), "media engine started");
        Ok(MediaEngine {
            shared: Arc::new(Shared {
                cfg,
                ports,
                schedulers,
                next_id: AtomicUsize::new(1),
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.cfg
    }

    /// Port pairs in use.
    pub fn ports_in_use(&self) -> usize {
        self.shared.ports.in_use()
    }

    /// Opens a session: binds its ports and pins it to the least loaded scheduler. Events arrive on the receiver;
    /// none is lost when the owner falls behind (they wait on the scheduler, up to a generous bound).
    pub async fn open(
        &self,
        cfg: SessionConfig,
    ) -> Result<(MediaHandle, mpsc::Receiver<MediaEvent>), EngineError> {
        self.open_on(cfg, None)
    }

    /// Opens a session on the scheduler of `peer`, for two sessions that exchange media inside this process (the
    /// two legs of a relayed call, a load generator's caller and its gateway leg): the datagrams between them then
    /// never cross cores — the kernel hands a loopback datagram to its socket on the sending core, and the reader
    /// is the same thread.
    pub async fn open_beside(
        &self,
        cfg: SessionConfig,
        peer: &MediaHandle,
    ) -> Result<(MediaHandle, mpsc::Receiver<MediaEvent>), EngineError> {
        self.open_on(cfg, Some(peer.scheduler))
    }

    fn open_on(
        &self,
        cfg: SessionConfig,
        scheduler: Option<usize>,
    ) -> Result<(MediaHandle, mpsc::Receiver<MediaEvent>), EngineError> {
        let ptime = cfg.ptime.unwrap_or(self.shared.cfg.ptime);
        check_ptime(ptime)?;
        let pt = PayloadType::new(cfg.payload_type).ok_or_else(|| {
            EngineError::Config(format!("payload type {} > 127", cfg.payload_type))
        })?;
        let te = match cfg.telephone_event {
            Some(t) => Some(PayloadType::new(t).ok_or_else(|| {
                EngineError::Config(format!("telephone-event payload type {t} > 127"))
            })?),
            None => None,
        };
        let lease = self.shared.ports.allocate(cfg.rtcp_mux)?;
        let local = lease
            .rtp
            .as_ref()
            .map(|s| s.local_addr())
            .transpose()?
            .ok_or(EngineError::Shutdown)?;
        for s in lease.rtp.iter().chain(lease.rtcp.iter()) {
            s.set_nonblocking(true)?;
        }
        let schedulers = &self.shared.schedulers;
        let (sched_index, sched) = match scheduler.and_then(|i| Some((i, schedulers.get(i)?))) {
            Some(chosen) => chosen,
            None => schedulers
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.load.load(Ordering::Relaxed))
                .ok_or(EngineError::Shutdown)?,
        };
        let (events_tx, events_rx) = mpsc::channel(events::CHANNEL);
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed) as u64;
        let cname = self
            .shared
            .cfg
            .cname
            .clone()
            .unwrap_or_else(|| format!("vxgate@{}", self.shared.cfg.bind));
        let open = call::OpenCall {
            id,
            lease,
            cfg,
            ptime,
            pt,
            te,
            cname,
            events: events_tx,
        };
        sched.load.fetch_add(1, Ordering::Relaxed);
        if sched.tx.send(Command::Open(Box::new(open))).is_err() {
            sched.load.fetch_sub(1, Ordering::Relaxed);
            return Err(EngineError::Shutdown);
        }
        tracing::debug!(call = id, %local, scheduler = sched_index, "media session opened");
        let handle = MediaHandle {
            id,
            local,
            scheduler: sched_index,
            tx: sched.tx.clone(),
            closed: false,
        };
        Ok((handle, events_rx))
    }
}

fn check_ptime(ptime: Duration) -> Result<(), EngineError> {
    if [10, 20, 30, 40]
        .iter()
        .any(|ms| ptime == Duration::from_millis(*ms))
    {
        Ok(())
    } else {
        Err(EngineError::Config(format!(
            "ptime {ptime:?}, expected 10, 20, 30 or 40 ms"
        )))
    }
}

/// One call's media session. Dropping it closes the session like [`MediaHandle::close`].
#[derive(Debug)]
pub struct MediaHandle {
    id: u64,
    local: SocketAddr,
    /// Index of the scheduler that owns the session.
    scheduler: usize,
    tx: mpsc::UnboundedSender<Command>,
    closed: bool,
}

impl MediaHandle {
    fn send(&self, cmd: Command) {
        // A closed scheduler means the engine is gone; the command has nothing left to act on.
        let _ = self.tx.send(cmd);
    }

    /// The engine's id of this session (for logs).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The local RTP address (the one to put in SDP).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Where to send RTP (RTCP goes to the next port up, or the same port with rtcp-mux).
    pub fn set_remote(&self, addr: SocketAddr) {
        self.send(Command::SetRemote(self.id, addr));
    }

    /// Changes the media direction (hold, resume).
    pub fn set_direction(&self, d: Direction) {
        self.send(Command::SetDirection(self.id, d));
    }

    /// Queues prompts; with `barge_in` the first DTMF digit stops the queue.
    pub fn play(&self, prompts: Vec<Prompt>, barge_in: bool) {
        self.send(Command::Play(self.id, prompts, barge_in));
    }

    /// Stops and empties the prompt queue (a `PromptDone { interrupted: true }` follows if something played).
    pub fn stop_playout(&self) {
        self.send(Command::StopPlayout(self.id));
    }

    /// Sends digits as RFC 4733 telephone-events (0-9, *, #, A-D; other characters are skipped).
    pub fn send_dtmf(&self, digits: &str) {
        self.send(Command::SendDtmf(self.id, digits.to_owned()));
    }

    /// Starts recording the received audio (VoiceXML `<record>`); a [`MediaEvent::Recorded`] follows when it
    /// stops. The law is the call's. A recording already running is stopped and reported first.
    pub fn start_capture(&self, cfg: CaptureConfig) {
        self.send(Command::StartCapture(self.id, cfg));
    }

    /// Stops the recording now; its [`MediaEvent::Recorded`] follows.
    pub fn stop_capture(&self) {
        self.send(Command::StopCapture(self.id));
    }

    /// Feeds every received audio packet to `sink` as well (replacing any previous tap).
    pub fn tap_audio(&self, sink: Box<dyn AudioSink>) {
        self.send(Command::TapAudio(self.id, sink));
    }

    /// Removes the tap.
    pub fn untap_audio(&self) {
        self.send(Command::UntapAudio(self.id));
    }

    /// Changes the law / payload type after a re-negotiation.
    pub fn set_codec(&self, law: Law, payload_type: u8) {
        if let Some(pt) = PayloadType::new(payload_type) {
            self.send(Command::SetCodec(self.id, law, pt));
        }
    }

    /// Current counters, or `None` if the session is gone. The request leaves at once; await the answer when
    /// convenient (many requests can be in flight together).
    pub fn stats(&self) -> impl std::future::Future<Output = Option<CallStats>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Stats(self.id, tx));
        async move { rx.await.ok() }
    }

    /// Ends the session: sends RTCP BYE, closes the sockets and returns the ports.
    pub fn close(mut self) {
        self.closed = true;
        self.send(Command::Close(self.id));
    }
}

impl Drop for MediaHandle {
    fn drop(&mut self) {
        if !self.closed {
            self.send(Command::Close(self.id));
        }
    }
}
