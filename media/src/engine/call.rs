//! One call inside a scheduler: its sans-IO cores (RTP session, playout, DTMF) and the glue that turns a tick or
//! a datagram into packets and events. Runs only on its scheduler's thread.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use std::net::UdpSocket;

use tokio::sync::mpsc;

use super::events::EventQueue;
use super::ports::PortLease;
use super::send::Outbox;
use super::{AudioSink, CallStats, Direction, MediaEvent, SessionConfig};
use crate::capture::{Capture, CaptureConfig};
use crate::dtmf::{Digit, DigitEvent, DtmfSource, InbandDetector, Rfc4733Receiver, Rfc4733Sender};
use crate::g711::{self, Law};
use crate::playout::{Fill, Playout, PlayoutEvent};
use crate::rtp::{
    self, Discard, PayloadType, ReceiverConfig, RtpTime, SenderConfig, Session, Verdict,
};

/// Largest datagram handled.
pub(crate) const MAX_DATAGRAM: usize = 1500;
/// Most packets a call sends in one visit to catch up after the scheduler was late; beyond, it skips.
const MAX_BURST: u32 = 5;
/// A bound on the datagrams one visit can queue: a burst of frames, each at most a few telephone-event packets
/// (an update and the three ends of RFC 4733 §2.5.1.4), and an RTCP report.
pub(crate) const MAX_VISIT_DATAGRAMS: usize = MAX_BURST as usize * 4 + 1;
/// A telephone-event with no end packet ends this long after its last packet (five 50 ms updates).
const DTMF_END_TIMEOUT: Duration = Duration::from_millis(250);
/// Silence after which a latched source address is released.
const RELATCH: Duration = Duration::from_millis(500);
/// Longest time between two visits of a quiet call (see [`Call::quiet`]): its other timers (an RTCP report, a
/// telephone-event that lost its end packets) are then served this much late at most.
pub(crate) const QUIET_VISITS: Duration = Duration::from_millis(60);

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

/// The call's sockets (non-blocking), owned by its scheduler's entry.
pub(crate) struct CallIo {
    pub rtp: UdpSocket,
    pub rtcp: Option<UdpSocket>,
    /// The sockets' indexes in the send queue's registered-file table, if registered.
    pub rtp_fixed: Option<u32>,
    pub rtcp_fixed: Option<u32>,
    /// Holds the ports until the sockets above are closed; declared last so it drops last.
    pub _lease: PortLease,
}

/// Where a call's packets go during one visit: its sockets and the scheduler's send queue.
pub(crate) struct Link<'a> {
    pub io: &'a CallIo,
    pub out: &'a mut Outbox,
    /// The call's token in the scheduler, for failures the send queue reports later.
    pub token: u64,
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
    /// Address of the accepted stream and when it last delivered.
    latched: Option<(SocketAddr, Instant)>,
    /// When a packet last came from exactly the SDP address.
    remote_seen: Option<Instant>,
    rtcp_mux: bool,
    direction: Direction,
    vad: bool,
    events: EventQueue,
    /// When the next packet is due.
    pub next_due: Instant,
    sink: Option<Box<dyn AudioSink>>,
    capture: Option<Capture>,
    dtmf_rx: Rfc4733Receiver,
    inband: Option<Box<InbandDetector>>,
    dtmf_tx: Rfc4733Sender,
    dtmf_tone: Duration,
    dtmf_pause: Duration,
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
                receiver: ReceiverConfig {
                    jitter_payload_type: Some(open.pt),
                    ..ReceiverConfig::default()
                },
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
            latched: None,
            remote_seen: None,
            rtcp_mux: open.cfg.rtcp_mux,
            direction: Direction::SendRecv,
            vad: open.cfg.silence_suppression,
            events: EventQueue::new(open.events.clone()),
            next_due: first_due,
            sink: None,
            capture: None,
            dtmf_rx: Rfc4733Receiver::new(DTMF_END_TIMEOUT),
            // Boxed: the detector's 4 KB would otherwise sit in every call, used or not, spreading each call's
            // hot state over two pages.
            inband: open
                .cfg
                .inband_dtmf
                .then(|| Box::new(InbandDetector::new())),
            dtmf_tx: Rfc4733Sender::new(),
            dtmf_tone: open.cfg.dtmf_tone,
            dtmf_pause: open.cfg.dtmf_pause,
            send_errors: 0,
            skipped: 0,
            foreign_address: 0,
            socket_error_reported: false,
        }
    }

    fn emit(&mut self, ev: MediaEvent) {
        self.events.emit(self.id, ev);
    }

    /// Sets where media goes (SDP answer, re-INVITE). A new address also drops the latch on the old one, so the
    /// peer's stream from its new place is taken at once.
    pub(crate) fn set_remote(&mut self, addr: SocketAddr) {
        if self.remote != Some(addr) {
            self.latched = None;
            self.remote_seen = None;
        }
        self.remote = Some(addr);
        self.remote_rtcp = Some(if self.rtcp_mux {
            addr
        } else {
            SocketAddr::new(addr.ip(), addr.port().wrapping_add(1))
        });
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

    pub(crate) fn send_dtmf(&mut self, now: Instant, digits: &str) {
        let mut list = [Digit::D0; 32];
        let mut n = 0;
        for d in digits.chars().filter_map(Digit::from_char) {
            if n == list.len() {
                self.dtmf_tx
                    .queue(now, &list, self.dtmf_tone, self.dtmf_pause);
                n = 0;
            }
            list[n] = d;
            n += 1;
        }
        self.dtmf_tx
            .queue(now, &list[..n], self.dtmf_tone, self.dtmf_pause);
        tracing::debug!(call = self.id, digits, "dtmf queued");
    }

    pub(crate) fn tap_audio(&mut self, now: Instant, sink: Box<dyn AudioSink>) {
        self.untap_audio(now);
        self.sink = Some(sink);
    }

    pub(crate) fn untap_audio(&mut self, now: Instant) {
        if let Some(mut s) = self.sink.take() {
            s.stop(now);
        }
    }

    pub(crate) fn start_capture(&mut self, now: Instant, mut cfg: CaptureConfig) {
        self.stop_capture();
        cfg.law = self.law;
        self.capture = Some(Capture::new(now, cfg));
    }

    /// Stops the recording (if any) and reports it.
    pub(crate) fn stop_capture(&mut self) {
        if let Some(mut c) = self.capture.take() {
            c.stop();
            self.emit(MediaEvent::Recorded(c.finish()));
        }
    }

    fn check_capture(&mut self, now: Instant) {
        let stopped = self
            .capture
            .as_mut()
            .is_some_and(|c| c.stopped().is_some() || c.poll_timeout(now).is_some());
        if stopped {
            if let Some(c) = self.capture.take() {
                self.emit(MediaEvent::Recorded(c.finish()));
            }
        }
    }

    fn digit(&mut self, ev: DigitEvent) {
        tracing::debug!(call = self.id, digit = %ev.digit.to_char(), source = %ev.source, "dtmf received");
        // The digit first, then what it caused (barge-in's PromptDone, the recording's end).
        self.emit(MediaEvent::Dtmf {
            digit: ev.digit,
            source: ev.source,
        });
        if self.playout.dtmf() {
            self.drain_playout_events();
        }
        if let Some(c) = self.capture.as_mut() {
            c.handle_dtmf(ev.digit);
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
        while let Some(PlayoutEvent::PromptDone {
            played,
            interrupted,
        }) = self.playout.poll_event()
        {
            self.emit(MediaEvent::PromptDone {
                played,
                interrupted,
            });
        }
    }

    /// Hands one datagram to the scheduler's send queue, from the RTP socket or (`rtcp`) the RTCP one.
    fn send_to(&mut self, link: &mut Link<'_>, rtcp: bool, buf: &[u8], to: SocketAddr) {
        let io = link.io;
        let (sock, fixed) = match (rtcp, io.rtcp.as_ref()) {
            (true, Some(s)) => (s, io.rtcp_fixed),
            _ => (&io.rtp, io.rtp_fixed),
        };
        if let Err(e) = link.out.send(sock, fixed, link.token, buf, to) {
            self.send_failed(&e);
        }
    }

    /// A datagram of this call could not be sent (now, or when the send queue was flushed).
    pub(crate) fn send_failed(&mut self, e: &std::io::Error) {
        self.send_errors += 1;
        if !self.socket_error_reported && e.kind() != std::io::ErrorKind::WouldBlock {
            self.socket_error_reported = true;
            tracing::warn!(call = self.id, remote = ?self.remote, error = %e, "rtp send failed");
            self.emit(MediaEvent::SocketError {
                error: e.to_string(),
            });
        }
    }

    /// Nothing happens at this call's frame times: no prompt or tone plays, no digit is being sent, nothing is
    /// recorded, no event waits for room, and no packet goes out (the call does not send, or sends nothing in
    /// silence). Such a call (a receive-only leg, a call on hold) needs no visit every ptime: the scheduler comes
    /// back at its timers or after [`QUIET_VISITS`], and any command that could end the quiet brings it back at
    /// the next tick.
    pub(crate) fn quiet(&self) -> bool {
        !self.playout.is_playing()
            && self.dtmf_tx.is_idle()
            && self.capture.is_none()
            && !self.events.is_backlogged()
            && (self.vad || self.remote.is_none() || !self.direction.sends())
    }

    /// A quiet call's frame clock jumps past the frames due by `now`: they had nothing to send, and the RTP clock
    /// counts them (the next packet starts a talkspurt, RFC 3550 §5.1). Runs before each visit and each command,
    /// so frames skipped while quiet are never sent late in a burst once the call has something to say.
    pub(crate) fn settle(&mut self, now: Instant) {
        if self.next_due > now || !self.quiet() {
            return;
        }
        let k = (now.saturating_duration_since(self.next_due).as_nanos()
            / self.ptime.as_nanos().max(1)) as u32
            + 1;
        self.session
            .sender()
            .pause(k.saturating_mul(self.spf as u32));
        self.next_due += self.ptime * k;
    }

    /// When the scheduler must visit next: the next frame, or for a quiet call its next timer (RTCP, a
    /// telephone-event's end) within [`QUIET_VISITS`].
    fn next_visit(&mut self) -> Instant {
        if !self.quiet() {
            return self.next_due;
        }
        let mut at = self.next_due + QUIET_VISITS.saturating_sub(self.ptime);
        at = at.min(self.session.poll_timeout());
        if let Some(t) = self.dtmf_rx.next_timeout() {
            at = at.min(t);
        }
        at
    }

    /// The scheduler's visit: sends every packet due by `now` (catching up at most `MAX_BURST`, 100 ms at 20 ms ptime), then runs the
    /// call's other timers (RTCP). Returns when to visit next ([`Call::next_visit`]).
    pub(crate) fn on_tick(&mut self, now: Instant, link: &mut Link<'_>, pkt: &mut [u8]) -> Instant {
        if self.events.is_backlogged() {
            self.events.retry();
        }
        self.settle(now);
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
            self.send_frame(now, link, pkt);
            self.next_due += self.ptime;
            sent += 1;
        }
        if self.dtmf_rx.next_timeout().is_some_and(|t| now >= t) {
            while let Some(ev) = self.dtmf_rx.poll_timeout(now) {
                self.digit(ev);
            }
        }
        if self.capture.is_some() {
            self.check_capture(now);
        }
        if now >= self.session.poll_timeout() {
            match self.session.poll_rtcp(now, pkt) {
                Ok(Some(n)) => {
                    if let Some(to) = self.remote_rtcp {
                        self.send_to(link, true, &pkt[..n], to);
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(call = self.id, error = %e, "rtcp report not written"),
            }
        }
        self.next_visit()
    }

    fn send_frame(&mut self, now: Instant, link: &mut Link<'_>, pkt: &mut [u8]) {
        let mut frame = [0u8; 320];
        let spf = self.spf.min(frame.len());
        let frame = &mut frame[..spf];
        let fill = self.playout.fill(frame);
        self.drain_playout_events();
        let Some(to) = self.remote.filter(|_| self.direction.sends()) else {
            self.session.sender().pause(spf as u32);
            while self.dtmf_tx.poll(now).is_some() {}
            return;
        };
        if !self.dtmf_tx.is_idle() {
            // During a telephone-event the audio is replaced by the event's packets; the
            // audio timestamp keeps counting, and the first audio packet after it starts a new talkspurt.
            let (due, ts) = (self.next_due, self.session.sender().timestamp());
            while let Some(ev) = self.dtmf_tx.poll(now) {
                let Some(te) = self.te else { continue };
                // The event's RTP time: the audio time of `event_start`, on this frame's clock.
                // Floor division of the signed offset: every frame maps an instant to the same RTP time, since
                // frames are whole multiples of 125 µs apart.
                let offset_ns = if ev.event_start >= due {
                    (ev.event_start - due).as_nanos() as i128
                } else {
                    -((due - ev.event_start).as_nanos() as i128)
                };
                let units = (offset_ns * 8000).div_euclid(1_000_000_000);
                let start = RtpTime(ts.0.wrapping_add(units as i64 as u32));
                let stamp = start.add(ev.segment_offset);
                match self
                    .session
                    .sender()
                    .other(now, te, ev.marker, stamp, &ev.payload, pkt)
                {
                    Ok(n) => self.send_to(link, false, &pkt[..n], to),
                    Err(e) => {
                        tracing::warn!(call = self.id, error = %e, "telephone-event not written")
                    }
                }
            }
            self.session.sender().pause(spf as u32);
            return;
        }
        if self.vad && fill == Fill::Idle {
            self.session.sender().pause(spf as u32);
            return;
        }
        match self.session.sender().audio(now, frame, spf as u32, pkt) {
            Ok(n) => self.send_to(link, false, &pkt[..n], to),
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
        if !self.source_allowed(now, from) {
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
        self.latched = Some((from, now));
        if acc.new_source {
            self.emit(MediaEvent::RemoteSource {
                ssrc: acc.packet.ssrc,
            });
        }
        if !self.direction.receives() {
            return;
        }
        let p = acc.packet;
        if acc.new_source {
            // A new source has a new timestamp space for its events.
            self.dtmf_rx.reset();
        }
        if Some(p.payload_type) == self.te {
            match self.dtmf_rx.handle(now, p.timestamp.0, p.marker, p.payload) {
                Ok(first) => {
                    if let Some(ev) = first {
                        self.digit(ev);
                    }
                    while let Some(ev) = self.dtmf_rx.poll_event() {
                        self.digit(ev);
                    }
                }
                Err(e) => {
                    tracing::trace!(call = self.id, error = %e, "malformed telephone-event dropped")
                }
            }
            return;
        }
        if p.payload_type != self.session.sender().payload_type() {
            return;
        }
        if let Some(sink) = self.sink.as_mut() {
            let law = self.law;
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                sink.audio(now, acc.seq, acc.timestamp, law, p.payload);
            }));
            if run.is_err() {
                tracing::error!(call = self.id, "audio tap panicked; removed");
                self.sink = None;
            }
        }
        if let Some(c) = self.capture.as_mut() {
            c.handle_packet(now, acc.seq.wire(), p.timestamp.0, p.payload);
        }
        if self.inband.is_some() {
            let mut pcm = [0i16; MAX_DATAGRAM];
            let n = p.payload.len().min(pcm.len());
            if g711::decode(self.law, &p.payload[..n], &mut pcm[..n]).is_ok() {
                let found = self
                    .inband
                    .as_mut()
                    .map(|d| d.process(&pcm[..n]))
                    .unwrap_or_default();
                for (digit, sample) in found {
                    self.digit(DigitEvent {
                        digit,
                        source: DtmfSource::Inband,
                        rtp_timestamp: sample as u32,
                        duration_samples: 0,
                    });
                }
            }
        }
    }

    /// Which source addresses may feed the receiver. Only the remote's IP is ever accepted; within it, once a
    /// stream validated from one address (ip and port) that address is latched and the others are ignored while it
    /// stays active, and a stream from exactly the SDP address is preferred the same way. So neither a stray
    /// sender nor a flood from another port can push the real stream out of probation or off its lock (RFC 3550
    /// §8.2 leaves the choice of source to the receiver); a peer that moves is followed after `RELATCH`.
    fn source_allowed(&mut self, now: Instant, from: SocketAddr) -> bool {
        let Some(remote) = self.remote else {
            return true;
        };
        if remote.ip() != from.ip() {
            return false;
        }
        if from == remote {
            self.remote_seen = Some(now);
        }
        let active = |t: Instant| now.saturating_duration_since(t) < RELATCH;
        match self.latched {
            Some((addr, t)) if active(t) => addr == from,
            _ => from == remote || !self.remote_seen.is_some_and(active),
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
    pub(crate) fn close(&mut self, now: Instant, link: &mut Link<'_>, pkt: &mut [u8]) {
        self.untap_audio(now);
        self.stop_capture();
        self.dtmf_tx.cancel();
        self.playout.stop();
        self.drain_playout_events();
        // RFC 3550 §6.3.7: a participant that never sent an RTP or RTCP packet sends no BYE.
        if let Some(to) = self.remote_rtcp.filter(|_| self.session.may_send_bye()) {
            match self.session.bye(now, pkt) {
                Ok(n) => self.send_to(link, true, &pkt[..n], to),
                Err(e) => tracing::warn!(call = self.id, error = %e, "rtcp bye not written"),
            }
        }
        self.events.close();
    }
}

#[cfg(test)]
mod tests;
