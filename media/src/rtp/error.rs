//! Errors of the RTP and RTCP wire code: all are the sender's fault (malformed input) except `BufferTooSmall` and
//! `ByeNotAllowed`, which are API misuse.

/// An RTP datagram that cannot be accepted, or an output buffer too small.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// Fewer octets than the header announces.
    #[error("rtp packet of {len} octets is shorter than the {need} its header announces")]
    Short {
        /// Datagram length.
        len: usize,
        /// Length the header requires.
        need: usize,
    },
    /// Version field other than 2.
    #[error("rtp version {0}, expected 2")]
    Version(u8),
    /// Padding count of zero or larger than the payload.
    #[error("rtp padding count {count} is invalid with {available} octets after the header")]
    Padding {
        /// The padding count octet.
        count: usize,
        /// Octets after the header.
        available: usize,
    },
    /// RFC 8285 header extension elements running past the extension block.
    #[error("rtp header extension (profile {profile:#06x}) has elements running past its block")]
    Extension {
        /// The extension profile.
        profile: u16,
    },
    /// Payload type 72–76: an RTCP packet on the RTP port (RFC 5761 §4).
    #[error("payload type {0} is reserved for rtcp")]
    RtcpPayloadType(u8),
    /// The `rtp` crate refused the header.
    #[error("rtp header: {0}")]
    Header(String),
    /// Output buffer too small for the packet.
    #[error("output buffer of {len} octets is too small for {need}")]
    BufferTooSmall {
        /// Buffer length.
        len: usize,
        /// Octets needed.
        need: usize,
    },
}

/// An RTCP compound packet that fails the validity checks of RFC 3550 Appendix A.2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// Shorter than a common header, or a length field running past the datagram.
    #[error("rtcp packet of {len} octets is shorter than the {need} its headers announce")]
    Short {
        /// Datagram length.
        len: usize,
        /// Length required.
        need: usize,
    },
    /// Version field other than 2.
    #[error("rtcp version {0}, expected 2")]
    Version(u8),
    /// The first packet of a compound must be SR or RR (A.2).
    #[error("rtcp compound starts with packet type {0}, expected 200 (sr) or 201 (rr)")]
    FirstType(u8),
    /// Padding bit on the first packet, or a padding count that is zero or too large.
    #[error("rtcp padding is invalid: {0}")]
    Padding(&'static str),
    /// A report count or SDES chunk that does not fit the packet's length.
    #[error("rtcp packet type {pt} with count {count} does not fit its {len} octets")]
    Count {
        /// Packet type.
        pt: u8,
        /// The count field.
        count: u8,
        /// Packet length in octets.
        len: usize,
    },
    /// Output buffer too small.
    #[error("output buffer of {len} octets is too small for {need}")]
    BufferTooSmall {
        /// Buffer length.
        len: usize,
        /// Octets needed.
        need: usize,
    },
    /// A BYE asked of a participant that never sent an RTP or RTCP packet (RFC 3550 §6.3.7 forbids it).
    #[error("no rtcp bye: nothing was ever sent in this session (rfc 3550 section 6.3.7)")]
    ByeNotAllowed,
}
