//! `vxgate serve [--config FILE]`: the gateway. SIP on 127.0.0.1:5060 (UDP and TCP) and the three dial-peers of
//! CALLFLOW.md unless the config says otherwise; tracing to stderr with one span per call keyed by the call GUID.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::call::CallEnv;
use crate::config::GatewayConfig;
use crate::service::ServiceEnv;

/// Options of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gateway config (TOML); built-in defaults when absent.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// How long to wait for calls in progress after Ctrl-C / SIGTERM before exiting (seconds).
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
}

/// Installs the stderr tracing subscriber (`RUST_LOG` overrides; the SIP stack's per-packet logs are off by default).
///
/// rsipstack's dialog layer warns "dialog already confirmed, ignoring transition … (WaitAck)" whenever the ACK of
/// our 2xx is processed before `accept()` records that it waits for one — the race `sip::ack_gate` handles; the
/// call is fine, so that module's warnings are not shown by default.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,rsipstack=warn,rsipstack::dialog::dialog=error")
    });
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init()
        .ok();
}

/// Runs `serve`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_tracing();
    let config = match &args.config {
        Some(path) => GatewayConfig::load(path)?,
        None => GatewayConfig::default(),
    };
    let rt = tokio::runtime::Runtime::new().context("cannot start the tokio runtime")?;
    rt.block_on(async move {
        let config = Arc::new(config);
        let services = ServiceEnv::new(&config)
            .await
            .context("cannot prepare the services")?;
        let env = Arc::new(CallEnv {
            config: config.clone(),
            services,
        });
        let server = crate::sip::server::start(config, env).await?;
        // One line on stdout that scripts and tests wait for.
        println!(
            "vxgate: listening sip udp={} tcp={}",
            server.udp_addr().map_or("-".to_string(), |a| a.to_string()),
            server.tcp_addr().map_or("-".to_string(), |a| a.to_string())
        );
        shutdown_signal().await;
        server.drain();
        tracing::info!(
            active = server.active_calls(),
            "draining: new calls get 503"
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(args.drain_secs);
        while server.active_calls() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server.shutdown();
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return tokio::signal::ctrl_c().await.unwrap_or(()),
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.ok();
}
