//! The call's media session: a thin owner of a [`vxgate_media::engine::MediaHandle`] that the call task and the
//! service share (re-INVITEs update it while the service plays and collects).

use std::sync::Mutex;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;
use vxgate_media::capture::CaptureConfig;
use vxgate_media::engine::{Direction, MediaEvent, MediaHandle, SessionConfig};
use vxgate_media::g711::Law;
use vxgate_media::prompt::Prompt;

use super::CallEnv;
use crate::dialpeer::Codec;
use crate::sip::sdp::{MediaDirection, Negotiated};

/// Why a media session could not be opened.
#[derive(Debug, Error)]
#[error("cannot open media session: {0}")]
pub struct MediaError(pub String);

/// The media side of one call.
pub struct CallMedia {
    handle: Mutex<Option<MediaHandle>>,
    events: Mutex<Option<mpsc::Receiver<MediaEvent>>>,
    local: std::net::SocketAddr,
    law: Law,
}

/// The G.711 law of a dial-peer codec.
pub fn law_of(codec: Codec) -> Law {
    match codec {
        Codec::G711Ulaw => Law::Ulaw,
        Codec::G711Alaw => Law::Alaw,
    }
}

fn direction(d: MediaDirection) -> Direction {
    match d {
        MediaDirection::SendRecv => Direction::SendRecv,
        MediaDirection::SendOnly => Direction::SendOnly,
        MediaDirection::RecvOnly => Direction::RecvOnly,
        MediaDirection::Inactive => Direction::Inactive,
    }
}

impl CallMedia {
    /// Opens an engine session for the negotiated stream: the offerer's payload types, telephone-event when
    /// negotiated, in-band DTMF detection otherwise.
    pub async fn open(env: &CallEnv, n: &Negotiated) -> Result<CallMedia, MediaError> {
        let law = law_of(n.codec);
        let mut cfg = SessionConfig::new(law);
        cfg.payload_type = n.pt;
        cfg.telephone_event = n.te_pt;
        cfg.inband_dtmf = n.te_pt.is_none();
        cfg.ptime = Some(Duration::from_millis(u64::from(n.ptime_ms)));
        let (handle, events) = env
            .services
            .engine
            .open(cfg)
            .await
            .map_err(|e| MediaError(e.to_string()))?;
        if let Some(r) = n.remote {
            handle.set_remote(r);
        }
        handle.set_direction(direction(n.direction));
        Ok(CallMedia {
            local: handle.local_addr(),
            handle: Mutex::new(Some(handle)),
            events: Mutex::new(Some(events)),
            law,
        })
    }

    fn with<R>(&self, f: impl FnOnce(&MediaHandle) -> R) -> Option<R> {
        self.handle.lock().ok().and_then(|h| h.as_ref().map(f))
    }

    /// Our RTP address.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local
    }

    /// The call's G.711 law.
    pub fn law(&self) -> Law {
        self.law
    }

    /// Applies a re-INVITE's stream: new remote address, direction, payload type.
    pub fn update(&self, n: &Negotiated) {
        self.with(|h| {
            if let Some(r) = n.remote {
                h.set_remote(r);
            }
            h.set_direction(direction(n.direction));
            h.set_codec(law_of(n.codec), n.pt);
        });
    }

    /// Queues prompts (barge-in: the first digit stops them).
    pub fn play(&self, prompts: Vec<Prompt>, barge_in: bool) {
        self.with(|h| h.play(prompts, barge_in));
    }

    /// Stops the prompt queue.
    pub fn stop_playout(&self) {
        self.with(|h| h.stop_playout());
    }

    /// Starts recording the caller's audio; the engine reports [`MediaEvent::Recorded`] when it stops.
    pub fn start_capture(&self, cfg: CaptureConfig) {
        self.with(|h| h.start_capture(cfg));
    }

    /// Stops the recording in progress (it is still reported).
    pub fn stop_capture(&self) {
        self.with(|h| h.stop_capture());
    }

    /// Sends RFC 4733 digits.
    pub fn send_dtmf(&self, digits: &str) {
        self.with(|h| h.send_dtmf(digits));
    }

    /// Takes the event stream (once: the service that runs the call owns it).
    pub fn take_events(&self) -> Option<mpsc::Receiver<MediaEvent>> {
        self.events.lock().ok().and_then(|mut e| e.take())
    }

    /// Ends the session (idempotent).
    pub fn close(&self) {
        if let Some(h) = self.handle.lock().ok().and_then(|mut h| h.take()) {
            h.close();
        }
    }
}
