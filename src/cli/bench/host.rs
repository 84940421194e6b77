//! How much parallel speed the host gives right now. On a virtual machine the "cores" may be hyperthread siblings
//! or be shared with other guests: two threads that each run a fixed CPU-bound loop at the same time can each be
//! much slower than one running alone. A throughput figure measured on such a host means little without this
//! figure next to it, so `bench rtp` measures it before its runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Iterations of the probe loop (a few tens of milliseconds on a current core).
const WORK: u64 = 40_000_000;

/// The host's parallel speed, measured once.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HostSpeed {
    /// Threads run together.
    pub threads: usize,
    /// Time of the probe on one thread alone (the best of three), in ms.
    pub alone_ms: f64,
    /// Average time of the same probe on each of `threads` threads run together, in ms.
    pub together_ms: f64,
    /// `alone_ms / together_ms`: the speed of each thread when all run, as a share of one alone (1.0 on a host
    /// whose cores are really free).
    pub speed_each: f64,
    /// `threads × speed_each`: how many free cores' worth the host delivers.
    pub cores_worth: f64,
}

/// A fixed amount of integer work that stays in registers (xorshift), so only the core's speed counts.
fn probe() -> Duration {
    let start = Instant::now();
    let mut x = black_box(0x9e37_79b9_7f4a_7c15_u64);
    for _ in 0..WORK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x);
    start.elapsed()
}

/// Measures one thread alone, then `threads` together.
pub fn measure(threads: usize) -> HostSpeed {
    let threads = threads.max(1);
    let alone = (0..3).map(|_| probe()).min().unwrap_or_default();
    let together: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(probe)).collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let together_ms = together.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e3
        / together.len().max(1) as f64;
    let alone_ms = alone.as_secs_f64() * 1e3;
    let speed_each = if together_ms > 0.0 {
        (alone_ms / together_ms).min(1.0)
    } else {
        1.0
    };
    HostSpeed {
        threads,
        alone_ms,
        together_ms,
        speed_each,
        cores_worth: speed_each * threads as f64,
    }
}

impl std::fmt::Display for HostSpeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "host: {} threads together each run at {:.0}% of one alone ({:.2} cores' worth; probe {:.1} ms alone, {:.1} ms together)",
            self.threads,
            self.speed_each * 100.0,
            self.cores_worth,
            self.alone_ms,
            self.together_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_a_share_and_cores_follow_from_it() {
        let h = measure(2);
        assert_eq!(h.threads, 2);
        assert!(h.alone_ms > 0.0 && h.together_ms > 0.0);
        assert!(h.speed_each > 0.0 && h.speed_each <= 1.0);
        assert!((h.cores_worth - 2.0 * h.speed_each).abs() < 1e-9);
        assert!(h.to_string().starts_with("host: 2 threads"));
    }
}
