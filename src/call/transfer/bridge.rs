//! The connected legs: relays re-INVITEs between them ([`crate::call::relay`]) until either side hangs up or
//! `maxtime` runs out.

use std::time::Duration;

use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::invite_dialog::InviteDialog;
use tracing::info;

use super::refuse::refuse_during_transfer;
use super::CallerLeg;
use crate::call::relay::{on_request, Leg};

pub(super) enum BridgeEnd {
    NearEnd,
    FarEnd,
    MaxTime,
}

pub(super) async fn bridge(
    leg: &mut CallerLeg<'_>,
    far: &InviteDialog,
    far_states: &mut DialogStateReceiver,
    maxtime: Option<Duration>,
) -> BridgeEnd {
    let limit = async {
        match maxtime {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(limit);
    // re-INVITEs are relayed between the legs (their media talk to each other directly).
    let mut in_flight: Option<Leg> = None;
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    loop {
        tokio::select! {
            _ = &mut limit => {
                info!("transfer: maxtime reached; BYE to the far end");
                far.bye().await.ok();
                return BridgeEnd::MaxTime;
            }
            Some(_) = done_rx.recv() => in_flight = None,
            st = leg.states.recv() => match st {
                None | Some(DialogState::Terminated(..)) => {
                    info!("transfer: caller hung up; BYE to the far end");
                    far.bye().await.ok();
                    return BridgeEnd::NearEnd;
                }
                Some(DialogState::Updated(_, req, handle)) => {
                    on_request(req, handle, Leg::Caller, far, &mut in_flight, &done_tx).await;
                }
                Some(other) => refuse_during_transfer(other).await,
            },
            st = far_states.recv() => match st {
                None | Some(DialogState::Terminated(..)) => {
                    info!("transfer: far end hung up");
                    return BridgeEnd::FarEnd;
                }
                Some(DialogState::Updated(_, req, handle)) => {
                    on_request(req, handle, Leg::CallServer, leg.dialog, &mut in_flight, &done_tx).await;
                }
                Some(other) => refuse_during_transfer(other).await,
            },
        }
    }
}
