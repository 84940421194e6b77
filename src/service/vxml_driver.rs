//! Runs VoiceXML for one call: drives a [`vxgate_vxml::Session`] with the call's media and the HTTP fetcher.
//!
//! The interpreter is sans-IO; this is its platform. Fetches run as tasks (so a caller's BYE or a DTMF digit is never
//! stuck behind an HTTP request), audio prompts are fetched once and converted to the call's G.711 law through the
//! shared prompt cache, digits from the media engine go back as `Input::Dtmf`, and the session's timers are slept on.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{info, warn};
use vxgate_media::capture::{CaptureConfig, Recording, StopReason};
use vxgate_media::engine::MediaEvent;
use vxgate_media::g711::Law;
use vxgate_media::prompt::{self, CacheKey, Prompt, PromptCache};
use vxgate_vxml::fetch::SessionFetcher;
use vxgate_vxml::io::{BargeInType, EndReason, Input, Output, PromptItem, TransferOutcome};
use vxgate_vxml::request::{FetchKind, FetchRequest};
use vxgate_vxml::session::{Session, SessionConfig, SessionVars};

use super::marks::{self, MarkTracker};
use super::ServiceCtx;
use crate::call::transfer::{TransferReport, TransferRequest};
use crate::sip::Q850Cause;

/// How a VoiceXML run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VxmlEnd {
    /// `<exit>` or the end of the document.
    Exit,
    /// `<disconnect>`: hang up the caller.
    Disconnect,
    /// An uncaught error (e.g. `error.badfetch.http.500`), or the session could not start.
    Error(String),
    /// The media session has gone (events channel closed).
    MediaGone,
}

fn silence(law: Law, d: Duration) -> Prompt {
    let n = usize::try_from(d.as_millis())
        .unwrap_or(usize::MAX)
        .saturating_mul(8)
        .min(8000 * 60);
    Prompt::from_g711(law, vec![law.silence(); n].into(), "break")
}

/// Resolves prompt items to audio: local `flash:` media, HTTP audio through the shared cache, breaks as silence.
/// Text has no TTS here and is logged; unplayable audio falls back to its content (VoiceXML 2.0 §4.1.3). Each
/// `<mark>` goes to `marks` with the number of prompts before it.
async fn resolve(
    ctx: &ServiceCtx,
    fetcher: &SessionFetcher,
    items: Vec<PromptItem>,
    out: &mut Vec<Prompt>,
    marks: &mut Vec<(usize, String)>,
) {
    let law = ctx.media.law();
    for item in items {
        match item {
            PromptItem::Text(t) => info!("tts not available; skipping text prompt {t:?}"),
            PromptItem::Break(d) => out.push(silence(law, d)),
            PromptItem::Mark(name) => marks.push((out.len(), name)),
            PromptItem::Audio {
                url,
                timeout,
                fallback,
            } => {
                if let Some(p) = ctx.env.services.local.get(&url, law) {
                    info!("media play leg_incoming {url}");
                    out.push(p);
                    continue;
                }
                match fetch_audio(fetcher, &url, timeout, law).await {
                    Ok(p) => {
                        info!("media play leg_incoming {url}");
                        out.push(p);
                    }
                    Err(e) => {
                        warn!(url = %url, error = %e, "audio unplayable; playing its fallback");
                        Box::pin(resolve(ctx, fetcher, fallback, out, marks)).await;
                    }
                }
            }
        }
    }
}

async fn fetch_audio(
    fetcher: &SessionFetcher,
    url: &str,
    timeout: Duration,
    law: Law,
) -> Result<Prompt, String> {
    let req = FetchRequest::get(url, timeout, FetchKind::Audio);
    let resp = fetcher.fetch(&req).await.map_err(|e| e.to_string())?;
    // Content-addressed: the HTTP layer revalidates; the decoded prompt is reused while the bytes are the same.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&resp.body, &mut h);
    let tag = format!("{:016x}-{}", std::hash::Hasher::finish(&h), resp.body.len());
    let key = CacheKey::for_url(resp.url.clone(), Some(tag), None, law);
    if let Some(p) = PromptCache::global().get(&key) {
        return Ok(p);
    }
    let p = prompt::load_bytes(&resp.body, &resp.url, law).map_err(|e| e.to_string())?;
    PromptCache::global().insert(key, p.clone());
    Ok(p)
}

/// A `<record>` waiting for its prompts or its capture.
struct PendingRecord {
    cfg: CaptureConfig,
    started: bool,
    media_type: String,
}

/// The interpreter's view of a finished capture, in the requested type of VoiceXML 2.0 Appendix E (raw µ-law for
/// `audio/basic`, raw A-law for `audio/x-alaw-basic`, else a WAV file of 8 kHz 16-bit PCM), or no audio when the
/// caller said nothing (the interpreter then throws `noinput`, VoiceXML 2.0 §2.3.6).
fn record_done(rec: Option<Recording>, requested: String) -> Input {
    let Some(rec) = rec else {
        return Input::RecordDone {
            audio: Vec::new(),
            media_type: requested,
            duration: Duration::ZERO,
            termchar: None,
            maxtime: false,
        };
    };
    let termchar = match rec.reason {
        StopReason::Dtmf(d) => Some(d.to_char()),
        _ => None,
    };
    let maxtime = rec.reason == StopReason::MaxTime;
    let format = RecordFormat::of(&requested);
    let media_type = match format {
        RecordFormat::Wav if !WAV_TYPES.contains(&requested.to_ascii_lowercase().as_str()) => {
            // The interpreter admits only Appendix E types; anything else gets WAV, labelled as such.
            warn!(requested = %requested, "record: type not produced; audio/x-wav instead");
            "audio/x-wav".to_string()
        }
        _ => requested,
    };
    let audio = if rec.heard_speech && !rec.samples.is_empty() {
        format.encode(&rec).unwrap_or_else(|e| {
            warn!(error = %e, "record: cannot encode the recording");
            Vec::new()
        })
    } else {
        Vec::new()
    };
    info!(
        ms = rec.duration().as_millis() as u64,
        bytes = audio.len(),
        reason = ?rec.reason,
        speech = rec.heard_speech,
        %media_type,
        "record: capture ended"
    );
    Input::RecordDone {
        duration: rec.duration(),
        audio,
        media_type,
        termchar,
        maxtime,
    }
}

/// Media types that name a WAV file.
const WAV_TYPES: [&str; 3] = ["audio/x-wav", "audio/wav", "audio/wave"];

/// How a recording is written for the interpreter (VoiceXML 2.0 Appendix E).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordFormat {
    /// `audio/basic`: raw (headerless) 8 kHz 8-bit mono µ-law.
    RawUlaw,
    /// `audio/x-alaw-basic`: raw (headerless) 8 kHz 8-bit mono A-law.
    RawAlaw,
    /// `audio/x-wav` (and anything else): a RIFF WAV file of 8 kHz 16-bit mono PCM.
    Wav,
}

impl RecordFormat {
    fn of(media_type: &str) -> RecordFormat {
        // Parameters after `;` do not change the encoding.
        let base = media_type.split(';').next().unwrap_or("").trim();
        if base.eq_ignore_ascii_case("audio/basic") {
            RecordFormat::RawUlaw
        } else if base.eq_ignore_ascii_case("audio/x-alaw-basic") {
            RecordFormat::RawAlaw
        } else {
            RecordFormat::Wav
        }
    }

    fn encode(self, rec: &Recording) -> Result<Vec<u8>, String> {
        let law = match self {
            RecordFormat::Wav => return rec.to_wav().map_err(|e| e.to_string()),
            RecordFormat::RawUlaw => Law::Ulaw,
            RecordFormat::RawAlaw => Law::Alaw,
        };
        let mut out = vec![0u8; rec.samples.len()];
        vxgate_media::g711::encode(law, &rec.samples, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// Stops a capture and waits briefly for its recording (the engine reports it on the events channel).
async fn finish_capture(
    ctx: &ServiceCtx,
    events: &mut mpsc::Receiver<MediaEvent>,
) -> Option<Recording> {
    ctx.media.stop_capture();
    let wait = async {
        loop {
            match events.recv().await {
                Some(MediaEvent::Recorded(rec)) => return Some(rec),
                Some(_) => {}
                None => return None,
            }
        }
    };
    tokio::time::timeout(Duration::from_millis(500), wait)
        .await
        .ok()
        .flatten()
}

/// Runs the document at `url` (the bootstrap's new-call request, or a local document) until it ends.
pub async fn run(ctx: &ServiceCtx, url: &str, events: &mut mpsc::Receiver<MediaEvent>) -> VxmlEnd {
    let vars = SessionVars {
        local_uri: format!("sip:{}@vxgate", ctx.identity.dnis),
        remote_uri: format!("sip:{}@callserver", ctx.identity.ani),
        protocol_name: "sip".into(),
        protocol_version: "2.0".into(),
        request_uri: format!("sip:{}@vxgate", ctx.identity.dnis),
        ..SessionVars::default()
    };
    let cfg = SessionConfig {
        fetchtimeout: ctx.env.config.services.fetch_timeout,
        vars,
        ..SessionConfig::default()
    };
    let mut session = match Session::new(cfg, url) {
        Ok(s) => s,
        Err(e) => return VxmlEnd::Error(format!("cannot start the interpreter: {e}")),
    };
    let fetcher = ctx.env.services.fetcher.session();
    let (fetch_tx, mut fetch_rx) = mpsc::channel(16);
    let mut hangup = ctx.hangup.clone();
    // After a hangup (the caller's BYE or our `<disconnect>`) there is no media: prompts complete at once and the
    // session runs its hangup handlers to their end.
    let mut hung_up = *hangup.borrow();
    let mut playing = false;
    // The `<record>` in progress: capture starts once its prompts have played (VoiceXML 2.0 §2.3.6).
    let mut recording: Option<PendingRecord> = None;
    // Where the `<mark>`s of the queued prompts are, to report each as playout passes it (VoiceXML 2.1 §4).
    let mut mark_pos = MarkTracker::new(vxgate_media::playout::PlayoutConfig::default().gap);
    session.start(Instant::now());
    loop {
        while let Some(out) = session.poll_output() {
            match out {
                Output::Fetch { id, request } => {
                    info!(url = %request.url, kind = ?request.kind, "fetch");
                    let f = fetcher.clone();
                    let tx = fetch_tx.clone();
                    tokio::spawn(async move {
                        let started = Instant::now();
                        let result = f.fetch(&request).await;
                        match &result {
                            Ok(r) => {
                                info!(url = %request.url, status = r.status, ms = started.elapsed().as_millis() as u64, "page fetched")
                            }
                            Err(e) => {
                                warn!(url = %request.url, error = %e, ms = started.elapsed().as_millis() as u64, "fetch failed")
                            }
                        }
                        tx.send((id, result)).await.ok();
                    });
                }
                Output::Play {
                    prompts,
                    bargein,
                    bargeintype,
                } => {
                    let mut audio = Vec::new();
                    let mut marks_at = Vec::new();
                    if !hung_up {
                        resolve(ctx, &fetcher, prompts, &mut audio, &mut marks_at).await;
                    }
                    if audio.is_empty() {
                        let names = marks_at.into_iter().map(|(_, n)| n).collect();
                        marks::report(&mut session, Instant::now(), names);
                        session.handle_input(Instant::now(), Input::PlayDone);
                    } else {
                        playing = true;
                        mark_pos.queued(Instant::now(), &audio, marks_at);
                        ctx.media
                            .play(audio, bargein && bargeintype == BargeInType::Speech);
                    }
                }
                Output::StopPlay => {
                    mark_pos.stop();
                    ctx.media.stop_playout();
                }
                Output::Collect { .. } | Output::StopCollect => {}
                Output::Log { label, text } => info!(label = ?label, "vxml log: {text}"),
                Output::Disconnect => {
                    ctx.disconnect.send(Q850Cause::NORMAL_CLEARING).ok();
                    hung_up = true;
                    mark_pos.clear();
                    if std::mem::take(&mut playing) {
                        session.handle_input(Instant::now(), Input::PlayDone);
                    }
                }
                Output::Exit { .. } => {}
                Output::End(reason) => {
                    return match reason {
                        EndReason::Error(name) => VxmlEnd::Error(name),
                        EndReason::Disconnect | EndReason::Hangup => VxmlEnd::Disconnect,
                        _ => VxmlEnd::Exit,
                    }
                }
                Output::Transfer {
                    dest,
                    kind,
                    connecttimeout,
                    maxtime,
                    aai,
                } => {
                    let (reply, outcome) = tokio::sync::oneshot::channel();
                    let req = TransferRequest {
                        dest,
                        kind,
                        connecttimeout,
                        maxtime,
                        aai,
                        reply,
                    };
                    let report = if hung_up || ctx.transfer.send(req).is_err() {
                        None
                    } else {
                        // The call task runs the transfer; a caller who hangs up meanwhile ends it there too.
                        outcome.await.ok()
                    };
                    let report = report.unwrap_or(TransferReport {
                        outcome: TransferOutcome::NearEndDisconnect,
                        duration: Duration::ZERO,
                    });
                    session.handle_input(
                        Instant::now(),
                        Input::TransferResult {
                            outcome: report.outcome,
                            duration: report.duration,
                        },
                    );
                }
                Output::Record {
                    maxtime,
                    finalsilence,
                    dtmfterm,
                    beep,
                    media_type,
                } => {
                    if hung_up {
                        session.handle_input(Instant::now(), record_done(None, media_type));
                        continue;
                    }
                    if beep {
                        info!("record: beep requested; this platform records without a beep");
                    }
                    let mut cfg = CaptureConfig::new(ctx.media.law());
                    cfg.max_duration = maxtime;
                    cfg.final_silence = finalsilence;
                    cfg.dtmf_term = dtmfterm;
                    // The caller has until maxtime to start speaking (the `timeout` property is not passed on).
                    cfg.no_input_timeout = None;
                    let started = !playing;
                    if started {
                        info!(
                            maxtime_ms = maxtime.as_millis() as u64,
                            "record: capture started"
                        );
                        ctx.media.start_capture(cfg.clone());
                    }
                    recording = Some(PendingRecord {
                        cfg,
                        started,
                        media_type,
                    });
                }
            }
        }
        if session.is_ended() {
            return VxmlEnd::Exit;
        }
        let wake = match (session.poll_timeout(), mark_pos.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            // In this order: the call task signals a hangup before it closes the media, so a hangup is always seen
            // before the end of the media events it causes.
            biased;
            Some((id, result)) = fetch_rx.recv() => session.handle_input(Instant::now(), Input::Fetched { id, result }),
            changed = hangup.changed(), if !hung_up => {
                // A dropped sender means the call is gone too.
                if changed.is_err() || *hangup.borrow() {
                    hung_up = true;
                    info!("caller hung up; the application runs its hangup handler");
                    mark_pos.clear();
                    if std::mem::take(&mut playing) {
                        session.handle_input(Instant::now(), Input::PlayDone);
                    }
                    if let Some(r) = recording.take() {
                        // What was recorded before the hangup stays available (VoiceXML 2.0 §2.3.6).
                        let rec = if r.started { finish_capture(ctx, events).await } else { None };
                        session.handle_input(Instant::now(), record_done(rec, r.media_type));
                    }
                    session.handle_input(Instant::now(), Input::Hangup);
                }
            }
            ev = events.recv(), if !hung_up => match ev {
                Some(MediaEvent::Dtmf { digit, source }) => {
                    info!(digit = %digit.to_char(), source = %source, "dtmf");
                    // Marks played before the digit come first: a barge-in after a mark reports it.
                    marks::report(&mut session, Instant::now(), mark_pos.due(Instant::now()));
                    // A key that ends a recording is its termchar, not type-ahead for the next field.
                    let consumed = recording.as_ref().is_some_and(|r| r.started && r.cfg.dtmf_term);
                    if !consumed {
                        session.handle_input(Instant::now(), Input::Dtmf(digit.to_char()));
                    }
                }
                Some(MediaEvent::PromptDone { played, interrupted }) => {
                    // None: the late end of a stopped queue; the prompts queued since still play.
                    let Some(reached) = mark_pos.done(played, interrupted) else { continue };
                    marks::report(&mut session, Instant::now(), reached);
                    playing = false;
                    session.handle_input(Instant::now(), Input::PlayDone);
                    if let Some(r) = recording.as_mut().filter(|r| !r.started) {
                        r.started = true;
                        info!(maxtime_ms = r.cfg.max_duration.as_millis() as u64, "record: capture started");
                        ctx.media.start_capture(r.cfg.clone());
                    }
                }
                Some(MediaEvent::Recorded(rec)) => {
                    if let Some(r) = recording.take() {
                        session.handle_input(Instant::now(), record_done(Some(rec), r.media_type));
                    }
                }
                Some(_) => {}
                None => return VxmlEnd::MediaGone,
            },
            _ = async {
                match wake {
                    Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                    None => std::future::pending::<()>().await,
                }
            } => {
                marks::report(&mut session, Instant::now(), mark_pos.due(Instant::now()));
                session.handle_timeout(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(samples: Vec<i16>) -> Recording {
        Recording {
            samples,
            reason: StopReason::MaxTime,
            heard_speech: true,
            duplicates: 0,
            late: 0,
        }
    }

    fn done(rec: Recording, requested: &str) -> (Vec<u8>, String) {
        match record_done(Some(rec), requested.to_string()) {
            Input::RecordDone {
                audio, media_type, ..
            } => (audio, media_type),
            other => panic!("{other:?}"),
        }
    }

    /// VoiceXML 2.0 Appendix E: audio/basic is headerless µ-law, audio/x-alaw-basic headerless A-law, one byte per
    /// 8 kHz sample; audio/x-wav is a RIFF file.
    #[test]
    fn recording_is_written_in_the_requested_appendix_e_type() {
        let samples: Vec<i16> = (0..800)
            .map(|i| ((i * 97) % 20000 - 10000) as i16)
            .collect();
        let (ulaw, t) = done(recording(samples.clone()), "audio/basic");
        assert_eq!(t, "audio/basic");
        let want: Vec<u8> = samples
            .iter()
            .map(|&s| vxgate_media::g711::linear_to_ulaw(s))
            .collect();
        assert_eq!(ulaw, want);
        let (alaw, t) = done(recording(samples.clone()), "audio/x-alaw-basic");
        assert_eq!(t, "audio/x-alaw-basic");
        let want: Vec<u8> = samples
            .iter()
            .map(|&s| vxgate_media::g711::linear_to_alaw(s))
            .collect();
        assert_eq!(alaw, want);
        let (wav, t) = done(recording(samples.clone()), "audio/x-wav");
        assert_eq!(t, "audio/x-wav");
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(wav.len(), 44 + 2 * samples.len());
        // Another type gets WAV, labelled as WAV.
        let (wav, t) = done(recording(samples), "audio/ogg");
        assert_eq!((t.as_str(), &wav[..4]), ("audio/x-wav", &b"RIFF"[..]));
    }
}
