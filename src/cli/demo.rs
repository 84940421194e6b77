//! `vxgate demo`: the README's main command. One process, no setup: the gateway, a sample IVR service (HTTP) and a
//! simulated CVP call server + caller on loopback run the four legs of a CVP comprehensive call flow, and the
//! gateway's per-call trace (keyed by call GUID) shows what an operator would look at.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

pub mod callserver;
pub mod ivr;

use crate::call::CallEnv;
use crate::config::GatewayConfig;
use crate::service::ServiceEnv;
use callserver::CallServer;
use ivr::{Behaviour, SampleIvr, Stage};

/// Options of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Digits the caller keys on the IVR leg.
    #[arg(long, default_value = "5432")]
    pub digits: String,
    /// How long the IVR service stalls on the fourth leg (past the 7 s fetch timeout).
    #[arg(long, default_value_t = 9)]
    pub stall_secs: u64,
    /// Run only the sample IVR service on this address (e.g. 127.0.0.1:8000) until Ctrl-C: the IVR side for
    /// `vxgate serve` driven by SIPp or a real call server.
    #[arg(long, value_name = "ADDR")]
    pub ivr_only: Option<SocketAddr>,
}

/// One line of the closing summary.
struct Outcome {
    leg: &'static str,
    called: String,
    result: String,
}

/// Runs `demo`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "vxgate=info,vxgate_vxml=warn,vxgate_media=warn,rsipstack=error",
        )
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .compact()
        .try_init()
        .ok();
    let rt = tokio::runtime::Runtime::new().context("cannot start the tokio runtime")?;
    if let Some(addr) = args.ivr_only {
        return rt.block_on(async move {
            let ivr = SampleIvr::start(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            println!(
                "vxgate demo: sample IVR service on http://{}/cvp/VBServlet",
                ivr.addr()
            );
            tokio::signal::ctrl_c().await.ok();
            println!("vxgate demo: {} IVR requests served", ivr.requests().len());
            Ok(ExitCode::SUCCESS)
        });
    }
    rt.block_on(demo(args))
}

async fn demo(args: Args) -> anyhow::Result<ExitCode> {
    let ivr = SampleIvr::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("sample ivr service")?;
    let stalled_dnis = "541764140199";
    ivr.set_behaviour(
        stalled_dnis,
        Stage::NewCall,
        Behaviour::Stall(Duration::from_secs(args.stall_secs)),
    );

    let mut config = GatewayConfig::default();
    config.sip.udp = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.sip.tcp = None;
    let config = Arc::new(config);
    let services = ServiceEnv::new(&config).await.context("gateway services")?;
    let engine = services.engine.clone();
    let env = Arc::new(CallEnv {
        config: config.clone(),
        services,
    });
    let server = crate::sip::server::start(config.clone(), env).await?;
    let gw = server.udp_addr().context("gateway has no udp address")?;
    let cs = CallServer::start(engine).await?;

    println!(
        "vxgate demo: gateway sip {gw}, IVR service http://{}/cvp/VBServlet, call server 127.0.0.1 (simulated)",
        ivr.addr()
    );
    for p in &config.dial_peers {
        println!(
            "  dial-peer voice {} voip: service {}, incoming called-number {}, codec {}",
            p.tag,
            p.service,
            p.pattern,
            p.codec.as_str()
        );
    }
    let mut outcomes = Vec::new();

    // Leg 2 of CALLFLOW.md: the IVR leg, label 5417641401 + correlation id 44.
    println!("\n== leg 1: IVR leg 541764140144 (label 5417641401 + correlation id 44), caller keys {} ==", args.digits);
    let leg = cs
        .call(
            gw,
            "541764140144",
            "2340597125-4034597340-2149908499-422385232",
            ivr.addr(),
        )
        .await?;
    println!("callserver: INVITE 541764140144 -> {}", leg.status);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    println!("callserver: caller keys {} (RFC 4733)", args.digits);
    leg.send_dtmf(&args.digits);
    let mut got = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        got = ivr
            .requests()
            .iter()
            .find_map(|r| r.param("digits").map(str::to_string));
        if got.is_some() {
            break;
        }
    }
    println!(
        "ivr service: submit received with digits={}",
        got.as_deref().unwrap_or("(none)")
    );
    println!("callserver: caller hears the digits played back, then hold music (queue)...");
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("callserver: agent available -> BYE to the IVR leg");
    leg.hangup().await;
    let mut notified = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        notified = ivr
            .requests()
            .iter()
            .any(|r| r.param("MSG_TYPE") == Some("CALL_HANGUP"));
        if notified {
            break;
        }
    }
    println!(
        "ivr service: {}",
        if notified {
            "hangup submit received (the page's connection.disconnect.hangup handler ran)"
        } else {
            "no hangup submit"
        }
    );
    outcomes.push(Outcome {
        leg: "IVR",
        called: "541764140144".into(),
        result: format!(
            "digits {} reached the IVR service; ended by call server BYE",
            got.as_deref().unwrap_or("NONE")
        ),
    });

    println!("\n== leg 2: ringtone leg 91919191 (agent ringing) ==");
    let leg = cs
        .call(
            gw,
            "91919191",
            "1111111111-2222222222-3333333333-444444444",
            ivr.addr(),
        )
        .await?;
    println!("callserver: INVITE 91919191 -> {}", leg.status);
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!("callserver: agent answered -> BYE to the ringtone leg");
    leg.hangup().await;
    outcomes.push(Outcome {
        leg: "ringtone",
        called: "91919191".into(),
        result: "ringback played until call server BYE".into(),
    });

    println!("\n== leg 3: error leg 92929292 ==");
    let mut leg = cs
        .call(
            gw,
            "92929292",
            "1234567890-1234567890-1234567890-1234567890",
            ivr.addr(),
        )
        .await?;
    println!("callserver: INVITE 92929292 -> {}", leg.status);
    let reason = leg.wait_gateway_bye(Duration::from_secs(10)).await;
    println!(
        "callserver: BYE from gateway, Reason: {}",
        reason.as_deref().unwrap_or("(none)")
    );
    outcomes.push(Outcome {
        leg: "cvperror",
        called: "92929292".into(),
        result: format!("error tone, gateway BYE ({})", reason.unwrap_or_default()),
    });

    println!(
        "\n== leg 4: IVR leg {stalled_dnis} whose IVR service stalls {} s (fetch timeout 7 s) ==",
        args.stall_secs
    );
    let mut leg = cs
        .call(
            gw,
            stalled_dnis,
            "4000000000-4000000001-4000000002-4000000003",
            ivr.addr(),
        )
        .await?;
    println!("callserver: INVITE {stalled_dnis} -> {}", leg.status);
    let reason = leg.wait_gateway_bye(Duration::from_secs(20)).await;
    println!(
        "callserver: BYE from gateway, Reason: {}",
        reason.as_deref().unwrap_or("(none)")
    );
    let ok38 = reason.as_deref().is_some_and(|r| r.contains("cause=38"));
    outcomes.push(Outcome {
        leg: "IVR (stall)",
        called: stalled_dnis.into(),
        result: format!(
            "recovery + handoff, gateway BYE ({})",
            reason.unwrap_or_default()
        ),
    });

    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("\n== summary ==");
    for o in &outcomes {
        println!("  {:<12} {:<14} {}", o.leg, o.called, o.result);
    }
    let ok = got.as_deref() == Some(args.digits.as_str()) && ok38;
    println!(
        "{}",
        if ok {
            "demo: all four legs behaved as CVP expects"
        } else {
            "demo: some legs did not behave as expected"
        }
    );
    server.shutdown();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
