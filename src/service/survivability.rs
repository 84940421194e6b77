//! The survivability service (ingress role, CALLFLOW.md "Services"): a back-to-back user agent that forwards an
//! incoming call to the configured call servers in order, and answers locally with a "call back later" message when
//! none of them takes it.
//!
//! Each attempt is a new outbound INVITE (rsipstack client transaction and dialog) carrying the caller's SDP offer;
//! its 180/183 (with the call server's SDP: early media) and the first 2xx answer are relayed to the caller, so media
//! flows caller ↔ call server directly and this gateway stays in the signalling path only. On the bridged call, BYE
//! and re-INVITE (with an offer; its answer comes back) are relayed in both directions, one re-INVITE at a time:
//! one colliding with a relay in flight gets 491 or 500 + Retry-After (RFC 3261 §14.2). A destination
//! that gives no final answer within its timeout is CANCELled (RFC 3261 §9.1); a 5xx or 408 moves to the next one.
//! Any other final answer (4xx, 6xx) is the callee's decision and goes back to the caller as is. A CANCEL from the
//! caller while a destination is being tried CANCELs the outbound leg; rsipstack answers the caller's INVITE with
//! 487 (RFC 3261 §9.2).

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Response, StatusCode};
use tracing::{debug, info, warn};

use crate::call::outbound;
use crate::call::relay::{on_request, Leg};
use crate::config::SurvivabilityDestination;
use crate::sip::ack_gate::AnswerMark;
use crate::sip::CallIdentity;

/// How forwarding ended.
#[derive(Debug)]
pub enum Forwarded {
    /// A call server took the call; it has ended (BYE from either side), nothing more to do.
    Done,
    /// The caller went away (CANCEL) while a destination was tried.
    CallerGone,
    /// A call server answered with a final error that is not a reason to try another (4xx other than 408, 6xx):
    /// it has been relayed to the caller.
    Rejected(u16),
    /// Every destination failed (timeout, 5xx, 408, transport error): answer locally with the message.
    AllFailed,
}

/// Why one attempt did not connect.
enum Attempt {
    Connected(Box<InviteDialog>, DialogStateReceiver, Vec<u8>),
    TryNext(String),
    Final(u16),
    CallerGone,
}

/// Whether a final status moves the call on to the next destination: 408 and every 5xx (a call server or its WAN
/// failing), as IOS survivability's alternate-destination logic does.
fn try_next(code: u16) -> bool {
    code == 408 || (500..600).contains(&code)
}

/// Forwards the call from `caller` (not yet answered) to each of `dests` in turn.
pub async fn forward(
    caller: &InviteDialog,
    caller_states: &mut DialogStateReceiver,
    dialogs: &Arc<DialogLayer>,
    local: SocketAddr,
    identity: &CallIdentity,
    dests: &[SurvivabilityDestination],
    answer_mark: &AnswerMark,
) -> Forwarded {
    let invite = caller.initial_request();
    let headers = identity_headers(&invite);
    let offer = invite.body;
    for (i, d) in dests.iter().enumerate() {
        info!(
            destination = %d.address,
            attempt = i + 1,
            timeout_ms = d.timeout.as_millis() as u64,
            "survivability: forwarding to call server {}",
            d.address
        );
        match attempt(
            caller,
            caller_states,
            dialogs,
            local,
            identity,
            d,
            &offer,
            &headers,
        )
        .await
        {
            Attempt::Connected(out, out_states, answer) => {
                answer_mark.answered();
                return bridge(caller, caller_states, *out, out_states, dialogs, answer, d).await;
            }
            Attempt::TryNext(why) => {
                warn!(destination = %d.address, "survivability: {why}; trying the next destination")
            }
            Attempt::Final(code) => {
                info!(destination = %d.address, status = code, "survivability: call server refused the call; relayed");
                caller.reject(Some(StatusCode::from(code)), None).ok();
                return Forwarded::Rejected(code);
            }
            Attempt::CallerGone => return Forwarded::CallerGone,
        }
    }
    Forwarded::AllFailed
}

#[allow(clippy::too_many_arguments)]
async fn attempt(
    caller: &InviteDialog,
    caller_states: &mut DialogStateReceiver,
    dialogs: &Arc<DialogLayer>,
    local: SocketAddr,
    identity: &CallIdentity,
    d: &SurvivabilityDestination,
    offer: &[u8],
    headers: &[Header],
) -> Attempt {
    let callee = format!(
        "sip:{}@{}",
        user_part(&identity.dnis.to_string()),
        d.address
    );
    let opt = match outbound::invite(
        &user_part(&identity.ani),
        local,
        &callee,
        d.address,
        offer.to_vec(),
        headers.to_vec(),
    ) {
        Ok(opt) => opt,
        Err(_) => return Attempt::TryNext("cannot build the outbound request uris".into()),
    };
    let (tx, mut out_states) = dialogs.new_dialog_state_channel();
    let (out, handle) = match dialogs.do_invite_async(opt, tx) {
        Ok(x) => x,
        Err(e) => return Attempt::TryNext(format!("cannot send the invite: {e}")),
    };
    tokio::pin!(handle);
    let deadline = tokio::time::sleep(d.timeout);
    tokio::pin!(deadline);
    let mut out_open = true;
    let result = loop {
        tokio::select! {
            r = &mut handle => break Some(r),
            _ = &mut deadline => break None,
            st = out_states.recv(), if out_open => match st {
                Some(DialogState::Early(_, resp)) => relay_provisional(caller, &resp, d),
                Some(_) => {}
                None => out_open = false,
            },
            st = caller_states.recv() => match st {
                None | Some(DialogState::Terminated(..)) => {
                    info!(destination = %d.address, "survivability: caller cancelled; cancelling the outbound leg");
                    out.cancel().await.ok();
                    // The outbound INVITE ends with 487 (or a racing 2xx that rsipstack BYEs).
                    tokio::time::timeout(std::time::Duration::from_secs(2), &mut handle).await.ok();
                    dialogs.remove_dialog(&out.id());
                    return Attempt::CallerGone;
                }
                Some(_) => {}
            },
        }
    };
    let Some(joined) = result else {
        out.cancel().await.ok();
        tokio::time::timeout(std::time::Duration::from_secs(2), &mut handle)
            .await
            .ok();
        dialogs.remove_dialog(&out.id());
        return Attempt::TryNext(format!(
            "no final answer within {} ms",
            d.timeout.as_millis()
        ));
    };
    let resp = match joined {
        Ok(Ok((_, resp))) => resp,
        Ok(Err(e)) => return Attempt::TryNext(format!("invite failed: {e}")),
        Err(e) => return Attempt::TryNext(format!("invite task failed: {e}")),
    };
    let Some(resp) = resp else {
        return Attempt::TryNext("no final answer".into());
    };
    let code = u16::from(resp.status_code.clone());
    if (200..300).contains(&code) {
        // Queued states (Early, Confirmed, maybe a re-INVITE the call server sent right after our ACK) are the
        // bridge's: a request dropped here would go unanswered (rsipstack answers a dropped handle with 501).
        return Attempt::Connected(Box::new(out), out_states, resp.body);
    }
    if try_next(code) {
        Attempt::TryNext(format!("call server answered {code}"))
    } else {
        Attempt::Final(code)
    }
}

/// Relays a provisional response of the call server to the caller: 180 as ringing, 183 (or any 1xx with a body) as
/// session progress with the call server's SDP, so the caller hears the far end's early media (ringback,
/// announcements) straight from it. 100 Trying is hop-by-hop and stays here.
fn relay_provisional(caller: &InviteDialog, resp: &Response, d: &SurvivabilityDestination) {
    let code = u16::from(resp.status_code.clone());
    if code == 100 || !(101..200).contains(&code) {
        return;
    }
    let has_sdp = !resp.body.iter().all(u8::is_ascii_whitespace);
    let sent = if code == 183 || has_sdp {
        let headers = has_sdp.then(sdp_headers);
        caller.ringing(
            headers,
            Some(if has_sdp {
                resp.body.clone()
            } else {
                Vec::new()
            }),
        )
    } else {
        caller.ringing(None, None)
    };
    match sent {
        Ok(()) => info!(
            destination = %d.address,
            status = code,
            early_media = has_sdp,
            "survivability: call server sent {code}; relayed to the caller"
        ),
        Err(e) => debug!(error = %e, "survivability: cannot relay {code}"),
    }
}

fn sdp_headers() -> Vec<Header> {
    vec![Header::ContentType("application/sdp".into())]
}

/// The user part of a number or URI user, reduced to what is safe in a SIP URI.
fn user_part(s: &str) -> String {
    let u: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+-_.*#".contains(*c))
        .collect();
    if u.is_empty() {
        "anonymous".into()
    } else {
        u
    }
}

/// Headers of the caller's INVITE that carry the call's identity on to the call server (RFC 3261 leaves a B2BUA
/// free to copy them): the Cisco GUID, so the call keeps its identity across legs.
fn identity_headers(invite: &rsipstack::sip::Request) -> Vec<Header> {
    invite
        .headers
        .iter()
        .filter(|h| matches!(h, Header::Other(name, _) if name.eq_ignore_ascii_case("Cisco-Guid")))
        .cloned()
        .collect()
}

/// Connects the caller to the answered outbound leg and relays BYE and re-INVITE both ways.
async fn bridge(
    caller: &InviteDialog,
    caller_states: &mut DialogStateReceiver,
    out: InviteDialog,
    mut out_states: DialogStateReceiver,
    dialogs: &Arc<DialogLayer>,
    answer: Vec<u8>,
    d: &SurvivabilityDestination,
) -> Forwarded {
    if let Err(e) = caller.accept(Some(sdp_headers()), Some(answer)) {
        warn!(error = %e, "survivability: cannot answer the caller; ending the outbound leg");
        out.bye().await.ok();
        dialogs.remove_dialog(&out.id());
        return Forwarded::Done;
    }
    info!(destination = %d.address, "survivability: connected to call server {}", d.address);
    let mut in_flight: Option<Leg> = None;
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    loop {
        tokio::select! {
            Some(_) = done_rx.recv() => in_flight = None,
            st = caller_states.recv() => match st {
                None | Some(DialogState::Terminated(..)) => {
                    info!("survivability: caller hung up; BYE to the call server");
                    out.bye().await.ok();
                    break;
                }
                Some(DialogState::Updated(_, req, handle)) => {
                    on_request(req, handle, Leg::Caller, &out, &mut in_flight, &done_tx).await;
                }
                Some(DialogState::Info(_, _, handle)) | Some(DialogState::Options(_, _, handle)) => {
                    handle.reply(StatusCode::OK).await.ok();
                }
                Some(_) => {}
            },
            st = out_states.recv() => match st {
                None | Some(DialogState::Terminated(..)) => {
                    info!("survivability: call server hung up; BYE to the caller");
                    caller.bye().await.ok();
                    break;
                }
                Some(DialogState::Updated(_, req, handle)) => {
                    on_request(req, handle, Leg::CallServer, caller, &mut in_flight, &done_tx).await;
                }
                Some(DialogState::Info(_, _, handle)) | Some(DialogState::Options(_, _, handle)) => {
                    handle.reply(StatusCode::OK).await.ok();
                }
                Some(_) => {}
            },
        }
    }
    dialogs.remove_dialog(&out.id());
    Forwarded::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_answers_move_on() {
        assert!(try_next(503));
        assert!(try_next(500));
        assert!(try_next(408));
        assert!(!try_next(486));
        assert!(!try_next(404));
        assert!(!try_next(603));
    }

    #[test]
    fn user_parts_are_uri_safe() {
        assert_eq!(user_part("5417641400"), "5417641400");
        assert_eq!(user_part("+1 (408) 555"), "+1408555");
        assert_eq!(user_part("<>@;"), "anonymous");
    }
}
