//! The config file as written (serde structs with spans), and its validation into [`GatewayConfig`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::{
    line_of, ConfigProblem, GatewayConfig, ServiceConfig, SipConfig, SurvivabilityDestination,
    TransferRoute,
};
use crate::dialpeer::{DialPeer, DigitPattern};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    sip: RawSip,
    #[serde(default)]
    media: RawMedia,
    #[serde(default)]
    services: RawServices,
    dial_peer: Option<Vec<Spanned<RawDialPeer>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSip {
    udp: Option<Spanned<String>>,
    tcp: Option<Spanned<String>>,
    max_conn: Option<Spanned<i64>>,
    trusted_sources: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    bind: Option<Spanned<String>>,
    port_min: Option<Spanned<i64>>,
    port_max: Option<Spanned<i64>>,
    realtime_priority: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServices {
    ivr_port: Option<Spanned<i64>>,
    ivr_path: Option<Spanned<String>>,
    fetch_timeout_ms: Option<Spanned<i64>>,
    default_ivr_base: Option<Spanned<String>>,
    media_dir: Option<String>,
    survivability: Option<Vec<Spanned<RawDestination>>>,
    transfer: Option<Vec<Spanned<RawTransferRoute>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransferRoute {
    destination_pattern: Spanned<String>,
    target: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    address: Spanned<String>,
    timeout_ms: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDialPeer {
    tag: Spanned<i64>,
    service: Spanned<String>,
    incoming_called_number: Spanned<String>,
    codec: Option<Spanned<String>>,
    dtmf_relay: Option<Spanned<String>>,
    max_conn: Option<Spanned<i64>>,
    preference: Option<Spanned<i64>>,
    answer_delay_ms: Option<Spanned<i64>>,
}

struct Problems<'a> {
    text: &'a str,
    list: Vec<ConfigProblem>,
}

impl Problems<'_> {
    fn add<T>(&mut self, at: &Spanned<T>, message: String) {
        self.list.push(ConfigProblem {
            line: line_of(self.text, at.span().start),
            message,
        });
    }
}

/// Parses `text`, returning the config or every problem found (sorted by line).
pub(super) fn parse(text: &str) -> Result<GatewayConfig, Vec<ConfigProblem>> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let message = e.message().trim();
        let at = e.span().map(|s| s.start);
        vec![ConfigProblem {
            line: at.map(|pos| line_of(text, pos)).unwrap_or(0),
            message: match at.and_then(|pos| key_at(text, pos)) {
                Some(key) => format!("{key}: {message}"),
                None => message.to_string(),
            },
        }]
    })?;
    let mut p = Problems {
        text,
        list: Vec::new(),
    };

    let addr = |p: &mut Problems,
                v: &Option<Spanned<String>>,
                key: &str,
                default: Option<SocketAddr>| match v {
        None => default,
        Some(s) if s.get_ref().is_empty() || s.get_ref() == "off" => None,
        Some(s) => match s.get_ref().parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                p.add(
                    s,
                    format!(
                        "sip.{key}: bad listen address {:?} (expected ip:port)",
                        s.get_ref()
                    ),
                );
                None
            }
        },
    };
    let default_listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 5060));
    // Neither given: both on 127.0.0.1:5060. One given: only that one.
    let default = (raw.sip.udp.is_none() && raw.sip.tcp.is_none()).then_some(default_listen);
    let udp = addr(&mut p, &raw.sip.udp, "udp", default);
    let tcp = addr(&mut p, &raw.sip.tcp, "tcp", default);
    if udp.is_none()
        && tcp.is_none()
        && (raw.sip.udp.is_some() || raw.sip.tcp.is_some())
        && p.list.is_empty()
    {
        p.list.push(ConfigProblem {
            line: 0,
            message: "sip: no listener (udp and tcp are both off)".into(),
        });
    }
    let max_conn = positive(&mut p, raw.sip.max_conn.as_ref(), "sip.max_conn");
    let trusted_sources = match &raw.sip.trusted_sources {
        None => vec![
            // Literal networks; cannot fail.
            "127.0.0.0/8".parse().expect("literal network"),
            "::1/128".parse().expect("literal network"),
        ],
        Some(list) => list
            .iter()
            .filter_map(|s| {
                let v = s.get_ref();
                let net = v
                    .parse::<IpNet>()
                    .or_else(|_| v.parse::<std::net::IpAddr>().map(IpNet::from));
                match net {
                    Ok(n) => Some(n),
                    Err(_) => {
                        p.add(s, format!("sip.trusted_sources: bad address or CIDR {v:?}"));
                        None
                    }
                }
            })
            .collect(),
    };

    let ivr_port = match &raw.services.ivr_port {
        None => 8000,
        Some(s) => match u16::try_from(*s.get_ref()) {
            Ok(port) if port > 0 => port,
            _ => {
                p.add(
                    s,
                    format!("services.ivr_port: {} is not a port (1-65535)", s.get_ref()),
                );
                8000
            }
        },
    };
    let ivr_path = match &raw.services.ivr_path {
        None => "/cvp/VBServlet".to_string(),
        Some(s) if s.get_ref().starts_with('/') => s.get_ref().clone(),
        Some(s) => {
            p.add(
                s,
                format!("services.ivr_path: {:?} must start with '/'", s.get_ref()),
            );
            String::new()
        }
    };
    let fetch_timeout = Duration::from_millis(
        positive(
            &mut p,
            raw.services.fetch_timeout_ms.as_ref(),
            "services.fetch_timeout_ms",
        )
        .unwrap_or(7000) as u64,
    );
    let default_ivr_base = match &raw.services.default_ivr_base {
        None => None,
        Some(s) if s.get_ref().starts_with("http://") || s.get_ref().starts_with("https://") => {
            Some(s.get_ref().trim_end_matches('/').to_string())
        }
        Some(s) => {
            p.add(
                s,
                format!(
                    "services.default_ivr_base: {:?} is not an http(s) URL",
                    s.get_ref()
                ),
            );
            None
        }
    };

    let bind = match &raw.media.bind {
        None => std::net::IpAddr::from([127, 0, 0, 1]),
        Some(s) => s.get_ref().parse().unwrap_or_else(|_| {
            p.add(s, format!("media.bind: bad ip address {:?}", s.get_ref()));
            std::net::IpAddr::from([127, 0, 0, 1])
        }),
    };
    let port = |p: &mut Problems, v: &Option<Spanned<i64>>, key: &str, default: u16| match v {
        None => default,
        Some(s) => match u16::try_from(*s.get_ref()) {
            Ok(n) if n >= 1024 => n,
            _ => {
                p.add(
                    s,
                    format!("media.{key}: {} is not a port 1024-65535", s.get_ref()),
                );
                default
            }
        },
    };
    let port_min = port(&mut p, &raw.media.port_min, "port_min", 16384);
    let port_max = port(&mut p, &raw.media.port_max, "port_max", 32767);
    if port_min >= port_max {
        if let Some(s) = raw.media.port_max.as_ref().or(raw.media.port_min.as_ref()) {
            p.add(
                s,
                format!("media: port_min {port_min} must be below port_max {port_max}"),
            );
        }
    }
    // 0 turns real-time scheduling off; 1-99 is a SCHED_FIFO priority.
    let realtime_priority = match &raw.media.realtime_priority {
        None => Some(10),
        Some(s) => match u8::try_from(*s.get_ref()) {
            Ok(0) => None,
            Ok(n @ 1..=99) => Some(n),
            _ => {
                p.add(
                    s,
                    format!(
                        "media.realtime_priority: {} is not 0 (off) or a priority 1-99",
                        s.get_ref()
                    ),
                );
                None
            }
        },
    };
    let dial_peers = match &raw.dial_peer {
        None => DialPeer::callflow_defaults(),
        Some(list) => dial_peers(&mut p, list),
    };
    let mut survivability = Vec::new();
    for d in raw.services.survivability.iter().flatten() {
        let d = d.get_ref();
        let timeout = Duration::from_millis(
            positive(
                &mut p,
                d.timeout_ms.as_ref(),
                "services.survivability.timeout_ms",
            )
            .unwrap_or(5000) as u64,
        );
        match d.address.get_ref().parse::<SocketAddr>() {
            Ok(address) => survivability.push(SurvivabilityDestination { address, timeout }),
            Err(_) => p.add(
                &d.address,
                format!(
                    "services.survivability.address: {:?} is not an ip:port",
                    d.address.get_ref()
                ),
            ),
        }
    }
    if survivability.is_empty() && raw.services.survivability.is_none() {
        if let Some(list) = &raw.dial_peer {
            for dp in list {
                if dp.get_ref().service.get_ref() == "survivability" {
                    p.add(
                        &dp.get_ref().service,
                        "dial-peer service survivability needs [[services.survivability]] destinations".to_string(),
                    );
                }
            }
        }
    }
    let mut transfer = Vec::new();
    for r in raw.services.transfer.iter().flatten() {
        let r = r.get_ref();
        let pattern = match DigitPattern::parse(r.destination_pattern.get_ref()) {
            Ok(pat) => Some(pat),
            Err(e) => {
                p.add(
                    &r.destination_pattern,
                    format!("services.transfer.destination_pattern: {e}"),
                );
                None
            }
        };
        let target = match r.target.get_ref().parse::<SocketAddr>() {
            Ok(t) => Some(t),
            Err(_) => {
                p.add(
                    &r.target,
                    format!(
                        "services.transfer.target: {:?} is not an ip:port",
                        r.target.get_ref()
                    ),
                );
                None
            }
        };
        if let (Some(pattern), Some(target)) = (pattern, target) {
            transfer.push(TransferRoute { pattern, target });
        }
    }

    if !p.list.is_empty() {
        p.list.sort_by_key(|x| x.line);
        return Err(p.list);
    }
    Ok(GatewayConfig {
        sip: SipConfig {
            udp,
            tcp,
            max_conn,
            trusted_sources,
        },
        media: super::MediaConfig {
            bind,
            port_min,
            port_max,
            realtime_priority,
        },
        services: ServiceConfig {
            ivr_port,
            ivr_path,
            fetch_timeout,
            default_ivr_base,
            media_dir: raw.services.media_dir.map(Into::into),
            survivability,
            transfer,
        },
        dial_peers,
    })
}

/// The dotted name of the key on the line of byte offset `pos` (`sip.max_conn`, `dial_peer.codec`), for errors
/// the TOML deserialiser reports by position only (a wrong type names the type, not the field).
fn key_at(text: &str, pos: usize) -> Option<String> {
    let pos = pos.min(text.len());
    let start = text.get(..pos)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let key = line.split_once('=')?.0.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    let table = text.get(..start)?.lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[')
            .then(|| l.trim_matches(['[', ']']).trim().to_string())
    });
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_string(),
    })
}

fn positive(p: &mut Problems, v: Option<&Spanned<i64>>, key: &str) -> Option<usize> {
    let s = v?;
    match usize::try_from(*s.get_ref()) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            p.add(
                s,
                format!("{key}: {} must be a positive number", s.get_ref()),
            );
            None
        }
    }
}

fn dial_peers(p: &mut Problems, list: &[Spanned<RawDialPeer>]) -> Vec<DialPeer> {
    let mut out = Vec::new();
    let mut tags: HashMap<i64, usize> = HashMap::new();
    for entry in list {
        let r = entry.get_ref();
        let n_before = p.list.len();
        let tag = match u32::try_from(*r.tag.get_ref()) {
            Ok(t) if t > 0 => t,
            _ => {
                p.add(
                    &r.tag,
                    format!(
                        "dial_peer.tag: {} is not a dial-peer number (1-4294967295)",
                        r.tag.get_ref()
                    ),
                );
                0
            }
        };
        if let Some(first) = tags.insert(*r.tag.get_ref(), line_of(p.text, r.tag.span().start)) {
            p.add(
                &r.tag,
                format!(
                    "duplicate dial-peer tag {} (first at line {first})",
                    r.tag.get_ref()
                ),
            );
        }
        let service = r
            .service
            .get_ref()
            .parse()
            .map_err(|e| p.add(&r.service, format!("dial-peer {tag}: {e}")))
            .ok();
        let pattern = DigitPattern::parse(r.incoming_called_number.get_ref())
            .map_err(|e| {
                p.add(
                    &r.incoming_called_number,
                    format!("dial-peer {tag}: incoming_called_number: {e}"),
                )
            })
            .ok();
        let codec = match &r.codec {
            None => Some(crate::dialpeer::Codec::G711Ulaw),
            Some(s) => s
                .get_ref()
                .parse()
                .map_err(|e| p.add(s, format!("dial-peer {tag}: {e}")))
                .ok(),
        };
        let dtmf_relay = match &r.dtmf_relay {
            None => Some(crate::dialpeer::DtmfRelay::RtpNte),
            Some(s) => s
                .get_ref()
                .parse()
                .map_err(|e| p.add(s, format!("dial-peer {tag}: {e}")))
                .ok(),
        };
        let max_conn = positive(
            p,
            r.max_conn.as_ref(),
            &format!("dial-peer {tag}: max_conn"),
        );
        let preference = match &r.preference {
            None => 0,
            Some(s) => match u8::try_from(*s.get_ref()) {
                Ok(v) if v <= 10 => v,
                _ => {
                    p.add(
                        s,
                        format!("dial-peer {tag}: preference {} is not 0-10", s.get_ref()),
                    );
                    0
                }
            },
        };
        let answer_delay = match &r.answer_delay_ms {
            None => Duration::ZERO,
            Some(s) => match u64::try_from(*s.get_ref()) {
                Ok(ms) if ms <= 60_000 => Duration::from_millis(ms),
                _ => {
                    p.add(
                        s,
                        format!(
                            "dial-peer {tag}: answer_delay_ms {} is not 0-60000",
                            s.get_ref()
                        ),
                    );
                    Duration::ZERO
                }
            },
        };
        if p.list.len() != n_before {
            continue;
        }
        if let (Some(service), Some(pattern), Some(codec), Some(dtmf_relay)) =
            (service, pattern, codec, dtmf_relay)
        {
            out.push(DialPeer {
                tag,
                service,
                pattern,
                codec,
                dtmf_relay,
                max_conn,
                preference,
                answer_delay,
            });
        }
    }
    out
}
