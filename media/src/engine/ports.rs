//! The engine's UDP port range: RTP on an even port, RTCP on the odd one above it (RFC 3550 §11), handed out
//! round-robin so a port just released is not reused at once (late packets of the old call would land in the new).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};

use super::EngineError;

#[derive(Debug)]
struct Inner {
    in_use: Vec<bool>,
    next: usize,
}

/// Even ports of `[min, max]`, each with its odd neighbour.
#[derive(Debug)]
pub(crate) struct PortPool {
    ip: IpAddr,
    min: u16,
    max: u16,
    inner: Mutex<Inner>,
}

/// The sockets of one call; the ports return to the pool when this is dropped (after the sockets close).
#[derive(Debug)]
pub(crate) struct PortLease {
    pub rtp: Option<UdpSocket>,
    pub rtcp: Option<UdpSocket>,
    pub port: u16,
    pool: Arc<PortPool>,
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.rtp.take();
        self.rtcp.take();
        self.pool.release(self.port);
    }
}

impl PortPool {
    /// A pool over the even ports of `[min, max]` (the RTCP port of the last may be `max + 1` only if ≤ `max`).
    pub(crate) fn new(ip: IpAddr, min: u16, max: u16) -> Result<PortPool, EngineError> {
        let min = min.saturating_add(min % 2);
        if min == 0 || max <= min {
            return Err(EngineError::PortRange { min, max });
        }
        let pairs = usize::from(max - min).div_ceil(2); // pairs of (even, odd) ports in [min, max]
        Ok(PortPool {
            ip,
            min,
            max,
            inner: Mutex::new(Inner {
                in_use: vec![false; pairs],
                next: 0,
            }),
        })
    }

    /// Binds the next free pair (RTP even, RTCP odd; only RTP when `rtcp_mux`).
    pub(crate) fn allocate(self: &Arc<Self>, rtcp_mux: bool) -> Result<PortLease, EngineError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let pairs = inner.in_use.len();
        for _ in 0..pairs {
            let i = inner.next;
            inner.next = (inner.next + 1) % pairs;
            if inner.in_use[i] {
                continue;
            }
            let port = self.min + 2 * i as u16;
            if port.checked_add(1).is_none_or(|p| p > self.max) {
                continue;
            }
            let Ok(rtp) = UdpSocket::bind(SocketAddr::new(self.ip, port)) else {
                continue;
            };
            let rtcp = if rtcp_mux {
                None
            } else {
                match UdpSocket::bind(SocketAddr::new(self.ip, port + 1)) {
                    Ok(s) => Some(s),
                    Err(_) => continue,
                }
            };
            inner.in_use[i] = true;
            return Ok(PortLease {
                rtp: Some(rtp),
                rtcp,
                port,
                pool: Arc::clone(self),
            });
        }
        Err(EngineError::NoPort {
            min: self.min,
            max: self.max,
        })
    }

    fn release(&self, port: u16) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let i = usize::from((port - self.min) / 2);
        if let Some(slot) = inner.in_use.get_mut(i) {
            *slot = false;
        }
    }

    /// Pairs in use.
    pub(crate) fn in_use(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .in_use
            .iter()
            .filter(|u| **u)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn even_rtp_odd_rtcp_and_release() {
        let pool = Arc::new(PortPool::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 41001, 41011).unwrap());
        let mut leases = Vec::new();
        while let Ok(l) = pool.allocate(false) {
            assert_eq!(l.port % 2, 0);
            let rtcp = l.rtcp.as_ref().unwrap().local_addr().unwrap().port();
            assert_eq!(rtcp, l.port + 1);
            leases.push(l);
        }
        assert!(!leases.is_empty() && leases.len() <= 5);
        assert!(matches!(
            pool.allocate(false),
            Err(EngineError::NoPort { .. })
        ));
        let n = leases.len();
        leases.pop();
        assert_eq!(pool.in_use(), n - 1);
        assert!(pool.allocate(false).is_ok());
    }

    #[test]
    fn bad_range() {
        assert!(PortPool::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5000, 5000).is_err());
    }
}
