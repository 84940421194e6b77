//! The call's media session.

use std::net::SocketAddr;
use std::sync::Mutex;

use thiserror::Error;
use tokio::net::UdpSocket;

use super::CallEnv;
use crate::sip::sdp::{MediaDirection, Negotiated};

/// Why a media session could not be opened.
#[derive(Debug, Error)]
#[error("cannot open media session: {0}")]
pub struct MediaError(pub String);

/// The media side of one call.
pub struct CallMedia {
    socket: UdpSocket,
    state: Mutex<(Option<SocketAddr>, MediaDirection)>,
}

impl CallMedia {
    /// Opens a session for the negotiated stream.
    pub async fn open(_env: &CallEnv, n: &Negotiated) -> Result<CallMedia, MediaError> {
        let socket = UdpSocket::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| MediaError(e.to_string()))?;
        Ok(CallMedia {
            socket,
            state: Mutex::new((n.remote, n.direction)),
        })
    }
    /// Our RTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .unwrap_or_else(|_| ([127, 0, 0, 1], 0).into())
    }
    /// Applies a re-INVITE's stream.
    pub fn update(&self, n: &Negotiated) {
        if let Ok(mut s) = self.state.lock() {
            *s = (n.remote, n.direction);
        }
    }
    /// Ends the session.
    pub fn close(&self) {}
}
