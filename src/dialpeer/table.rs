//! The dial-peer table: selection by called number and the concurrent-call counters behind `max-conn`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use thiserror::Error;

use super::DialPeer;

/// Why no dial-peer can take a call. Each maps to a SIP final response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MatchError {
    /// No `incoming called-number` matches: 404 Not Found.
    #[error("no dial-peer matches the called number")]
    NoDialPeer,
    /// The matched dial-peer is at its `max-conn`: 503 Service Unavailable.
    #[error("dial-peer {tag} is at max-conn {limit}")]
    PeerFull {
        /// The dial-peer.
        tag: u32,
        /// Its cap.
        limit: usize,
    },
    /// The gateway is at its global call cap: 503 Service Unavailable.
    #[error("gateway is at its global max-conn {0}")]
    GatewayFull(usize),
}

impl MatchError {
    /// The SIP status code of the rejection (RFC 3261 §21).
    pub fn sip_status(self) -> u16 {
        match self {
            MatchError::NoDialPeer => 404,
            MatchError::PeerFull { .. } | MatchError::GatewayFull(_) => 503,
        }
    }
}

struct Entry {
    peer: Arc<DialPeer>,
    active: Arc<AtomicUsize>,
}

/// The configured dial-peers with their live call counts.
pub struct DialPeerTable {
    entries: Vec<Entry>,
    global_limit: Option<usize>,
    global_active: Arc<AtomicUsize>,
}

/// A taken call slot; releases the dial-peer's and the gateway's counters when dropped.
#[derive(Debug)]
pub struct ConnGuard {
    peer: Arc<DialPeer>,
    counters: [Arc<AtomicUsize>; 2],
}

impl ConnGuard {
    /// The dial-peer this call runs under.
    pub fn peer(&self) -> &Arc<DialPeer> {
        &self.peer
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        for c in &self.counters {
            c.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Takes one slot of `counter` unless it is at `limit`.
fn try_take(counter: &AtomicUsize, limit: Option<usize>) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| match limit {
            Some(l) if n >= l => None,
            _ => Some(n + 1),
        })
        .is_ok()
}

impl DialPeerTable {
    /// A table over `peers` with an optional gateway-wide cap.
    pub fn new(peers: Vec<DialPeer>, global_limit: Option<usize>) -> Self {
        let entries = peers
            .into_iter()
            .map(|p| Entry {
                peer: Arc::new(p),
                active: Arc::new(AtomicUsize::new(0)),
            })
            .collect();
        DialPeerTable {
            entries,
            global_limit,
            global_active: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The dial-peer for `called`: most specific pattern, then lowest preference, then lowest tag.
    pub fn select(&self, called: &str) -> Result<&Arc<DialPeer>, MatchError> {
        self.best(called)
            .map(|e| &e.peer)
            .ok_or(MatchError::NoDialPeer)
    }

    fn best(&self, called: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.peer.pattern.matches(called))
            .min_by(|a, b| {
                b.peer
                    .pattern
                    .specificity()
                    .cmp(&a.peer.pattern.specificity())
                    .then(a.peer.preference.cmp(&b.peer.preference))
                    .then(a.peer.tag.cmp(&b.peer.tag))
            })
    }

    /// Selects the dial-peer for `called` and takes a call slot on it and on the gateway.
    pub fn admit(&self, called: &str) -> Result<ConnGuard, MatchError> {
        let entry = self.best(called).ok_or(MatchError::NoDialPeer)?;
        if !try_take(&self.global_active, self.global_limit) {
            return Err(MatchError::GatewayFull(self.global_limit.unwrap_or(0)));
        }
        if !try_take(&entry.active, entry.peer.max_conn) {
            self.global_active.fetch_sub(1, Ordering::AcqRel);
            return Err(MatchError::PeerFull {
                tag: entry.peer.tag,
                limit: entry.peer.max_conn.unwrap_or(0),
            });
        }
        Ok(ConnGuard {
            peer: entry.peer.clone(),
            counters: [entry.active.clone(), self.global_active.clone()],
        })
    }

    /// Calls in progress on the whole gateway.
    pub fn active_calls(&self) -> usize {
        self.global_active.load(Ordering::Acquire)
    }

    /// The dial-peers, in configuration order.
    pub fn peers(&self) -> impl Iterator<Item = &Arc<DialPeer>> {
        self.entries.iter().map(|e| &e.peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialpeer::{Codec, DigitPattern, DtmfRelay, ServiceKind};

    fn peer(tag: u32, pat: &str, preference: u8, max_conn: Option<usize>) -> DialPeer {
        DialPeer {
            tag,
            service: ServiceKind::Ringtone,
            pattern: DigitPattern::parse(pat).expect("valid"),
            codec: Codec::G711Ulaw,
            dtmf_relay: DtmfRelay::RtpNte,
            max_conn,
            preference,
            answer_delay: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn most_specific_then_preference_then_tag() {
        let t = DialPeerTable::new(
            vec![
                peer(1, "9191....", 0, None),
                peer(2, "91919191", 5, None),
                peer(3, "9......", 0, None),
                peer(4, "[2-4]...", 2, None),
                peer(5, "[2-4]...", 1, None),
                peer(6, "[2-4]...", 1, None),
            ],
            None,
        );
        assert_eq!(t.select("91919191").map(|p| p.tag), Ok(2));
        assert_eq!(t.select("91919192").map(|p| p.tag), Ok(1));
        assert_eq!(t.select("9000000").map(|p| p.tag), Ok(3));
        assert_eq!(t.select("3000").map(|p| p.tag), Ok(5));
        assert_eq!(t.select("5000").map(|p| p.tag), Err(MatchError::NoDialPeer));
    }

    #[test]
    fn max_conn_per_peer_and_global() {
        let t = DialPeerTable::new(
            vec![peer(1, "1", 0, Some(2)), peer(2, "2", 0, None)],
            Some(3),
        );
        let a = t.admit("1").expect("first");
        let _b = t.admit("1").expect("second");
        assert_eq!(
            t.admit("1").map(|_| ()),
            Err(MatchError::PeerFull { tag: 1, limit: 2 })
        );
        drop(a);
        let _c = t.admit("1").expect("slot freed");
        let _d = t.admit("2").expect("global third");
        assert_eq!(t.admit("2").map(|_| ()), Err(MatchError::GatewayFull(3)));
        assert_eq!(t.active_calls(), 3);
        assert_eq!(t.admit("7").map(|_| ()), Err(MatchError::NoDialPeer));
    }
}
