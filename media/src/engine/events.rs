//! A call's event queue to its owner: a bounded channel that never loses a digit, a prompt's end or a recording.
//!
//! The channel holds [`CHANNEL`] events. When the owner falls behind and it is full, events wait in an overflow
//! queue on the scheduler and go out, in order, as room comes back (every visit of the call retries), instead of
//! being dropped: a lost `Dtmf` is a wrong menu choice, a lost `PromptDone` a dialog that never moves on. The
//! overflow is bounded too ([`OVERFLOW`]), so an owner that stopped reading cannot make a peer's stream of
//! telephone-events grow the scheduler's memory without end; `RemoteSource` events, which only matter as the
//! latest one, are coalesced while they wait. Events still waiting when the call closes are delivered by a small
//! task that waits for room (or for the owner to go away).

use std::collections::VecDeque;

use tokio::sync::mpsc;

use super::MediaEvent;

/// Events the channel holds.
pub(crate) const CHANNEL: usize = 256;
/// Events that may wait beyond a full channel (over 20 minutes of digits at 10 a second).
const OVERFLOW: usize = 16_384;

/// The sending side of a call's events.
pub(crate) struct EventQueue {
    tx: mpsc::Sender<MediaEvent>,
    overflow: VecDeque<MediaEvent>,
    dropped: u64,
}

impl EventQueue {
    pub(crate) fn new(tx: mpsc::Sender<MediaEvent>) -> EventQueue {
        EventQueue {
            tx,
            overflow: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Queues `ev` behind every event not yet delivered.
    pub(crate) fn emit(&mut self, call: u64, ev: MediaEvent) {
        if self.overflow.is_empty() {
            match self.tx.try_send(ev) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Closed(_)) => return, // the owner is gone
                Err(mpsc::error::TrySendError::Full(ev)) => {
                    tracing::debug!(
                        call,
                        "media event channel full; events wait on the scheduler"
                    );
                    self.overflow.push_back(ev);
                    return;
                }
            }
        }
        self.retry();
        if self.overflow.is_empty() {
            // Room came back: straight to the channel (`emit` again cannot recurse further, the overflow is empty).
            self.emit(call, ev);
            return;
        }
        if let MediaEvent::RemoteSource { .. } = ev {
            if let Some(old) = self
                .overflow
                .iter_mut()
                .rev()
                .find(|e| matches!(e, MediaEvent::RemoteSource { .. }))
            {
                *old = ev;
                return;
            }
        }
        if self.overflow.len() >= OVERFLOW {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::warn!(
                    call,
                    dropped = self.dropped,
                    "media events dropped: the owner does not read them"
                );
            }
            return;
        }
        self.overflow.push_back(ev);
    }

    /// Moves waiting events into the channel while it has room.
    pub(crate) fn retry(&mut self) {
        while let Some(ev) = self.overflow.pop_front() {
            match self.tx.try_send(ev) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(ev)) => {
                    self.overflow.push_front(ev);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.overflow.clear();
                    return;
                }
            }
        }
    }

    /// Events wait for room.
    pub(crate) fn is_backlogged(&self) -> bool {
        !self.overflow.is_empty()
    }

    /// The call is closing: what still waits is delivered by a task on the scheduler's runtime.
    pub(crate) fn close(&mut self) {
        self.retry();
        if self.overflow.is_empty() {
            return;
        }
        let rest = std::mem::take(&mut self.overflow);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            for ev in rest {
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::{Digit, DtmfSource};
    use crate::rtp::Ssrc;

    fn digit(d: Digit) -> MediaEvent {
        MediaEvent::Dtmf {
            digit: d,
            source: DtmfSource::Rfc4733,
        }
    }

    #[test]
    fn full_channel_keeps_every_event_in_order() {
        let (tx, mut rx) = mpsc::channel(CHANNEL);
        let mut q = EventQueue::new(tx);
        let keys = [Digit::D1, Digit::D2, Digit::Star, Digit::Pound];
        for i in 0..CHANNEL + 100 {
            q.emit(1, digit(keys[i % 4]));
        }
        assert!(q.is_backlogged());
        q.emit(
            1,
            MediaEvent::PromptDone {
                played: std::time::Duration::from_secs(1),
                interrupted: true,
            },
        );
        let mut got = Vec::new();
        while got.len() < CHANNEL + 101 {
            while let Ok(ev) = rx.try_recv() {
                got.push(ev);
            }
            q.retry();
        }
        for (i, ev) in got.iter().take(CHANNEL + 100).enumerate() {
            assert_eq!(ev, &digit(keys[i % 4]));
        }
        assert!(matches!(got.last(), Some(MediaEvent::PromptDone { .. })));
        assert!(!q.is_backlogged());
    }

    #[test]
    fn waiting_remote_source_events_coalesce() {
        let (tx, mut rx) = mpsc::channel(1);
        let mut q = EventQueue::new(tx);
        q.emit(1, digit(Digit::D5));
        q.emit(1, MediaEvent::RemoteSource { ssrc: Ssrc(1) });
        q.emit(1, MediaEvent::RemoteSource { ssrc: Ssrc(2) });
        q.emit(1, digit(Digit::D6));
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(rx.try_recv().unwrap());
            q.retry();
        }
        assert_eq!(
            got,
            vec![
                digit(Digit::D5),
                MediaEvent::RemoteSource { ssrc: Ssrc(2) },
                digit(Digit::D6)
            ]
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn owner_gone_drops_silently() {
        let (tx, rx) = mpsc::channel(1);
        let mut q = EventQueue::new(tx);
        drop(rx);
        q.emit(1, digit(Digit::D0));
        q.emit(1, digit(Digit::D0));
        assert!(!q.is_backlogged());
    }

    #[tokio::test]
    async fn close_delivers_what_waits() {
        let (tx, mut rx) = mpsc::channel(1);
        let mut q = EventQueue::new(tx);
        for _ in 0..5 {
            q.emit(1, digit(Digit::D9));
        }
        q.close();
        drop(q);
        for _ in 0..5 {
            assert_eq!(rx.recv().await, Some(digit(Digit::D9)));
        }
        assert_eq!(rx.recv().await, None);
    }
}
