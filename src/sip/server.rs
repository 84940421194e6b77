//! The SIP user agent server: listeners, the request policy, and the hand-off of admitted INVITEs to call tasks.
//!
//! Policy, in the order a new INVITE meets it: Max-Forwards 0 → 483 (RFC 3261 §8.2.2 / §16.3); toll-fraud trusted
//! sources → 403; draining → 503; dial-peer match → 404; `max-conn` → 503; SDP offer/answer → 488 / 400. Everything
//! else about transactions (100 Trying, 2xx retransmission until ACK, CANCEL → 487) is rsipstack's. In-dialog
//! requests are handed to rsipstack only in their turn: after the ACK of the initial 2xx (see [`super::ack_gate`]),
//! or with 500 + Retry-After before the final response (RFC 3261 §14.2).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rsipstack::dialog::dialog::{Dialog, DialogState};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::platform::CancellationToken;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, StatusCode, Transport};
use rsipstack::transaction::key::TransactionRole;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{TcpListenerConnection, TransportLayer};
use rsipstack::EndpointBuilder;
use thiserror::Error;
use tracing::{debug, info, warn};

use super::ack_gate::{AckGates, GateWait, Phase};
use super::identity::CallIdentity;
use super::screen::ScreenedUdp;
use super::sdp;
use super::validate;
use crate::call::{self, CallEnv, CallSetup};
use crate::config::GatewayConfig;
use crate::dialpeer::DialPeerTable;

/// Methods the gateway implements, for `Allow` (RFC 3261 §20.5). NOTIFY: the reports of a REFER it sent (RFC 3515).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, NOTIFY";

/// What the gateway can do, for a response to OPTIONS in or outside a dialog: RFC 3261 §11.2, "Allow, Accept,
/// Accept-Encoding, Accept-Language, and Supported header fields SHOULD be present".
pub fn capabilities() -> Vec<Header> {
    vec![
        Header::Allow(ALLOW.into()),
        Header::Accept("application/sdp".into()),
        Header::AcceptEncoding("identity".into()),
        Header::AcceptLanguage("en".into()),
        Header::Supported(validate::SUPPORTED.join(", ").into()),
    ]
}

/// Why the SIP server could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SipError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The stack's error.
        message: String,
    },
    /// No listener configured.
    #[error("no sip listener configured")]
    NoListener,
}

/// A running SIP server.
pub struct SipServer {
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
    draining: Arc<AtomicBool>,
    cancel: CancellationToken,
    table: Arc<DialPeerTable>,
}

impl SipServer {
    /// The bound UDP address.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp
    }
    /// The TCP listen address.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp
    }
    /// Stops taking new calls (INVITE and OPTIONS get 503); calls in progress go on.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Release);
    }
    /// Calls in progress.
    pub fn active_calls(&self) -> usize {
        self.table.active_calls()
    }
    /// Stops the stack.
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }
}

impl Drop for SipServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

struct Ctx {
    config: Arc<GatewayConfig>,
    table: Arc<DialPeerTable>,
    dialogs: Arc<DialogLayer>,
    draining: Arc<AtomicBool>,
    env: Arc<CallEnv>,
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
    acks: AckGates,
    invites: Arc<OngoingInvites>,
}

/// Starts the listeners of `config.sip` and serves calls with `env` until shut down.
pub async fn start(config: Arc<GatewayConfig>, env: Arc<CallEnv>) -> Result<SipServer, SipError> {
    let cancel = CancellationToken::new();
    let transport = TransportLayer::new(cancel.child_token());
    let mut udp = None;
    if let Some(addr) = config.sip.udp {
        let bind_err = |e: &dyn std::fmt::Display| SipError::Bind {
            addr,
            message: e.to_string(),
        };
        let socket = tokio::net::UdpSocket::bind(addr)
            .await
            .map_err(|e| bind_err(&e))?;
        let screened: Arc<dyn rsipstack::platform::net::UdpSocket> =
            Arc::new(ScreenedUdp::new(socket));
        let conn = UdpConnection::from_socket(screened, None, Some(cancel.child_token()))
            .await
            .map_err(|e| bind_err(&e))?;
        udp = conn.get_addr().get_socketaddr().ok();
        transport.add_transport(conn.into());
    }
    let mut tcp = None;
    if let Some(addr) = config.sip.tcp {
        // Probe the bind so a busy port is an error now, not a log line later; the stack binds it for real.
        std::net::TcpListener::bind(addr).map_err(|e| SipError::Bind {
            addr,
            message: e.to_string(),
        })?;
        let conn = TcpListenerConnection::new(addr, None)
            .await
            .map_err(|e| SipError::Bind {
                addr,
                message: e.to_string(),
            })?;
        tcp = Some(addr);
        transport.add_transport(conn.into());
    }
    if udp.is_none() && tcp.is_none() {
        return Err(SipError::NoListener);
    }
    let endpoint = EndpointBuilder::new()
        .with_user_agent(concat!("vxgate/", env!("CARGO_PKG_VERSION")))
        .with_transport_layer(transport)
        .with_cancel_token(cancel.clone())
        .build();
    let mut incoming = endpoint
        .incoming_transactions()
        .map_err(|e| SipError::Bind {
            addr: udp.or(tcp).unwrap_or_else(|| ([0, 0, 0, 0], 0).into()),
            message: e.to_string(),
        })?;
    let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    let table = Arc::new(DialPeerTable::new(
        config.dial_peers.clone(),
        config.sip.max_conn,
    ));
    let draining = Arc::new(AtomicBool::new(false));
    let ctx = Arc::new(Ctx {
        config,
        table: table.clone(),
        dialogs,
        draining: draining.clone(),
        env,
        udp,
        tcp,
        acks: AckGates::default(),
        invites: Arc::default(),
    });
    let inner = endpoint.inner.clone();
    tokio::spawn(async move {
        if let Err(e) = inner.serve().await {
            warn!(error = %e, "sip endpoint stopped");
        }
    });
    let stop = cancel.clone();
    tokio::spawn(async move {
        // `endpoint` lives as long as this loop.
        let _endpoint = endpoint;
        loop {
            let tx = tokio::select! {
                _ = stop.cancelled() => break,
                tx = incoming.recv() => match tx { Some(tx) => tx, None => break },
            };
            let ctx = ctx.clone();
            tokio::spawn(on_transaction(ctx, tx));
        }
    });
    if let Some(addr) = tcp {
        wait_for_tcp_listener(addr).await;
    }
    info!(udp = ?udp, tcp = ?tcp, "sip listening");
    Ok(SipServer {
        udp,
        tcp,
        draining,
        cancel,
        table,
    })
}

/// Waits (bounded) until the stack's TCP listener on `addr` takes connections: rsipstack binds it in the endpoint's
/// own task, so without this "sip listening" could be logged, and a peer refused, before it is there.
async fn wait_for_tcp_listener(addr: SocketAddr) {
    let probe = if addr.ip().is_unspecified() {
        SocketAddr::new(
            match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            },
            addr.port(),
        )
    } else {
        addr
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(probe).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    warn!(%addr, "tcp listener not accepting connections yet");
}

async fn reply(tx: &mut Transaction, code: u16, headers: Vec<Header>) {
    if let Err(e) = tx.reply_with(StatusCode::from(code), headers, None).await {
        debug!(error = %e, code, "could not send response");
    }
}

fn has_to_tag(tx: &Transaction) -> bool {
    tx.original
        .to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .is_some()
}

/// Answers a malformed request with 400 and a Warning naming the problem. Built here rather than with `reply_with`,
/// which needs a To header field, the very thing that may be missing.
async fn reply_bad_request(tx: &mut Transaction, reason: &validate::BadRequest) {
    let mut headers: Vec<Header> = tx
        .original
        .headers
        .iter()
        .filter(|h| {
            matches!(
                h,
                Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_)
            )
        })
        .cloned()
        .collect();
    if let Ok(to) = tx.original.to_header() {
        let to = match to.tag() {
            Ok(Some(_)) => to.clone(),
            _ => to
                .clone()
                .with_tag(format!("vx{:08x}", rand::random::<u32>()).into()),
        };
        headers.push(Header::To(to));
    }
    headers.push(Header::Warning(validate::warning(399, &reason.0).into()));
    headers.push(Header::ContentLength(0u32.into()));
    let resp = rsipstack::sip::Response {
        status_code: StatusCode::BadRequest,
        wire_reason: None,
        version: tx.original.version,
        headers: headers.into(),
        body: Vec::new(),
    };
    if let Err(e) = tx.respond(resp).await {
        debug!(error = %e, "could not send 400");
    }
}

/// Methods answered 405 outside a dialog (RFC 3261 §8.2.1): known to the stack, not implemented by the gateway.
fn not_allowed(method: Method) -> bool {
    !matches!(
        method,
        Method::Invite
            | Method::Ack
            | Method::Bye
            | Method::Cancel
            | Method::Options
            | Method::Info
            | Method::Update
            | Method::PRack
            | Method::Refer
            | Method::Notify
    )
}

async fn on_transaction(ctx: Arc<Ctx>, mut tx: Transaction) {
    let method = tx.original.method;
    if method == Method::Ack {
        return;
    }
    // Over UDP the screen answered these already; a stream transport brings them here.
    if let Err(reason) = validate::check_request(&tx.original) {
        info!(%method, %reason, "malformed request: 400");
        return reply_bad_request(&mut tx, &reason).await;
    }
    if method != Method::Cancel {
        let hops = tx
            .original
            .max_forwards_header()
            .ok()
            .and_then(|h| h.value().trim().parse::<u32>().ok());
        // RFC 3261 §16.3 step 2: an element that gets Max-Forwards 0 does not pass the request on (483), but "if the
        // request was for OPTIONS, the element MAY act as the final recipient and respond per Section 11".
        if hops == Some(0) && method != Method::Options {
            debug!(%method, "max-forwards 0");
            return reply(&mut tx, 483, vec![]).await;
        }
    }
    // RFC 3261 §8.2.2.3: extensions the request requires and we do not support → 420 listing them in Unsupported.
    // (Method inspection, §8.2.1, comes first: such methods get 405 below.)
    let unsupported = validate::unsupported_required(&tx.original);
    if !unsupported.is_empty() && !not_allowed(method) {
        info!(%method, require = %unsupported.join(", "), "required extension not supported: 420");
        return reply(
            &mut tx,
            420,
            vec![Header::Unsupported(unsupported.join(", ").into())],
        )
        .await;
    }
    if has_to_tag(&tx) {
        match ctx.dialogs.match_dialog(&tx) {
            Some(mut dialog) => {
                if is_out_of_order(&dialog, &tx) {
                    // RFC 3261 §12.2.2: "If the remote sequence number was not empty, but the sequence number of
                    // the request is lower than the remote sequence number, the request is out of order and MUST
                    // be rejected with a 500 (Server Internal Error) response." (rsipstack drops it unanswered.)
                    info!(%method, dialog = %dialog.id(), "in-dialog request with a lower cseq: 500");
                    return reply(&mut tx, 500, vec![]).await;
                }
                if matches!(method, Method::Message | Method::Publish) {
                    // RFC 3261 §8.2.1: not supported here → 405 with Allow. Answered before rsipstack sees it:
                    // its dialog takes MESSAGE/PUBLISH as a state (not an event) until the response is out, and a
                    // request arriving in that window finds the dialog "not confirmed" and is dropped unanswered.
                    return reply(&mut tx, 405, vec![Header::Allow(ALLOW.into())]).await;
                }
                if method == Method::Bye && early_bye(&ctx, &dialog, &mut tx).await {
                    return;
                }
                if !in_dialog_turn(&ctx, &dialog, &mut tx).await {
                    return;
                }
                if let Err(e) = dialog.handle(&mut tx).await {
                    debug!(error = %e, %method, "in-dialog request");
                }
            }
            // RFC 3261 §12.2.2: a request for a dialog we do not know.
            None => reply(&mut tx, 481, vec![]).await,
        }
        return;
    }
    match method {
        Method::Invite => on_invite(ctx, tx).await,
        Method::Options => {
            let draining = ctx.draining.load(Ordering::Acquire);
            reply(&mut tx, if draining { 503 } else { 200 }, capabilities()).await;
        }
        Method::Bye
        | Method::Info
        | Method::Update
        | Method::PRack
        | Method::Refer
        | Method::Notify => reply(&mut tx, 481, vec![]).await,
        // RFC 3261 §8.2.1: a method we understand but do not support.
        _ => reply(&mut tx, 405, vec![Header::Allow(ALLOW.into())]).await,
    }
}

/// Whether a request on one of our UAS dialogs has a CSeq below the last one the peer used (ACK and CANCEL carry
/// the CSeq of their INVITE and are never out of order).
fn is_out_of_order(dialog: &Dialog, tx: &Transaction) -> bool {
    let Dialog::Invite(d) = dialog else {
        return false;
    };
    if d.role() != TransactionRole::Server
        || matches!(tx.original.method, Method::Ack | Method::Cancel)
    {
        return false;
    }
    let Ok(cseq) = tx.original.cseq_header().and_then(|c| c.seq()) else {
        return false;
    };
    let remote = d.snapshot().remote_cseq;
    remote > 0 && cseq < remote
}

/// A BYE in an early dialog of ours (no final response to the INVITE yet), answered here: 200 to the BYE and 487
/// to the INVITE. RFC 3261 §15.1.2: the UAS "MUST still respond to any pending requests received for that dialog.
/// It is RECOMMENDED that a 487 (Request Terminated) response be generated". rsipstack's dialog would only answer
/// the BYE and leave the INVITE transaction (and the call's task) waiting forever. Returns whether it was handled.
async fn early_bye(ctx: &Ctx, dialog: &Dialog, tx: &mut Transaction) -> bool {
    let Dialog::Invite(d) = dialog else {
        return false;
    };
    if d.role() != TransactionRole::Server || ctx.acks.phase(&dialog.id()) != Phase::Pending {
        return false;
    }
    info!(dialog = %dialog.id(), "bye before our final response: 200, and 487 to the invite");
    reply(tx, 200, vec![]).await;
    d.reject(Some(StatusCode::RequestTerminated), None).ok();
    true
}

/// Longest wait of an in-dialog request for the ACK of the initial 2xx: Timer H (64*T1, RFC 3261 §17.2.1) ends the
/// INVITE server transaction by then, with a margin.
const ACK_WAIT: Duration = Duration::from_secs(34);

/// RFC 3261 §17.2.1: the server transaction sends 100 Trying when the TU will not answer an INVITE within 200 ms.
const TRYING_AFTER: Duration = Duration::from_millis(200);

/// Whether an in-dialog request may go to rsipstack's dialog now; if not, it has been answered here.
///
/// While the initial INVITE transaction is still driven (see [`super::ack_gate`]):
/// - 2xx sent, ACK not yet processed: wait for the transaction, so a re-INVITE sent right after the ACK is handled
///   after it, in the order the UAC sent them;
/// - no final response sent yet: RFC 3261 §14.2, "A UAS that receives a second INVITE before it sends the final
///   response to a first INVITE with a lower CSeq sequence number on the same dialog MUST return a 500 (Server
///   Internal Error) response to the second INVITE and MUST include a Retry-After header field with a randomly chosen
///   value of between 0 and 10 seconds." Other requests of an early dialog get the same (the gateway does not take
///   early-dialog UPDATE or INFO); rsipstack would take a re-INVITE for the initial INVITE and never answer either.
async fn in_dialog_turn(ctx: &Ctx, dialog: &Dialog, tx: &mut Transaction) -> bool {
    let method = tx.original.method;
    if matches!(
        method,
        Method::Ack | Method::Bye | Method::Cancel | Method::PRack
    ) {
        return true;
    }
    let id = dialog.id();
    if let Dialog::Invite(d) = dialog {
        if d.role() == TransactionRole::Client {
            return client_dialog_turn(d, tx).await;
        }
    }
    match ctx.acks.phase(&id) {
        Phase::Done => true,
        Phase::Pending => {
            let secs = rand::random_range(0..=10u32);
            debug!(%method, dialog = %id, "in-dialog request before our final response: 500, retry after {secs} s");
            reply(tx, 500, vec![Header::RetryAfter(secs.to_string().into())]).await;
            false
        }
        Phase::Answered => {
            debug!(%method, dialog = %id, "in-dialog request before the ack of the initial 2xx; waiting for it");
            let mut waited = ctx.acks.wait(&id, TRYING_AFTER).await;
            if waited == GateWait::TimedOut {
                if method == Method::Invite {
                    tx.send_trying().await.ok();
                }
                waited = ctx.acks.wait(&id, ACK_WAIT - TRYING_AFTER).await;
            }
            match (waited, dialog.state()) {
                (GateWait::Passed, DialogState::Confirmed(..)) => true,
                (_, state) => {
                    // The ACK never came (Timer H ended the session) or the dialog ended meanwhile.
                    info!(%method, dialog = %id, %state, "in-dialog request on a dialog that never confirmed: 481");
                    reply(tx, 481, vec![]).await;
                    false
                }
            }
        }
    }
}

/// The same race on a dialog the gateway started (survivability, `<transfer>`): its client transaction sends the ACK
/// of the 2xx before the dialog layer records `Confirmed`, and a request the far end sends right after that ACK
/// finds the dialog unconfirmed, where rsipstack 0.7.14 (`InviteDialog::handle`, "only the UAS side drives the
/// INVITE transaction here") returns without answering it. The window is the hand-over of the 2xx from the
/// transaction to the dialog, so a short bounded wait for `Confirmed` closes it.
async fn client_dialog_turn(d: &InviteDialog, tx: &mut Transaction) -> bool {
    const LIMIT: Duration = Duration::from_secs(2);
    let start = tokio::time::Instant::now();
    loop {
        match d.state() {
            DialogState::Confirmed(..) => return true,
            DialogState::Terminated(..) => {
                reply(tx, 481, vec![]).await;
                return false;
            }
            _ if start.elapsed() >= LIMIT => {
                info!(method = %tx.original.method, dialog = %d.id(), "in-dialog request on our dialog that never confirmed: 481");
                reply(tx, 481, vec![]).await;
                return false;
            }
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}

/// The initial INVITEs whose server transaction is running, by From tag, Call-ID and CSeq: the "merged request"
/// check of RFC 3261 §8.2.2.2.
#[derive(Default)]
struct OngoingInvites(std::sync::Mutex<std::collections::HashSet<(String, String, u32)>>);

/// An entry of [`OngoingInvites`], removed on drop.
struct OngoingInvite {
    set: Arc<OngoingInvites>,
    key: (String, String, u32),
}

impl OngoingInvites {
    /// Registers the INVITE of `tx`; `None` when one with the same From tag, Call-ID and CSeq is already running.
    fn enter(self: &Arc<Self>, tx: &Transaction) -> Option<OngoingInvite> {
        let req = &tx.original;
        let from_tag = req
            .from_header()
            .ok()
            .and_then(|f| f.tag().ok().flatten())
            .map(|t| t.value().to_string())
            .unwrap_or_default();
        let call_id = req
            .call_id_header()
            .map(|c| c.value().to_string())
            .unwrap_or_default();
        let cseq = req.cseq_header().and_then(|c| c.seq()).unwrap_or_default();
        let key = (from_tag, call_id, cseq);
        // A poisoned lock only means another call's task panicked while inserting; the set is still usable.
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(key.clone()).then(|| OngoingInvite {
            set: self.clone(),
            key,
        })
    }
}

impl Drop for OngoingInvite {
    fn drop(&mut self) {
        let mut set = self.set.0.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.key);
    }
}

async fn on_invite(ctx: Arc<Ctx>, mut tx: Transaction) {
    // RFC 3261 §8.2.2.2: "If the From tag, Call-ID, and CSeq exactly match those associated with an ongoing
    // transaction, but the request does not match that transaction ... the UAS core SHOULD generate a 482 (Loop
    // Detected) response". (A retransmission matches its transaction and never gets here.)
    let Some(_ongoing) = ctx.invites.enter(&tx) else {
        info!(call_id = %tx.original.call_id_header().map(|c| c.value().to_string()).unwrap_or_default(), "merged request: 482");
        return reply(&mut tx, 482, vec![]).await;
    };
    let identity = CallIdentity::from_request(&tx.original);
    let trusted = identity.source.is_some_and(|ip| {
        ctx.config
            .sip
            .trusted_sources
            .iter()
            .any(|n| n.contains(&ip))
    });
    if !trusted {
        warn!(
            source = ?identity.source,
            dnis = %identity.dnis,
            call_id = %identity.call_id,
            "toll-fraud: call from untrusted source rejected with 403"
        );
        return reply(&mut tx, 403, vec![]).await;
    }
    if ctx.draining.load(Ordering::Acquire) {
        return reply(&mut tx, 503, vec![]).await;
    }
    let guard = match ctx.table.admit(&identity.dnis.0) {
        Ok(g) => g,
        Err(e) => {
            info!(dnis = %identity.dnis, guid = %identity.guid, error = %e, "call rejected with {}", e.sip_status());
            return reply(&mut tx, e.sip_status(), vec![]).await;
        }
    };
    let peer = guard.peer().clone();
    // No body: a delayed offer (RFC 3261 §13.2.1); we offer in the 200 and the answer comes in the ACK.
    let (negotiated, delayed_offer) = if tx.original.body.iter().all(|b| b.is_ascii_whitespace()) {
        (sdp::own_offer(peer.codec, peer.dtmf_relay), true)
    } else {
        if let Some(ct) = unsupported_body_type(&tx.original) {
            // RFC 3261 §8.2.3: a body we cannot process → 415 with what we accept.
            info!(dnis = %identity.dnis, content_type = %ct, "offer in an unsupported body type: 415");
            let accept = vec![
                Header::Accept("application/sdp".into()),
                Header::AcceptEncoding("identity".into()),
            ];
            return reply(&mut tx, 415, accept).await;
        }
        match sdp::negotiate(&tx.original.body, peer.codec, peer.dtmf_relay) {
            Ok(n) => (n, false),
            Err(e) => {
                info!(dnis = %identity.dnis, guid = %identity.guid, error = %e, "offer rejected with {}", e.sip_status());
                return reply(&mut tx, e.sip_status(), e.warning().into_iter().collect()).await;
            }
        }
    };
    let transport = tx
        .connection
        .as_ref()
        .map(|c| c.transport())
        .unwrap_or(Transport::Udp);
    let contact = match (transport, ctx.tcp, ctx.udp) {
        (Transport::Tcp, Some(a), _) => format!("sip:vxgate@{a};transport=tcp"),
        (_, _, Some(a)) | (_, Some(a), None) => format!("sip:vxgate@{a}"),
        _ => "sip:vxgate@127.0.0.1".to_string(),
    };
    let contact = rsipstack::sip::Uri::try_from(contact.as_str()).ok();
    let (state_tx, state_rx) = ctx.dialogs.new_dialog_state_channel();
    let dialog = match ctx
        .dialogs
        .get_or_create_server_invite(&tx, state_tx, None, contact)
    {
        Ok(d) => d,
        Err(e) => {
            warn!(error = %e, "cannot create dialog");
            return reply(&mut tx, 500, vec![]).await;
        }
    };
    let gate = ctx.acks.hold(dialog.id());
    let setup = CallSetup {
        identity,
        guard,
        negotiated,
        delayed_offer,
        answer_mark: gate.answer_mark(),
    };
    let call_dialog = dialog.clone();
    let dialogs = ctx.dialogs.clone();
    let env = ctx.env.clone();
    tokio::spawn(call::run(setup, call_dialog, state_rx, dialogs, env));
    // Drives the INVITE server transaction: 100 Trying, our final response, ACK or CANCEL (→ 487). In-dialog requests
    // that arrive meanwhile wait for it (`in_dialog_turn`); the gate is held before the call task can answer.
    let mut dialog = dialog;
    if let Err(e) = dialog.handle(&mut tx).await {
        debug!(error = %e, "invite transaction");
    }
    drop(gate);
}

/// The Content-Type (or Content-Encoding) of a request body the gateway cannot read, if so: anything but
/// `application/sdp` (a missing Content-Type is taken for SDP) in the identity encoding.
fn unsupported_body_type(req: &rsipstack::sip::Request) -> Option<String> {
    if let Some(enc) = req.header_value("Content-Encoding") {
        if !enc.trim().is_empty() && !enc.trim().eq_ignore_ascii_case("identity") {
            return Some(format!("Content-Encoding {enc}"));
        }
    }
    let ct = req.header_value("Content-Type")?;
    let media_type = ct.split(';').next().unwrap_or_default().trim();
    (!media_type.eq_ignore_ascii_case("application/sdp")).then_some(ct)
}
