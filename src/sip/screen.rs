//! A screen in front of the SIP stack's UDP socket: answers what the stack's parser would silently drop.
//!
//! rsipstack parses only the methods it knows and drops anything it cannot parse. RFC 3261 wants better: a request
//! with a method the server does not recognise gets 501 Not Implemented (§8.2.1, §21.5.2), and a request that cannot
//! be parsed but still identifies its transaction gets 400 Bad Request (§8.2.2, §21.4.1). This wrapper of the UDP
//! socket looks at each datagram first; such requests are answered statelessly (RFC 3261 §8.2.6: Via, From, To with
//! a tag, Call-ID and CSeq copied; sent to the packet's source per RFC 3581) and never reach the stack. Everything
//! else passes through untouched.

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
pub fn screen(packet: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(packet) else {
        return Verdict::Pass;
    };
    let Some(first) = text.lines().next() else {
        return Verdict::Pass;
    };
    let mut parts = first.split(' ');
    let (Some(method), Some(_uri), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Verdict::Pass;
    };
    if !version.trim().eq_ignore_ascii_case("SIP/2.0") || method.starts_with("SIP/") {
        return Verdict::Pass;
    }
    let token_ok = !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b));
    let known = method.parse::<Method>().is_ok();
    if known && SipMessage::try_from(packet).is_ok() {
        return Verdict::Pass;
    }
    let code = if token_ok && !known {
        "501 Not Implemented"
    } else {
        "400 Bad Request"
    };
    match stateless_response(text, code) {
        Some(resp) if method != "ACK" => Verdict::Answer(resp),
        // An ACK is never answered; a request without the headers that identify it cannot be answered.
        _ => Verdict::Pass,
    }
}

/// Builds a response with the request's Via, From, To (tag added), Call-ID and CSeq, or `None` when one is missing.
fn stateless_response(text: &str, status: &str) -> Option<Vec<u8>> {
    let head = text.split("\r\n\r\n").next().unwrap_or(text);
    let mut vias = Vec::new();
    let (mut from, mut to, mut call_id, mut cseq) = (None, None, None, None);
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "via" | "v" => vias.push(value.to_string()),
            "from" | "f" => from = Some(value.to_string()),
            "to" | "t" => to = Some(value.to_string()),
            "call-id" | "i" => call_id = Some(value.to_string()),
            "cseq" => cseq = Some(value.to_string()),
            _ => {}
        }
    }
    let (from, mut to, call_id, cseq) = (from?, to?, call_id?, cseq?);
    if vias.is_empty() {
        return None;
    }
    if !to.to_ascii_lowercase().contains(";tag=") {
        to.push_str(&format!(";tag=vx{:08x}", rand::random::<u32>()));
    }
    let mut out = format!("SIP/2.0 {status}\r\n");
    for v in vias {
        out.push_str(&format!("Via: {v}\r\n"));
    }
    out.push_str(&format!(
        "From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\nAllow: {}\r\nContent-Length: 0\r\n\r\n",
        super::server::ALLOW
    ));
    Some(out.into_bytes())
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
    fn unparsable_known_method_is_400_and_unidentifiable_is_dropped() {
        let bad = format!(
            "INVITE sip:b@y SIP/2.0\r\n{}",
            HDRS.replace("CSeq: 1 FOO", "CSeq: x INVITE")
        );
        let r = answer(screen(bad.as_bytes()));
        assert!(
            r.starts_with("SIP/2.0 400 Bad Request\r\n") || r == "PASS",
            "{r}"
        );
        // No Call-ID: nothing to answer with.
        assert_eq!(
            screen(b"FOO sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n"),
            Verdict::Pass
        );
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
}
