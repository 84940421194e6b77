//! Where a `<transfer>` destination goes: `tel:`/`sip:` destinations matched by number against the
//! `[[services.transfer]]` routes, or sent straight to an IP host.

use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

use crate::config::TransferRoute;

/// Why a destination has no route.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RouteError {
    /// Not a `tel:`, `sip:` or `sips:` URI.
    #[error("unsupported transfer destination {0:?} (tel: or sip: expected)")]
    Scheme(String),
    /// No `[[services.transfer]]` route matches its number and its host is not an IP address.
    #[error("no route for transfer destination {0:?}")]
    NoRoute(String),
}

impl RouteError {
    /// The VoiceXML event for it (2.0 §2.3.7.3).
    pub fn event(&self) -> &'static str {
        match self {
            RouteError::Scheme(_) => "error.unsupported.uri",
            RouteError::NoRoute(_) => "error.connection.noroute",
        }
    }
}

/// Where an outbound INVITE for a destination goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The Request-URI.
    pub uri: String,
    /// The next hop (UDP).
    pub target: SocketAddr,
}

/// The number in a destination: `+` and visual separators (RFC 3966 §5.1.1) dropped.
fn number_of(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '+' | '-' | '.' | '(' | ')' | ' '))
        .collect()
}

/// Routes a `<transfer>` destination: its number through the most specific matching route (like an IOS outbound
/// dial-peer); else, for a `sip:` URI whose host is an IP address, straight to that host (port 5060 by default).
pub fn resolve(dest: &str, routes: &[TransferRoute]) -> Result<Route, RouteError> {
    let dest = dest.trim().trim_start_matches('<').trim_end_matches('>');
    let lower = dest.to_ascii_lowercase();
    let (number, host) = if let Some(rest) = lower.strip_prefix("tel:") {
        (number_of(rest.split(';').next().unwrap_or_default()), None)
    } else if let Some(rest) = lower
        .strip_prefix("sip:")
        .or_else(|| lower.strip_prefix("sips:"))
    {
        let rest = rest.split([';', '?']).next().unwrap_or_default();
        match rest.split_once('@') {
            Some((user, host)) => (number_of(user), Some(host.to_string())),
            None => (String::new(), Some(rest.to_string())),
        }
    } else {
        return Err(RouteError::Scheme(dest.to_string()));
    };
    let by_number = (!number.is_empty())
        .then(|| {
            routes
                .iter()
                .filter(|r| r.pattern.matches(&number))
                .max_by_key(|r| r.pattern.specificity())
        })
        .flatten();
    if let Some(r) = by_number {
        return Ok(Route {
            uri: format!("sip:{number}@{}", r.target),
            target: r.target,
        });
    }
    let target = host.and_then(|h| {
        h.parse::<SocketAddr>()
            .ok()
            .or_else(|| h.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 5060)))
    });
    match target {
        Some(target) => Ok(Route {
            uri: dest.to_string(),
            target,
        }),
        None => Err(RouteError::NoRoute(dest.to_string())),
    }
}
