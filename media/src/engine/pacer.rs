//! The scheduler's clock: wakes on a fixed grid of `tick`. On Linux a periodic `timerfd` registered with the
//! runtime's reactor (hrtimer precision, tens of µs); tokio's own timer rounds every deadline up to a whole
//! millisecond from the moment it is armed, which puts up to 1 ms of varying lateness on every packet.

use std::time::{Duration, Instant};

/// A grid of ticks starting at `epoch`.
pub(crate) struct Pacer {
    epoch: Instant,
    tick: Duration,
    #[cfg(target_os = "linux")]
    timer: Option<tokio::io::unix::AsyncFd<nix::sys::timerfd::TimerFd>>,
}

impl Pacer {
    /// Starts the grid now; must be called inside the runtime that will poll it.
    pub(crate) fn new(tick: Duration) -> Pacer {
        let epoch = Instant::now();
        #[cfg(target_os = "linux")]
        {
            let timer = linux_timer(tick)
                .map_err(|e| tracing::warn!(error = %e, "timerfd unavailable; pacing on the runtime's 1 ms timer"))
                .ok();
            Pacer { epoch, tick, timer }
        }
        #[cfg(not(target_os = "linux"))]
        Pacer { epoch, tick }
    }

    /// Instant of tick 0.
    pub(crate) fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Waits until the tick after `after` has come (returns at once if it has).
    pub(crate) async fn wait(&mut self, after: u64) {
        let deadline = self.epoch
            + Duration::from_nanos((self.tick.as_nanos() as u64).saturating_mul(after + 1));
        #[cfg(target_os = "linux")]
        if let Some(t) = self.timer.as_ref() {
            while Instant::now() < deadline {
                let Ok(mut guard) = t.readable().await else {
                    break;
                };
                // Reading the expiration count re-arms readiness; EAGAIN means a spurious wake.
                if guard.get_inner().wait().is_err() {
                    guard.clear_ready();
                }
            }
            return;
        }
        tokio::time::sleep_until(deadline.into()).await;
    }
}

#[cfg(target_os = "linux")]
fn linux_timer(
    tick: Duration,
) -> std::io::Result<tokio::io::unix::AsyncFd<nix::sys::timerfd::TimerFd>> {
    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    let fd = TimerFd::new(
        ClockId::CLOCK_MONOTONIC,
        TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
    )
    .map_err(std::io::Error::from)?;
    fd.set(
        Expiration::Interval(TimeSpec::from_duration(tick)),
        TimerSetTimeFlags::empty(),
    )
    .map_err(std::io::Error::from)?;
    // `with_interest` is deprecated because a caller could close the descriptor behind the reactor's back; here
    // the `AsyncFd` owns the `TimerFd` (and with it the only copy of the descriptor) until both drop together.
    #[allow(deprecated)]
    tokio::io::unix::AsyncFd::with_interest(fd, tokio::io::Interest::READABLE)
}
