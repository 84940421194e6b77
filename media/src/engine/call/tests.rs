//! A call driven on a virtual clock, sending through real loopback sockets: quiet calls (see [`Call::quiet`]).

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::*;
use crate::engine::ports::PortPool;
use crate::prompt::Prompt;
use crate::rtp::RtpPacket;

const PTIME: Duration = Duration::from_millis(20);

struct Rig {
    call: Call,
    io: CallIo,
    out: Outbox,
    peer: UdpSocket,
    pkt: Vec<u8>,
    t0: Instant,
    _events: mpsc::Receiver<MediaEvent>,
}

fn rig(port_min: u16) -> Rig {
    let pool =
        Arc::new(PortPool::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port_min, port_min + 19).unwrap());
    let mut lease = pool.allocate(true).unwrap();
    let rtp = lease.rtp.take().unwrap();
    let (events, rx) = mpsc::channel(64);
    let mut cfg = SessionConfig::new(Law::Ulaw);
    cfg.rtcp_mux = true;
    let t0 = Instant::now();
    let open = OpenCall {
        id: 1,
        lease,
        cfg,
        ptime: PTIME,
        pt: PayloadType::PCMU,
        te: PayloadType::new(101),
        cname: "test".into(),
        events,
    };
    let call = Call::new(&open, t0, t0 + PTIME);
    let io = CallIo {
        rtp,
        rtcp: None,
        rtp_fixed: None,
        rtcp_fixed: None,
        _lease: open.lease,
    };
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_nonblocking(true).unwrap();
    Rig {
        call,
        io,
        out: Outbox::new(false),
        peer,
        pkt: vec![0; MAX_DATAGRAM],
        t0,
        _events: rx,
    }
}

impl Rig {
    /// Visits the call at `t0 + at`; returns the next visit, as an offset from `t0`.
    fn tick(&mut self, at: Duration) -> Duration {
        let mut link = Link {
            io: &self.io,
            out: &mut self.out,
            token: 0,
        };
        let next = self.call.on_tick(self.t0 + at, &mut link, &mut self.pkt);
        next - self.t0
    }

    /// The RTP packets the peer has received so far: (marker, sequence number, timestamp).
    fn received(&mut self) -> Vec<(bool, u16, u32)> {
        // Sent with `sendto` on loopback: already queued at the peer.
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = self.peer.recv(&mut buf) {
            if let Ok(p) = RtpPacket::parse(&buf[..n]) {
                out.push((p.marker, p.seq, p.timestamp.0));
            }
        }
        out
    }
}

fn prompt(frames: usize) -> Prompt {
    Prompt::from_g711(Law::Ulaw, Arc::from(vec![0x55u8; frames * 160]), "tone")
}

#[test]
fn a_receive_only_call_is_quiet_and_visited_sparsely() {
    let mut r = rig(47100);
    r.call.set_remote(r.peer.local_addr().unwrap());
    r.call.set_direction(Direction::RecvOnly);
    assert!(r.call.quiet());
    let next = r.tick(PTIME);
    assert!(next > PTIME * 2, "next visit {next:?}");
    assert!(next <= PTIME + QUIET_VISITS, "next visit {next:?}");
    assert!(r.received().is_empty());
    // Sending: a visit every frame again.
    r.call.set_direction(Direction::SendRecv);
    assert!(!r.call.quiet());
    assert_eq!(r.tick(next), next + PTIME);
}

#[test]
fn a_call_woken_from_quiet_sends_one_frame_per_ptime_not_a_burst() {
    let mut r = rig(47140);
    r.call.set_remote(r.peer.local_addr().unwrap());
    r.call.set_direction(Direction::RecvOnly);
    let first = r.tick(PTIME);
    let _ = r.tick(first);
    // 130 ms after the last visit's frame, a command makes the call send: the frames it skipped while quiet are
    // not owed, so the next visit sends one frame, the first of a talkspurt.
    let now = first + Duration::from_millis(130);
    r.call.settle(r.t0 + now);
    r.call.set_direction(Direction::SendRecv);
    r.call.play(vec![prompt(5)], false);
    let mut at = r.tick(now);
    assert!(
        at > now && at <= now + PTIME,
        "next frame {at:?} after {now:?}"
    );
    let got = r.received();
    assert!(
        got.is_empty(),
        "nothing is due before the next frame time: {got:?}"
    );
    let mut packets = Vec::new();
    for _ in 0..5 {
        let next = r.tick(at);
        let got = r.received();
        assert_eq!(got.len(), 1, "one packet per visit at {at:?}: {got:?}");
        packets.extend(got);
        assert_eq!(next, at + PTIME);
        at = next;
    }
    assert!(
        packets[0].0,
        "the first packet after the quiet starts a talkspurt"
    );
    for w in packets.windows(2) {
        assert_eq!(w[1].1, w[0].1.wrapping_add(1));
        assert_eq!(w[1].2, w[0].2.wrapping_add(160));
    }
}

#[test]
fn quiet_frames_still_advance_the_rtp_clock() {
    let mut r = rig(47180);
    r.call.set_remote(r.peer.local_addr().unwrap());
    // One frame sent, then 200 ms of quiet, then sending again: the timestamp moves on by the time that passed.
    let next = r.tick(PTIME);
    let first = r.received();
    assert_eq!(first.len(), 1);
    r.call.set_direction(Direction::RecvOnly);
    let mut at = next;
    while at < next + Duration::from_millis(200) {
        at = r.tick(at);
    }
    r.call.settle(r.t0 + at);
    r.call.set_direction(Direction::SendRecv);
    let at = r.tick(at);
    let _ = r.tick(at);
    let again = r.received();
    assert_eq!(again.len(), 1, "{again:?}");
    let frames = (again[0].2.wrapping_sub(first[0].2)) / 160;
    let elapsed = ((at - PTIME).as_millis() / 20) as u32;
    assert_eq!(
        frames, elapsed,
        "timestamp moved {frames} frames over {elapsed} frame times"
    );
    assert!(again[0].0, "a new talkspurt");
}
