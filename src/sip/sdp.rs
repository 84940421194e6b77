//! SDP offer/answer (RFC 3264) for the gateway's one audio stream, on the typed model of `sdp-types`.
//!
//! The gateway is always the answerer: it picks the dial-peer's G.711 law if the offer has it (by static payload type
//! or by `rtpmap` name), keeps the offerer's payload type numbers (RFC 3264 §6.1), adds telephone-event when offered
//! and the dial-peer relays DTMF with RTP-NTE, and answers the offered direction with its reverse (§6.1). Streams it
//! does not take are rejected with port 0, keeping the m-line count of the offer (§6).

use std::net::{IpAddr, SocketAddr};

use sdp_types::{Attribute, Connection, Media, Origin, Session, Time};
use thiserror::Error;

use crate::dialpeer::{Codec, DtmfRelay};

/// Why an offer cannot be answered. [`SdpError::sip_status`] gives the SIP response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is not SDP.
    #[error("malformed sdp: {0}")]
    Malformed(String),
    /// No audio stream in the offer.
    #[error("sdp offer has no audio stream")]
    NoAudio,
    /// Audio offered, but not in the dial-peer's codec.
    #[error("no common codec: offer has {offered:?}, dial-peer wants {wanted}")]
    NoCommonCodec {
        /// The offered formats.
        offered: String,
        /// The dial-peer's codec.
        wanted: &'static str,
    },
    /// Audio offered only over a transport protocol other than RTP/AVP (e.g. RTP/SAVP).
    #[error("no audio stream over rtp/avp: offered {0:?}")]
    UnsupportedTransport(String),
    /// The connection address is not an IP address.
    #[error("bad connection address {0:?}")]
    BadConnection(String),
}

impl SdpError {
    /// 488 Not Acceptable Here for an offer we cannot take (RFC 3261 §13.3.1.1), 400 for a malformed body.
    pub fn sip_status(&self) -> u16 {
        match self {
            SdpError::Malformed(_) | SdpError::BadConnection(_) => 400,
            SdpError::NoAudio
            | SdpError::NoCommonCodec { .. }
            | SdpError::UnsupportedTransport(_) => 488,
        }
    }

    /// The `Warning` header that goes with a 488 (RFC 3261 §20.43, RFC 3264 §6): 304 "Media type not available"
    /// when no audio stream was offered, 302 "Incompatible transport protocol" when audio came only over another
    /// transport (SRTP), 305 "Incompatible media format" when no offered format is ours.
    pub fn warning(&self) -> Option<rsipstack::sip::Header> {
        let value = match self {
            SdpError::NoAudio => super::validate::warning(304, "Media type not available"),
            SdpError::UnsupportedTransport(_) => {
                super::validate::warning(302, "Incompatible transport protocol")
            }
            SdpError::NoCommonCodec { .. } => {
                super::validate::warning(305, "Incompatible media format")
            }
            SdpError::Malformed(_) | SdpError::BadConnection(_) => return None,
        };
        Some(rsipstack::sip::Header::Warning(value.into()))
    }
}

/// Direction of a media stream (RFC 3264 §5.1 / RFC 4566 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaDirection {
    /// Both ways.
    SendRecv,
    /// Only sending.
    SendOnly,
    /// Only receiving.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl MediaDirection {
    /// The answer's direction for an offered one (RFC 3264 §6.1).
    pub fn answer_to(self) -> MediaDirection {
        match self {
            MediaDirection::SendRecv => MediaDirection::SendRecv,
            MediaDirection::SendOnly => MediaDirection::RecvOnly,
            MediaDirection::RecvOnly => MediaDirection::SendOnly,
            MediaDirection::Inactive => MediaDirection::Inactive,
        }
    }
    /// Whether the gateway may send audio.
    pub fn sends(self) -> bool {
        matches!(self, MediaDirection::SendRecv | MediaDirection::SendOnly)
    }
    /// Whether the gateway expects audio.
    pub fn receives(self) -> bool {
        matches!(self, MediaDirection::SendRecv | MediaDirection::RecvOnly)
    }
    /// The SDP attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaDirection::SendRecv => "sendrecv",
            MediaDirection::SendOnly => "sendonly",
            MediaDirection::RecvOnly => "recvonly",
            MediaDirection::Inactive => "inactive",
        }
    }
    fn from_attrs(attrs: &[Attribute]) -> Option<MediaDirection> {
        attrs.iter().rev().find_map(|a| match a.attribute.as_str() {
            "sendrecv" => Some(MediaDirection::SendRecv),
            "sendonly" => Some(MediaDirection::SendOnly),
            "recvonly" => Some(MediaDirection::RecvOnly),
            "inactive" => Some(MediaDirection::Inactive),
            _ => None,
        })
    }
}

/// The negotiated audio stream: what the media session needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The G.711 law.
    pub codec: Codec,
    /// Its payload type (the offerer's number).
    pub pt: u8,
    /// telephone-event payload type, when offered and the dial-peer relays RTP-NTE. `None` = in-band DTMF.
    pub te_pt: Option<u8>,
    /// Where to send RTP; `None` when the offer holds the stream (port 0 or `c=0.0.0.0`).
    pub remote: Option<SocketAddr>,
    /// The gateway's direction (the answer's).
    pub direction: MediaDirection,
    /// Packet time in ms (offer's `a=ptime`, else 20).
    pub ptime_ms: u32,
    /// Index of the accepted m-line in the offer.
    media_index: usize,
    /// The offer's m-lines, for rejecting the others in the answer.
    offered: Vec<(String, String, String)>,
}

/// Negotiates an answer to `offer` for a dial-peer with `codec` and `relay`.
pub fn negotiate(offer: &[u8], codec: Codec, relay: DtmfRelay) -> Result<Negotiated, SdpError> {
    let session = Session::parse(offer).map_err(|e| SdpError::Malformed(e.to_string()))?;
    let mut offered_formats = Vec::new();
    let mut chosen = None;
    let mut other_transport = None;
    for (i, m) in session.medias.iter().enumerate() {
        if m.media != "audio" || m.port == 0 {
            continue;
        }
        // RTP/AVP and its feedback profile RTP/AVPF; not SRTP (RTP/SAVP) or anything else.
        if !m.proto.starts_with("RTP/AVP") {
            other_transport.get_or_insert_with(|| m.proto.clone());
            continue;
        }
        offered_formats.push(m.fmt.clone());
        if chosen.is_some() {
            continue;
        }
        if let Some(pt) = find_format(m, codec.encoding_name(), Some(codec.payload_type())) {
            chosen = Some((i, pt));
        }
    }
    let Some((index, pt)) = chosen else {
        if offered_formats.is_empty() {
            return Err(match other_transport {
                Some(proto) => SdpError::UnsupportedTransport(proto),
                None => SdpError::NoAudio,
            });
        }
        return Err(SdpError::NoCommonCodec {
            offered: offered_formats.join(" | "),
            wanted: codec.encoding_name(),
        });
    };
    let m = &session.medias[index];
    let te_pt = match relay {
        DtmfRelay::RtpNte => find_format(m, "telephone-event", None),
        DtmfRelay::Inband => None,
    };
    let conn = m.connections.first().or(session.connection.as_ref());
    let ip = match conn {
        Some(c) => {
            let addr = c.connection_address.split('/').next().unwrap_or_default();
            Some(
                addr.parse::<IpAddr>()
                    .map_err(|_| SdpError::BadConnection(c.connection_address.clone()))?,
            )
        }
        // RFC 4566 §5.7: "A session description MUST contain either at least one "c=" field in each media
        // description or a single "c=" field at the session level."
        None => {
            return Err(SdpError::Malformed(
                "no connection data (c=) for the audio stream".into(),
            ))
        }
    };
    let remote = ip
        .filter(|ip| !ip.is_unspecified())
        .map(|ip| SocketAddr::new(ip, m.port));
    let offered_dir = MediaDirection::from_attrs(&m.attributes)
        .or_else(|| MediaDirection::from_attrs(&session.attributes))
        .unwrap_or(MediaDirection::SendRecv);
    // RFC 3264 §8.4 (and RFC 2543 hold): c=0.0.0.0 means "do not send to me".
    let offered_dir = if remote.is_none() && offered_dir.receives() {
        match offered_dir {
            MediaDirection::SendRecv => MediaDirection::SendOnly,
            _ => MediaDirection::Inactive,
        }
    } else {
        offered_dir
    };
    let ptime_ms = m
        .get_first_attribute_value("ptime")
        .flatten()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|p| (10..=60).contains(p) && p % 10 == 0)
        .unwrap_or(20);
    Ok(Negotiated {
        codec,
        pt,
        te_pt,
        remote,
        direction: offered_dir.answer_to(),
        ptime_ms,
        media_index: index,
        offered: session
            .medias
            .iter()
            .map(|m| (m.media.clone(), m.proto.clone(), m.fmt.clone()))
            .collect(),
    })
}

/// The answer to an offer that removes the audio stream (RFC 3264 §8.2: "Existing media streams are removed by
/// creating a new SDP with the port number for that stream set to zero"): every offered audio stream has port 0
/// and none has a port. The session stays, without media: every m-line is answered with port 0 (§6) and the
/// stream goes inactive. `None` when the offer is not such a removal (or does not parse).
pub fn stream_removal(offer: &[u8], current: &Negotiated) -> Option<Negotiated> {
    let session = Session::parse(offer).ok()?;
    let audio: Vec<&Media> = session
        .medias
        .iter()
        .filter(|m| m.media == "audio")
        .collect();
    if audio.is_empty() || audio.iter().any(|m| m.port != 0) {
        return None;
    }
    Some(Negotiated {
        remote: None,
        direction: MediaDirection::Inactive,
        media_index: usize::MAX,
        offered: session
            .medias
            .iter()
            .map(|m| (m.media.clone(), m.proto.clone(), m.fmt.clone()))
            .collect(),
        ..current.clone()
    })
}

/// The payload type in `m` for `encoding` at 8000 Hz: by `rtpmap`, else by static number.
fn find_format(m: &Media, encoding: &str, static_pt: Option<u8>) -> Option<u8> {
    // RTP payload types are 7 bits (RFC 3550 §5.1); a larger number in the offer is no format we can send.
    let pts: Vec<u8> = m
        .fmt
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .filter(|pt| *pt <= 127)
        .collect();
    let mut rtpmaps = Vec::new();
    for a in &m.attributes {
        if a.attribute != "rtpmap" {
            continue;
        }
        let Some(v) = a.value.as_deref() else {
            continue;
        };
        let mut it = v.splitn(2, ' ');
        let (Some(pt), Some(enc)) = (it.next().and_then(|p| p.parse::<u8>().ok()), it.next())
        else {
            continue;
        };
        rtpmaps.push(pt);
        let mut parts = enc.trim().split('/');
        let name = parts.next().unwrap_or_default();
        let rate = parts.next().unwrap_or_default();
        if name.eq_ignore_ascii_case(encoding) && rate == "8000" && pts.contains(&pt) {
            return Some(pt);
        }
    }
    // RFC 3551 static payload types need no rtpmap; an rtpmap for that number that named something else was
    // skipped above.
    static_pt.filter(|pt| pts.contains(pt) && !rtpmaps.contains(pt))
}

/// The gateway's own offer, for an INVITE without SDP (delayed offer, RFC 3261 §13.2.1): the dial-peer's codec
/// with its static payload type, telephone-event 101 when the dial-peer relays RTP-NTE, sendrecv. The remote address
/// comes with the answer in the ACK. Serialise it with [`answer`].
pub fn own_offer(codec: Codec, relay: DtmfRelay) -> Negotiated {
    let te_pt = (relay == DtmfRelay::RtpNte).then_some(101);
    let fmt = match te_pt {
        Some(te) => format!("{} {te}", codec.payload_type()),
        None => codec.payload_type().to_string(),
    };
    Negotiated {
        codec,
        pt: codec.payload_type(),
        te_pt,
        remote: None,
        direction: MediaDirection::SendRecv,
        ptime_ms: 20,
        media_index: 0,
        offered: vec![("audio".into(), "RTP/AVP".into(), fmt)],
    }
}

/// Reads the answer to our [`own_offer`] (from the ACK): the codec must be the one offered; the peer's
/// telephone-event, address and direction are taken.
pub fn accept_answer(offer: &Negotiated, answer: &[u8]) -> Result<Negotiated, SdpError> {
    let relay = if offer.te_pt.is_some() {
        DtmfRelay::RtpNte
    } else {
        DtmfRelay::Inband
    };
    let mut n = negotiate(answer, offer.codec, relay)?;
    // Our direction is the reverse of what the answer states (RFC 3264 §6.1), which `negotiate` computed.
    n.offered = offer.offered.clone();
    n.media_index = 0;
    Ok(n)
}

/// Builds the SDP answer for `neg` with our RTP address `local`. `version` increases with each new answer in the
/// dialog (RFC 3264 §8).
pub fn answer(neg: &Negotiated, local: SocketAddr, session_id: u64, version: u64) -> Vec<u8> {
    let mut s = Session::new(
        Origin::with_ip_addr(session_id, version, local.ip()),
        "vxgate",
    );
    s.origin.set_username("vxgate");
    s.set_connection(Connection::from_ip_addr(local.ip()));
    s.add_time(Time::new(0, 0));
    for (i, (media, proto, fmt)) in neg.offered.iter().enumerate() {
        if i != neg.media_index {
            // Rejected stream (RFC 3264 §6): port 0, same media type and the offered formats.
            let mut rejected = Media::new(
                sdp_types::MediaType::Audio,
                0,
                sdp_types::TransportProto::RtpAvp,
                fmt,
            );
            rejected.media = media.clone();
            rejected.proto = proto.clone();
            s.add_media(rejected);
            continue;
        }
        let mut fmts = neg.pt.to_string();
        if let Some(te) = neg.te_pt {
            fmts.push_str(&format!(" {te}"));
        }
        let mut m = Media::new(
            sdp_types::MediaType::Audio,
            local.port(),
            sdp_types::TransportProto::RtpAvp,
            fmts,
        );
        m.add_attribute_with_value(
            "rtpmap",
            format!("{} {}/8000", neg.pt, neg.codec.encoding_name()),
        );
        if let Some(te) = neg.te_pt {
            m.add_attribute_with_value("rtpmap", format!("{te} telephone-event/8000"));
            m.add_attribute_with_value("fmtp", format!("{te} 0-15"));
        }
        m.add_attribute_with_value("ptime", neg.ptime_ms);
        m.add_attribute(Attribute::new(neg.direction.as_str()));
        s.add_media(m);
    }
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    s.write(&mut out).expect("write sdp to memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";

    #[test]
    fn answers_dial_peer_codec_and_offerer_te_pt() {
        let n = negotiate(OFFER.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte).expect("ok");
        assert_eq!((n.pt, n.te_pt, n.ptime_ms), (0, Some(101), 20));
        assert_eq!(n.remote, Some("127.0.0.1:6000".parse().expect("addr")));
        assert_eq!(n.direction, MediaDirection::SendRecv);
        let a = String::from_utf8(answer(&n, "127.0.0.1:7000".parse().expect("addr"), 5, 1))
            .expect("utf8");
        assert!(a.contains("m=audio 7000 RTP/AVP 0 101\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:101 telephone-event/8000"), "{a}");
        assert!(a.contains("a=sendrecv"), "{a}");
        // The answer parses back.
        Session::parse(a.as_bytes()).expect("answer is valid sdp");
    }

    #[test]
    fn inband_when_no_telephone_event_or_peer_says_inband() {
        let no_te = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
        assert_eq!(
            negotiate(no_te.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte)
                .expect("ok")
                .te_pt,
            None
        );
        assert_eq!(
            negotiate(OFFER.as_bytes(), Codec::G711Alaw, DtmfRelay::Inband)
                .expect("ok")
                .te_pt,
            None
        );
    }

    #[test]
    fn dynamic_pt_by_rtpmap_name() {
        let o = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 96 97\r\n\
a=rtpmap:96 pcmu/8000\r\na=rtpmap:97 telephone-event/8000\r\n";
        let n = negotiate(o.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte).expect("ok");
        assert_eq!((n.pt, n.te_pt), (96, Some(97)));
    }

    #[test]
    fn no_common_codec_is_488() {
        let o = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
        let e = negotiate(o.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte).expect_err("g729 only");
        assert_eq!(e.sip_status(), 488);
        // A static number redefined by rtpmap is not that codec.
        let o = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 G729/8000\r\n";
        assert_eq!(
            negotiate(o.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte).map_err(|e| e.sip_status()),
            Err(488)
        );
        let video = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 6000 RTP/AVP 96\r\n";
        assert_eq!(
            negotiate(video.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte),
            Err(SdpError::NoAudio)
        );
    }

    #[test]
    fn hold_and_directions() {
        let base = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6002 RTP/AVP 0\r\n";
        for (attr, ours) in [
            ("a=sendonly\r\n", MediaDirection::RecvOnly),
            ("a=recvonly\r\n", MediaDirection::SendOnly),
            ("a=inactive\r\n", MediaDirection::Inactive),
        ] {
            let n = negotiate(
                format!("{base}{attr}").as_bytes(),
                Codec::G711Ulaw,
                DtmfRelay::RtpNte,
            )
            .expect("ok");
            assert_eq!(n.direction, ours, "{attr}");
            assert_eq!(n.remote, Some("127.0.0.2:6002".parse().expect("addr")));
        }
        let old_hold = base.replace("c=IN IP4 127.0.0.2", "c=IN IP4 0.0.0.0");
        let n = negotiate(old_hold.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte).expect("ok");
        assert_eq!((n.remote, n.direction), (None, MediaDirection::RecvOnly));
    }

    #[test]
    fn rejected_streams_keep_mline_count() {
        let o = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\nm=audio 6000 RTP/AVP 0\r\n";
        let n = negotiate(o.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte).expect("ok");
        let a = String::from_utf8(answer(&n, "127.0.0.1:7000".parse().expect("addr"), 1, 1))
            .expect("utf8");
        assert!(a.contains("m=video 0 RTP/AVP 96"), "{a}");
        assert!(a.contains("m=audio 7000 RTP/AVP 0"), "{a}");
    }

    #[test]
    fn delayed_offer_and_its_answer() {
        let o = own_offer(Codec::G711Alaw, DtmfRelay::RtpNte);
        let sdp = String::from_utf8(answer(&o, "127.0.0.1:7000".parse().expect("addr"), 1, 1))
            .expect("utf8");
        assert!(sdp.contains("m=audio 7000 RTP/AVP 8 101\r\n"), "{sdp}");
        assert!(sdp.contains("a=rtpmap:8 PCMA/8000"), "{sdp}");
        let ans = "v=0\r\no=- 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\nm=audio 6100 RTP/AVP 8 101\r\n\
a=rtpmap:101 telephone-event/8000\r\na=recvonly\r\n";
        let n = accept_answer(&o, ans.as_bytes()).expect("ok");
        assert_eq!(n.remote, Some("127.0.0.9:6100".parse().expect("addr")));
        assert_eq!(
            (n.pt, n.te_pt, n.direction),
            (8, Some(101), MediaDirection::SendOnly)
        );
        let pcmu_only = ans.replace("RTP/AVP 8 101", "RTP/AVP 0");
        assert_eq!(
            accept_answer(&o, pcmu_only.as_bytes()).map_err(|e| e.sip_status()),
            Err(488)
        );
    }

    #[test]
    fn removing_the_audio_stream_is_answered_with_port_0() {
        let current = negotiate(OFFER.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte).expect("ok");
        let removal = OFFER.replace("m=audio 6000", "m=audio 0");
        assert_eq!(
            negotiate(removal.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte),
            Err(SdpError::NoAudio)
        );
        let n = stream_removal(removal.as_bytes(), &current).expect("a removal");
        assert_eq!((n.remote, n.direction), (None, MediaDirection::Inactive));
        let a = String::from_utf8(answer(&n, "127.0.0.1:7000".parse().expect("addr"), 1, 2))
            .expect("utf8");
        assert!(a.contains("m=audio 0 RTP/AVP 8 0 101\r\n"), "{a}");
        assert!(!a.contains("7000"), "{a}");
        assert!(stream_removal(OFFER.as_bytes(), &current).is_none());
    }

    #[test]
    fn srtp_only_is_488_with_warning_302() {
        let o = OFFER.replace("RTP/AVP", "RTP/SAVP");
        let e = negotiate(o.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte).expect_err("srtp");
        assert_eq!(e.sip_status(), 488);
        assert!(
            e.warning().is_some_and(|w| w.to_string().contains("302")),
            "{e:?}"
        );
    }

    #[test]
    fn payload_types_beyond_7_bits_are_not_formats() {
        let o = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 200 201\r\n\
a=rtpmap:200 PCMU/8000\r\na=rtpmap:201 telephone-event/8000\r\n";
        assert_eq!(
            negotiate(o.as_bytes(), Codec::G711Ulaw, DtmfRelay::RtpNte).map_err(|e| e.sip_status()),
            Err(488)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in [&b""[..], b"v=0\r\n", b"\xff\xfe\x00", b"v=0\r\nm=audio x RTP/AVP 0\r\n", b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 nonsense\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n"] {
            assert!(negotiate(body, Codec::G711Ulaw, DtmfRelay::RtpNte).is_err(), "{body:?}");
        }
    }
}
