//! A screen in front of the SIP stack's UDP socket: answers what the stack's parser would silently drop.
//!
//! rsipstack parses only the methods it knows and drops anything it cannot parse. RFC 3261 wants better: a request
//! with a method the server does not recognise gets 501 Not Implemented (§8.2.1, §21.5.2), and a request that cannot
//! be parsed, or lacks a header field the stack needs to make a transaction of it, gets 400 Bad Request with a
//! reason phrase naming the problem (§8.2.2, §21.4.1). This wrapper of the UDP socket looks at each datagram first;
//! such requests are answered statelessly (RFC 3261 §8.2.6: whichever of Via, From, To with a tag, Call-ID and CSeq
//! the request has are copied; sent to the packet's source per RFC 3581) and never reach the stack. Everything else
//! passes through untouched.

use std::net::SocketAddr;

use rsipstack::sip::{Method, SipMessage};
use tracing::debug;

/// The datagram screen around a tokio UDP socket.
pub struct ScreenedUdp {
    inner: tokio::net::UdpSocket,
}

impl ScreenedUdp {
    /// Wraps `inner`.
    pub fn new(inner: tokio::net::UdpSocket) -> ScreenedUdp {
        ScreenedUdp { inner }
    }
}

/// What to do with one datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the stack.
    Pass,
    /// Answer with this stateless response instead.
    Answer(Vec<u8>),
}

/// Decides what to do with a datagram.
///
/// Binary junk, responses, ACKs and anything without a request line pass (the stack drops what it cannot parse; an
/// ACK is never answered, §17.2.1). A request line gets, in this order: 505 for another SIP version (§21.5.6), 400
/// for a method that is not a token, 501 with Allow for a method the gateway does not know (§8.2.1), 416 for a
/// Request-URI scheme other than sip/sips/tel (§8.2.2.1), 400 for a control character in the head (§25.1), 400 when
/// Content-Length claims more than the datagram holds (§18.3: "If the message is a request, the element SHOULD
/// generate a 400"), 400 when it does not parse, and 400 naming the header field when a mandatory one is missing or
/// broken ([`super::validate::check_request`]).
pub fn screen(packet: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(packet) else {
        return Verdict::Pass;
    };
    let Some(first) = text.lines().next() else {
        return Verdict::Pass;
    };
    let mut parts = first.split(' ');
    let (Some(method), Some(uri), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Verdict::Pass;
    };
    if method.starts_with("SIP/") || method == "ACK" {
        return Verdict::Pass;
    }
    let version = version.trim();
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        if version.to_ascii_uppercase().starts_with("SIP/") {
            return answer(text, 505, "Version Not Supported");
        }
        return Verdict::Pass;
    }
    let token_ok = !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b));
    if !token_ok {
        return answer(text, 400, "Malformed Request-Line");
    }
    if method.parse::<Method>().is_err() {
        return answer(text, 501, "Not Implemented");
    }
    let scheme = uri.split(':').next().unwrap_or_default();
    if uri.contains(':')
        && !["sip", "sips", "tel"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return answer(text, 416, "Unsupported URI Scheme");
    }
    // RFC 3261 §25.1: no control characters in the start line and header fields other than the line ends and
    // whitespace (HTAB); the body is the content type's business.
    let head = text.split("\r\n\r\n").next().unwrap_or(text);
    if head
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t'))
    {
        return answer(text, 400, "Control character in the message header");
    }
    if let Some(problem) = content_length_problem(packet) {
        return answer(text, 400, problem);
    }
    match SipMessage::try_from(packet) {
        Ok(SipMessage::Request(req)) => match super::validate::check_request(&req) {
            Ok(()) => Verdict::Pass,
            Err(reason) => answer(text, 400, &reason.0),
        },
        Ok(SipMessage::Response(_)) => Verdict::Pass,
        Err(_) => answer(text, 400, "Malformed Request"),
    }
}

/// What is wrong with the Content-Length of a datagram, if anything (RFC 3261 §18.3, §20.14).
fn content_length_problem(packet: &[u8]) -> Option<&'static str> {
    let sep = packet.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(packet.get(..sep)?).ok()?;
    let body_len = packet.len().saturating_sub(sep + 4);
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if !(name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l")) {
            continue;
        }
        return match value.trim().parse::<u64>() {
            Err(_) => Some("Malformed Content-Length header field"),
            Ok(n) if n > body_len as u64 => Some("Content-Length larger than the message body"),
            Ok(_) => None,
        };
    }
    None
}

/// A stateless answer with `code` and `reason` (sanitised into a reason phrase).
fn answer(text: &str, code: u16, reason: &str) -> Verdict {
    let reason: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Verdict::Answer(stateless_response(text, code, reason.trim()))
}

/// Builds a response with the request's Via, From, To (tag added), Call-ID and CSeq, whichever it has (RFC 3261
/// §8.2.6); it goes to the packet's source (RFC 3581), so a request missing a Via still hears why.
fn stateless_response(text: &str, code: u16, reason: &str) -> Vec<u8> {
    let head = text.split("\r\n\r\n").next().unwrap_or(text);
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    let mut to_seen = false;
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let canonical = match name.trim().to_ascii_lowercase().as_str() {
            "via" | "v" => "Via",
            "from" | "f" => "From",
            "to" | "t" if !to_seen => {
                to_seen = true;
                let mut to = value.to_string();
                if !to.to_ascii_lowercase().contains(";tag=") {
                    to.push_str(&format!(";tag=vx{:08x}", rand::random::<u32>()));
                }
                out.push_str(&format!("To: {to}\r\n"));
                continue;
            }
            "call-id" | "i" => "Call-ID",
            "cseq" => "CSeq",
            _ => continue,
        };
        out.push_str(&format!("{canonical}: {value}\r\n"));
    }
    if code == 501 || code == 405 {
        out.push_str(&format!("Allow: {}\r\n", super::server::ALLOW));
    }
    if code == 400 {
        out.push_str(&format!(
            "Warning: {}\r\n",
            super::validate::warning(399, reason)
        ));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out.into_bytes()
}

#[async_trait::async_trait]
impl rsipstack::platform::net::UdpSocket for ScreenedUdp {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.inner.recv_from(buf).await?;
            match screen(buf.get(..n).unwrap_or_default()) {
                Verdict::Pass => return Ok((n, from)),
                Verdict::Answer(resp) => {
                    debug!(%from, "answered a request the stack cannot parse");
                    self.inner.send_to(&resp, from).await.ok();
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.inner.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.inner.local_addr()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HDRS: &str =
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\nFrom: <sip:a@x>;tag=1\r\n\
To: <sip:b@y>\r\nCall-ID: c1\r\nCSeq: 1 FOO\r\nContent-Length: 0\r\n\r\n";

    fn answer(v: Verdict) -> String {
        match v {
            Verdict::Answer(b) => String::from_utf8(b).expect("utf8"),
            Verdict::Pass => String::from("PASS"),
        }
    }

    #[test]
    fn unknown_method_is_501_with_request_headers() {
        let r = answer(screen(format!("FOO sip:b@y SIP/2.0\r\n{HDRS}").as_bytes()));
        assert!(r.starts_with("SIP/2.0 501 Not Implemented\r\n"), "{r}");
        assert!(
            r.contains("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"),
            "{r}"
        );
        assert!(
            r.contains("Call-ID: c1\r\n") && r.contains("CSeq: 1 FOO\r\n"),
            "{r}"
        );
        assert!(r.contains("To: <sip:b@y>;tag=vx"), "{r}");
    }

    #[test]
    fn known_and_parsable_requests_and_responses_pass() {
        let ok = "OPTIONS sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\nFrom: <sip:a@x>;tag=1\r\n\
To: <sip:b@y>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(screen(ok.as_bytes()), Verdict::Pass);
        assert_eq!(screen(b"SIP/2.0 200 OK\r\n\r\n"), Verdict::Pass);
        assert_eq!(screen(b"\x00\xff\x01"), Verdict::Pass);
        assert_eq!(screen(b""), Verdict::Pass);
        assert_eq!(screen(b"\r\n\r\n"), Verdict::Pass);
    }

    #[test]
    fn unparsable_or_incomplete_requests_are_400_with_the_reason() {
        let bad = format!(
            "INVITE sip:b@y SIP/2.0\r\n{}",
            HDRS.replace("CSeq: 1 FOO", "CSeq: x INVITE")
        );
        let r = answer(screen(bad.as_bytes()));
        assert!(r.starts_with("SIP/2.0 400 "), "{r}");
        // No Call-ID: still answered, to the source, naming what is missing.
        let r = answer(screen(
            b"OPTIONS sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n\
To: <sip:b@y>\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\r\n",
        ));
        assert!(
            r.starts_with("SIP/2.0 400 Missing Call-ID header field\r\n"),
            "{r}"
        );
        assert!(r.contains("Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"), "{r}");
        // A truncated message (no end of the header section).
        let r = answer(screen(
            b"OPTIONS sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: x",
        ));
        assert!(r.starts_with("SIP/2.0 400 "), "{r}");
        // ACKs are never answered.
        assert_eq!(
            screen(
                format!(
                    "ACK sip:b@y SIP/2.0\r\n{}",
                    HDRS.replace("CSeq: 1 FOO", "CSeq: y ACK")
                )
                .as_bytes()
            ),
            Verdict::Pass
        );
    }

    #[test]
    fn content_length_beyond_the_datagram_is_400() {
        let req = "OPTIONS sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n";
        for cl in ["99999999999", "99999999999999999999999", "5"] {
            let r = answer(screen(
                format!("{req}Content-Length: {cl}\r\n\r\nabc").as_bytes(),
            ));
            assert!(r.starts_with("SIP/2.0 400 "), "{cl}: {r}");
        }
        assert_eq!(
            screen(format!("{req}Content-Length: 3\r\n\r\nabc").as_bytes()),
            Verdict::Pass
        );
        // Shorter than the body: the rest is ignored (§18.3), not an error.
        assert_eq!(
            screen(format!("{req}l: 1\r\n\r\nabc").as_bytes()),
            Verdict::Pass
        );
    }

    #[test]
    fn control_characters_in_the_header_are_400() {
        let req =
            format!("OPTIONS sip:\u{7f}\u{1}@y SIP/2.0\r\n{HDRS}").replace("1 FOO", "1 OPTIONS");
        let r = answer(screen(req.as_bytes()));
        assert!(r.starts_with("SIP/2.0 400 Control character"), "{r}");
    }

    #[test]
    fn other_version_is_505_and_other_scheme_is_416() {
        let r = answer(screen(
            format!("OPTIONS sip:b@y SIP/3.0\r\n{HDRS}").as_bytes(),
        ));
        assert!(r.starts_with("SIP/2.0 505 "), "{r}");
        let r = answer(screen(
            format!("OPTIONS mailto:b@y SIP/2.0\r\n{HDRS}")
                .replace("1 FOO", "1 OPTIONS")
                .as_bytes(),
        ));
        assert!(r.starts_with("SIP/2.0 416 "), "{r}");
    }
}
