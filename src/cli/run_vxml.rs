//! `vxgate run-vxml`: the headless VoiceXML runner.
//!
//! Drives one [`vxgate_vxml::Session`] against a simulated caller on a virtual clock: text takes no time (there is
//! no TTS), audio takes the length its file declares and `<break>` its time; `--dtmf` keys are handed over when the
//! interpreter collects, once the prompts queued by then have played, `--dtmf-at` keys at their offsets (barging
//! in on a prompt that allows it), and silence means `noinput` once the (virtual) timeout passes. Playback reports
//! each `<mark>` as it passes it (VoiceXML 2.1 §4), so a barge-in after a mark sets `lastresult$.markname` and
//! `marktime`. Fetches are real. Prints one transcript line per event: `say:`, `play:`, `input:`, `fetch:`,
//! `log:`, and a last `end:` line.

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
    /// Keys the caller presses, handed over when the interpreter first listens and its prompts have played.
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
    // What waits for the prompts playing now to end: the `--dtmf` keys, a recording.
    let mut keys_waiting = false;
    let mut record_waiting = false;
    // A stop's PlayDone, sent once the outputs it came with are handled: when they start new prompts, it would
    // end those instead, so it is dropped (the interpreter stops playback on its side when it asks for the stop).
    let mut stop_done = false;
    // After `<disconnect>` nobody hears the prompts: they are printed and done at once.
    let mut hung_up = false;
    let mut player = Player::new(limit);
    s.start(now);
    loop {
        while let Some(o) = s.poll_output() {
            match o {
                Output::Fetch { id, request } => {
                    let result = net.fetch(&mut out, &request);
                    s.handle_input(now, Input::Fetched { id, result });
                }
                Output::Play { prompts, .. } => {
                    player.queue(now, prompts);
                    if player.advance(now, hung_up, &mut s, &net, &mut out) {
                        s.handle_input(now, Input::PlayDone);
                    }
                }
                Output::StopPlay => stop_done |= player.stop(),
                Output::Collect { .. } => keys_waiting |= !keys.is_empty(),
                Output::Record { .. } => record_waiting = true,
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
                Output::Disconnect => {
                    hung_up = true;
                    if player.advance(now, true, &mut s, &net, &mut out) {
                        s.handle_input(now, Input::PlayDone);
                    }
                }
                Output::Exit { .. } | Output::StopCollect => {}
                Output::End(reason) => {
                    // The prompts queued before the end are still printed.
                    player.advance(now, true, &mut s, &net, &mut out);
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
        if std::mem::take(&mut stop_done) && !player.busy() {
            s.handle_input(now, Input::PlayDone);
            continue;
        }
        if !player.busy() {
            if std::mem::take(&mut keys_waiting) {
                let digits: String = keys.drain(..).collect();
                writeln!(out, "input: {digits}")?;
                for c in digits.chars() {
                    s.handle_input(now, Input::Dtmf(c));
                }
                continue;
            }
            if std::mem::take(&mut record_waiting) {
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
                continue;
            }
        }
        let next_key = scheduled.front().map(|(at, _)| t0 + *at);
        let next_play = player.due();
        let Some(next) = [s.poll_timeout(), next_key, next_play]
            .into_iter()
            .flatten()
            .min()
        else {
            writeln!(out, "end: error stalled")?;
            return Ok(ExitCode::FAILURE);
        };
        if next.saturating_duration_since(t0) > limit {
            writeln!(out, "end: error max-seconds")?;
            return Ok(ExitCode::FAILURE);
        }
        now = now.max(next);
        // Playback first: a mark passed at the very instant of a key comes before it.
        if next_play == Some(next) {
            if player.advance(now, hung_up, &mut s, &net, &mut out) {
                s.handle_input(now, Input::PlayDone);
            }
        } else if next_key == Some(next) {
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

    /// Fetches audio; on success, how long it plays (as its file declares; zero when it does not say).
    fn fetch_audio(
        &self,
        out: &mut impl Write,
        url: &str,
        timeout: Duration,
    ) -> Result<Duration, FetchError> {
        let req = FetchRequest::get(url, timeout, vxgate_vxml::request::FetchKind::Audio);
        let resp = self.fetch(out, &req)?;
        Ok(vxgate_media::prompt::probe_bytes(&resp.body, url)
            .ok()
            .and_then(|info| info.duration())
            .unwrap_or(Duration::ZERO))
    }
}

/// The caller's side of prompt playback on the virtual clock: items are played in order, text in no time, audio for
/// the length its file declares (zero when it does not say), breaks for their time; each `<mark>` passed is
/// reported to the session (VoiceXML 2.1 §4).
struct Player {
    /// What is left to play.
    items: VecDeque<PromptItem>,
    /// When the next item starts; `None` while idle.
    at: Option<Instant>,
    /// No item takes longer than the run may last (keeps the clock from overflowing on absurd breaks).
    cap: Duration,
}

impl Player {
    fn new(limit: Duration) -> Player {
        Player {
            items: VecDeque::new(),
            at: None,
            cap: limit.saturating_add(Duration::from_secs(1)),
        }
    }

    /// Something is playing.
    fn busy(&self) -> bool {
        self.at.is_some()
    }

    /// When playback next has something to do.
    fn due(&self) -> Option<Instant> {
        self.at
    }

    /// Queues `prompts` after what is playing (or starts them at `now`).
    fn queue(&mut self, now: Instant, prompts: Vec<PromptItem>) {
        self.at.get_or_insert(now);
        self.items.extend(prompts);
    }

    /// Barge-in or stop: drops what is left. Returns whether something was playing.
    fn stop(&mut self) -> bool {
        self.items.clear();
        self.at.take().is_some()
    }

    /// Plays what starts by `now` (everything, taking no time, when `instant`): prints text and audio, reports
    /// marks. Returns `true` when playback has just finished.
    fn advance(
        &mut self,
        now: Instant,
        instant: bool,
        s: &mut Session,
        net: &Net,
        out: &mut impl Write,
    ) -> bool {
        let Some(mut at) = self.at else {
            return false;
        };
        while instant || at <= now {
            let Some(item) = self.items.pop_front() else {
                self.at = None;
                return true;
            };
            let took = match item {
                PromptItem::Text(t) => {
                    let _ = writeln!(out, "say: {t}");
                    Duration::ZERO
                }
                PromptItem::Audio {
                    url,
                    timeout,
                    fallback,
                } => match net.fetch_audio(out, &url, timeout) {
                    Ok(len) => {
                        let _ = writeln!(out, "play: {url}");
                        len
                    }
                    Err(_) => {
                        for f in fallback.into_iter().rev() {
                            self.items.push_front(f);
                        }
                        Duration::ZERO
                    }
                },
                PromptItem::Break(d) => d,
                PromptItem::Mark(name) => {
                    if !instant {
                        s.handle_input(now, Input::Mark { name });
                    }
                    Duration::ZERO
                }
            };
            if !instant {
                // `cap` is at most a few days: an Instant this close to `now` is representable.
                at += took.min(self.cap);
            }
        }
        self.at = Some(at);
        false
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
