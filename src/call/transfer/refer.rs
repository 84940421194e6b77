//! Blind transfer by SIP REFER to the caller leg (RFC 3515): the REFER, following its NOTIFYs (message/sipfrag,
//! RFC 3420) and releasing the caller leg at the end (RFC 5589 §6.1).

use std::time::Duration;

use rsipstack::dialog::dialog::DialogState;
use rsipstack::sip::{Header, StatusCode};
use tracing::{info, warn};
use vxgate_vxml::io::TransferOutcome;

use super::refuse::refuse_during_transfer;
use super::{outcome_of_status, After, CallerLeg};
use crate::sip::Q850Cause;

/// The status line of a message/sipfrag body (RFC 3420), e.g. `SIP/2.0 200 OK` → 200.
pub fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let mut parts = line.split_whitespace();
    if !parts.next()?.eq_ignore_ascii_case("SIP/2.0") {
        return None;
    }
    parts
        .next()?
        .parse()
        .ok()
        .filter(|c| (100..700).contains(c))
}

/// Blind transfer by REFER. `None`: the peer does not support REFER (405/501); the caller should place the call.
pub(super) async fn blind_refer(
    leg: &mut CallerLeg<'_>,
    refer_to: &str,
    report: &mut impl FnMut(TransferOutcome, Duration),
) -> Option<After> {
    info!(refer_to = %refer_to, "transfer: REFER to the caller leg");
    let resp = leg
        .dialog
        .refer(
            format!("<{refer_to}>"),
            Some(vec![Header::Other(
                "Referred-By".into(),
                format!("<sip:vxgate@{}>", leg.local),
            )]),
            None,
        )
        .await;
    let code = match resp {
        Ok(Some(r)) => u16::from(r.status_code),
        Ok(None) => {
            warn!("transfer: REFER not sent (dialog not confirmed)");
            report(TransferOutcome::Unknown, Duration::ZERO);
            return Some(After::Continue);
        }
        Err(e) => {
            warn!(error = %e, "transfer: REFER failed");
            report(TransferOutcome::Unknown, Duration::ZERO);
            return Some(After::Continue);
        }
    };
    if code == 405 || code == 501 {
        return None;
    }
    if !(200..300).contains(&code) {
        info!(status = code, "transfer: REFER refused");
        report(outcome_of_status(code), Duration::ZERO);
        return Some(After::Continue);
    }
    info!(
        status = code,
        "transfer: REFER accepted; following its NOTIFYs"
    );
    report(TransferOutcome::Transferred, Duration::ZERO);
    // RFC 3515 §2.4.4/§2.4.5: NOTIFYs with message/sipfrag bodies report the referred call; the last one has
    // Subscription-State terminated. RFC 5589 §6.1: the transferor then ends the original dialog.
    let deadline = tokio::time::sleep(REFER_FOLLOW_LIMIT);
    tokio::pin!(deadline);
    // rsipstack reports the dialog `Confirmed` again once it has sent the response to an in-dialog NOTIFY (INFO,
    // re-INVITE, REFER, MESSAGE too); counting them tells when every response is on the wire, so the BYE goes after
    // the final NOTIFY's 200, in the order the transferee expects.
    let mut owed = 0usize;
    let mut finished = false;
    while !finished || owed > 0 {
        tokio::select! {
            _ = &mut deadline => {
                warn!("transfer: no final NOTIFY for the REFER; releasing the caller");
                break;
            }
            st = leg.states.recv() => match st {
                None | Some(DialogState::Terminated(..)) => {
                    info!("transfer: caller leg released by the transferee");
                    return Some(After::CallOver);
                }
                Some(DialogState::Confirmed(..)) => owed = owed.saturating_sub(1),
                Some(DialogState::Notify(_, req, handle)) => {
                    let status = sipfrag_status(&req.body);
                    handle.reply(StatusCode::OK).await.ok();
                    owed += 1;
                    info!(sipfrag = ?status, "transfer: NOTIFY for the REFER");
                    finished |= status.is_some_and(|c| c >= 200);
                }
                Some(other) => {
                    if matches!(
                        other,
                        DialogState::Info(..)
                            | DialogState::Updated(..)
                            | DialogState::Refer(..)
                            | DialogState::Message(..)
                    ) {
                        owed += 1;
                    }
                    refuse_during_transfer(other).await
                }
            },
        }
    }
    leg.dialog
        .bye_with_reason(Q850Cause::NORMAL_CLEARING.reason_header_value())
        .await
        .ok();
    Some(After::CallOver)
}

/// How long the gateway follows the NOTIFYs of an accepted REFER before it releases the caller anyway.
const REFER_FOLLOW_LIMIT: Duration = Duration::from_secs(64);
