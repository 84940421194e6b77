//! The RTP session (RFC 3550): header wire format, SSRC/sequence/timestamp, receive statistics and RTCP.
//!
//! Everything here is sans-IO. A [`Sender`] writes packets into the caller's buffer, a [`Receiver`] judges the
//! datagrams handed to it, and a [`Session`] adds the RTCP reports both sides owe each other. Time is always a
//! `now: Instant` passed in, so the same code runs under the media engine, the benchmarks and the tests' virtual
//! clock. [`crate::engine`] is the only place that meets sockets.

mod error;
mod id;
pub mod interval;
mod packet;
mod receiver;
pub mod rtcp;
mod sender;
mod session;

pub use error::{PacketError, RtcpError};
pub use id::{PayloadType, RtpTime, SeqNo, Ssrc, TimeUnwrapper};
pub use packet::{write_packet, RtpPacket, HEADER_LEN};
pub use receiver::{
    Accepted, Discard, ReceiveStats, Receiver, ReceiverConfig, ReportFigures, Verdict,
};
pub use sender::{Sender, SenderConfig};
pub use session::{RtcpNews, Session, SessionConfig, SessionStats};
