//! The CVP services a dial-peer can start: bootstrap (the IVR leg), ringtone and cvperror, with recovery/handoff.
//!
//! Each service runs inside its call's task and returns how it wants the call ended; a BYE from the peer simply
//! drops the service future. Local media (ringback, error tone, critical_error) is synthesized once at start.

mod local_pool;
mod marks;
pub mod newcall;
pub mod survivability;
pub mod tones;
mod vxml_driver;

use std::sync::Arc;

use tracing::{info, warn};
use vxgate_media::engine::{EngineConfig, MediaEngine, MediaEvent};
use vxgate_vxml::fetch::{FetchConfig, Fetcher};

use crate::call::{CallEnv, CallMedia};
use crate::dialpeer::{DialPeer, ServiceKind};
use crate::sip::{CallIdentity, Q850Cause};
pub use vxml_driver::VxmlEnd;

/// Resources the services share.
pub struct ServiceEnv {
    /// The media engine.
    pub engine: MediaEngine,
    /// HTTP fetcher (shared cache; one cookie jar per call).
    pub fetcher: Fetcher,
    /// Local media.
    pub local: tones::LocalMedia,
    /// Threads that run the interpreters (QuickJS is single-threaded).
    pub vxml: local_pool::LocalPool,
}

impl ServiceEnv {
    /// Starts the media engine and the fetcher and prepares local media for `config`.
    pub async fn new(config: &crate::config::GatewayConfig) -> anyhow::Result<ServiceEnv> {
        let engine_cfg = EngineConfig {
            bind: config.media.bind,
            port_min: config.media.port_min,
            port_max: config.media.port_max,
            realtime_priority: config.media.realtime_priority,
            ..EngineConfig::default()
        };
        let engine = MediaEngine::start(engine_cfg).await?;
        let fetcher = Fetcher::new(FetchConfig {
            default_timeout: config.services.fetch_timeout,
            ..FetchConfig::default()
        })
        .map_err(|e| anyhow::anyhow!("cannot build the http client: {e}"))?;
        let local = tones::LocalMedia::load(config.services.media_dir.as_deref());
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let vxml = local_pool::LocalPool::new(threads)?;
        Ok(ServiceEnv {
            engine,
            fetcher,
            local,
            vxml,
        })
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
    /// Becomes `true` when the caller is gone (BYE): the service should wind up.
    pub hangup: tokio::sync::watch::Receiver<bool>,
    /// Asks the call to hang up the caller with a cause while the service goes on (VoiceXML `<disconnect>`).
    pub disconnect: tokio::sync::mpsc::UnboundedSender<Q850Cause>,
    /// Asks the call to place a `<transfer>`; the outcome comes back on the request's reply channel.
    pub transfer: tokio::sync::mpsc::UnboundedSender<crate::call::transfer::TransferRequest>,
}

/// How a service ended the call.
#[derive(Debug, Clone)]
pub struct ServiceEnd {
    /// The Q.850 cause for the BYE's Reason header.
    pub cause: Q850Cause,
    /// Why, for the trace.
    pub why: String,
}

/// Plays `name` (local media) once and waits for it to finish. `false` when the media session is gone.
async fn play_local(
    ctx: &ServiceCtx,
    events: &mut tokio::sync::mpsc::Receiver<MediaEvent>,
    name: &str,
) -> bool {
    let Some(p) = ctx.env.services.local.get(name, ctx.media.law()) else {
        warn!("local media {name} missing");
        return true;
    };
    info!("media play leg_incoming flash:{name}");
    ctx.media.play(vec![p], false);
    loop {
        match events.recv().await {
            Some(MediaEvent::PromptDone { .. }) => return true,
            Some(_) => {}
            None => return false,
        }
    }
}

/// Runs the service until it ends the call (a BYE from the peer drops this future).
pub async fn run(kind: ServiceKind, ctx: ServiceCtx) -> ServiceEnd {
    let Some(mut events) = ctx.media.take_events() else {
        return ServiceEnd {
            cause: Q850Cause::TEMPORARY_FAILURE,
            why: "media events already taken".into(),
        };
    };
    match kind {
        ServiceKind::Ringtone => {
            // Loops until the call server ends the leg (the BYE drops this future).
            while play_local(&ctx, &mut events, tones::RINGBACK).await {}
            ServiceEnd {
                cause: Q850Cause::NORMAL_CLEARING,
                why: "media session ended".into(),
            }
        }
        ServiceKind::Cvperror => {
            play_local(&ctx, &mut events, tones::ERROR_TONE).await;
            ServiceEnd {
                cause: Q850Cause::NORMAL_CLEARING,
                why: "error tone played".into(),
            }
        }
        ServiceKind::Bootstrap => bootstrap(&ctx, &mut events).await,
        ServiceKind::Survivability => {
            // Every call server failed (survivability::forward): the "call back later" message, then a BYE with
            // Q.850 cause 38, network out of order (Q.850 §2.2.7.1: the network is not functioning correctly and
            // the condition is likely to last a relatively long period), as CVP's handoff uses for a lost call
            // server.
            play_local(&ctx, &mut events, tones::CALLBACK_LATER).await;
            ServiceEnd {
                cause: Q850Cause::NETWORK_OUT_OF_ORDER,
                why: "no call server answered; call back later message played".into(),
            }
        }
    }
}

/// The IVR leg: new-call request to the IVR service, its pages, and recovery/handoff on failure.
async fn bootstrap(
    ctx: &ServiceCtx,
    events: &mut tokio::sync::mpsc::Receiver<MediaEvent>,
) -> ServiceEnd {
    let url = match newcall::new_call_url(&ctx.identity, &ctx.env.config.services) {
        Ok(u) => u,
        Err(e) => return recovery(ctx, events, &e.to_string()).await,
    };
    info!(url = %url, "bootstrap: new-call request to the ivr service");
    let (run_ctx, mut run_events) = (
        ctx.clone(),
        std::mem::replace(events, tokio::sync::mpsc::channel(1).1),
    );
    // The interpreter runs on a worker thread; its logs stay in this call's span.
    let span = tracing::Span::current();
    let done = ctx.env.services.vxml.spawn(move || {
        tracing::Instrument::instrument(
            async move {
                let end = vxml_driver::run(&run_ctx, &url, &mut run_events).await;
                (end, run_events)
            },
            span,
        )
    });
    let Ok((end, back)) = done.await else {
        return ServiceEnd {
            cause: Q850Cause::TEMPORARY_FAILURE,
            why: "interpreter pool stopped".into(),
        };
    };
    *events = back;
    match end {
        VxmlEnd::Exit => ServiceEnd {
            cause: Q850Cause::NORMAL_CLEARING,
            why: "application exited".into(),
        },
        VxmlEnd::Disconnect => ServiceEnd {
            cause: Q850Cause::NORMAL_CLEARING,
            why: "application disconnected".into(),
        },
        VxmlEnd::MediaGone => ServiceEnd {
            cause: Q850Cause::TEMPORARY_FAILURE,
            why: "media session lost".into(),
        },
        VxmlEnd::Error(name) => recovery(ctx, events, &name).await,
    }
}

/// CVP recovery.vxml then handoff: play critical_error.wav, then disconnect with Q.850 cause 38.
async fn recovery(
    ctx: &ServiceCtx,
    events: &mut tokio::sync::mpsc::Receiver<MediaEvent>,
    why: &str,
) -> ServiceEnd {
    warn!(error = %why, "recovery: {why}; playing critical_error, then handoff");
    play_local(ctx, events, tones::CRITICAL_ERROR).await;
    ServiceEnd {
        cause: Q850Cause::NETWORK_OUT_OF_ORDER,
        why: format!("handoff after {why}"),
    }
}
