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

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TransactionHandle};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Method, StatusCode};
use thiserror::Error;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};
use vxgate_vxml::io::{TransferOutcome, TransferType};

use super::outbound;
use super::relay::{on_request, Leg};
use super::CallMedia;
use crate::config::TransferRoute;
use crate::dialpeer::DtmfRelay;
use crate::sip::sdp::{self, MediaDirection, Negotiated};
use crate::sip::{CallIdentity, Q850Cause};

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

/// Why a destination has no route.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RouteError {
    /// Not a `tel:`, `sip:` or `sips:` URI.
    #[error("unsupported transfer destination {0:?} (tel: or sip: expected)")]
    Scheme(String),
    /// No `[[services.transfer]]` route matches its number and its host is not an IP address.
    #[error("no route for transfer destination {0:?}")]
    NoRoute(String),
}

impl RouteError {
    /// The VoiceXML event for it (2.0 §2.3.7.3).
    pub fn event(&self) -> &'static str {
        match self {
            RouteError::Scheme(_) => "error.unsupported.uri",
            RouteError::NoRoute(_) => "error.connection.noroute",
        }
    }
}

/// Where an outbound INVITE for a destination goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The Request-URI.
    pub uri: String,
    /// The next hop (UDP).
    pub target: SocketAddr,
}

/// The number in a destination: `+` and visual separators (RFC 3966 §5.1.1) dropped.
fn number_of(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '+' | '-' | '.' | '(' | ')' | ' '))
        .collect()
}

/// Routes a `<transfer>` destination: its number through the most specific matching route (like an IOS outbound
/// dial-peer); else, for a `sip:` URI whose host is an IP address, straight to that host (port 5060 by default).
pub fn resolve(dest: &str, routes: &[TransferRoute]) -> Result<Route, RouteError> {
    let dest = dest.trim().trim_start_matches('<').trim_end_matches('>');
    let lower = dest.to_ascii_lowercase();
    let (number, host) = if let Some(rest) = lower.strip_prefix("tel:") {
        (number_of(rest.split(';').next().unwrap_or_default()), None)
    } else if let Some(rest) = lower
        .strip_prefix("sip:")
        .or_else(|| lower.strip_prefix("sips:"))
    {
        let rest = rest.split([';', '?']).next().unwrap_or_default();
        match rest.split_once('@') {
            Some((user, host)) => (number_of(user), Some(host.to_string())),
            None => (String::new(), Some(rest.to_string())),
        }
    } else {
        return Err(RouteError::Scheme(dest.to_string()));
    };
    let by_number = (!number.is_empty())
        .then(|| {
            routes
                .iter()
                .filter(|r| r.pattern.matches(&number))
                .max_by_key(|r| r.pattern.specificity())
        })
        .flatten();
    if let Some(r) = by_number {
        return Ok(Route {
            uri: format!("sip:{number}@{}", r.target),
            target: r.target,
        });
    }
    let target = host.and_then(|h| {
        h.parse::<SocketAddr>()
            .ok()
            .or_else(|| h.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 5060)))
    });
    match target {
        Some(target) => Ok(Route {
            uri: dest.to_string(),
            target,
        }),
        None => Err(RouteError::NoRoute(dest.to_string())),
    }
}

/// The outcome value of a final non-2xx answer of the far end (VoiceXML 2.0 §2.3.7.2.2).
pub fn outcome_of_status(code: u16) -> TransferOutcome {
    match code {
        486 | 600 => TransferOutcome::Busy,
        408 | 480 | 487 => TransferOutcome::NoAnswer,
        500..=599 => TransferOutcome::NetworkBusy,
        // 2.0 §2.3.7.3 events: the destination does not exist / is malformed (RFC 3261 §21.4.5, §21.4.22,
        // §21.6.3), authorization refused (§21.4.2, §21.4.4, §21.4.8), any other failure of the protocol.
        404 | 484 | 604 => TransferOutcome::Error("error.connection.baddestination".into()),
        401 | 403 | 407 => TransferOutcome::Error("error.connection.noauthorization".into()),
        300..=699 => TransferOutcome::Error(format!("error.connection.protocol.{code}")),
        _ => TransferOutcome::Unknown,
    }
}

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

/// Blind transfer by REFER. `None`: the peer does not support REFER (405/501); the caller should place the call.
async fn blind_refer(
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

/// Answers an in-dialog request of the caller that arrives while a transfer runs.
async fn refuse_during_transfer(state: DialogState) {
    match state {
        DialogState::Updated(_, req, handle) => refuse_update(&req.method, handle).await,
        DialogState::Info(_, _, handle)
        | DialogState::Options(_, _, handle)
        | DialogState::Notify(_, _, handle) => {
            handle.reply(StatusCode::OK).await.ok();
        }
        DialogState::Refer(_, _, handle)
        | DialogState::Message(_, _, handle)
        | DialogState::Publish(_, _, handle) => {
            // RFC 3261 §8.2.1: a 405 carries Allow.
            let allow = vec![rsipstack::sip::Header::Allow(
                crate::sip::server::ALLOW.into(),
            )];
            handle
                .respond(StatusCode::from(405), Some(allow), None)
                .await
                .ok();
        }
        _ => {}
    }
}

async fn refuse_update(method: &Method, handle: TransactionHandle) {
    debug!(%method, "in-dialog request during a transfer: 488");
    handle.reply(StatusCode::NotAcceptableHere).await.ok();
}

enum Placed {
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

async fn place(
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
    let resp = match joined {
        Ok(Ok((_, Some(resp)))) => resp,
        Ok(Ok((_, None))) => return Placed::Failed(TransferOutcome::NoAnswer),
        Ok(Err(e)) => {
            info!(error = %e, "transfer: invite failed");
            leg.dialogs.remove_dialog(&far.id());
            return Placed::Failed(if e.to_string().to_ascii_lowercase().contains("timeout") {
                TransferOutcome::NoAnswer
            } else {
                TransferOutcome::NetworkBusy
            });
        }
        Err(e) => {
            warn!(error = %e, "transfer: invite task failed");
            return Placed::Failed(TransferOutcome::Unknown);
        }
    };
    let code = u16::from(resp.status_code.clone());
    if !(200..300).contains(&code) {
        info!(status = code, "transfer: far end answered {code}");
        leg.dialogs.remove_dialog(&far.id());
        return Placed::Failed(outcome_of_status(code));
    }
    // States already queued (Early, Confirmed, maybe a re-INVITE the far end sent right after our ACK) are the
    // bridge's to handle: a request dropped here would go unanswered (rsipstack answers a dropped handle with 501).
    Placed::Answered(far, far_states, resp.body)
}

/// Re-INVITEs the caller towards the far end's media; `true` when the caller took it.
async fn shuffle_to_far(leg: &mut CallerLeg<'_>, far_sdp: &[u8]) -> bool {
    let Ok(far) = sdp::negotiate(far_sdp, leg.negotiated.codec, leg.dtmf_relay) else {
        warn!("transfer: the far end's answer has no usable audio stream");
        return false;
    };
    let Some(far_rtp) = far.remote else {
        warn!("transfer: the far end's answer holds the stream");
        return false;
    };
    *leg.sdp_version += 1;
    let mut neg = leg.negotiated.clone();
    neg.direction = MediaDirection::SendRecv;
    let offer = sdp::answer(&neg, far_rtp, leg.session_id, *leg.sdp_version);
    if reinvite_caller(leg, offer).await.is_none() {
        return false;
    }
    // Our own stream steps aside while the legs talk to each other.
    let mut quiet = leg.negotiated.clone();
    quiet.direction = MediaDirection::Inactive;
    leg.media.update(&quiet);
    info!(far_rtp = %far_rtp, "transfer: caller re-invited to the far end's media");
    true
}

/// Re-INVITEs the caller back to the gateway's media after a bridge; the caller's answer says where its RTP is now.
async fn shuffle_back(leg: &mut CallerLeg<'_>) {
    *leg.sdp_version += 1;
    let offer = sdp::answer(
        leg.negotiated,
        leg.media.local_addr(),
        leg.session_id,
        *leg.sdp_version,
    );
    match reinvite_caller(leg, offer).await {
        Some(answer) => {
            if let Ok(n) = sdp::negotiate(&answer, leg.negotiated.codec, leg.dtmf_relay) {
                *leg.negotiated = n;
            }
            info!(remote = ?leg.negotiated.remote, "transfer: caller re-invited back to the gateway's media");
        }
        None => warn!("transfer: the caller did not take the gateway's media back"),
    }
    leg.media.update(leg.negotiated);
}

/// Sends `offer` to the caller in a re-INVITE; its answer when it took it (2xx).
async fn reinvite_caller(leg: &mut CallerLeg<'_>, offer: Vec<u8>) -> Option<Vec<u8>> {
    let resp = leg
        .dialog
        .reinvite(
            Some(vec![Header::ContentType("application/sdp".into())]),
            Some(offer),
        )
        .await;
    match resp {
        Ok(Some(r)) if r.status_code.kind() == rsipstack::sip::StatusCodeKind::Successful => {
            Some(r.body)
        }
        Ok(Some(r)) => {
            info!(
                status = u16::from(r.status_code),
                "transfer: caller refused the re-invite"
            );
            None
        }
        Ok(None) => None,
        Err(e) => {
            warn!(error = %e, "transfer: re-invite to the caller failed");
            None
        }
    }
}

enum BridgeEnd {
    NearEnd,
    FarEnd,
    MaxTime,
}

async fn bridge(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialpeer::DigitPattern;

    fn routes() -> Vec<TransferRoute> {
        vec![
            TransferRoute {
                pattern: DigitPattern::parse("1555T").expect("pattern"),
                target: "127.0.0.1:5070".parse().expect("addr"),
            },
            TransferRoute {
                pattern: DigitPattern::parse("15551000").expect("pattern"),
                target: "127.0.0.1:5080".parse().expect("addr"),
            },
        ]
    }

    #[test]
    fn tel_destinations_take_the_most_specific_route() {
        let r = resolve("tel:+1-555-1000", &routes()).expect("route");
        assert_eq!(
            r.target,
            "127.0.0.1:5080".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(r.uri, "sip:15551000@127.0.0.1:5080");
        let r = resolve("tel:+15552000;phone-context=x", &routes()).expect("route");
        assert_eq!(r.target.port(), 5070);
        assert_eq!(
            resolve("tel:+4930123", &routes()),
            Err(RouteError::NoRoute("tel:+4930123".into()))
        );
    }

    #[test]
    fn sip_destinations_route_by_number_then_by_ip_host() {
        let r = resolve("sip:15559999@agents.example.com", &routes()).expect("route");
        assert_eq!(r.target.port(), 5070);
        let r = resolve("<sip:agent@127.0.0.2:5099;transport=udp>", &routes()).expect("route");
        assert_eq!(
            r.target,
            "127.0.0.2:5099".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(r.uri, "sip:agent@127.0.0.2:5099;transport=udp");
        let r = resolve("sip:agent@10.0.0.1", &[]).expect("route");
        assert_eq!(r.target.port(), 5060);
        assert!(matches!(
            resolve("sip:agent@example.com", &[]),
            Err(RouteError::NoRoute(_))
        ));
        assert!(matches!(
            resolve("mailto:x@y", &[]),
            Err(RouteError::Scheme(_))
        ));
        assert!(matches!(resolve("", &[]), Err(RouteError::Scheme(_))));
    }

    #[test]
    fn far_end_answers_map_to_voicexml_outcomes() {
        assert_eq!(outcome_of_status(486), TransferOutcome::Busy);
        assert_eq!(outcome_of_status(600), TransferOutcome::Busy);
        assert_eq!(outcome_of_status(480), TransferOutcome::NoAnswer);
        assert_eq!(outcome_of_status(408), TransferOutcome::NoAnswer);
        assert_eq!(outcome_of_status(503), TransferOutcome::NetworkBusy);
        let err = |e: &str| TransferOutcome::Error(e.into());
        assert_eq!(
            outcome_of_status(404),
            err("error.connection.baddestination")
        );
        assert_eq!(
            outcome_of_status(484),
            err("error.connection.baddestination")
        );
        assert_eq!(
            outcome_of_status(403),
            err("error.connection.noauthorization")
        );
        assert_eq!(outcome_of_status(488), err("error.connection.protocol.488"));
        assert_eq!(outcome_of_status(302), err("error.connection.protocol.302"));
    }

    #[test]
    fn sipfrag_status_lines() {
        assert_eq!(sipfrag_status(b"SIP/2.0 200 OK\r\n"), Some(200));
        assert_eq!(sipfrag_status(b"SIP/2.0 100 Trying"), Some(100));
        assert_eq!(
            sipfrag_status(b"SIP/2.0 486 Busy Here\r\nX: y\r\n"),
            Some(486)
        );
        assert_eq!(sipfrag_status(b"HTTP/1.1 200 OK"), None);
        assert_eq!(sipfrag_status(b"SIP/2.0 99999"), None);
        assert_eq!(sipfrag_status(&[0xff, 0xfe]), None);
        assert_eq!(sipfrag_status(b""), None);
    }
}
