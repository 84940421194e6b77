//! vxgate media: everything that touches audio samples and RTP, and nothing that knows of SIP or VoiceXML.
//!
//! The protocol cores ([`rtp`], [`dtmf`], [`playout`], [`capture`]) are sans-IO: they take `now` (a
//! [`std::time::Instant`] supplied by the caller, never read from the clock) and an input, and return packets and
//! events. Only [`engine`] touches sockets and the clock.
#![warn(missing_docs)]

pub mod capture;
pub mod dtmf;
pub mod engine;
pub mod g711;
pub mod playout;
pub mod prompt;
pub mod rtp;
