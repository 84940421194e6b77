//! fetchaudio (VoiceXML 2.0 §6.1.1): the audio in force for a document fetch, and stopping it when the answer
//! comes.
//!
//! `fetchaudiominimum` (VoiceXML 2.0 §6.3.5): once fetchaudio has started, it plays at least that long, even when
//! the document arrives sooner. The answer is held back until then, so the caller does not hear a fragment of hold
//! audio cut off at once. fetchaudio that has not started yet (`fetchaudiodelay` not elapsed) imposes nothing.

use std::time::{Duration, Instant};

use super::Session;
use crate::dom::{Document, NodeId};
use crate::io::{FetchId, Output};
use crate::request::{FetchError, FetchResponse};
use crate::timer::Timer;

/// The fetchaudio minimum of the outstanding document fetch.
#[derive(Debug, Default)]
pub(crate) struct Hold {
    /// `fetchaudiominimum` in force for the fetch (zero when unset: this platform's default).
    minimum: Duration,
    /// When fetchaudio started playing for it.
    started: Option<Instant>,
    /// Its answer, held until `started + minimum`.
    held: Option<(FetchId, Result<FetchResponse, FetchError>)>,
}

impl Session {
    /// The `fetchaudio` in force for a document fetch asked by element `at` (attribute, else property), with the
    /// `fetchaudiodelay` (default 2 s) and the audio's fetchtimeout; `None` when empty or unset.
    pub(crate) fn fetchaudio_for(
        &self,
        doc: &Document,
        at: NodeId,
    ) -> Option<(String, Duration, Duration)> {
        let fa = doc
            .attr(at, "fetchaudio")
            .map(str::to_string)
            .or_else(|| self.property(doc, Some(at), "fetchaudio"))?;
        if fa.trim().is_empty() {
            return None;
        }
        let url = self.resolve_in(doc, &fa).ok()?;
        let delay = self
            .property(doc, Some(at), "fetchaudiodelay")
            .and_then(|v| crate::event::parse_time(&v))
            .unwrap_or(Duration::from_secs(2));
        Some((url, delay, self.fetch_timeout(doc, at)))
    }

    /// The document fetch answered: stop fetchaudio (its timer, or its playback).
    pub(crate) fn stop_fetchaudio(&mut self) {
        self.timers.stop(crate::timer::Timer::FetchAudio);
        self.fetchaudio = None;
        if self.fetchaudio_playing {
            self.fetchaudio_playing = false;
            self.playing = false;
            self.out.push_back(Output::StopPlay);
        }
    }

    /// A document fetch with fetchaudio is about to be issued by element `at` of `doc`: read its minimum.
    pub(super) fn arm_fetchaudio_minimum(&mut self, doc: &Document, at: NodeId) {
        let minimum = self
            .property(doc, Some(at), "fetchaudiominimum")
            .and_then(|v| crate::event::parse_time(&v))
            .unwrap_or(Duration::ZERO);
        self.timers.stop(Timer::FetchAudioMinimum);
        self.fa_hold = Hold {
            minimum,
            started: None,
            held: None,
        };
    }

    /// fetchaudio started playing at `now`.
    pub(super) fn fetchaudio_started(&mut self, now: Instant) {
        self.fa_hold.started = Some(now);
    }

    /// Whether the answer to fetch `id` must wait for the minimum; if so it is kept and a timer armed.
    pub(super) fn hold_for_fetchaudio(
        &mut self,
        id: FetchId,
        result: Result<FetchResponse, FetchError>,
    ) -> Option<Result<FetchResponse, FetchError>> {
        let (Some(started), Some(now)) = (self.fa_hold.started, self.now) else {
            return Some(result);
        };
        if self.fetchaudio.is_none() {
            return Some(result);
        }
        let until = started + self.fa_hold.minimum;
        if now >= until {
            self.fa_hold.started = None;
            return Some(result);
        }
        tracing::debug!(?id, "document held until fetchaudiominimum has played");
        self.fa_hold.held = Some((id, result));
        self.timers.set(Timer::FetchAudioMinimum, until);
        None
    }

    /// The minimum has played: release the held answer.
    pub(super) fn fetchaudio_minimum_reached(&mut self) {
        self.fa_hold.started = None;
        if let Some((id, result)) = self.fa_hold.held.take() {
            self.on_fetched(id, result);
        }
    }

    /// The caller hung up: nothing is held any more.
    pub(super) fn drop_fetchaudio_hold(&mut self) {
        self.fa_hold = Hold::default();
    }
}
