//! VoiceXML `<transfer>` placed on the SIP side, as an IOS VXML gateway does it.
//!
//! The interpreter asks ([`TransferRequest`], from `Output::Transfer`); the call task runs the transfer with the
//! caller's dialog and answers with a [`TransferReport`] (VoiceXML 2.0 §2.3.7.2.2 outcome values).
//!
//! - **Blind** (2.0 §2.3.7.1): SIP REFER to the caller leg (RFC 3515) with `Refer-To` the destination. A 2xx (202)
//!   means the caller's side took the transfer: the interpreter hears `transferred` at once (it then throws
//!   `connection.disconnect.transfer`), and the gateway follows the implicit subscription's NOTIFYs (message/sipfrag)
//!   until the final status and releases the caller leg with BYE (RFC 5589 §6.1). A peer that does not do REFER
//!   (405, 501) gets the outbound-INVITE path instead, handed over like consultation. Other refusals map to the
//!   outcome values below.
//! - **Bridge** (2.0 §2.3.7.2): an outbound INVITE to the destination through its route ([`resolve`]), with the
//!   caller's stream as the offer; `connecttimeout` → CANCEL and `noanswer`; 486/600 → `busy`; 408/480/487 →
//!   `noanswer`; 5xx → `network_busy`. When the far end answers, the caller is re-INVITEd towards the far end's SDP,
//!   so the media of the two legs is bridged end to end (the gateway stays in the signalling path, like CVP's own
//!   SDP shuffle) and the gateway's own RTP stream goes inactive. The bridge ends with the far end's BYE
//!   (`far_end_disconnect`), `maxtime` (`maxtime_disconnect`, the gateway BYEs the far end), or the caller's BYE
//!   (`near_end_disconnect`). On the first two the caller is re-INVITEd back to the gateway and the dialog goes on.
//! - **Consultation** (2.1 §2.4.2): like bridge until the far end answers, then like blind: the interpreter hears
//!   `transferred` and the gateway only relays the end of the call (BYE either way).
//!
//! While the legs are connected, re-INVITEs with an offer are relayed between them ([`super::relay`]).
//!
//! Not done: DTMF/hotword during a bridge is not listened for (the media no longer passes the gateway); a caller
//! whose answer to the shuffle changes its own RTP address is not re-offered to the far end.
//!
//! Failures that VoiceXML 2.0 §2.3.7.3 names as events (no route, a destination the far side does not know,
//! refused authorization, other protocol failures) reach the interpreter as [`TransferOutcome::Error`], which it
//! throws at the transfer item.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsipstack::dialog::dialog::DialogStateReceiver;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use tokio::sync::oneshot;
use tracing::{info, warn};
use vxgate_vxml::io::{TransferOutcome, TransferType};

use super::CallMedia;
use crate::config::TransferRoute;
use crate::dialpeer::DtmfRelay;
use crate::sip::sdp::Negotiated;
use crate::sip::{CallIdentity, Q850Cause};
use bridge::{bridge, BridgeEnd};
use place::{place, Placed};
use refer::blind_refer;
use shuffle::{shuffle_back, shuffle_to_far};

mod bridge;
mod outcome;
mod place;
mod refer;
mod refuse;
mod route;
mod shuffle;
#[cfg(test)]
mod tests;

pub use outcome::outcome_of_status;
pub use refer::sipfrag_status;
pub use route::{resolve, Route, RouteError};

/// A `<transfer>` the interpreter asks the call to place.
#[derive(Debug)]
pub struct TransferRequest {
    /// Destination URI (`tel:`, `sip:`).
    pub dest: String,
    /// Blind, bridge or consultation.
    pub kind: TransferType,
    /// How long the far end may take to answer.
    pub connecttimeout: Duration,
    /// Longest bridge (zero: no limit).
    pub maxtime: Duration,
    /// Application-to-application information, sent as `User-to-User` (RFC 7433, hex).
    pub aai: Option<String>,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<TransferReport>,
}

/// How the transfer ended, for the interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReport {
    /// The outcome.
    pub outcome: TransferOutcome,
    /// How long the far end was connected.
    pub duration: Duration,
}

/// What the call does after a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// The caller is still ours: the dialog goes on.
    Continue,
    /// The caller leg is over (released after a transfer, or the caller hung up).
    CallOver,
}

/// The caller's side of the call, as the transfer needs it.
pub struct CallerLeg<'a> {
    /// The caller's dialog.
    pub dialog: &'a InviteDialog,
    /// Its events.
    pub states: &'a mut DialogStateReceiver,
    /// The dialog layer (for the outbound leg).
    pub dialogs: &'a Arc<DialogLayer>,
    /// The gateway's media session of the call.
    pub media: &'a CallMedia,
    /// The caller's stream as negotiated (updated when the caller comes back to the gateway's media).
    pub negotiated: &'a mut Negotiated,
    /// The `o=` session id of our SDP towards the caller.
    pub session_id: u64,
    /// The `o=` version of our SDP towards the caller (bumped by each re-INVITE here).
    pub sdp_version: &'a mut u64,
    /// Our SIP address (UDP).
    pub local: SocketAddr,
    /// Who is calling.
    pub identity: &'a CallIdentity,
    /// DTMF relay of the dial-peer.
    pub dtmf_relay: DtmfRelay,
}

/// Runs one transfer to its end; the report goes out on `req.reply` as soon as the interpreter may have it.
pub async fn run(leg: CallerLeg<'_>, routes: &[TransferRoute], req: TransferRequest) -> After {
    let TransferRequest {
        dest,
        kind,
        connecttimeout,
        maxtime,
        aai,
        reply,
    } = req;
    info!(dest = %dest, kind = ?kind, connecttimeout_ms = connecttimeout.as_millis() as u64, maxtime_ms = maxtime.as_millis() as u64, "transfer requested");
    let route = resolve(&dest, routes);
    let mut leg = leg;
    let mut reply = Some(reply);
    let mut report = |outcome: TransferOutcome, duration: Duration| {
        info!(outcome = ?outcome, value = outcome.value(), ms = duration.as_millis() as u64, "transfer outcome {outcome:?}");
        if let Some(r) = reply.take() {
            r.send(TransferReport { outcome, duration }).ok();
        }
    };
    if kind == TransferType::Blind {
        let refer_to = route
            .as_ref()
            .map(|r| r.uri.clone())
            .unwrap_or_else(|_| dest.clone());
        match blind_refer(&mut leg, &refer_to, &mut report).await {
            Some(after) => return after,
            None => info!("transfer: the caller's side does not do REFER; placing the call and handing it over"),
        }
    }
    let route = match route {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "transfer: cannot place the call");
            report(TransferOutcome::Error(e.event().into()), Duration::ZERO);
            return After::Continue;
        }
    };
    let placed = place(&mut leg, &route, connecttimeout, aai.as_deref()).await;
    let (far, mut far_states, far_sdp) = match placed {
        Placed::Answered(far, states, sdp) => (far, states, sdp),
        Placed::Failed(outcome) => {
            report(outcome, Duration::ZERO);
            return After::Continue;
        }
        Placed::CallerGone => {
            report(TransferOutcome::NearEndDisconnect, Duration::ZERO);
            return After::CallOver;
        }
    };
    if !shuffle_to_far(&mut leg, &far_sdp).await {
        warn!("transfer: the caller did not take the far end's media; ending the far leg");
        far.bye().await.ok();
        leg.dialogs.remove_dialog(&far.id());
        report(TransferOutcome::Unknown, Duration::ZERO);
        return After::Continue;
    }
    let connected = Instant::now();
    info!(target = %route.target, "transfer: far end answered; media bridged");
    let handover = kind != TransferType::Bridge;
    if handover {
        report(TransferOutcome::Transferred, Duration::ZERO);
    }
    let limit = (!handover && !maxtime.is_zero()).then_some(maxtime);
    let ended = bridge(&mut leg, &far, &mut far_states, limit).await;
    leg.dialogs.remove_dialog(&far.id());
    let duration = connected.elapsed();
    match ended {
        BridgeEnd::NearEnd => {
            report(TransferOutcome::NearEndDisconnect, duration);
            After::CallOver
        }
        BridgeEnd::FarEnd | BridgeEnd::MaxTime if handover => {
            info!("transfer: far end gone after hand-over; releasing the caller");
            leg.dialog
                .bye_with_reason(Q850Cause::NORMAL_CLEARING.reason_header_value())
                .await
                .ok();
            After::CallOver
        }
        BridgeEnd::FarEnd => {
            shuffle_back(&mut leg).await;
            report(TransferOutcome::FarEndDisconnect, duration);
            After::Continue
        }
        BridgeEnd::MaxTime => {
            shuffle_back(&mut leg).await;
            report(TransferOutcome::MaxTimeDisconnect, duration);
            After::Continue
        }
    }
}
