//! One call inside a scheduler: its sans-IO cores (RTP session, playout, DTMF) and the glue that turns a tick or
//! a datagram into packets and events. Runs only on its scheduler's thread.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::ports::PortLease;
use super::{AudioSink, CallStats, Direction, MediaEvent, SessionConfig};
use crate::g711::Law;
use crate::playout::{Fill, Playout, PlayoutEvent};
use crate::rtp::{self, Discard, PayloadType, ReceiverConfig, SenderConfig, Session, Verdict};

/// Largest datagram handled.
pub(crate) const MAX_DATAGRAM: usize = 1500;
/// Most packets a call sends in one visit to catch up after the scheduler was late; beyond, it skips.
const MAX_BURST: u32 = 3;

/// What `MediaEngine::open` hands to the scheduler.
pub(crate) struct OpenCall {
    pub id: u64,
    pub lease: PortLease,
    pub cfg: SessionConfig,
    pub ptime: Duration,
    pub pt: PayloadType,
    pub te: Option<PayloadType>,
    pub cname: String,
    pub events: mpsc::Sender<MediaEvent>,
}

/// The call's sockets, shared by the call (sending) and its receive task.
pub(crate) struct CallIo {
    pub rtp: UdpSocket,
    pub rtcp: Option<UdpSocket>,
    /// Holds the ports until the sockets above are closed; declared last so it drops last.
    pub _lease: PortLease,
}

/// One call's state.
pub(crate) struct Call {
    pub id: u64,
    session: Session,
    playout: Playout,
    law: Law,
    te: Option<PayloadType>,
    spf: usize,
    pub ptime: Duration,
    remote: Option<SocketAddr>,
    remote_rtcp: Option<SocketAddr>,
    rtcp_mux: bool,
    direction: Direction,
    vad: bool,
    events: mpsc::Sender<MediaEvent>,
    /// When the next packet is due.
    pub next_due: Instant,
    sink: Option<Box<dyn AudioSink>>,
    send_errors: u64,
    skipped: u64,
    foreign_address: u64,
    socket_error_reported: bool,
}

impl Call {
    pub(crate) fn new(open: &OpenCall, now: Instant, first_due: Instant) -> Call {
        let mut rng = rand::rng();
        let sender = SenderConfig::random(open.pt, &mut rng);
        let spf = (open.ptime.as_millis() as usize) * 8;
        let session = Session::new(
            rtp::SessionConfig {
                sender,
                receiver: ReceiverConfig { jitter_payload_type: Some(open.pt), ..ReceiverConfig::default() },
                cname: open.cname.clone(),
                // G.711 payload + 40 octets of IP/UDP/RTP headers per packet.
                session_bandwidth: 8000.0 + 40.0 * 1000.0 / open.ptime.as_millis().max(1) as f64,
                seed: rand::Rng::random(&mut rng),
            },
            now,
            SystemTime::now(),
        );
        Call {
            id: open.id,
            session,
            playout: Playout::new(open.cfg.law, open.cfg.playout),
            law: open.cfg.law,
            te: open.te,
            spf,
            ptime: open.ptime,
            remote: None,
            remote_rtcp: None,
            rtcp_mux: open.cfg.rtcp_mux,
            direction: Direction::SendRecv,
            vad: open.cfg.silence_suppression,
            events: open.events.clone(),
            next_due: first_due,
            sink: None,
            send_errors: 0,
            skipped: 0,
            foreign_address: 0,
            socket_error_reported: false,
        }
    }

    fn emit(&mut self, ev: MediaEvent) {
        if let Err(e) = self.events.try_send(ev) {
            tracing::warn!(call = self.id, error = %e, "media event dropped");
        }
    }

    pub(crate) fn set_remote(&mut self, addr: SocketAddr) {
        self.remote = Some(addr);
        self.remote_rtcp =
            Some(if self.rtcp_mux { addr } else { SocketAddr::new(addr.ip(), addr.port().wrapping_add(1)) });
    }

    pub(crate) fn set_direction(&mut self, d: Direction) {
        self.direction = d;
    }

    pub(crate) fn set_codec(&mut self, law: Law, pt: PayloadType) {
        self.law = law;
        self.playout.set_law(law);
        self.session.sender().set_payload_type(pt);
    }

    pub(crate) fn play(&mut self, prompts: Vec<crate::prompt::Prompt>, barge_in: bool) {
        self.playout.play(prompts, barge_in);
    }

    pub(crate) fn stop_playout(&mut self) {
        self.playout.stop();
        self.drain_playout_events();
    }

    pub(crate) fn send_dtmf(&mut self, _now: Instant, digits: &str) {
        tracing::debug!(call = self.id, digits, "dtmf send requested");
    }

    pub(crate) fn start_capture(&mut self, now: Instant, sink: Box<dyn AudioSink>) {
        self.stop_capture(now);
        self.sink = Some(sink);
    }

    pub(crate) fn stop_capture(&mut self, now: Instant) {
        if let Some(mut s) = self.sink.take() {
            s.stop(now);
        }
    }

    pub(crate) fn stats(&self) -> CallStats {
        CallStats {
            session: self.session.stats(),
            send_errors: self.send_errors,
            skipped: self.skipped,
            foreign_address: self.foreign_address,
        }
    }

    fn drain_playout_events(&mut self) {
        while let Some(PlayoutEvent::PromptDone { played, interrupted }) = self.playout.poll_event() {
            self.emit(MediaEvent::PromptDone { played, interrupted });
        }
    }

    fn send_to(&mut self, sock: &UdpSocket, buf: &[u8], to: SocketAddr) {
        if let Err(e) = sock.try_send_to(buf, to) {
            self.send_errors += 1;
            if !self.socket_error_reported && e.kind() != std::io::ErrorKind::WouldBlock {
                self.socket_error_reported = true;
                tracing::warn!(call = self.id, %to, error = %e, "rtp send failed");
                self.emit(MediaEvent::SocketError { error: e.to_string() });
            }
        }
    }

    /// The scheduler's visit: sends every packet due by `now` (catching up at most `MAX_BURST`), then runs the
    /// call's other timers (RTCP). Returns the next due time.
    pub(crate) fn on_tick(&mut self, now: Instant, io: &CallIo, pkt: &mut [u8]) -> Instant {
        let mut sent = 0;
        while self.next_due <= now {
            if sent == MAX_BURST {
                let behind = now.saturating_duration_since(self.next_due);
                let k = (behind.as_nanos() / self.ptime.as_nanos()) as u32 + 1;
                self.session.sender().pause(k * self.spf as u32);
                self.next_due += self.ptime * k;
                self.skipped += u64::from(k);
                break;
            }
            self.send_frame(now, io, pkt);
            self.next_due += self.ptime;
            sent += 1;
        }
        if now >= self.session.poll_timeout() {
            match self.session.poll_rtcp(now, pkt) {
                Ok(Some(n)) => {
                    if let Some(to) = self.remote_rtcp {
                        let sock = io.rtcp.as_ref().unwrap_or(&io.rtp);
                        self.send_to(sock, &pkt[..n], to);
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(call = self.id, error = %e, "rtcp report not written"),
            }
        }
        self.next_due
    }

    fn send_frame(&mut self, now: Instant, io: &CallIo, pkt: &mut [u8]) {
        let mut frame = [0u8; 320];
        let spf = self.spf.min(frame.len());
        let frame = &mut frame[..spf];
        let fill = self.playout.fill(frame);
        self.drain_playout_events();
        let Some(to) = self.remote.filter(|_| self.direction.sends()) else {
            self.session.sender().pause(spf as u32);
            return;
        };
        if self.vad && fill == Fill::Idle {
            self.session.sender().pause(spf as u32);
            return;
        }
        match self.session.sender().audio(now, frame, spf as u32, pkt) {
            Ok(n) => self.send_to(&io.rtp, &pkt[..n], to),
            Err(e) => tracing::warn!(call = self.id, error = %e, "rtp packet not written"),
        }
    }

    /// A datagram arrived on the RTP socket (or, with rtcp-mux, either kind).
    pub(crate) fn on_rtp(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        if self.rtcp_mux && data.len() >= 2 && (192..=223).contains(&data[1]) {
            // RFC 5761 §4: payload types 64-95 with the marker bit are RTCP packet types 192-223.
            self.on_rtcp(now, from, data);
            return;
        }
        if self.remote.is_some_and(|r| r.ip() != from.ip()) {
            self.foreign_address += 1;
            return;
        }
        let verdict = match self.session.handle_rtp(now, data) {
            Ok(v) => v,
            Err(e) => {
                tracing::trace!(call = self.id, %from, error = %e, "malformed rtp dropped");
                return;
            }
        };
        let Verdict::Accept(acc) = verdict else {
            if let Verdict::Discard(Discard::OtherSource(ssrc)) = verdict {
                tracing::trace!(call = self.id, %ssrc, "packet from another source dropped");
            }
            return;
        };
        if acc.new_source {
            self.emit(MediaEvent::RemoteSource { ssrc: acc.packet.ssrc });
        }
        if !self.direction.receives() {
            return;
        }
        let p = acc.packet;
        if Some(p.payload_type) == self.te {
            return;
        }
        if p.payload_type != self.session.sender().payload_type() {
            return;
        }
        if let Some(sink) = self.sink.as_mut() {
            sink.audio(now, acc.seq, acc.timestamp, self.law, p.payload);
        }
    }

    /// A datagram arrived on the RTCP socket.
    pub(crate) fn on_rtcp(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        if self.remote.is_some_and(|r| r.ip() != from.ip()) {
            self.foreign_address += 1;
            return;
        }
        match self.session.handle_rtcp(now, data) {
            Ok(news) => {
                if news.bye {
                    self.emit(MediaEvent::RemoteBye);
                }
            }
            Err(e) => tracing::trace!(call = self.id, %from, error = %e, "malformed rtcp dropped"),
        }
    }

    /// Closing: stops playout and capture and writes the BYE compound for the caller to send.
    pub(crate) fn close(&mut self, now: Instant, io: &CallIo, pkt: &mut [u8]) {
        self.stop_capture(now);
        self.playout.stop();
        self.drain_playout_events();
        if let Some(to) = self.remote_rtcp {
            match self.session.bye(now, pkt) {
                Ok(n) => {
                    let sock = io.rtcp.as_ref().unwrap_or(&io.rtp);
                    self.send_to(sock, &pkt[..n], to);
                }
                Err(e) => tracing::warn!(call = self.id, error = %e, "rtcp bye not written"),
            }
        }
    }
}
