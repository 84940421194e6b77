//! The SIP side of the gateway: a user agent server on rsipstack's transaction and dialog layers.
//!
//! rsipstack does RFC 3261 transactions (retransmissions, Timers G/H/I/J/L, CANCEL matching); this module decides
//! what to answer: dial-peer selection, toll-fraud protection, SDP offer/answer, call identity, and the per-call
//! dialog events the call task acts on.

pub mod ack_gate;
pub mod cause;
pub mod guid;
pub mod identity;
pub mod screen;
pub mod sdp;
pub mod server;
pub mod validate;

pub use cause::Q850Cause;
pub use guid::CallGuid;
pub use identity::{AppInfo, CallIdentity, Dnis};
