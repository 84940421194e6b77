//! Who a call is: Call-ID, the Cisco call GUID, ANI, DNIS, the call server's App-Info and the source address.
//!
//! CVP's bootstrap service needs all of these for its new-call request (CALLFLOW.md, "Services").

use std::fmt;
use std::net::IpAddr;

use rsipstack::sip::prelude::{HasHeaders, HeadersExt};
use rsipstack::sip::{Header, Request};

use super::guid::CallGuid;

/// The called number: the Request-URI user part (for the IVR leg: label + correlation id, e.g. `541764140144`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dnis(pub String);

impl fmt::Display for Dnis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The call server named by the `App-Info` header (`<host:port[:sslport]>`); the bootstrap posts to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInfo {
    /// Host (IP or name).
    pub host: String,
    /// Port, when given.
    pub port: Option<u16>,
}

impl AppInfo {
    /// Parses an App-Info value such as `<10.86.129.20:8000:8443>` or `10.0.0.1`.
    pub fn parse(value: &str) -> Option<AppInfo> {
        let v = value.trim().trim_start_matches('<');
        let v = v.split('>').next().unwrap_or_default().trim();
        if v.is_empty() {
            return None;
        }
        let (host, rest) = if let Some(stripped) = v.strip_prefix('[') {
            let (h, r) = stripped.split_once(']')?;
            (h.to_string(), r.trim_start_matches(':'))
        } else {
            match v.split_once(':') {
                Some((h, r)) => (h.to_string(), r),
                None => (v.to_string(), ""),
            }
        };
        let valid_host = host.parse::<IpAddr>().is_ok()
            || (!host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
        if !valid_host {
            return None;
        }
        let port = rest
            .split(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p > 0);
        Some(AppInfo { host, port })
    }
}

/// Everything the gateway knows about who is calling whom.
#[derive(Debug, Clone)]
pub struct CallIdentity {
    /// SIP Call-ID.
    pub call_id: String,
    /// The call GUID (from `Cisco-Guid`, else freshly made).
    pub guid: CallGuid,
    /// Calling number: P-Asserted-Identity user, else From user.
    pub ani: String,
    /// Called number.
    pub dnis: Dnis,
    /// The call server, from `App-Info`.
    pub app_info: Option<AppInfo>,
    /// User-to-user information, if any (`User-to-User` header), for `CALL_UUI`.
    pub uui: Option<String>,
    /// The address the request came from (Via `received`, else sent-by).
    pub source: Option<IpAddr>,
}

impl CallIdentity {
    /// Reads the identity of an initial INVITE. Missing parts are empty, never an error: a call without
    /// `Cisco-Guid` still gets a GUID.
    pub fn from_request(req: &Request) -> CallIdentity {
        let call_id = req
            .call_id_header()
            .map(|h| h.value().to_string())
            .unwrap_or_default();
        let guid = req
            .header_value("Cisco-Guid")
            .and_then(|v| CallGuid::parse(&v).ok())
            .unwrap_or_else(CallGuid::random);
        let pai = req.headers().iter().find_map(|h| match h {
            Header::PAssertedIdentity(v) => uri_user(v.value()),
            Header::Other(name, v) if name.eq_ignore_ascii_case("P-Asserted-Identity") => {
                uri_user(v)
            }
            _ => None,
        });
        let from = req.from_header().ok().and_then(|h| uri_user(h.value()));
        let ani = pai.or(from).unwrap_or_default();
        let dnis = Dnis(req.uri.user().unwrap_or_default().to_string());
        let app_info = req
            .header_value("App-Info")
            .and_then(|v| AppInfo::parse(&v));
        let uui = req.header_value("User-to-User").filter(|v| !v.is_empty());
        CallIdentity {
            call_id,
            guid,
            ani,
            dnis,
            app_info,
            uui,
            source: source_ip(req),
        }
    }
}

/// The source IP of a request: the top Via's `received` (added by the transport when it differs from sent-by,
/// RFC 3261 §18.2.1), else the sent-by host.
pub fn source_ip(req: &Request) -> Option<IpAddr> {
    let via = req.top_via_header().ok()?;
    let typed: rsipstack::sip::typed::Via = via.try_into().ok()?;
    if let Some(Ok(ip)) = typed.received() {
        return Some(ip);
    }
    typed
        .sent_by()
        .host
        .to_string()
        .trim_matches(['[', ']'])
        .parse()
        .ok()
}

/// The user part of the first URI in a name-addr / addr-spec header value.
pub fn uri_user(value: &str) -> Option<String> {
    let v = match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if b > a => &value[a + 1..b],
        _ => value,
    };
    let v = v.trim();
    let rest = ["sip:", "sips:", "tel:"].iter().find_map(|s| {
        v.get(..s.len())
            .filter(|p| p.eq_ignore_ascii_case(s))
            .map(|_| &v[s.len()..])
    })?;
    let is_tel = v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("tel:"));
    let end = if is_tel {
        rest.find([';', '>'])
    } else {
        rest.find('@')
    }?;
    let user = rest[..end].split(';').next().unwrap_or_default();
    (!user.is_empty()).then(|| user.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_info_forms() {
        assert_eq!(
            AppInfo::parse("<10.86.129.20:8000:8443>"),
            Some(AppInfo {
                host: "10.86.129.20".into(),
                port: Some(8000)
            })
        );
        assert_eq!(
            AppInfo::parse("cvp1.example.com"),
            Some(AppInfo {
                host: "cvp1.example.com".into(),
                port: None
            })
        );
        assert_eq!(
            AppInfo::parse("<[::1]:8000>"),
            Some(AppInfo {
                host: "::1".into(),
                port: Some(8000)
            })
        );
        assert_eq!(AppInfo::parse("<>"), None);
        assert_eq!(AppInfo::parse("<bad host/x:1>"), None);
    }

    #[test]
    fn uri_users() {
        assert_eq!(
            uri_user("\"Caller\" <sip:5551234@10.0.0.1>;tag=1").as_deref(),
            Some("5551234")
        );
        assert_eq!(
            uri_user("sip:+14085551234@gw;user=phone").as_deref(),
            Some("+14085551234")
        );
        assert_eq!(
            uri_user("<tel:+14085551234;phone-context=x>").as_deref(),
            Some("+14085551234")
        );
        assert_eq!(uri_user("<sip:host.only>"), None);
        assert_eq!(uri_user("garbage"), None);
        assert_eq!(uri_user("<sip:>"), None);
        // Multi-byte characters where a scheme would be must not split a character.
        assert_eq!(uri_user("té:x"), None);
        assert_eq!(uri_user("<€€€€>"), None);
        assert_eq!(uri_user("\"Zoë\" <sip:zoë@host>").as_deref(), Some("zoë"));
    }

    #[test]
    fn identity_of_a_cvp_invite() {
        let raw = "INVITE sip:541764140144@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
From: <sip:5550100@127.0.0.1>;tag=a\r\n\
To: <sip:541764140144@127.0.0.1>\r\n\
Call-ID: abc@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Max-Forwards: 70\r\n\
P-Asserted-Identity: <sip:4085550123@10.0.0.1>\r\n\
Cisco-Guid: 2340597125-4034597340-2149908499-422385232\r\n\
App-Info: <127.0.0.1:8000:8443>\r\n\
Content-Length: 0\r\n\r\n";
        let req = Request::try_from(raw.as_bytes()).expect("parses");
        let id = CallIdentity::from_request(&req);
        assert_eq!(id.call_id, "abc@127.0.0.1");
        assert_eq!(id.guid.to_string(), "8B82AD85-F07B11DC-80250013-192D1650");
        assert_eq!(id.ani, "4085550123");
        assert_eq!(id.dnis.0, "541764140144");
        assert_eq!(
            id.app_info,
            Some(AppInfo {
                host: "127.0.0.1".into(),
                port: Some(8000)
            })
        );
        assert_eq!(id.source, Some("127.0.0.1".parse().expect("ip")));
    }
}
