//! The checks RFC 3261 §8.2 asks of a UAS before it acts on a request, as pure functions of the parsed request.
//!
//! rsipstack builds a transaction key from the top Via, the From tag, the Call-ID and the CSeq and silently drops a
//! request where one of them is missing or does not parse; a request without To cannot even be answered by it. RFC
//! 3261 wants a 400 whose reason phrase names the problem (§21.4.1: "for example, 'Missing Call-ID header field'").
//! [`check_request`] finds the problem; the UDP screen ([`super::screen`]) answers it statelessly before the stack
//! sees the datagram, and the server answers what reaches it over a stream transport. [`unsupported_required`] is
//! the §8.2.2.3 check (420 Bad Extension).

use rsipstack::sip::headers::untyped::ToTypedHeader;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, Request};

/// SIP extensions (option tags) the gateway implements, for `Supported` and the `Require` check (RFC 3261 §8.2.2.3,
/// §20.37). None: no reliable provisionals (100rel), no session timers, no Replaces.
pub const SUPPORTED: &[&str] = &[];

/// Why a request is malformed: the reason phrase of its 400 (RFC 3261 §21.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(text: &str) -> BadRequest {
    BadRequest(text.to_string())
}

/// Checks the header fields RFC 3261 §8.1.1 makes mandatory in every request (§20 table 2: To, From, CSeq, Call-ID,
/// Max-Forwards, Via) and what the transaction layer relies on: a From tag (§8.1.1.3), a CSeq whose number is below
/// 2**31 and whose method is the request's (§8.1.1.5), a numeric Max-Forwards (§20.22).
pub fn check_request(req: &Request) -> Result<(), BadRequest> {
    let via = req
        .top_via_header()
        .map_err(|_| bad("Missing Via header field"))?;
    via.typed().map_err(|_| bad("Malformed Via header field"))?;
    let from = req
        .from_header()
        .map_err(|_| bad("Missing From header field"))?;
    match from.tag() {
        Ok(Some(_)) => {}
        Ok(None) => return Err(bad("Missing tag in From header field")),
        Err(_) => return Err(bad("Malformed From header field")),
    }
    let to = req
        .to_header()
        .map_err(|_| bad("Missing To header field"))?;
    to.tag().map_err(|_| bad("Malformed To header field"))?;
    let call_id = req
        .call_id_header()
        .map_err(|_| bad("Missing Call-ID header field"))?;
    if call_id.value().trim().is_empty() {
        return Err(bad("Empty Call-ID header field"));
    }
    let cseq = req
        .cseq_header()
        .map_err(|_| bad("Missing CSeq header field"))?;
    let (seq, method) = cseq
        .seq()
        .and_then(|s| cseq.method().map(|m| (s, m)))
        .map_err(|_| bad("Malformed CSeq header field"))?;
    // §8.1.1.5: "The sequence number value MUST be expressible as a 32-bit unsigned integer and MUST be less than
    // 2**31."
    if seq >= 1 << 31 {
        return Err(bad("CSeq number out of range"));
    }
    // §8.1.1.5 / §20.16: "The method MUST match that of the request."
    if method != req.method {
        return Err(bad("CSeq method does not match the request method"));
    }
    if req.method != Method::Ack {
        let hops = req
            .max_forwards_header()
            .map_err(|_| bad("Missing Max-Forwards header field"))?;
        hops.value()
            .trim()
            .parse::<u32>()
            .map_err(|_| bad("Malformed Max-Forwards header field"))?;
    }
    Ok(())
}

/// The option tags of the request's `Require` header fields that the gateway does not support; a non-empty list
/// means 420 Bad Extension with `Unsupported` listing them (RFC 3261 §8.2.2.3). Never for ACK and CANCEL: their
/// Require is ignored (§8.2.2.3: "...a UAS MUST NOT reject ... ACK ... or CANCEL").
pub fn unsupported_required(req: &Request) -> Vec<String> {
    if matches!(req.method, Method::Ack | Method::Cancel) {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for h in req.headers.iter() {
        let value = match h {
            Header::Require(v) => v.value().to_string(),
            Header::Other(name, v) if name.eq_ignore_ascii_case("Require") => v.clone(),
            _ => continue,
        };
        for tag in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let known = SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag));
            if !known && !out.iter().any(|o| o.eq_ignore_ascii_case(tag)) {
                out.push(tag.to_string());
            }
        }
    }
    out
}

/// A `Warning` header value (RFC 3261 §20.43) from this gateway: `<code> vxgate "<text>"`.
pub fn warning(code: u16, text: &str) -> String {
    format!("{code} vxgate \"{}\"", text.replace(['"', '\\'], "'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n";

    fn check(text: &str) -> Result<(), BadRequest> {
        let req = Request::try_from(text.as_bytes()).expect("parses");
        check_request(&req)
    }

    #[test]
    fn a_complete_request_passes() {
        assert_eq!(check(GOOD), Ok(()));
        assert_eq!(check(&GOOD.replace("Call-ID: c1", "i: c1")), Ok(()));
    }

    #[test]
    fn each_missing_mandatory_header_is_named() {
        for (line, reason) in [
            (
                "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n",
                "Missing Via header field",
            ),
            ("From: <sip:a@x>;tag=1\r\n", "Missing From header field"),
            ("To: <sip:b@y>\r\n", "Missing To header field"),
            ("Call-ID: c1\r\n", "Missing Call-ID header field"),
            ("CSeq: 1 INVITE\r\n", "Missing CSeq header field"),
            ("Max-Forwards: 70\r\n", "Missing Max-Forwards header field"),
        ] {
            assert_eq!(check(&GOOD.replace(line, "")), Err(bad(reason)), "{line}");
        }
    }

    #[test]
    fn bad_cseq_tag_and_max_forwards() {
        assert_eq!(
            check(&GOOD.replace("CSeq: 1 INVITE", "CSeq: 1 BYE")),
            Err(bad("CSeq method does not match the request method"))
        );
        assert_eq!(
            check(&GOOD.replace("CSeq: 1 INVITE", "CSeq: 2147483648 INVITE")),
            Err(bad("CSeq number out of range"))
        );
        assert_eq!(
            check(&GOOD.replace("CSeq: 1 INVITE", "CSeq: x INVITE")),
            Err(bad("Malformed CSeq header field"))
        );
        assert_eq!(
            check(&GOOD.replace(";tag=1", "")),
            Err(bad("Missing tag in From header field"))
        );
        assert_eq!(
            check(&GOOD.replace("Max-Forwards: 70", "Max-Forwards: lots")),
            Err(bad("Malformed Max-Forwards header field"))
        );
    }

    #[test]
    fn require_lists_unknown_extensions_but_not_for_cancel() {
        let req = GOOD.replace(
            "Max-Forwards: 70\r\n",
            "Max-Forwards: 70\r\nRequire: 100rel, foo\r\nRequire: foo\r\n",
        );
        let parsed = Request::try_from(req.as_bytes()).expect("parses");
        assert_eq!(unsupported_required(&parsed), vec!["100rel", "foo"]);
        let cancel = req.replace("INVITE", "CANCEL");
        let parsed = Request::try_from(cancel.as_bytes()).expect("parses");
        assert!(unsupported_required(&parsed).is_empty());
    }
}
