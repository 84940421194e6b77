//! The gateway configuration file (TOML), with every problem reported at its line.
//!
//! The file mirrors what an IOS VXML gateway configures: SIP listeners, the trusted source list of toll-fraud
//! protection (IOS 15.1+ `voice service voip / ip address trusted list`), a global call cap, the service settings
//! (IVR service port/path, fetch timeout) and `[[dial_peer]]` entries. Every key is optional: an empty file is the
//! built-in default, which is the configuration of CALLFLOW.md.
//!
//! ```toml
//! [sip]
//! udp = "127.0.0.1:5060"
//! tcp = "127.0.0.1:5060"
//! max_conn = 1000
//! trusted_sources = ["127.0.0.0/8", "10.1.2.3"]
//!
//! [media]
//! bind = "127.0.0.1"
//! port_min = 16384
//! port_max = 32767
//! realtime_priority = 10  # SCHED_FIFO priority of the media schedulers (0 = normal scheduling)
//!
//! [services]
//! ivr_port = 8000
//! ivr_path = "/cvp/VBServlet"
//! fetch_timeout_ms = 7000
//!
//! [[dial_peer]]
//! tag = 1401
//! service = "bootstrap"
//! incoming_called_number = "5417641401T"
//! codec = "g711ulaw"
//! dtmf_relay = "rtp-nte"
//! max_conn = 100
//! preference = 0
//! answer_delay_ms = 0     # 180 Ringing, then answer after this long
//!
//! [[services.transfer]]   # outbound route of <transfer dest="tel:+15551000"> (IOS outbound dial-peer)
//! destination_pattern = "1555T"
//! target = "127.0.0.1:5070"
//! ```

mod raw;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use thiserror::Error;

use crate::dialpeer::DialPeer;

/// One problem in a config file, with the line it is on (1-based; 0 when the file as a whole is wrong).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct ConfigProblem {
    /// 1-based line.
    pub line: usize,
    /// What is wrong, showing the bad value.
    pub message: String,
}

/// Why a config could not be loaded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has problems; all of them are listed.
    #[error("{} problem(s) in config: {}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ConfigProblem>),
}

/// SIP settings.
#[derive(Debug, Clone)]
pub struct SipConfig {
    /// UDP listen address, if any.
    pub udp: Option<SocketAddr>,
    /// TCP listen address, if any.
    pub tcp: Option<SocketAddr>,
    /// Gateway-wide concurrent-call cap.
    pub max_conn: Option<usize>,
    /// Toll-fraud protection: calls only from these sources; others get 403.
    pub trusted_sources: Vec<IpNet>,
}

/// Settings of the CVP services.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Port of the IVR service on the call server named by App-Info (when App-Info has no port).
    pub ivr_port: u16,
    /// Path of the IVR service's new-call servlet.
    pub ivr_path: String,
    /// Fetch timeout on the IVR leg: a slower fetch hands off to recovery (CVP default 7 s).
    pub fetch_timeout: Duration,
    /// Base URL of the IVR service when the INVITE has no App-Info header (e.g. `http://127.0.0.1:8000`).
    pub default_ivr_base: Option<String>,
    /// Folder of local media (ringback.wav, critical_error.wav...). Missing files are synthesized.
    pub media_dir: Option<PathBuf>,
    /// The survivability service's call servers, tried in order (`[[services.survivability]]`).
    pub survivability: Vec<SurvivabilityDestination>,
    /// Outbound routes of VoiceXML `<transfer>` (`[[services.transfer]]`), like IOS outbound dial-peers.
    pub transfer: Vec<TransferRoute>,
}

/// An outbound route for `<transfer>`: destinations whose number matches `pattern` go to `target` (IOS
/// `destination-pattern` + `session target ipv4:...`). A `sip:` destination whose host is an IP address needs no
/// route.
#[derive(Debug, Clone)]
pub struct TransferRoute {
    /// The destination pattern (IOS digit language, see [`crate::dialpeer::DigitPattern`]).
    pub pattern: crate::dialpeer::DigitPattern,
    /// Where the outbound INVITE goes (UDP).
    pub target: SocketAddr,
}

/// One call server the survivability service forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurvivabilityDestination {
    /// Its SIP address (UDP).
    pub address: SocketAddr,
    /// How long to wait for a final answer before trying the next destination.
    pub timeout: Duration,
}

/// RTP settings.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Address RTP sockets bind to (and that SDP answers carry).
    pub bind: std::net::IpAddr,
    /// Lowest RTP port.
    pub port_min: u16,
    /// Highest RTP port.
    pub port_max: u16,
    /// `SCHED_FIFO` priority of the media scheduler threads (`media.realtime_priority`, default 10; 0 = off, kept
    /// at normal priority). Without root or `CAP_SYS_NICE` the threads stay at normal priority.
    pub realtime_priority: Option<u8>,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// SIP.
    pub sip: SipConfig,
    /// RTP.
    pub media: MediaConfig,
    /// Services.
    pub services: ServiceConfig,
    /// Dial-peers.
    pub dial_peers: Vec<DialPeer>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        // An empty document is valid by construction (every key optional; covered by a unit test).
        GatewayConfig::parse("").expect("the empty config is valid")
    }
}

impl GatewayConfig {
    /// Parses a config document, collecting every problem found.
    pub fn parse(text: &str) -> Result<GatewayConfig, ConfigError> {
        raw::parse(text).map_err(ConfigError::Invalid)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<GatewayConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text)
    }
}

/// The 1-based line of byte offset `pos` in `text`.
pub(crate) fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialpeer::{Codec, ServiceKind};

    #[test]
    fn empty_config_is_callflow_defaults() {
        let c = GatewayConfig::default();
        assert_eq!(c.sip.udp, Some("127.0.0.1:5060".parse().expect("addr")));
        assert_eq!(c.sip.tcp, Some("127.0.0.1:5060".parse().expect("addr")));
        assert_eq!(c.dial_peers.len(), 3);
        assert_eq!(c.services.ivr_port, 8000);
        assert_eq!(c.services.ivr_path, "/cvp/VBServlet");
        assert_eq!(c.services.fetch_timeout, Duration::from_secs(7));
        assert_eq!(c.media.realtime_priority, Some(10));
        assert!(c
            .sip
            .trusted_sources
            .iter()
            .any(|n| n.contains(&"127.0.0.1".parse::<std::net::IpAddr>().expect("ip"))));
    }

    #[test]
    fn realtime_priority_zero_is_off_and_out_of_range_is_an_error() {
        let off = GatewayConfig::parse("[media]\nrealtime_priority = 0\n").expect("valid");
        assert_eq!(off.media.realtime_priority, None);
        let on = GatewayConfig::parse("[media]\nrealtime_priority = 99\n").expect("valid");
        assert_eq!(on.media.realtime_priority, Some(99));
        for bad in ["100", "-1"] {
            let text = format!("[media]\nrealtime_priority = {bad}\n");
            let err = GatewayConfig::parse(&text)
                .expect_err("out of range")
                .to_string();
            assert!(err.contains("media.realtime_priority"), "{err}");
        }
    }

    #[test]
    fn full_config_parses() {
        let c = GatewayConfig::parse(
            r#"
[sip]
udp = "127.0.0.1:15060"
max_conn = 10
trusted_sources = ["10.0.0.0/8", "192.0.2.7"]
[[dial_peer]]
tag = 7
service = "ringtone"
incoming_called_number = "[2-4]..."
codec = "g711alaw"
dtmf_relay = "inband"
max_conn = 2
preference = 3
"#,
        )
        .expect("valid");
        assert_eq!(c.sip.tcp, None);
        assert_eq!(c.sip.max_conn, Some(10));
        assert_eq!(c.sip.trusted_sources.len(), 2);
        let p = &c.dial_peers[0];
        assert_eq!(
            (p.tag, p.service, p.codec, p.max_conn, p.preference),
            (7, ServiceKind::Ringtone, Codec::G711Alaw, Some(2), 3)
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = r#"[sip]
trusted_sources = ["10.0.0.0/33"]

[[dial_peer]]
tag = 1
service = "voicemail"
incoming_called_number = "12x"

[[dial_peer]]
tag = 1
service = "ringtone"
incoming_called_number = "5"
codec = "g729"
"#;
        let Err(ConfigError::Invalid(problems)) = GatewayConfig::parse(text) else {
            panic!("expected problems");
        };
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 6, 7, 10, 13], "{problems:?}");
        assert!(problems[1].message.contains("voicemail"));
        assert!(problems[3].message.contains("duplicate dial-peer tag 1"));
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let Err(ConfigError::Invalid(problems)) = GatewayConfig::parse("[sip]\nudp = \n") else {
            panic!("expected problems");
        };
        assert_eq!(problems[0].line, 2, "{problems:?}");
        let Err(ConfigError::Invalid(problems)) = GatewayConfig::parse("[sip]\n\nbogus = 1\n")
        else {
            panic!("expected problems");
        };
        assert_eq!(problems[0].line, 3, "{problems:?}");
        assert!(problems[0].message.contains("bogus"));
    }
}
