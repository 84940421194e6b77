//! The demo's simulated CVP call server and caller: places the SIP legs to the gateway (rsipstack UAC) and plays
//! the caller's side of the media (an engine session that sends RFC 4733 digits).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::TransportLayer;
use rsipstack::EndpointBuilder;
use vxgate_media::engine::{MediaEngine, MediaHandle, SessionConfig};
use vxgate_media::g711::Law;

use crate::dialpeer::{Codec, DtmfRelay};
use crate::sip::sdp;

/// The call server: one SIP endpoint on loopback.
pub struct CallServer {
    dialogs: Arc<DialogLayer>,
    addr: SocketAddr,
    engine: MediaEngine,
    byes: Arc<Mutex<HashMap<String, String>>>,
    _cancel: rsipstack::platform::CancellationToken,
}

/// One leg placed by the call server.
pub struct Leg {
    /// The dialog.
    pub dialog: InviteDialog,
    /// The caller's media (when the call server plays the caller).
    pub media: Option<MediaHandle>,
    /// Final status of the INVITE.
    pub status: u16,
    /// The gateway's RTP address from its answer.
    pub remote: Option<SocketAddr>,
    version: u32,
    states: DialogStateReceiver,
    call_id: String,
    byes: Arc<Mutex<HashMap<String, String>>>,
}

impl CallServer {
    /// Starts the call server's SIP endpoint on 127.0.0.1 (any port).
    pub async fn start(engine: MediaEngine) -> anyhow::Result<CallServer> {
        let cancel = rsipstack::platform::CancellationToken::new();
        let transport = TransportLayer::new(cancel.child_token());
        let conn = UdpConnection::create_connection(
            "127.0.0.1:0".parse()?,
            None,
            Some(cancel.child_token()),
        )
        .await
        .map_err(|e| anyhow::anyhow!("call server socket: {e}"))?;
        let addr = conn
            .get_addr()
            .get_socketaddr()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        transport.add_transport(conn.into());
        let endpoint = EndpointBuilder::new()
            .with_user_agent("cvp-sim")
            .with_transport_layer(transport)
            .with_cancel_token(cancel.clone())
            .build();
        let mut incoming = endpoint
            .incoming_transactions()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let inner = endpoint.inner.clone();
        tokio::spawn(async move { inner.serve().await.ok() });
        let byes: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let (d2, b2) = (dialogs.clone(), byes.clone());
        tokio::spawn(async move {
            let _endpoint = endpoint;
            while let Some(mut tx) = incoming.recv().await {
                if tx.original.method == Method::Bye {
                    let reason = tx.original.header_value("Reason").unwrap_or_default();
                    let call_id = tx
                        .original
                        .call_id_header()
                        .map(|h| h.value().to_string())
                        .unwrap_or_default();
                    if let Ok(mut b) = b2.lock() {
                        b.insert(call_id, reason);
                    }
                }
                match d2.match_dialog(&tx) {
                    Some(mut d) => {
                        let _ = d.handle(&mut tx).await;
                    }
                    None if tx.original.method != Method::Ack => {
                        tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
                    }
                    None => {}
                }
            }
        });
        Ok(CallServer {
            dialogs,
            addr,
            engine,
            byes,
            _cancel: cancel,
        })
    }

    /// Places a call to `dnis` at the gateway `gw`, as CVP does: Cisco-Guid, App-Info naming the IVR service.
    pub async fn call(
        &self,
        gw: SocketAddr,
        dnis: &str,
        guid: &str,
        ivr: SocketAddr,
    ) -> anyhow::Result<Leg> {
        let (media, mut events) = self
            .engine
            .open(SessionConfig::new(Law::Ulaw))
            .await
            .context("caller media")?;
        // The caller only listens; drain what its session reports.
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let local = media.local_addr();
        let mut leg = self.call_with_rtp(gw, dnis, guid, ivr, local).await?;
        if let Some(remote) = leg.remote {
            media.set_remote(remote);
        }
        leg.media = Some(media);
        Ok(leg)
    }

    /// Places a call offering `rtp` as the caller's media address (the test owns that socket).
    pub async fn call_with_rtp(
        &self,
        gw: SocketAddr,
        dnis: &str,
        guid: &str,
        ivr: SocketAddr,
        rtp: SocketAddr,
    ) -> anyhow::Result<Leg> {
        self.place(gw, dnis, guid, ivr, rtp, true).await
    }

    /// Places a call whose caller has no telephone-event (PCMU only): its digits can only be heard in the audio.
    pub async fn call_inband(
        &self,
        gw: SocketAddr,
        dnis: &str,
        guid: &str,
        ivr: SocketAddr,
    ) -> anyhow::Result<Leg> {
        let mut cfg = SessionConfig::new(Law::Ulaw);
        cfg.telephone_event = None;
        let (media, mut events) = self.engine.open(cfg).await.context("caller media")?;
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let mut leg = self
            .place(gw, dnis, guid, ivr, media.local_addr(), false)
            .await?;
        if let Some(remote) = leg.remote {
            media.set_remote(remote);
        }
        leg.media = Some(media);
        Ok(leg)
    }

    async fn place(
        &self,
        gw: SocketAddr,
        dnis: &str,
        guid: &str,
        ivr: SocketAddr,
        rtp: SocketAddr,
        telephone_event: bool,
    ) -> anyhow::Result<Leg> {
        let offer = offer_sdp(rtp, "sendrecv", 1, telephone_event);
        let (state_tx, states) = self.dialogs.new_dialog_state_channel();
        let opt = InviteOption {
            caller: rsipstack::sip::Uri::try_from(
                format!("sip:4085550123@{}", self.addr).as_str(),
            )?,
            callee: rsipstack::sip::Uri::try_from(format!("sip:{dnis}@{gw}").as_str())?,
            contact: rsipstack::sip::Uri::try_from(format!("sip:cvp@{}", self.addr).as_str())?,
            content_type: Some("application/sdp".into()),
            offer: Some(offer),
            headers: Some(vec![
                Header::Other("Cisco-Guid".into(), guid.into()),
                Header::Other(
                    "App-Info".into(),
                    format!("<{}:{}:8443>", ivr.ip(), ivr.port()),
                ),
            ]),
            ..Default::default()
        };
        let (dialog, resp) = self
            .dialogs
            .do_invite(opt, state_tx)
            .await
            .map_err(|e| anyhow::anyhow!("invite: {e}"))?;
        let status = resp
            .as_ref()
            .map(|r| u16::from(r.status_code.clone()))
            .unwrap_or(0);
        let remote = resp
            .as_ref()
            .filter(|_| status == 200)
            .and_then(|r| sdp::negotiate(&r.body, Codec::G711Ulaw, DtmfRelay::RtpNte).ok())
            .and_then(|n| n.remote);
        let call_id = dialog.id().call_id.clone();
        Ok(Leg {
            dialog,
            media: None,
            status,
            remote,
            states,
            call_id,
            byes: self.byes.clone(),
            version: 1,
        })
    }
}

/// An SDP offer: PCMU and telephone-event 101 at `rtp`, in `direction`.
fn offer_sdp(rtp: SocketAddr, direction: &str, version: u32, telephone_event: bool) -> Vec<u8> {
    let (fmts, te) = if telephone_event {
        (
            "0 101",
            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n",
        )
    } else {
        ("0", "")
    };
    format!(
        "v=0\r\no=cvp 1 {version} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {fmts}\r\n\
a=rtpmap:0 PCMU/8000\r\n{te}a=ptime:20\r\na={direction}\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
    .into_bytes()
}

/// DTMF keys as audio (ITU-T Q.23 tone pairs, 100 ms on, 100 ms off) in µ-law, for callers without telephone-event.
pub fn dtmf_tones(digits: &str) -> vxgate_media::prompt::Prompt {
    let mut pcm = Vec::new();
    for d in digits
        .chars()
        .filter_map(vxgate_media::dtmf::Digit::from_char)
    {
        let (lo, hi) = d.frequencies();
        for i in 0..800 {
            let t = f64::from(i) / 8000.0;
            let v = (std::f64::consts::TAU * lo * t).sin() + (std::f64::consts::TAU * hi * t).sin();
            pcm.push((v * 6000.0) as i16);
        }
        pcm.extend(std::iter::repeat_n(0i16, 800));
    }
    let mut codes = vec![0u8; pcm.len()];
    // Same length by construction.
    vxgate_media::g711::encode(Law::Ulaw, &pcm, &mut codes).ok();
    vxgate_media::prompt::Prompt::from_g711(Law::Ulaw, std::sync::Arc::from(codes), "dtmf-tones")
}

impl Leg {
    /// Plays `digits` as in-band DTMF tones from the caller's media.
    pub fn play_tones(&self, digits: &str) {
        if let Some(m) = &self.media {
            m.play(vec![dtmf_tones(digits)], false);
        }
    }

    /// Sends DTMF from the caller's media (RFC 4733).
    pub fn send_dtmf(&self, digits: &str) {
        if let Some(m) = &self.media {
            m.send_dtmf(digits);
        }
    }

    /// re-INVITE moving the caller's media to `rtp` with `direction` (`sendrecv`, `sendonly`...); returns the status
    /// and the gateway's answer SDP.
    pub async fn reinvite(
        &mut self,
        rtp: SocketAddr,
        direction: &str,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        self.version += 1;
        let resp = self
            .dialog
            .reinvite(
                Some(vec![Header::ContentType("application/sdp".into())]),
                Some(offer_sdp(rtp, direction, self.version, true)),
            )
            .await
            .map_err(|e| anyhow::anyhow!("re-invite: {e}"))?;
        Ok(resp
            .map(|r| (u16::from(r.status_code.clone()), r.body))
            .unwrap_or((0, Vec::new())))
    }

    /// Hangs up (BYE from the call server).
    pub async fn hangup(&self) {
        self.dialog.bye().await.ok();
    }

    /// Waits up to `limit` for the gateway to end the leg; returns the BYE's Reason header.
    pub async fn wait_gateway_bye(&mut self, limit: Duration) -> Option<String> {
        let ended = tokio::time::timeout(limit, async {
            while let Some(s) = self.states.recv().await {
                if let DialogState::Terminated(_, reason) = s {
                    return !matches!(reason, TerminatedReason::UacBye);
                }
            }
            false
        })
        .await;
        if ended != Ok(true) {
            return None;
        }
        // The BYE was recorded before the dialog saw it.
        self.byes
            .lock()
            .ok()
            .and_then(|b| b.get(&self.call_id).cloned())
    }
}
