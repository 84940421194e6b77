//! One call's RTP session: a [`Sender`], a [`Receiver`] and the RTCP that reports on both (RFC 3550 §6).
//!
//! Sans-IO like its parts: the caller passes `now`, drains [`Session::poll_rtcp`] when [`Session::poll_timeout`]
//! is reached, and sends what it writes. Wall-clock time for the SR's NTP timestamp comes from the `SystemTime`
//! given at creation plus the `Instant`s passed since, so the session never reads a clock.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::error::{PacketError, RtcpError};

use super::id::Ssrc;
use super::interval::{self, IntervalInput};
use super::receiver::{Discard, ReceiveStats, Receiver, ReceiverConfig, Verdict};
use super::rtcp::{self, ReportBlock, RtcpItem, SenderInfo, Writer};
use super::sender::{Sender, SenderConfig};

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// IP + UDP header octets counted in the average RTCP size (§6.3.3), IPv4.
const UDP_IP_OVERHEAD: f64 = 28.0;
/// SSRC changes after collisions before the session stops changing (a loop sending our own packets back would
/// otherwise make it change on every packet; §8.2 asks for loop detection).
const MAX_SSRC_CHANGES: u32 = 3;

/// Settings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The sending side.
    pub sender: SenderConfig,
    /// The receiving side.
    pub receiver: ReceiverConfig,
    /// Canonical name sent in SDES (§6.5.1), e.g. `vxgate@192.0.2.1`.
    pub cname: String,
    /// Session bandwidth in octets per second (§6.2); RTCP gets 5 % of it. G.711 at 20 ms with headers is
    /// 80 kbit/s = 10,000 octets/s.
    pub session_bandwidth: f64,
    /// Seed of the randomisation of the RTCP interval.
    pub seed: u64,
}

/// What an RTCP compound packet told us.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtcpNews {
    /// The remote source said BYE.
    pub bye: bool,
    /// It carried a sender report from the remote source.
    pub sender_report: bool,
    /// A round-trip time computed from a report block about us (§6.4.1, LSR/DLSR).
    pub rtt: Option<Duration>,
}

/// Counters of the session as a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SessionStats {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP payload octets sent.
    pub octets_sent: u64,
    /// RTCP compound packets sent.
    pub rtcp_sent: u64,
    /// RTCP compound packets received and valid.
    pub rtcp_received: u64,
    /// RTCP datagrams that failed the A.2 checks and were dropped.
    pub rtcp_malformed: u64,
    /// Last round-trip time measured.
    pub rtt: Option<Duration>,
    /// Reception statistics.
    pub receive: ReceiveStats,
}

/// The sans-IO RTP/RTCP session of one call.
#[derive(Debug)]
pub struct Session {
    sender: Sender,
    receiver: Receiver,
    cname: String,
    rtcp_bw: f64,
    rng: SmallRng,
    created: Instant,
    wall: SystemTime,
    next_rtcp: Instant,
    /// When the last RTCP compound went out (creation time before the first): A.7's `tp`.
    last_rtcp: Instant,
    initial: bool,
    avg_rtcp_size: f64,
    /// The last SR received: its sender, the middle 32 bits of its NTP timestamp, and when it arrived.
    last_sr: Option<(Ssrc, u32, Instant)>,
    remote_sent: bool,
    we_sent: bool,
    /// RTP went out in the interval before the last report (§6.4: an SR is due if we sent in either).
    sent_prev_interval: bool,
    /// Remote packets received at the last two reports, older first.
    remote_packets_at_report: [u64; 2],
    rtcp_sent: u64,
    rtcp_received: u64,
    rtcp_malformed: u64,
    rtt: Option<Duration>,
    /// Our old SSRC, to be retired with a BYE after a collision (§8.2).
    retired_ssrc: Option<Ssrc>,
    ssrc_changes: u32,
    /// The remote source said BYE: it is no longer a member (§6.3.4) until a new source is locked.
    remote_left: bool,
}

impl Session {
    /// A session created at `now`, when the wall clock read `wall`.
    pub fn new(cfg: SessionConfig, now: Instant, wall: SystemTime) -> Session {
        let mut s = Session {
            sender: Sender::new(cfg.sender),
            receiver: Receiver::new(cfg.receiver),
            cname: cfg.cname,
            rtcp_bw: cfg.session_bandwidth * 0.05,
            rng: SmallRng::seed_from_u64(cfg.seed),
            created: now,
            wall,
            next_rtcp: now,
            last_rtcp: now,
            initial: true,
            // §6.3.2: initialised to the probable size of the first RTCP packet.
            avg_rtcp_size: 100.0,
            last_sr: None,
            remote_sent: false,
            we_sent: false,
            sent_prev_interval: false,
            remote_packets_at_report: [0; 2],
            rtcp_sent: 0,
            rtcp_received: 0,
            rtcp_malformed: 0,
            rtt: None,
            retired_ssrc: None,
            ssrc_changes: 0,
            remote_left: false,
        };
        s.next_rtcp = now + s.interval();
        s
    }

    /// The sending side.
    pub fn sender(&mut self) -> &mut Sender {
        &mut self.sender
    }

    /// The receiving side.
    pub fn receiver(&mut self) -> &mut Receiver {
        &mut self.receiver
    }

    /// Judges an RTP datagram that arrived at `now`. A packet that carries our own SSRC is an SSRC collision
    /// (§8.2): we take a new random SSRC and the next [`Self::poll_rtcp`], due at once, says BYE for the old one.
    pub fn handle_rtp<'a>(
        &mut self,
        now: Instant,
        buf: &'a [u8],
    ) -> Result<Verdict<'a>, PacketError> {
        let verdict = self.receiver.handle(now, buf)?;
        let ssrc = match verdict {
            Verdict::Accept(a) => {
                if a.new_source {
                    self.remote_left = false;
                }
                Some(a.packet.ssrc)
            }
            Verdict::Discard(Discard::OtherSource(ssrc)) => Some(ssrc),
            // Well-formed (the receiver parsed it): the SSRC is octets 8-11 of the fixed header.
            Verdict::Discard(_) => buf
                .get(8..12)
                .map(|b| Ssrc(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
        };
        if ssrc == Some(self.sender.ssrc()) {
            self.collision(now);
        }
        Ok(verdict)
    }

    /// Our SSRC is in use by the other side (§8.2): "it MUST send an RTCP BYE packet for the old identifier and
    /// choose another random one".
    fn collision(&mut self, now: Instant) {
        let old = self.sender.ssrc();
        if self.ssrc_changes >= MAX_SSRC_CHANGES {
            tracing::warn!(ssrc = %old, "rtp ssrc collision again: a loop? keeping the ssrc");
            return;
        }
        let mut new = Ssrc(self.rng.random());
        while new == old || Some(new) == self.receiver.source() {
            new = Ssrc(self.rng.random());
        }
        tracing::info!(old = %old, new = %new, "rtp ssrc collision: changing ssrc");
        // §6.3.7: no BYE for an identifier under which nothing was sent.
        let announced = self.rtcp_sent > 0 || self.sender.packets() > 0;
        self.ssrc_changes += 1;
        self.sender.set_ssrc(new);
        if announced && self.retired_ssrc.is_none() {
            self.retired_ssrc = Some(old);
            self.next_rtcp = self.next_rtcp.min(now);
        }
    }

    /// Reads an RTCP datagram that arrived at `now`; malformed ones are counted and returned as errors.
    pub fn handle_rtcp(&mut self, now: Instant, buf: &[u8]) -> Result<RtcpNews, RtcpError> {
        let items = match rtcp::read(buf) {
            Ok(i) => i,
            Err(e) => {
                self.rtcp_malformed += 1;
                return Err(e);
            }
        };
        self.rtcp_received += 1;
        // §6.3.3: avg_rtcp_size = 1/16 * packet_size + 15/16 * avg_rtcp_size.
        self.avg_rtcp_size += (buf.len() as f64 + UDP_IP_OVERHEAD - self.avg_rtcp_size) / 16.0;
        let mut news = RtcpNews::default();
        let remote = self.receiver.source();
        let me = self.sender.ssrc();
        let mut collided = false;
        for item in items {
            match item {
                // Reports sent under our own SSRC by the other side: a collision (§8.2).
                RtcpItem::SenderReport { ssrc, .. } if ssrc == me => collided = true,
                RtcpItem::Report { reporter, .. } if reporter == me => collided = true,
                RtcpItem::SenderReport { ssrc, info } if remote.is_none_or(|r| r == ssrc) => {
                    self.last_sr = Some((ssrc, (info.ntp >> 16) as u32, now));
                    news.sender_report = true;
                }
                RtcpItem::Report { block, .. } if block.ssrc == me && block.lsr != 0 => {
                    let a = (self.ntp(now) >> 16) as u32;
                    let units = a.wrapping_sub(block.lsr).wrapping_sub(block.dlsr);
                    // A negative result (clock steps, bogus report) wraps to a huge value: ignore it.
                    if units < 0x8000_0000 {
                        let rtt = Duration::from_secs_f64(f64::from(units) / 65536.0);
                        self.rtt = Some(rtt);
                        news.rtt = Some(rtt);
                    }
                }
                RtcpItem::Bye { ssrc } if remote.is_none_or(|r| r == ssrc) => {
                    self.receiver.handle_bye(ssrc);
                    news.bye = true;
                    if remote.is_some() && !self.remote_left {
                        self.remote_left = true;
                        self.reverse_reconsider(now, 1, 2);
                    }
                }
                _ => {}
            }
        }
        if collided {
            self.collision(now);
        }
        Ok(news)
    }

    /// When the next RTCP report is due.
    pub fn poll_timeout(&self) -> Instant {
        self.next_rtcp
    }

    /// If a report is due at `now`, writes the compound packet (SR or RR, then SDES CNAME) into `out`, schedules
    /// the next one and returns its length.
    ///
    /// When the timer expires the interval is drawn again (timer reconsideration, §6.3.6 and A.7 `OnExpire`): if
    /// the last report plus the new interval still lies ahead, nothing is sent and the timer moves there. The
    /// e − 3/2 compensation of §6.3.1 assumes this step.
    pub fn poll_rtcp(&mut self, now: Instant, out: &mut [u8]) -> Result<Option<usize>, RtcpError> {
        if now < self.next_rtcp {
            return Ok(None);
        }
        if let Some(old) = self.retired_ssrc {
            // The BYE of an SSRC given up after a collision (§8.2), at once; the regular schedule goes on.
            let mut w = Writer::new(out);
            w.receiver_report(old, None)?;
            w.sdes_cname(old, self.cname.as_bytes())?;
            w.bye(old)?;
            let n = w.len();
            self.retired_ssrc = None;
            self.rtcp_sent += 1;
            self.next_rtcp = self.last_rtcp + self.interval();
            return Ok(Some(n));
        }
        let reconsidered = self.last_rtcp + self.interval();
        if reconsidered > now {
            self.next_rtcp = reconsidered;
            return Ok(None);
        }
        let n = self.write_report(now, out, false)?;
        self.initial = false;
        self.last_rtcp = now;
        self.next_rtcp = now + self.interval();
        Ok(Some(n))
    }

    /// Whether a BYE may be sent: §6.3.7 forbids it to a participant that never sent an RTP or RTCP packet.
    pub fn may_send_bye(&self) -> bool {
        self.rtcp_sent > 0 || self.sender.packets() > 0
    }

    /// Writes the closing compound packet: report, SDES CNAME and BYE (§6.6). Fails with
    /// [`RtcpError::ByeNotAllowed`] when nothing was ever sent ([`Self::may_send_bye`], §6.3.7).
    pub fn bye(&mut self, now: Instant, out: &mut [u8]) -> Result<usize, RtcpError> {
        if !self.may_send_bye() {
            return Err(RtcpError::ByeNotAllowed);
        }
        self.write_report(now, out, true)
    }

    /// Counters.
    pub fn stats(&self) -> SessionStats {
        SessionStats {
            packets_sent: self.sender.packets(),
            octets_sent: self.sender.octets(),
            rtcp_sent: self.rtcp_sent,
            rtcp_received: self.rtcp_received,
            rtcp_malformed: self.rtcp_malformed,
            rtt: self.rtt,
            receive: self.receiver.stats(),
        }
    }

    fn write_report(
        &mut self,
        now: Instant,
        out: &mut [u8],
        bye: bool,
    ) -> Result<usize, RtcpError> {
        // "Sent recently" means within the last two reporting intervals (§6.3.8 drops a sender after 2T).
        let received = self.receiver.stats().received;
        self.remote_sent = received > self.remote_packets_at_report[0];
        self.remote_packets_at_report = [self.remote_packets_at_report[1], received];
        let last_sr = self.last_sr;
        let block = self.receiver.report().map(|f| {
            // §6.4.1: LSR and DLSR refer to the last SR *from the source this block is about*; 0 if none.
            let sr = last_sr.filter(|(from, _, _)| *from == f.ssrc);
            ReportBlock {
                ssrc: f.ssrc,
                fraction_lost: f.fraction_lost,
                cumulative_lost: f.cumulative_lost,
                highest_seq: f.highest_seq,
                jitter: f.jitter,
                lsr: sr.map_or(0, |(_, lsr, _)| lsr),
                dlsr: sr.map_or(0, |(_, _, at)| {
                    (now.saturating_duration_since(at).as_secs_f64() * 65536.0)
                        .min(f64::from(u32::MAX)) as u32
                }),
            }
        });
        let me = self.sender.ssrc();
        let ntp = self.ntp(now);
        // §6.4: an SR "if a site has sent any data packets during the interval since issuing the last report or
        // the previous one", otherwise an RR.
        let sent_now = self.sender.take_sent_flag();
        let sent = sent_now || self.sent_prev_interval;
        self.sent_prev_interval = sent_now;
        let mut w = Writer::new(out);
        match self.sender.last_sent() {
            Some((ts, at)) if sent || bye => {
                // RTP time of `now`, extrapolated from the last packet (§6.4.1).
                let elapsed = now.saturating_duration_since(at).as_secs_f64()
                    * f64::from(self.receiver.config().clock_rate);
                let info = SenderInfo {
                    ntp,
                    rtp_time: ts.add(elapsed as u32),
                    packet_count: self.sender.packets() as u32,
                    octet_count: self.sender.octets() as u32,
                };
                w.sender_report(me, &info, block.as_ref())?;
            }
            _ => w.receiver_report(me, block.as_ref())?,
        }
        w.sdes_cname(me, self.cname.as_bytes())?;
        if bye {
            w.bye(me)?;
        }
        let n = w.len();
        self.rtcp_sent += 1;
        self.avg_rtcp_size += (n as f64 + UDP_IP_OVERHEAD - self.avg_rtcp_size) / 16.0;
        self.we_sent = sent;
        Ok(n)
    }

    /// §6.3.4 reverse reconsideration, when members drop from `pmembers` to `members` (a BYE): the next report
    /// moves closer, `tn = tc + (members/pmembers)(tn − tc)`, and so does the last one, `tp = tc − (members/pmembers)
    /// (tc − tp)`, so that the next interval is drawn from a proportionally earlier start.
    fn reverse_reconsider(&mut self, now: Instant, members: u32, pmembers: u32) {
        let ratio = f64::from(members) / f64::from(pmembers);
        let ahead = self.next_rtcp.saturating_duration_since(now);
        self.next_rtcp = now + ahead.mul_f64(ratio);
        let behind = now.saturating_duration_since(self.last_rtcp);
        self.last_rtcp = now
            .checked_sub(behind.mul_f64(ratio))
            .unwrap_or(self.last_rtcp);
    }

    fn interval(&mut self) -> Duration {
        let we_sent = self.we_sent;
        let senders = u32::from(we_sent) + u32::from(self.remote_sent && !self.remote_left);
        let members = 1 + u32::from(self.receiver.source().is_some() && !self.remote_left);
        let input = IntervalInput {
            members,
            senders,
            rtcp_bw: self.rtcp_bw,
            we_sent,
            avg_rtcp_size: self.avg_rtcp_size,
            initial: self.initial,
        };
        let factor: f64 = self.rng.random_range(0.5..=1.5);
        interval::randomised(&input, factor)
    }

    /// NTP 32.32 timestamp of `now`.
    fn ntp(&self, now: Instant) -> u64 {
        let t = self.wall + now.saturating_duration_since(self.created);
        let since_unix = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since_unix.as_secs() + NTP_UNIX_OFFSET;
        let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        (secs << 32) | frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::id::{PayloadType, RtpTime, Ssrc};

    fn session(ssrc: u32, seed: u64, now: Instant, wall: SystemTime) -> Session {
        Session::new(
            SessionConfig {
                sender: SenderConfig {
                    ssrc: Ssrc(ssrc),
                    payload_type: PayloadType::PCMU,
                    initial_seq: 1,
                    initial_ts: RtpTime(0),
                },
                receiver: ReceiverConfig::default(),
                cname: format!("s{ssrc}@127.0.0.1"),
                session_bandwidth: 10_000.0,
                seed,
            },
            now,
            wall,
        )
    }

    /// Drives `s` through timer expiries (and reconsiderations) until a report goes out; returns when, and its
    /// length.
    fn next_report(s: &mut Session, out: &mut [u8]) -> (Instant, usize) {
        loop {
            let at = s.poll_timeout();
            if let Some(n) = s.poll_rtcp(at, out).unwrap() {
                return (at, n);
            }
            assert!(s.poll_timeout() > at, "a reconsidered timer moves forward");
        }
    }

    #[test]
    fn first_report_within_half_minimum_then_around_five_seconds() {
        let t0 = Instant::now();
        let wall = SystemTime::now();
        for seed in 0..50 {
            let mut s = session(1, seed, t0, wall);
            let first = s.poll_timeout() - t0;
            // initial: Td = 2.5 s, randomised in [0.5, 1.5] and divided by e − 3/2
            assert!(
                first >= Duration::from_secs_f64(1.25 / 1.2183)
                    && first <= Duration::from_secs_f64(3.75 / 1.2182),
                "{first:?}"
            );
            let mut out = [0u8; 256];
            assert_eq!(s.poll_rtcp(t0, &mut out).unwrap(), None, "not due yet");
            let (at, _) = next_report(&mut s, &mut out);
            assert!(
                at - t0 <= Duration::from_secs_f64(3.75 / 1.2182),
                "{:?}",
                at - t0
            );
            let next = s.poll_timeout() - at;
            assert!(
                next >= Duration::from_secs_f64(2.5 / 1.2183)
                    && next <= Duration::from_secs_f64(7.5 / 1.2182),
                "{next:?}"
            );
        }
    }

    /// §6.3.6 / A.7 `OnExpire`: at expiry the interval is drawn again from the last report; a larger draw
    /// postpones the report instead of sending it.
    #[test]
    fn expired_timer_is_reconsidered() {
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let mut deferred = 0;
        for seed in 0..40 {
            let mut s = session(1, seed, t0, wall);
            let mut out = [0u8; 256];
            let at = s.poll_timeout();
            if s.poll_rtcp(at, &mut out).unwrap().is_none() {
                deferred += 1;
                let later = s.poll_timeout();
                assert!(later > at);
                // still an initial interval from the session's start
                assert!(later - t0 <= Duration::from_secs_f64(3.75 / 1.2182));
            }
        }
        // each redraw is larger than the first with probability 1/2
        assert!(deferred > 5, "{deferred} of 40 deferred");
    }

    /// §6.4: an SR goes out when RTP was sent since the last report or the one before; after two reports
    /// without RTP, an RR.
    #[test]
    fn sender_report_for_two_intervals_after_the_last_rtp() {
        let t0 = Instant::now();
        let mut s = session(1, 3, t0, SystemTime::now());
        let mut pkt = [0u8; 200];
        s.sender().audio(t0, &[0xff; 160], 160, &mut pkt).unwrap();
        let mut out = [0u8; 256];
        let kinds: Vec<u8> = (0..3)
            .map(|_| {
                next_report(&mut s, &mut out);
                out[1]
            })
            .collect();
        assert_eq!(kinds, vec![rtcp::pt::SR, rtcp::pt::SR, rtcp::pt::RR]);
    }

    /// §8.2: the remote uses our SSRC. We take another, the next report is due at once and is the BYE of the old
    /// one; RTP then goes out under the new SSRC with fresh SR counts.
    #[test]
    fn ssrc_collision_changes_ssrc_and_says_bye_for_the_old_one() {
        let t0 = Instant::now();
        let mut a = session(0xa, 1, t0, SystemTime::now());
        let mut b = session(0xb, 2, t0, SystemTime::now());
        let mut pkt = [0u8; 200];
        for i in 0..3u64 {
            let now = t0 + Duration::from_millis(20 * i);
            a.sender().audio(now, &[0xff; 160], 160, &mut pkt).unwrap();
        }
        // b sends with a's SSRC
        b.sender().set_ssrc(Ssrc(0xa));
        let t1 = t0 + Duration::from_millis(100);
        let n = b.sender().audio(t1, &[0xff; 160], 160, &mut pkt).unwrap();
        let _ = a.handle_rtp(t1, &pkt[..n]).unwrap();
        let new = a.sender().ssrc();
        assert_ne!(new, Ssrc(0xa));
        assert_eq!(a.poll_timeout(), t1, "the bye is due at once");
        let mut out = [0u8; 256];
        let m = a.poll_rtcp(t1, &mut out).unwrap().expect("bye");
        let items: Vec<_> = rtcp::read(&out[..m]).unwrap().collect();
        assert_eq!(items.last(), Some(&RtcpItem::Bye { ssrc: Ssrc(0xa) }));
        assert!(a.poll_timeout() > t1);
        let n = a.sender().audio(t1, &[0xff; 160], 160, &mut pkt).unwrap();
        let p = crate::rtp::RtpPacket::parse(&pkt[..n]).unwrap();
        assert_eq!(p.ssrc, new);
        assert!(p.marker);
        assert_eq!(
            a.stats().packets_sent,
            1,
            "§6.4.1: counts restart with the new SSRC"
        );
    }

    /// §6.3.4: a BYE from the other side halves the wait for our next report (members 2 → 1) and the time since
    /// the last one.
    #[test]
    fn remote_bye_brings_the_next_report_closer() {
        let t0 = Instant::now();
        let mut a = session(0xa, 1, t0, SystemTime::now());
        let mut b = session(0xb, 2, t0, SystemTime::now());
        let mut pkt = [0u8; 200];
        for i in 0..10u64 {
            let now = t0 + Duration::from_millis(20 * i);
            let n = a.sender().audio(now, &[0xff; 160], 160, &mut pkt).unwrap();
            b.handle_rtp(now, &pkt[..n]).unwrap();
        }
        let tc = t0 + Duration::from_millis(500);
        let tn = b.poll_timeout();
        assert!(tn > tc);
        let mut out = [0u8; 256];
        let n = a.bye(tc, &mut out).unwrap();
        assert!(b.handle_rtcp(tc, &out[..n]).unwrap().bye);
        let expect = tc + (tn - tc) / 2;
        let got = b.poll_timeout();
        assert!(
            got.max(expect) - got.min(expect) < Duration::from_micros(1),
            "{:?} vs {:?}",
            got - t0,
            expect - t0
        );
        // a second BYE changes nothing more
        b.handle_rtcp(tc, &out[..n]).unwrap();
        assert_eq!(b.poll_timeout(), got);
    }

    /// §6.4.1: LSR/DLSR come from the last SR of the source the block reports on; an SR of another source (one
    /// the receiver is not locked on) must not be quoted.
    #[test]
    fn lsr_only_from_the_reported_source() {
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut a = session(0xa, 1, t0, wall);
        let mut x = session(0x77, 5, t0, wall);
        let mut b = session(0xb, 2, t0, wall);
        let mut pkt = [0u8; 200];
        // b hears an SR from x before any RTP (so before it has locked on a source), then locks on a's RTP
        x.sender().audio(t0, &[0xff; 160], 160, &mut pkt).unwrap();
        let mut sr = [0u8; 256];
        let (_, n) = next_report(&mut x, &mut sr);
        assert_eq!(sr[1], rtcp::pt::SR);
        b.handle_rtcp(t0, &sr[..n]).unwrap();
        for i in 0..10u64 {
            let now = t0 + Duration::from_millis(20 * i);
            let n = a.sender().audio(now, &[0xff; 160], 160, &mut pkt).unwrap();
            b.handle_rtp(now, &pkt[..n]).unwrap();
        }
        let mut rr = [0u8; 256];
        let (_, m) = next_report(&mut b, &mut rr);
        let items: Vec<_> = rtcp::read(&rr[..m]).unwrap().collect();
        let Some(RtcpItem::Report { block, .. }) = items.first() else {
            panic!("{items:?}")
        };
        assert_eq!(block.ssrc, Ssrc(0xa));
        assert_eq!((block.lsr, block.dlsr), (0, 0));
    }

    /// §8.2 also holds for RTCP: a sender report under our SSRC is a collision.
    #[test]
    fn ssrc_collision_seen_in_rtcp() {
        let t0 = Instant::now();
        let mut a = session(0xa, 1, t0, SystemTime::now());
        let mut b = session(0xb, 2, t0, SystemTime::now());
        let mut pkt = [0u8; 200];
        b.sender().set_ssrc(Ssrc(0xa));
        b.sender().audio(t0, &[0xff; 160], 160, &mut pkt).unwrap();
        let mut out = [0u8; 256];
        let (at, n) = next_report(&mut b, &mut out);
        assert_eq!(out[1], rtcp::pt::SR);
        a.handle_rtcp(at, &out[..n]).unwrap();
        assert_ne!(a.sender().ssrc(), Ssrc(0xa));
    }

    /// §6.3.7: "a participant which never sent an RTP or RTCP packet MUST NOT send a BYE packet".
    #[test]
    fn no_bye_before_anything_was_sent() {
        let t0 = Instant::now();
        let mut s = session(1, 1, t0, SystemTime::now());
        let mut out = [0u8; 256];
        assert!(!s.may_send_bye());
        assert_eq!(s.bye(t0, &mut out), Err(RtcpError::ByeNotAllowed));
        let mut pkt = [0u8; 200];
        s.sender().audio(t0, &[0xff; 160], 160, &mut pkt).unwrap();
        assert!(s.may_send_bye());
        assert!(s.bye(t0, &mut out).is_ok());
    }

    /// Two sessions exchange RTP and RTCP on a virtual clock; the SR/RR contents and the RTT come out right.
    #[test]
    fn two_sessions_report_to_each_other() {
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut a = session(0xa, 1, t0, wall);
        let mut b = session(0xb, 2, t0, wall);
        let mut pkt = [0u8; 200];
        // a sends 100 packets to b, packet 50 lost
        for i in 0..100u64 {
            let now = t0 + Duration::from_millis(20 * i);
            let n = a.sender().audio(now, &[0xff; 160], 160, &mut pkt).unwrap();
            if i != 50 {
                let _ = b
                    .handle_rtp(now + Duration::from_millis(5), &pkt[..n])
                    .unwrap();
            }
        }
        let t_sr = t0 + Duration::from_secs(3);
        let mut sr = [0u8; 256];
        let n = a.poll_rtcp(t_sr, &mut sr).unwrap().expect("due");
        let items: Vec<_> = rtcp::read(&sr[..n]).unwrap().collect();
        match items[0] {
            RtcpItem::SenderReport { ssrc, info } => {
                assert_eq!(ssrc, Ssrc(0xa));
                assert_eq!(info.packet_count, 100);
                assert_eq!(info.octet_count, 16_000);
                // last packet at 1.98 s had ts 99*160; 1.02 s later is 8160 samples on
                assert_eq!(info.rtp_time, RtpTime(99 * 160 + 8160));
                assert_eq!(info.ntp >> 32, 1_700_000_003 + NTP_UNIX_OFFSET);
            }
            other => panic!("expected sr, got {other:?}"),
        }
        assert!(matches!(
            items[1],
            RtcpItem::Cname {
                ssrc: Ssrc(0xa),
                ..
            }
        ));
        // b receives the SR 10 ms later and answers 250 ms after that with an RR carrying LSR/DLSR
        let news = b
            .handle_rtcp(t_sr + Duration::from_millis(10), &sr[..n])
            .unwrap();
        assert!(news.sender_report);
        let t_rr = (t_sr + Duration::from_millis(260)).max(b.poll_timeout());
        let mut rr = [0u8; 256];
        let m = b.poll_rtcp(t_rr, &mut rr).unwrap().expect("due");
        let items: Vec<_> = rtcp::read(&rr[..m]).unwrap().collect();
        let RtcpItem::Report { reporter, block } = items[0] else {
            panic!("expected rr block, got {:?}", items[0])
        };
        assert_eq!(reporter, Ssrc(0xb));
        assert_eq!(block.ssrc, Ssrc(0xa));
        assert_eq!(block.cumulative_lost, 1);
        assert_eq!(block.highest_seq, 100, "seq 1..=100");
        assert_eq!(
            block.fraction_lost,
            (256 / 99) as u8,
            "1 of 99 expected since validation"
        );
        assert_ne!(block.lsr, 0);
        // a gets the RR 10 ms after b sent it: RTT = 10 ms there + 10 ms back = 20 ms
        let dlsr = Duration::from_secs_f64(f64::from(block.dlsr) / 65536.0);
        let back_at = t_sr + Duration::from_millis(10) + dlsr + Duration::from_millis(10);
        let news = a.handle_rtcp(back_at, &rr[..m]).unwrap();
        let rtt = news.rtt.expect("rtt");
        assert!(
            rtt >= Duration::from_millis(19) && rtt <= Duration::from_millis(21),
            "{rtt:?}"
        );
    }

    #[test]
    fn bye_compound_and_remote_bye() {
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let mut a = session(0xa, 1, t0, wall);
        let mut b = session(0xb, 2, t0, wall);
        let mut out = [0u8; 256];
        // one report went out, so a BYE may follow (§6.3.7)
        let (at, _) = next_report(&mut a, &mut out);
        let n = a.bye(at, &mut out).unwrap();
        let items: Vec<_> = rtcp::read(&out[..n]).unwrap().collect();
        // no RTP sent or received: an empty RR (no items), the CNAME, the BYE
        assert_eq!(
            items,
            vec![
                RtcpItem::Cname {
                    ssrc: Ssrc(0xa),
                    cname: b"s10@127.0.0.1"
                },
                RtcpItem::Bye { ssrc: Ssrc(0xa) }
            ]
        );
        assert_eq!(out[1], rtcp::pt::RR);
        assert!(b.handle_rtcp(t0, &out[..n]).unwrap().bye);
    }

    #[test]
    fn malformed_rtcp_is_counted_and_dropped() {
        let t0 = Instant::now();
        let mut s = session(1, 1, t0, SystemTime::now());
        assert!(
            s.handle_rtcp(t0, &[0x80, 0xca, 0, 1, 0, 0, 0, 0]).is_err(),
            "sdes first"
        );
        assert!(s.handle_rtcp(t0, &[0xff; 3]).is_err());
        let st = s.stats();
        assert_eq!((st.rtcp_malformed, st.rtcp_received), (2, 0));
    }
}
