//! Answers to the in-dialog requests that arrive while a transfer runs and are not part of it.

use rsipstack::dialog::dialog::{DialogState, TransactionHandle};
use rsipstack::sip::{Method, StatusCode};
use tracing::debug;

/// Answers an in-dialog request of the caller that arrives while a transfer runs.
pub(super) async fn refuse_during_transfer(state: DialogState) {
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
