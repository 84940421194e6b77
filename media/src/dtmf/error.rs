//! Errors of the telephone-event payload parser.

/// A telephone-event payload that cannot be used. The bytes came from the network: the peer is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtmfError {
    /// The payload is empty or not a multiple of 4 bytes (RFC 4733 §2.3: each event block is 4 bytes).
    #[error("telephone-event payload of {len} bytes: expected a non-zero multiple of 4")]
    BadLength {
        /// The payload length received.
        len: usize,
    },
}
