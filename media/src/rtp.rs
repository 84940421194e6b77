//! The RTP session (RFC 3550): header, SSRC/sequence/timestamp, receive statistics, RTCP.
