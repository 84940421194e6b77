//! re-INVITE relay between the two legs of a call the gateway bridges in the signalling path only (survivability,
//! `<transfer>`): the offer goes to the other leg, its answer comes back, one re-INVITE at a time.

use rsipstack::dialog::dialog::TransactionHandle;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Method, Request, StatusCode};
use tracing::{info, warn};

fn sdp_headers() -> Vec<Header> {
    vec![Header::ContentType("application/sdp".into())]
}

/// Which leg of a bridged call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The caller (our UAS dialog).
    Caller,
    /// The other party (our UAC dialog): a call server, a transfer destination.
    CallServer,
}

/// Relays a re-INVITE (`req`, answered through `handle`) to `to`, and the far answer back: status, SDP and all.
/// rsipstack ACKs the far 2xx itself, and the near ACK ends the near transaction.
async fn relay_reinvite(to: InviteDialog, req: Request, handle: TransactionHandle, from: Leg) {
    match to
        .reinvite(Some(sdp_headers()), Some(req.body.clone()))
        .await
    {
        Ok(Some(resp)) => {
            let code = resp.status_code.clone();
            info!(
                from = ?from,
                status = u16::from(code.clone()),
                "re-invite relayed to the other leg; its answer relayed back"
            );
            let has_sdp = !resp.body.is_empty();
            handle
                .respond(
                    code,
                    has_sdp.then(sdp_headers),
                    has_sdp.then_some(resp.body),
                )
                .await
                .ok();
        }
        Ok(None) => {
            handle
                .reply(StatusCode::CallTransactionDoesNotExist)
                .await
                .ok();
        }
        Err(e) => {
            warn!(from = ?from, error = %e, "relayed re-invite failed");
            handle.reply(StatusCode::ServerInternalError).await.ok();
        }
    }
}

/// An in-dialog request from leg `from` of a bridged call: a re-INVITE with an offer goes to the other leg `to`
/// (spawned; `done` hears when it is over) unless one is in flight; everything else is answered here.
pub async fn on_request(
    req: Request,
    handle: TransactionHandle,
    from: Leg,
    to: &InviteDialog,
    in_flight: &mut Option<Leg>,
    done: &tokio::sync::mpsc::UnboundedSender<Leg>,
) {
    if req.method != Method::Invite {
        // UPDATE (RFC 3311) is not relayed; a session refresh without a body is harmless to accept.
        let code = if req.body.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::NotAcceptableHere
        };
        handle.reply(code).await.ok();
        return;
    }
    match *in_flight {
        // RFC 3261 §14.2: "A UAS that receives an INVITE on a dialog while an INVITE it had sent on that dialog is
        // in progress MUST return a 491 (Request Pending)".
        Some(leg) if leg != from => {
            handle.reply(StatusCode::RequestPending).await.ok();
        }
        // §14.2: a second INVITE before the final response to the first: 500 with a Retry-After of 0-10 s.
        Some(_) => {
            let secs = rand::random_range(0..=10u32);
            let retry = vec![Header::RetryAfter(secs.to_string().into())];
            handle
                .respond(StatusCode::ServerInternalError, Some(retry), None)
                .await
                .ok();
        }
        None if req.body.iter().all(u8::is_ascii_whitespace) => {
            // A re-INVITE without an offer wants one in our 2xx and the answer in its ACK; rsipstack ACKs the other
            // leg's 2xx itself (without a body), so that answer could not be passed on.
            info!(from = ?from, "re-invite without sdp is not relayed: 488");
            handle.reply(StatusCode::NotAcceptableHere).await.ok();
        }
        None => {
            *in_flight = Some(from);
            let (to, done) = (to.clone(), done.clone());
            tokio::spawn(async move {
                relay_reinvite(to, req, handle, from).await;
                done.send(from).ok();
            });
        }
    }
}
