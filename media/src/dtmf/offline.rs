//! Offline detection: the digits in a packet capture or an audio file, with their times (`vxgate dtmf detect`).
//!
//! A capture is split into RTP streams (sender, receiver, SSRC). In each stream, telephone-events go through the
//! same [`Rfc4733Receiver`] the gateway uses, with the capture times as its clock; the telephone-event payload type
//! is `--te-pt` or, failing that, found by shape (a dynamic type, 96-127, whose every payload is a small multiple of
//! 4 bytes: RFC 4733 §2.3). PCMU (0) and PCMA (8) audio goes through a jitter buffer (reorder, fill gaps) and the
//! [`InbandDetector`]; by default only in streams between endpoints that sent no telephone-events, so a digit sent
//! both ways is not reported twice. A time is seconds from the first packet of the capture: for a telephone-event,
//! the packet that revealed the digit; in-band, the tone's start.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use super::pcap::{is_capture, read_capture, Datagram, PcapError};
use super::{Digit, DtmfSource, InbandDetector, ReportAt, Rfc4733Receiver};
use crate::capture::JitterBuffer;
use crate::g711::{self, Law};
use crate::rtp::RtpPacket;

/// When to look for tones in the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InbandMode {
    /// In streams between endpoints that sent no telephone-events.
    #[default]
    Auto,
    /// In every audio stream.
    Always,
    /// Never.
    Never,
}

/// Detection settings.
#[derive(Debug, Clone, Default)]
pub struct DetectOptions {
    /// The telephone-event payload type; `None` finds it by shape.
    pub te_pt: Option<u8>,
    /// In-band detection.
    pub inband: InbandMode,
}

/// One digit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    /// From the first packet of the capture, or the start of the audio file.
    pub time: Duration,
    /// The key.
    pub digit: Digit,
    /// Telephone-event or tone.
    pub source: DtmfSource,
}

impl std::fmt::Display for Detection {
    /// `<seconds with 3 decimals> <digit> <rfc4733|inband>`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.3} {} {}",
            self.time.as_secs_f64(),
            self.digit,
            self.source
        )
    }
}

/// A file that cannot be analysed. The message holds the whole story (the cause is part of it, not also a
/// `source()`), so an error chain printed with `{:#}` says it once, as `PromptError` does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// Reading the file failed.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// A damaged or unsupported capture.
    #[error("{path}: {error}")]
    Capture {
        /// The file.
        path: String,
        /// Why.
        error: PcapError,
    },
    /// An audio file that cannot be decoded.
    #[error(transparent)]
    Audio(#[from] crate::prompt::PromptError),
    /// A WAV file hound rejects.
    #[error("{path}: {message}")]
    Wav {
        /// The file.
        path: String,
        /// hound's complaint.
        message: String,
    },
}

/// Digits in a file: a pcap/pcapng capture (by its magic number) or audio (WAV, FLAC, MP3, Ogg).
pub fn detect_file(path: &Path, opts: &DetectOptions) -> Result<Vec<Detection>, DetectError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| DetectError::Io {
        path: name.clone(),
        error,
    })?;
    if is_capture(&bytes) {
        let cap = read_capture(&bytes).map_err(|error| DetectError::Capture {
            path: name.clone(),
            error,
        })?;
        if let Some(why) = &cap.truncated {
            tracing::warn!(file = %name, %why, "capture ends in a damaged record; using the packets before it");
        }
        let origin = cap.first_packet.unwrap_or_default();
        return Ok(detect_datagrams(&cap.datagrams, origin, opts));
    }
    let pcm = read_audio(path, &bytes)?;
    Ok(detect_pcm(&pcm))
}

/// 8 kHz mono 16-bit PCM of an audio file: a WAV already in that form is read as is (hound), anything else goes
/// through the prompt loader (decode, mix down, resample, µ-law) and is decoded back.
fn read_audio(path: &Path, bytes: &[u8]) -> Result<Vec<i16>, DetectError> {
    if let Ok(r) = hound::WavReader::new(bytes) {
        let spec = r.spec();
        if spec.channels == 1
            && spec.sample_rate == 8000
            && spec.bits_per_sample == 16
            && spec.sample_format == hound::SampleFormat::Int
        {
            return r
                .into_samples::<i16>()
                .collect::<Result<Vec<i16>, _>>()
                .map_err(|e| DetectError::Wav {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
        }
    }
    let prompt = crate::prompt::load_file(path, Law::Ulaw)?;
    let mut pcm = vec![0i16; prompt.data().len()];
    // pcm was sized to the data: lengths match.
    let _ = g711::decode(Law::Ulaw, prompt.data(), &mut pcm);
    Ok(pcm)
}

/// In-band digits of 8 kHz PCM, timed from its first sample.
pub fn detect_pcm(pcm: &[i16]) -> Vec<Detection> {
    InbandDetector::new()
        .process(pcm)
        .into_iter()
        .map(|(digit, start)| Detection {
            time: samples_to_time(start),
            digit,
            source: DtmfSource::Inband,
        })
        .collect()
}

fn samples_to_time(samples: u64) -> Duration {
    Duration::from_nanos(samples.saturating_mul(125_000))
}

/// One captured RTP packet.
struct Pkt<'a> {
    time: Duration,
    marker: bool,
    seq: u16,
    ts: u32,
    pt: u8,
    payload: &'a [u8],
}

/// One RTP stream's packets.
#[derive(Default)]
struct Stream<'a> {
    packets: Vec<Pkt<'a>>,
}

/// Digits in captured UDP datagrams; times are from `origin` (the capture's first packet).
pub fn detect_datagrams(
    datagrams: &[Datagram],
    origin: Duration,
    opts: &DetectOptions,
) -> Vec<Detection> {
    // Streams keyed by (src, dst, ssrc), in order of appearance.
    let mut streams: BTreeMap<(SocketAddr, SocketAddr, u32), Stream<'_>> = BTreeMap::new();
    for d in datagrams {
        let Ok(p) = RtpPacket::parse(&d.payload) else {
            continue; // SIP, RTCP, STUN, anything else
        };
        streams
            .entry((d.src, d.dst, p.ssrc.0))
            .or_default()
            .packets
            .push(Pkt {
                time: d.time,
                marker: p.marker,
                seq: p.seq,
                ts: p.timestamp.0,
                pt: p.payload_type.get(),
                payload: p.payload,
            });
    }
    let mut found = Vec::new();
    let mut event_flows: HashSet<(SocketAddr, SocketAddr)> = HashSet::new();
    for (&(src, dst, ssrc), s) in &streams {
        let te = match opts.te_pt {
            Some(pt) => Some(pt),
            None => guess_te_pt(s),
        };
        let Some(te) = te else { continue };
        let n = rfc4733(s, te, origin, &mut found);
        if n > 0 {
            tracing::debug!(%src, %dst, ssrc, pt = te, digits = n, "telephone-events");
            event_flows.insert((src, dst));
        }
    }
    if opts.inband != InbandMode::Never {
        for (&(src, dst, _), s) in &streams {
            if opts.inband == InbandMode::Auto && event_flows.contains(&(src, dst)) {
                continue;
            }
            for law in [Law::Ulaw, Law::Alaw] {
                inband(s, law, origin, &mut found);
            }
        }
    }
    found.sort_by_key(|d| d.time);
    found
}

/// The stream's telephone-event payload type, judged by shape.
fn guess_te_pt(s: &Stream<'_>) -> Option<u8> {
    let mut candidates: BTreeMap<u8, bool> = BTreeMap::new();
    for p in &s.packets {
        let (pt, payload) = (p.pt, p.payload);
        let ok = (96..=127).contains(&pt)
            && !payload.is_empty()
            && payload.len().is_multiple_of(4)
            && payload.len() <= 16;
        let e = candidates.entry(pt).or_insert(true);
        *e &= ok;
    }
    candidates.into_iter().find(|&(_, ok)| ok).map(|(pt, _)| pt)
}

/// Runs the telephone-events of payload type `pt` through a receiver; returns the digits found.
fn rfc4733(s: &Stream<'_>, pt: u8, origin: Duration, found: &mut Vec<Detection>) -> usize {
    let base = Instant::now(); // only an anchor: every time below is base + capture time
    let mut rx = Rfc4733Receiver::with_report_at(Duration::from_secs(1), ReportAt::Start);
    let before = found.len();
    for p in s.packets.iter().filter(|p| p.pt == pt) {
        let time = p.time;
        match rx.handle(base + time, p.ts, p.marker, p.payload) {
            Ok(first) => {
                for d in first
                    .into_iter()
                    .chain(std::iter::from_fn(|| rx.poll_event()))
                {
                    found.push(Detection {
                        time: time.saturating_sub(origin),
                        digit: d.digit,
                        source: DtmfSource::Rfc4733,
                    });
                }
            }
            Err(e) => tracing::debug!(error = %e, "bad telephone-event packet skipped"),
        }
    }
    found.len() - before
}

/// In-band digits in the stream's audio of one law.
fn inband(s: &Stream<'_>, law: Law, origin: Duration, found: &mut Vec<Detection>) {
    let pt = law.payload_type();
    let audio: Vec<&Pkt<'_>> = s.packets.iter().filter(|p| p.pt == pt).collect();
    let Some(first) = audio.first() else { return };
    // The audio's first sample is the first packet in sequence order; its capture time anchors the timeline.
    let mut jb = JitterBuffer::new(64);
    let mut pcm = Vec::new();
    let mut first_seq: Option<u16> = None;
    for p in &audio {
        for r in jb.push(p.seq, p.ts, p.payload) {
            first_seq.get_or_insert(r.seq);
            append(&mut pcm, law, &r);
        }
    }
    for r in jb.flush() {
        first_seq.get_or_insert(r.seq);
        append(&mut pcm, law, &r);
    }
    let t0 = audio
        .iter()
        .find(|p| Some(p.seq) == first_seq)
        .map_or(first.time, |p| p.time);
    for (digit, sample) in InbandDetector::new().process(&pcm) {
        found.push(Detection {
            time: (t0 + samples_to_time(sample)).saturating_sub(origin),
            digit,
            source: DtmfSource::Inband,
        });
    }
}

fn append(pcm: &mut Vec<i16>, law: Law, r: &crate::capture::Released) {
    pcm.extend(std::iter::repeat_n(0i16, r.gap as usize));
    let at = pcm.len();
    pcm.resize(at + r.payload.len(), 0);
    // The slice was just sized to the payload: lengths match.
    let _ = g711::decode(law, &r.payload, &mut pcm[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// The messages of an error chain, outermost first (what `{:#}` joins with ": ").
    fn chain(e: &DetectError) -> Vec<String> {
        let mut out = vec![e.to_string()];
        let mut cur = e.source();
        while let Some(c) = cur {
            out.push(c.to_string());
            cur = c.source();
        }
        out
    }

    /// `vxgate dtmf detect` printed "cannot read x: No such file or directory (os error 2): No such file or
    /// directory (os error 2)": the cause was both in the message and the `source()`.
    #[test]
    fn error_chain_says_the_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.wav");
        let capture = dir.path().join("bad.pcap");
        std::fs::write(&capture, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap();
        let text = dir.path().join("notes.wav");
        std::fs::write(&text, b"hello, this is not audio at all").unwrap();
        for path in [missing, capture, text] {
            let err = detect_file(&path, &DetectOptions::default()).unwrap_err();
            let msgs = chain(&err);
            for (i, m) in msgs.iter().enumerate() {
                for later in &msgs[i + 1..] {
                    assert!(!m.contains(later.as_str()), "{msgs:?}");
                }
            }
            assert!(
                msgs[0].contains("missing.wav")
                    || msgs[0].contains("bad.pcap")
                    || msgs[0].contains("notes.wav")
            );
        }
    }
}
