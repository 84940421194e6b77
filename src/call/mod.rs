//! One call: a SIP dialog, a media session and a service, owned by one tokio task.
//!
//! The task answers the INVITE with the SDP answer, starts the dial-peer's service once the ACK arrives, applies
//! re-INVITEs to the media session without disturbing the service, and ends the call either way: a BYE from the
//! peer (or CANCEL before answer) stops the service; a service that ends sends BYE with `Reason: Q.850;cause=N`.
//! Nothing here can block another call: each call is its own task, and every wait is on this call's channels.

mod media;
pub mod outbound;
pub mod relay;
pub mod transfer;

use std::sync::Arc;

use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, StatusCode};
use tracing::{debug, info, info_span, warn, Instrument};

pub use media::{CallMedia, MediaError};

use crate::config::GatewayConfig;
use crate::dialpeer::{ConnGuard, ServiceKind};
use crate::service::survivability::{self, Forwarded};
use crate::service::{self, ServiceCtx, ServiceEnd};
use crate::sip::ack_gate::AnswerMark;
use crate::sip::identity::CallIdentity;
use crate::sip::sdp::{self, Negotiated};

/// What every call shares: the configuration and the services' resources.
pub struct CallEnv {
    /// The gateway configuration.
    pub config: Arc<GatewayConfig>,
    /// Resources of the services (prompts, HTTP client).
    pub services: service::ServiceEnv,
}

/// An admitted INVITE: who is calling, the dial-peer slot it holds and the negotiated stream.
pub struct CallSetup {
    /// Call identity.
    pub identity: CallIdentity,
    /// The dial-peer slot (released when the call ends).
    pub guard: ConnGuard,
    /// The negotiated audio stream (for a delayed offer: our own offer, completed by the ACK's answer).
    pub negotiated: Negotiated,
    /// The INVITE had no SDP: the 200 carries our offer and the ACK must carry the answer.
    pub delayed_offer: bool,
    /// Marked before the 2xx goes out: in-dialog requests then wait for the ACK (`crate::sip::ack_gate`).
    pub answer_mark: AnswerMark,
}

/// Takes the answer to our `offer` from the peer's ACK (RFC 3264 §4: an offer we sent in a 2xx, to a delayed-offer
/// INVITE or a re-INVITE without SDP, is answered in the ACK) and points the media at it; `done` is the log line.
fn answer_in_ack(
    dialog: &InviteDialog,
    offer: &Negotiated,
    media: &CallMedia,
    done: &str,
) -> Result<Negotiated, sdp::SdpError> {
    let body = dialog.last_remote_ack().map(|a| a.body).unwrap_or_default();
    let n = sdp::accept_answer(offer, &body)?;
    media.update(&n);
    info!(remote = ?n.remote, direction = n.direction.as_str(), "{done}");
    Ok(n)
}

fn sdp_headers() -> Vec<Header> {
    vec![Header::ContentType("application/sdp".into())]
}

/// Runs one call to its end. `states` is this dialog's own state channel.
pub async fn run(
    setup: CallSetup,
    dialog: InviteDialog,
    states: DialogStateReceiver,
    dialogs: Arc<DialogLayer>,
    env: Arc<CallEnv>,
) {
    let peer = setup.guard.peer().clone();
    let span = info_span!(
        "call",
        guid = %setup.identity.guid,
        dnis = %setup.identity.dnis,
        dial_peer = peer.tag,
        service = %peer.service,
    );
    let id = dialog.id();
    run_inner(setup, dialog, states, &dialogs, env)
        .instrument(span)
        .await;
    dialogs.remove_dialog(&id);
}

async fn run_inner(
    setup: CallSetup,
    dialog: InviteDialog,
    mut states: DialogStateReceiver,
    dialogs: &Arc<DialogLayer>,
    env: Arc<CallEnv>,
) {
    let CallSetup {
        identity,
        guard,
        mut negotiated,
        delayed_offer,
        answer_mark,
    } = setup;
    let peer = guard.peer().clone();
    info!(
        call_id = %identity.call_id,
        ani = %identity.ani,
        called = %identity.dnis,
        "incoming call: called number {} matched dial-peer {} (incoming called-number {}), service {}",
        identity.dnis,
        peer.tag,
        peer.pattern,
        peer.service
    );
    // The INVITE transaction announces `Calling` just before it sends 100 Trying; our responses go after it.
    let first = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        loop {
            match states.recv().await {
                Some(DialogState::Calling(_)) => return true,
                Some(DialogState::Terminated(..)) | None => return false,
                Some(_) => {}
            }
        }
    })
    .await;
    if first == Ok(false) {
        info!("call ended before answer");
        return;
    }
    if peer.service == ServiceKind::Survivability {
        // Ingress survivability: the call servers first; only when all fail does this call get answered here.
        let forwarded = match env.config.sip.udp {
            Some(local) => {
                survivability::forward(
                    &dialog,
                    &mut states,
                    dialogs,
                    local,
                    &identity,
                    &env.config.services.survivability,
                    &answer_mark,
                )
                .await
            }
            None => {
                warn!("survivability needs a udp listener to forward from; answering locally");
                Forwarded::AllFailed
            }
        };
        match forwarded {
            Forwarded::AllFailed => {
                info!("survivability: no call server took the call; answering with the call back later message")
            }
            other => {
                info!(outcome = ?other, "survivability: call over");
                return;
            }
        }
    }
    let media = match CallMedia::open(&env, &negotiated).await {
        Ok(m) => Arc::new(m),
        Err(e) => {
            warn!(error = %e, "no media session; rejecting with 503");
            dialog
                .reject(Some(StatusCode::ServiceUnavailable), None)
                .ok();
            return;
        }
    };
    if !peer.answer_delay.is_zero() {
        dialog.ringing(None, None).ok();
        let deadline = tokio::time::sleep(peer.answer_delay);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => break,
                st = states.recv() => match st {
                    None | Some(DialogState::Terminated(..)) => {
                        // CANCEL, or a BYE in the early dialog (answered 487 by the server); either way 487.
                        info!("call ended before answer: caller cancelled (487)");
                        media.close();
                        return;
                    }
                    Some(_) => {}
                },
            }
        }
    }
    let session_id = u64::from(rand::random::<u32>());
    let mut sdp_version = 1u64;
    let answer = sdp::answer(&negotiated, media.local_addr(), session_id, sdp_version);
    answer_mark.answered();
    if let Err(e) = dialog.accept(Some(sdp_headers()), Some(answer)) {
        warn!(error = %e, "could not answer");
        media.close();
        return;
    }
    info!(
        codec = peer.codec.as_str(),
        pt = negotiated.pt,
        dtmf = if negotiated.te_pt.is_some() { "rtp-nte" } else { "inband" },
        remote = ?negotiated.remote,
        local = %media.local_addr(),
        "answered 200 OK"
    );
    let (hangup_tx, hangup_rx) = tokio::sync::watch::channel(false);
    let (disconnect_tx, mut disconnect_rx) = tokio::sync::mpsc::unbounded_channel();
    let (transfer_tx, mut transfer_rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = ServiceCtx {
        identity: identity.clone(),
        peer: peer.clone(),
        media: media.clone(),
        env: env.clone(),
        hangup: hangup_rx,
        disconnect: disconnect_tx,
        transfer: transfer_tx,
    };
    // Our offer in the 2xx of a re-INVITE that had none, until its ACK brings the answer.
    let mut our_offer: Option<Negotiated> = None;
    let mut service: Option<
        std::pin::Pin<Box<dyn std::future::Future<Output = ServiceEnd> + Send>>,
    > = None;
    loop {
        let state = if let Some(svc) = service.as_mut() {
            tokio::select! {
                end = svc => {
                    service = None;
                    info!(cause = end.cause.0, reason = %end.why, "service ended the call: BYE with {}", end.cause);
                    if let Err(e) = dialog.bye_with_reason(end.cause.reason_header_value()).await {
                        debug!(error = %e, "bye");
                    }
                    break;
                }
                Some(cause) = disconnect_rx.recv() => {
                    // `<disconnect>`: hang up the caller; the application goes on with its hangup handler.
                    info!(cause = cause.0, "application disconnected the caller: BYE with {cause}");
                    if let Err(e) = dialog.bye_with_reason(cause.reason_header_value()).await {
                        debug!(error = %e, "bye");
                    }
                    break;
                }
                Some(req) = transfer_rx.recv() => {
                    let Some(local) = env.config.sip.udp else {
                        warn!("transfer needs a udp listener; reporting unknown");
                        continue;
                    };
                    let leg = transfer::CallerLeg {
                        dialog: &dialog,
                        states: &mut states,
                        dialogs,
                        media: &media,
                        negotiated: &mut negotiated,
                        session_id,
                        sdp_version: &mut sdp_version,
                        local,
                        identity: &identity,
                        dtmf_relay: peer.dtmf_relay,
                    };
                    match transfer::run(leg, &env.config.services.transfer, req).await {
                        transfer::After::Continue => continue,
                        transfer::After::CallOver => break,
                    }
                }
                st = states.recv() => st,
            }
        } else {
            states.recv().await
        };
        let Some(state) = state else { break };
        match state {
            DialogState::Confirmed(..) if service.is_none() => {
                if delayed_offer {
                    match answer_in_ack(&dialog, &negotiated, &media, "answer in ack: media set") {
                        Ok(n) => negotiated = n,
                        Err(e) => {
                            // RFC 3261 §13.3.1.4: an ACK without an acceptable answer ends the session.
                            warn!(error = %e, "ack carries no acceptable answer to our offer; BYE");
                            let cause = crate::sip::Q850Cause::RESOURCE_UNAVAILABLE;
                            dialog
                                .bye_with_reason(cause.reason_header_value())
                                .await
                                .ok();
                            break;
                        }
                    }
                }
                debug!("ack received; starting service");
                service = Some(Box::pin(service::run(peer.service, ctx.clone())));
            }
            DialogState::Confirmed(..) if our_offer.is_some() => {
                // The ACK of a re-INVITE we answered with an offer carries the answer (RFC 3264 §4).
                let offer = our_offer.take().unwrap_or_else(|| negotiated.clone());
                match answer_in_ack(
                    &dialog,
                    &offer,
                    &media,
                    "answer in ack of re-invite: media updated",
                ) {
                    Ok(n) => negotiated = n,
                    Err(e) => {
                        // RFC 3261 §13.3.1.4 / §14.2: no acceptable answer; the session goes on as it was.
                        warn!(error = %e, "ack of re-invite carries no acceptable answer; session unchanged");
                    }
                }
            }
            DialogState::Updated(_, req, handle) => {
                let has_body = !req.body.iter().all(|b| b.is_ascii_whitespace());
                if !has_body && req.method == Method::Invite {
                    // RFC 3261 §14.2: a re-INVITE without an offer asks us for one; it goes in the 2xx, and the
                    // answer comes in the ACK.
                    let offer = sdp::own_offer(peer.codec, peer.dtmf_relay);
                    sdp_version += 1;
                    let body = sdp::answer(&offer, media.local_addr(), session_id, sdp_version);
                    info!("re-invite without sdp: offering in the 200");
                    handle
                        .respond(StatusCode::OK, Some(sdp_headers()), Some(body))
                        .await
                        .ok();
                    our_offer = Some(offer);
                    continue;
                }
                // RFC 3311 §5.2: an UPDATE with SDP is an offer like a re-INVITE's; without, a plain 200.
                if !has_body || !matches!(req.method, Method::Invite | Method::Update) {
                    handle.reply(StatusCode::OK).await.ok();
                    continue;
                }
                if let Some(ct) = req.header_value("Content-Type").filter(|ct| {
                    !ct.split(';')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .eq_ignore_ascii_case("application/sdp")
                }) {
                    // RFC 3261 §8.2.3.
                    info!(content_type = %ct, "re-offer in an unsupported body type: 415");
                    let accept = vec![Header::Accept("application/sdp".into())];
                    handle
                        .respond(StatusCode::from(415), Some(accept), None)
                        .await
                        .ok();
                    continue;
                }
                let accepted = match sdp::stream_removal(&req.body, &negotiated) {
                    Some(n) => {
                        info!("re-offer removes the audio stream: answered with port 0, media inactive");
                        Ok(n)
                    }
                    None => sdp::negotiate(&req.body, peer.codec, peer.dtmf_relay).inspect(|n| {
                        info!(remote = ?n.remote, direction = n.direction.as_str(), "re-invite: media updated");
                    }),
                };
                match accepted {
                    Ok(n) => {
                        media.update(&n);
                        sdp_version += 1;
                        negotiated = n;
                        let answer =
                            sdp::answer(&negotiated, media.local_addr(), session_id, sdp_version);
                        handle
                            .respond(StatusCode::OK, Some(sdp_headers()), Some(answer))
                            .await
                            .ok();
                    }
                    Err(e) => {
                        info!(error = %e, "re-invite offer rejected; call continues with the previous session");
                        let warning = e.warning().map(|w| vec![w]);
                        handle
                            .respond(StatusCode::from(e.sip_status()), warning, None)
                            .await
                            .ok();
                    }
                }
            }
            DialogState::Options(_, _, handle) => {
                let caps = crate::sip::server::capabilities();
                handle.respond(StatusCode::OK, Some(caps), None).await.ok();
            }
            DialogState::Info(_, _, handle) => {
                handle.reply(StatusCode::OK).await.ok();
            }
            // No REFER of ours is being followed here, so no subscription: RFC 6665 §4.1.3.
            DialogState::Notify(_, _, handle) => {
                handle
                    .reply(StatusCode::CallTransactionDoesNotExist)
                    .await
                    .ok();
            }
            // RFC 3261 §8.2.1: a 405 carries Allow.
            DialogState::Refer(_, _, handle)
            | DialogState::Message(_, _, handle)
            | DialogState::Publish(_, _, handle) => {
                let allow = vec![Header::Allow(crate::sip::server::ALLOW.into())];
                handle
                    .respond(StatusCode::from(405), Some(allow), None)
                    .await
                    .ok();
            }
            DialogState::Terminated(_, reason) => {
                let how = match reason {
                    TerminatedReason::UacBye => "caller hung up (BYE)".to_string(),
                    TerminatedReason::UacCancel => {
                        "caller cancelled before answer (487)".to_string()
                    }
                    TerminatedReason::Timeout => "no ACK (timer H)".to_string(),
                    other => format!("{other:?}"),
                };
                info!("call ended: {how}");
                break;
            }
            _ => {}
        }
    }
    // The caller is gone: the service hears of it (VoiceXML: connection.disconnect.hangup) and may finish its work,
    // e.g. a last submit, within a bounded grace period. It hears of it before the media closes: a service that saw
    // its media events end first would take the call for a media failure and skip its hangup handler.
    if service.is_some() {
        hangup_tx.send(true).ok();
    }
    media.close();
    if let Some(svc) = service {
        if tokio::time::timeout(HANGUP_GRACE, svc).await.is_err() {
            debug!("service still busy after the hangup grace period; stopped");
        }
    }
    drop(guard);
}

/// How long a service may run after the caller is gone (hangup handlers, final submits).
const HANGUP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
