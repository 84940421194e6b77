//! In-dialog requests that overtake the ACK of the initial 2xx.
//!
//! A UAC may send a re-INVITE (or INFO, UPDATE, OPTIONS) right after the ACK of the initial 2xx: its INVITE client
//! transaction ended with the 2xx (RFC 3261 §17.1.1.2) and the ACK is the UAC core's (§13.2.2.4), so no INVITE is in
//! progress in either direction (§14.1). The gateway must then handle the two in the order they were sent.
//!
//! rsipstack 0.7.14 does not guarantee that order. Its endpoint hands the ACK to the initial INVITE's server
//! transaction (a channel drained by the task that drives `InviteDialog::handle` for that transaction), while the
//! re-INVITE becomes a new transaction that another task handles. When that task runs first, the dialog is still
//! `WaitAck`, and `InviteDialog::handle` (`src/dialog/invite_dialog.rs`, the "Not confirmed" branch) treats the
//! re-INVITE as an initial INVITE: it waits for an ACK on the re-INVITE's own transaction and never answers it, so the
//! UAC gives up with 408 after Timer B. INFO, UPDATE, OPTIONS... are dropped unanswered in the same state.
//!
//! The dialog state cannot tell either: `accept()` hands the 2xx to the transaction before it records `WaitAck`, so
//! the peer can see the 2xx, ACK it and send a re-INVITE while the dialog still reads `Calling`.
//!
//! The gate closes that window: each initial INVITE holds an [`AckGuard`] while its transaction is driven, the call
//! task marks it [`Phase::Answered`] before it sends the 2xx, and an in-dialog request that arrives before the
//! transaction is over waits for the guard (the ACK is then usually already queued on the INVITE transaction, so the
//! wait is a task switch). The 2xx was sent, so RFC 3261 §14.2's 500 with Retry-After ("a second INVITE before it
//! sends the final response to a first INVITE") does not apply; it does apply in [`Phase::Pending`], see
//! [`crate::sip::server`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::dialog::DialogId;
use tokio::sync::watch;

/// Where the initial INVITE transaction of a dialog is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No final response sent yet.
    Pending,
    /// The 2xx is sent (or about to be): the ACK is due.
    Answered,
    /// The transaction is over (ACK, CANCEL, rejection, Timer H), or was never gated.
    Done,
}

/// Initial INVITE transactions still being driven, by dialog.
#[derive(Default, Clone)]
pub struct AckGates {
    open: Arc<Mutex<HashMap<DialogId, Arc<watch::Sender<Phase>>>>>,
}

/// Held while the initial INVITE transaction of a dialog is driven; dropping it releases the waiters.
pub struct AckGuard {
    id: DialogId,
    phase: Arc<watch::Sender<Phase>>,
    gates: AckGates,
}

impl AckGuard {
    /// The handle the call task marks the 2xx with, before it sends it.
    pub fn answer_mark(&self) -> AnswerMark {
        AnswerMark(self.phase.clone())
    }
}

impl Drop for AckGuard {
    fn drop(&mut self) {
        self.phase.send_replace(Phase::Done);
        if let Ok(mut open) = self.gates.open.lock() {
            open.remove(&self.id);
        }
    }
}

/// Marks the initial INVITE of one dialog as answered with a 2xx.
#[derive(Clone)]
pub struct AnswerMark(Arc<watch::Sender<Phase>>);

impl AnswerMark {
    /// Call before sending the 2xx: from then on in-dialog requests wait for the ACK instead of getting 500.
    pub fn answered(&self) {
        self.0.send_if_modified(|p| {
            let pending = *p == Phase::Pending;
            if pending {
                *p = Phase::Answered;
            }
            pending
        });
    }

    /// A mark that belongs to no gate (calls not started by the SIP server, tests).
    pub fn detached() -> AnswerMark {
        AnswerMark(Arc::new(watch::channel(Phase::Done).0))
    }
}

/// How a wait at the gate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateWait {
    /// The initial INVITE transaction is over (or was never gated).
    Passed,
    /// Still not over after the limit.
    TimedOut,
}

impl AckGates {
    /// Registers the initial INVITE transaction of dialog `id`; the guard must live while it is driven.
    pub fn hold(&self, id: DialogId) -> AckGuard {
        let phase = Arc::new(watch::channel(Phase::Pending).0);
        if let Ok(mut open) = self.open.lock() {
            open.insert(id.clone(), phase.clone());
        }
        AckGuard {
            id,
            phase,
            gates: self.clone(),
        }
    }

    /// The phase of the initial INVITE transaction of dialog `id`.
    pub fn phase(&self, id: &DialogId) -> Phase {
        self.open
            .lock()
            .ok()
            .and_then(|open| open.get(id).map(|p| *p.borrow()))
            .unwrap_or(Phase::Done)
    }

    /// Waits up to `limit` until the initial INVITE transaction of dialog `id` is over.
    pub async fn wait(&self, id: &DialogId, limit: Duration) -> GateWait {
        let rx = self
            .open
            .lock()
            .ok()
            .and_then(|open| open.get(id).map(|p| p.subscribe()));
        let Some(mut rx) = rx else {
            return GateWait::Passed;
        };
        let passed = tokio::time::timeout(limit, async move {
            // An error means the guard is gone: the transaction is over too.
            let _ = rx.wait_for(|p| *p == Phase::Done).await;
        })
        .await;
        match passed {
            Ok(()) => GateWait::Passed,
            Err(_) => GateWait::TimedOut,
        }
    }

    /// Transactions currently gated.
    pub fn len(&self) -> usize {
        self.open.lock().map(|o| o.len()).unwrap_or(0)
    }

    /// Whether no transaction is gated.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: &str) -> DialogId {
        DialogId {
            call_id: n.into(),
            local_tag: "a".into(),
            remote_tag: "b".into(),
        }
    }

    #[tokio::test]
    async fn a_request_waits_for_the_guard_of_its_dialog_only() {
        let gates = AckGates::default();
        let guard = gates.hold(id("1"));
        assert_eq!(
            gates.wait(&id("2"), Duration::from_secs(5)).await,
            GateWait::Passed
        );
        let g2 = gates.clone();
        let waiter = tokio::spawn(async move { g2.wait(&id("1"), Duration::from_secs(30)).await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        assert_eq!(gates.phase(&id("1")), Phase::Pending);
        guard.answer_mark().answered();
        assert_eq!(gates.phase(&id("1")), Phase::Answered);
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "answered is not done: the ack is still due"
        );
        drop(guard);
        assert_eq!(gates.phase(&id("1")), Phase::Done);
        assert_eq!(waiter.await.ok(), Some(GateWait::Passed));
        assert!(gates.is_empty());
    }

    #[tokio::test]
    async fn a_wait_is_bounded() {
        let gates = AckGates::default();
        // The guard is never dropped: the wait can only end by its limit.
        let _guard = gates.hold(id("1"));
        assert_eq!(
            gates.wait(&id("1"), Duration::from_millis(20)).await,
            GateWait::TimedOut
        );
    }
}
