//! `vxgate run-vxml`: the headless VoiceXML runner.
//!
//! Drives one [`vxgate_vxml::Session`] against a simulated caller on a virtual clock: prompts take no time, scripted
//! DTMF is handed over when the interpreter collects (or at `--dtmf-at` offsets), and silence means `noinput` once
//! the (virtual) timeout passes. Fetches are real. Prints one transcript line per event:
//! `say:`, `play:`, `input:`, `fetch:`, `log:`, and a last `end:` line.

use std::collections::VecDeque;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use vxgate_vxml::fetch::{FetchConfig, Fetcher, SessionFetcher};
use vxgate_vxml::request::{FetchError, FetchRequest, FetchResponse, Method};
use vxgate_vxml::{
    EndReason, Input, Output, PromptItem, Session, SessionConfig, TransferOutcome, TransferType,
};

/// Options of `run-vxml`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The document to run (`http://...` or `file:...`; a plain path is taken as a file).
    pub url: String,
    /// Keys the caller presses, handed over when the interpreter first listens (the rest stay as type-ahead).
    #[arg(long)]
    pub dtmf: Option<String>,
    /// Keys at virtual times, e.g. "2.0s:5 2.4s:4".
    #[arg(long = "dtmf-at")]
    pub dtmf_at: Option<String>,
    /// Stop after this many virtual seconds.
    #[arg(long, default_value_t = 120.0)]
    pub max_seconds: f64,
    /// Default fetchtimeout in seconds.
    #[arg(long, default_value_t = 7.0)]
    pub fetchtimeout: f64,
}

/// Runs `run-vxml`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let url = if args.url.contains("://") || args.url.starts_with("file:") {
        args.url.clone()
    } else {
        let p =
            std::fs::canonicalize(&args.url).map_err(|e| anyhow::anyhow!("{}: {e}", args.url))?;
        url::Url::from_file_path(&p)
            .map_err(|_| anyhow::anyhow!("bad path {}", p.display()))?
            .to_string()
    };
    let mut scheduled = parse_dtmf_at(args.dtmf_at.as_deref().unwrap_or(""))?;
    let cfg = SessionConfig {
        fetchtimeout: Duration::from_secs_f64(args.fetchtimeout.max(0.001)),
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let fetcher = Fetcher::new(FetchConfig {
        default_timeout: cfg.fetchtimeout,
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!("cannot start the fetch layer: {e}"))?;
    let net = Net {
        rt,
        fetcher: fetcher.session(),
    };
    let mut s = Session::new(cfg, &url)
        .map_err(|e| anyhow::anyhow!("cannot start the interpreter: {e}"))?;
    let out = std::io::stdout();
    let mut out = out.lock();
    let t0 = Instant::now();
    let mut now = t0;
    let limit = Duration::from_secs_f64(args.max_seconds.max(0.0));
    let mut keys: VecDeque<char> = args
        .dtmf
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    s.start(now);
    loop {
        while let Some(o) = s.poll_output() {
            match o {
                Output::Fetch { id, request } => {
                    let result = net.fetch(&mut out, &request);
                    s.handle_input(now, Input::Fetched { id, result });
                }
                Output::Play { prompts, .. } => {
                    for p in &prompts {
                        net.play(&mut out, p);
                    }
                    s.handle_input(now, Input::PlayDone);
                }
                Output::Collect { .. } => {
                    if !keys.is_empty() {
                        let digits: String = keys.drain(..).collect();
                        writeln!(out, "input: {digits}")?;
                        for c in digits.chars() {
                            s.handle_input(now, Input::Dtmf(c));
                        }
                    }
                }
                Output::Record { .. } => {
                    s.handle_input(
                        now,
                        Input::RecordDone {
                            audio: Vec::new(),
                            media_type: "audio/x-wav".into(),
                            duration: Duration::ZERO,
                            termchar: None,
                            maxtime: false,
                        },
                    );
                }
                Output::Transfer { dest, kind, .. } => {
                    writeln!(out, "transfer: {dest}")?;
                    let outcome = match kind {
                        TransferType::Bridge => TransferOutcome::FarEndDisconnect,
                        _ => TransferOutcome::Transferred,
                    };
                    s.handle_input(
                        now,
                        Input::TransferResult {
                            outcome,
                            duration: Duration::ZERO,
                        },
                    );
                }
                Output::Log { text, .. } => writeln!(out, "log: {text}")?,
                Output::Disconnect
                | Output::Exit { .. }
                | Output::StopPlay
                | Output::StopCollect => {}
                Output::End(reason) => {
                    let (line, ok) = match &reason {
                        EndReason::Exit => ("exit".to_string(), true),
                        EndReason::Disconnect => ("disconnect".to_string(), true),
                        EndReason::Hangup => ("hangup".to_string(), true),
                        EndReason::Transfer(d) => (format!("transfer {d}"), true),
                        EndReason::Error(e) => (format!("error {e}"), false),
                    };
                    writeln!(out, "end: {line}")?;
                    return Ok(if ok {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    });
                }
            }
        }
        if s.is_ended() {
            return Ok(ExitCode::SUCCESS);
        }
        let next_key = scheduled.front().map(|(at, _)| t0 + *at);
        let next = match (s.poll_timeout(), next_key) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => {
                writeln!(out, "end: error stalled")?;
                return Ok(ExitCode::FAILURE);
            }
        };
        if next.saturating_duration_since(t0) > limit {
            writeln!(out, "end: error max-seconds")?;
            return Ok(ExitCode::FAILURE);
        }
        now = now.max(next);
        if next_key == Some(next) {
            if let Some((_, c)) = scheduled.pop_front() {
                writeln!(out, "input: {c}")?;
                s.handle_input(now, Input::Dtmf(c));
            }
        } else {
            s.handle_timeout(now);
        }
    }
}

/// Real fetches through the shared fetch layer, one cookie jar for the session.
struct Net {
    rt: tokio::runtime::Runtime,
    fetcher: SessionFetcher,
}

impl Net {
    fn fetch(&self, out: &mut impl Write, req: &FetchRequest) -> Result<FetchResponse, FetchError> {
        let r = self.rt.block_on(self.fetcher.fetch(req));
        let m = if req.method == Method::Post {
            "POST"
        } else {
            "GET"
        };
        let status = match &r {
            Ok(resp) => resp.status.to_string(),
            Err(FetchError::Timeout) => "timeout".into(),
            Err(FetchError::Http(c)) => c.to_string(),
            Err(e) => format!("error ({e})"),
        };
        let _ = writeln!(out, "fetch: {m} {} {status}", req.url);
        r
    }

    /// Prints a prompt item; audio is fetched, and its fallback content printed when that fails.
    fn play(&self, out: &mut impl Write, p: &PromptItem) {
        match p {
            PromptItem::Text(t) => {
                let _ = writeln!(out, "say: {t}");
            }
            PromptItem::Audio {
                url,
                timeout,
                fallback,
            } => {
                let req = FetchRequest {
                    url: url.clone(),
                    method: Method::Get,
                    body: None,
                    timeout: *timeout,
                    maxage: None,
                    maxstale: None,
                    kind: vxgate_vxml::request::FetchKind::Audio,
                };
                match self.fetch(out, &req) {
                    Ok(_) => {
                        let _ = writeln!(out, "play: {url}");
                    }
                    Err(_) => {
                        for f in fallback {
                            self.play(out, f);
                        }
                    }
                }
            }
            PromptItem::Break(_) | PromptItem::Mark(_) => {}
        }
    }
}

fn parse_dtmf_at(s: &str) -> anyhow::Result<VecDeque<(Duration, char)>> {
    let mut v = Vec::new();
    for tok in s.split_whitespace() {
        let (t, k) = tok
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("bad --dtmf-at entry {tok:?}, expected TIME:KEY"))?;
        let d = vxgate_vxml::event::parse_time(t)
            .or_else(|| {
                t.parse::<f64>()
                    .ok()
                    .filter(|x| *x >= 0.0)
                    .map(Duration::from_secs_f64)
            })
            .ok_or_else(|| anyhow::anyhow!("bad time {t:?} in --dtmf-at"))?;
        for c in k.chars() {
            v.push((d, c));
        }
    }
    v.sort_by_key(|(d, _)| *d);
    Ok(v.into())
}
