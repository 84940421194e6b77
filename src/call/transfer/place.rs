//! The outbound leg: the INVITE to the transfer destination with the caller's stream as the offer, up to its
//! answer, `connecttimeout` (CANCEL) or the caller hanging up meanwhile.

use std::time::Duration;

use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::Header;
use tracing::{info, warn};
use vxgate_vxml::io::TransferOutcome;

use super::refuse::refuse_during_transfer;
use super::{outcome_of_status, CallerLeg, Route};
use crate::call::outbound;
use crate::sip::sdp::{self, MediaDirection};

pub(super) enum Placed {
    Answered(InviteDialog, DialogStateReceiver, Vec<u8>),
    Failed(TransferOutcome),
    CallerGone,
}

/// Hex for a `User-to-User` header (RFC 7433 `encoding=hex`).
fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

/// The caller's stream as an offer to the far end: the caller's address, codec and telephone-event.
fn offer_for_far(leg: &CallerLeg<'_>) -> Option<Vec<u8>> {
    let caller = leg.negotiated.remote?;
    let mut neg = leg.negotiated.clone();
    neg.direction = MediaDirection::SendRecv;
    Some(sdp::answer(&neg, caller, leg.session_id ^ 0x5a5a, 1))
}

pub(super) async fn place(
    leg: &mut CallerLeg<'_>,
    route: &Route,
    connecttimeout: Duration,
    aai: Option<&str>,
) -> Placed {
    let Some(offer) = offer_for_far(leg) else {
        warn!("transfer: the caller's stream is on hold; nothing to offer the far end");
        return Placed::Failed(TransferOutcome::Unknown);
    };
    let ani: String = leg
        .identity
        .ani
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+-_.".contains(*c))
        .collect();
    let ani = if ani.is_empty() {
        "anonymous".into()
    } else {
        ani
    };
    let mut headers = vec![Header::Other(
        "Cisco-Guid".into(),
        leg.identity.guid.to_string(),
    )];
    if let Some(aai) = aai {
        headers.push(Header::Other(
            "User-to-User".into(),
            format!("{};encoding=hex", hex(aai)),
        ));
    }
    let opt = match outbound::invite(&ani, leg.local, &route.uri, route.target, offer, headers) {
        Ok(opt) => opt,
        Err(_) => {
            warn!(uri = %route.uri, "transfer: cannot build the outbound request uris");
            return Placed::Failed(TransferOutcome::Error(
                "error.connection.baddestination".into(),
            ));
        }
    };
    info!(uri = %route.uri, target = %route.target, "transfer: INVITE to the destination");
    let (tx, far_states) = leg.dialogs.new_dialog_state_channel();
    let (far, handle) = match leg.dialogs.do_invite_async(opt, tx) {
        Ok(x) => x,
        Err(e) => {
            warn!(error = %e, "transfer: cannot send the invite");
            return Placed::Failed(TransferOutcome::NetworkBusy);
        }
    };
    tokio::pin!(handle);
    let deadline = tokio::time::sleep(connecttimeout);
    tokio::pin!(deadline);
    let joined = loop {
        tokio::select! {
            r = &mut handle => break Some(r),
            _ = &mut deadline => break None,
            st = leg.states.recv() => match st {
                None | Some(DialogState::Terminated(..)) => {
                    info!("transfer: caller hung up while the far end was called; CANCEL");
                    far.cancel().await.ok();
                    tokio::time::timeout(Duration::from_secs(2), &mut handle).await.ok();
                    leg.dialogs.remove_dialog(&far.id());
                    return Placed::CallerGone;
                }
                Some(other) => refuse_during_transfer(other).await,
            },
        }
    };
    let Some(joined) = joined else {
        info!(
            ms = connecttimeout.as_millis() as u64,
            "transfer: no answer within connecttimeout; CANCEL"
        );
        far.cancel().await.ok();
        // A 2xx racing the CANCEL is answered and BYEd by rsipstack.
        tokio::time::timeout(Duration::from_secs(2), &mut handle)
            .await
            .ok();
        leg.dialogs.remove_dialog(&far.id());
        return Placed::Failed(TransferOutcome::NoAnswer);
    };
    // Every way of failing from here on leaves the far dialog registered with the layer: it goes with the failure.
    let answered = match joined {
        Ok(Ok((_, Some(resp)))) => {
            let code = u16::from(resp.status_code.clone());
            if (200..300).contains(&code) {
                Ok(resp)
            } else {
                info!(status = code, "transfer: far end answered {code}");
                Err(outcome_of_status(code))
            }
        }
        Ok(Ok((_, None))) => Err(TransferOutcome::NoAnswer),
        Ok(Err(e)) => {
            info!(error = %e, "transfer: invite failed");
            // rsipstack reports a Timer B expiry (RFC 3261 §17.1.1.2) only in the error's text.
            Err(if e.to_string().to_ascii_lowercase().contains("timeout") {
                TransferOutcome::NoAnswer
            } else {
                TransferOutcome::NetworkBusy
            })
        }
        Err(e) => {
            warn!(error = %e, "transfer: invite task failed");
            Err(TransferOutcome::Unknown)
        }
    };
    let resp = match answered {
        Ok(resp) => resp,
        Err(outcome) => {
            leg.dialogs.remove_dialog(&far.id());
            return Placed::Failed(outcome);
        }
    };
    // States already queued (Early, Confirmed, maybe a re-INVITE the far end sent right after our ACK) are the
    // bridge's to handle: a request dropped here would go unanswered (rsipstack answers a dropped handle with 501).
    Placed::Answered(far, far_states, resp.body)
}
