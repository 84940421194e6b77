//! The SDP shuffle: re-INVITEs that point the caller's media at the far end while the legs are bridged, and back
//! at the gateway afterwards.

use rsipstack::sip::Header;
use tracing::{info, warn};

use super::CallerLeg;
use crate::sip::sdp::{self, MediaDirection};

/// Re-INVITEs the caller towards the far end's media; `true` when the caller took it.
pub(super) async fn shuffle_to_far(leg: &mut CallerLeg<'_>, far_sdp: &[u8]) -> bool {
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
pub(super) async fn shuffle_back(leg: &mut CallerLeg<'_>) {
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
