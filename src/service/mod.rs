//! The CVP services a dial-peer can start: bootstrap (the IVR leg), ringtone and cvperror.

pub mod newcall;
pub mod tones;

use std::sync::Arc;

use crate::call::{CallEnv, CallMedia};
use crate::dialpeer::{DialPeer, ServiceKind};
use crate::sip::{CallIdentity, Q850Cause};

/// Resources the services share.
pub struct ServiceEnv {}

impl ServiceEnv {
    /// Prepares the services' resources for `config`.
    pub async fn new(_config: &crate::config::GatewayConfig) -> anyhow::Result<ServiceEnv> {
        Ok(ServiceEnv {})
    }
}

/// What a service gets for one call.
#[derive(Clone)]
pub struct ServiceCtx {
    /// Who is calling.
    pub identity: CallIdentity,
    /// The dial-peer.
    pub peer: Arc<DialPeer>,
    /// The media session.
    pub media: Arc<CallMedia>,
    /// Shared resources.
    pub env: Arc<CallEnv>,
}

/// How a service ended the call.
#[derive(Debug, Clone)]
pub struct ServiceEnd {
    /// The Q.850 cause for the BYE's Reason header.
    pub cause: Q850Cause,
    /// Why, for the trace.
    pub why: String,
}

/// Runs the service until it ends the call (a BYE from the peer drops this future).
pub async fn run(kind: ServiceKind, _ctx: ServiceCtx) -> ServiceEnd {
    match kind {
        ServiceKind::Ringtone | ServiceKind::Bootstrap => std::future::pending().await,
        ServiceKind::Cvperror => {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            ServiceEnd {
                cause: Q850Cause::NORMAL_CLEARING,
                why: "error tone played".into(),
            }
        }
    }
}
