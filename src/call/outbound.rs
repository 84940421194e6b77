//! The INVITE the gateway itself sends to a far end (a transfer destination, a survivability
//! destination): both place the same kind of request, so it is built in one place.

use std::net::SocketAddr;

use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::{Header, Transport, Uri};
use rsipstack::transport::SipAddr;
use thiserror::Error;

/// A URI of the outbound request does not parse.
#[derive(Debug, Error)]
#[error("bad outbound request uri: {0:?}")]
pub struct BadUri(pub String);

/// Builds an INVITE to `callee`, sent over UDP to `target`, with the From user `caller_user`
/// at `local`, the Contact `sip:vxgate@{local}`, the SDP `offer` and the extra `headers`.
pub fn invite(
    caller_user: &str,
    local: SocketAddr,
    callee: &str,
    target: SocketAddr,
    offer: Vec<u8>,
    headers: Vec<Header>,
) -> Result<InviteOption, BadUri> {
    let uri = |s: String| Uri::try_from(s.as_str()).map_err(|_| BadUri(s));
    Ok(InviteOption {
        caller: uri(format!("sip:{caller_user}@{local}"))?,
        callee: uri(callee.to_string())?,
        contact: uri(format!("sip:vxgate@{local}"))?,
        destination: Some(SipAddr {
            r#type: Some(Transport::Udp),
            addr: target.into(),
        }),
        content_type: Some("application/sdp".into()),
        offer: Some(offer),
        headers: Some(headers),
        ..InviteOption::default()
    })
}
