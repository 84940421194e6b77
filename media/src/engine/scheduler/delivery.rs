//! How a scheduler hands what arrived to its calls: the datagrams of the io_uring completions (or, without
//! io_uring receives, of the sockets epoll reports), each stamped with the kernel's arrival time, and the sends
//! the kernel refused.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime};

use super::super::recv::{BATCH, MAX_BATCHES_PER_TICK};
use super::super::send::Completion;
use super::{live, token, untoken, Scheduler};

/// Converts the kernel's arrival stamps (wall clock) to `Instant`s during one delivery.
struct Arrival {
    /// Both clocks, read together after the kernel stamped what is being delivered.
    clocks: Option<(SystemTime, Instant)>,
    /// The end of the previous delivery: nothing delivered now arrived before it, so no stamp is put earlier
    /// (a wall clock step cannot make a call's clock run back further than that).
    floor: Instant,
}

impl Arrival {
    fn new(floor: Instant) -> Arrival {
        Arrival {
            clocks: None,
            floor,
        }
    }

    fn at(&mut self, stamp: Option<SystemTime>) -> Instant {
        let (wall, mono) = match self.clocks {
            // Read the clocks after the stamp was taken, so the difference is the datagram's age.
            Some((wall, mono)) if stamp.is_none_or(|s| s <= wall) => (wall, mono),
            _ => {
                let c = (SystemTime::now(), Instant::now());
                self.clocks = Some(c);
                c
            }
        };
        let Some(s) = stamp else { return mono };
        let age = wall.duration_since(s).unwrap_or(Duration::ZERO);
        mono.checked_sub(age)
            .unwrap_or(self.floor)
            .clamp(self.floor, mono.max(self.floor))
    }
}

impl Scheduler {
    /// Without io_uring receives: reads every socket epoll reports and hands each datagram to its call, stamped
    /// with its arrival time.
    pub(super) fn receive(&mut self) {
        if self.uring_rx {
            return;
        }
        let mut arrival = Arrival::new(self.floor);
        let Scheduler {
            poller,
            batch,
            entries,
            backlog,
            backlog_next,
            ..
        } = self;
        // Sockets left with data last tick (edge-triggered: they will not be reported again), then the ready ones.
        for t in backlog.drain(..).chain(poller.ready()) {
            let (idx, gen, rtcp) = untoken(t);
            let Some(Some(e)) = entries.get_mut(idx) else {
                continue;
            };
            if e.gen != gen {
                continue;
            }
            let fd = match (rtcp, e.io.rtcp.as_ref()) {
                (false, _) => e.io.rtp.as_raw_fd(),
                (true, Some(s)) => s.as_raw_fd(),
                (true, None) => continue,
            };
            let mut drained = false;
            for _ in 0..MAX_BATCHES_PER_TICK {
                let n = match batch.recv(fd) {
                    Ok(n) => n,
                    Err(err) => {
                        // Unconnected UDP sockets rarely fail on receive; reading the error clears it.
                        tracing::debug!(call = e.call.id, error = %err, "media receive error");
                        break;
                    }
                };
                for i in 0..n {
                    let Some(d) = batch.get(i) else { continue };
                    let at = arrival.at(d.stamp);
                    if rtcp {
                        e.call.on_rtcp(at, d.from, d.data);
                    } else {
                        e.call.on_rtp(at, d.from, d.data);
                    }
                }
                if n < BATCH {
                    drained = true;
                    break;
                }
            }
            if !drained {
                backlog_next.push(t);
            }
        }
        std::mem::swap(backlog, backlog_next);
        self.floor = Instant::now();
    }

    /// Submits the queued datagrams and delivers what the kernel reports: refusals to their calls, and with
    /// io_uring receives, arrived datagrams.
    pub(super) fn complete(&mut self) {
        let mut arrival = Arrival::new(self.floor);
        let Scheduler {
            out,
            entries,
            rearm,
            ..
        } = self;
        out.complete(&mut |c| match c {
            Completion::SendFailed { token, error } => {
                if let Some(e) = live(entries, token) {
                    e.call.send_failed(&error);
                }
            }
            Completion::Received {
                token,
                from,
                stamp,
                data,
            } => {
                if let Some(e) = live(entries, token) {
                    let at = arrival.at(stamp);
                    if token & 1 == 1 {
                        e.call.on_rtcp(at, from, data);
                    } else {
                        e.call.on_rtp(at, from, data);
                    }
                }
            }
            Completion::RecvEnded { token, error } => {
                if let Some(e) = live(entries, token) {
                    tracing::debug!(call = e.call.id, %error, "media receive ended; re-armed");
                    rearm.push(token);
                }
            }
        });
        if self.uring_rx {
            self.floor = Instant::now();
            if !self.out.receives() {
                self.receive_through_epoll();
            }
        }
        let mut rearm = std::mem::take(&mut self.rearm);
        for t in rearm.drain(..) {
            if let Some(fd) = self.socket_fd(t) {
                if let Err(e) = self.out.arm_recv(fd, t) {
                    tracing::warn!(error = %e, "media receive not re-armed");
                }
            }
        }
        self.rearm = rearm;
    }

    /// The descriptor of the live socket with token `t`.
    fn socket_fd(&self, t: u64) -> Option<std::os::fd::RawFd> {
        let (idx, gen, rtcp) = untoken(t);
        let e = self.entries.get(idx)?.as_ref().filter(|e| e.gen == gen)?;
        if rtcp {
            e.io.rtcp.as_ref().map(AsRawFd::as_raw_fd)
        } else {
            Some(e.io.rtp.as_raw_fd())
        }
    }

    /// The io_uring failed: every socket moves to the epoll set.
    fn receive_through_epoll(&mut self) {
        tracing::warn!("io_uring receives lost; receiving through epoll");
        self.uring_rx = false;
        self.rearm.clear();
        for (idx, e) in self.entries.iter().enumerate() {
            let Some(e) = e else { continue };
            let socks = [(false, Some(&e.io.rtp)), (true, e.io.rtcp.as_ref())];
            for (rtcp, sock) in socks {
                let Some(sock) = sock else { continue };
                let t = token(idx, e.gen, rtcp);
                if let Err(err) = self.poller.add(sock.as_raw_fd(), t) {
                    tracing::error!(call = e.call.id, error = %err, "media socket not watched");
                }
                // Whatever arrived before the switch is read at the next tick.
                self.backlog.push(t);
            }
        }
    }
}
