//! The bootstrap's new-call request: the first HTTP request of an IVR leg, to the IVR service on the call server.
//!
//! Parameters as public CVP traces show them (CVP "comprehensive" model, VXML gateway bootstrap.tcl /
//! bootstrap.vxml): `MSG_TYPE=CALL_NEW`, `CALL_DNIS` (label + correlation id), `CALL_ANI`, `CALL_ID` (the call GUID,
//! 32 hex digits), `CALL_LEGID` (this leg's SIP Call-ID), `CALL_UUI`, `ERROR_CODE=0`, `RECOVERY_VXML`, `CLIENT_TYPE`,
//! `VERSION`. The host comes from the INVITE's App-Info header; port and path from config.

use std::net::IpAddr;

use thiserror::Error;

use crate::config::ServiceConfig;
use crate::sip::CallIdentity;

/// Where the local recovery document lives, as the bootstrap tells the IVR service.
pub const RECOVERY_VXML: &str = "flash:recovery.vxml";

/// Why no new-call request can be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NewCallError {
    /// The INVITE has no App-Info and no default IVR service is configured.
    #[error("no call server: the invite has no app-info header and services.default_ivr_base is not set")]
    NoCallServer,
}

/// The URL of the new-call request (HTTP GET) for `id`.
pub fn new_call_url(id: &CallIdentity, cfg: &ServiceConfig) -> Result<String, NewCallError> {
    let base = match (&id.app_info, &cfg.default_ivr_base) {
        (Some(app), _) => {
            let host = if app.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv6()) {
                format!("[{}]", app.host)
            } else {
                app.host.clone()
            };
            format!(
                "http://{host}:{}{}",
                app.port.unwrap_or(cfg.ivr_port),
                cfg.ivr_path
            )
        }
        (None, Some(base)) => format!("{base}{}", cfg.ivr_path),
        (None, None) => return Err(NewCallError::NoCallServer),
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("MSG_TYPE", "CALL_NEW")
        .append_pair("CALL_DNIS", &id.dnis.0)
        .append_pair("CALL_ANI", &id.ani)
        .append_pair("CALL_ID", &id.guid.compact())
        .append_pair("CALL_LEGID", &id.call_id)
        .append_pair("CALL_UUI", id.uui.as_deref().unwrap_or(""))
        .append_pair("ERROR_CODE", "0")
        .append_pair("RECOVERY_VXML", RECOVERY_VXML)
        .append_pair("CLIENT_TYPE", "IOS")
        .append_pair("VERSION", concat!("vxgate-", env!("CARGO_PKG_VERSION")))
        .finish();
    Ok(format!("{base}?{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GatewayConfig;
    use crate::sip::{AppInfo, CallGuid, Dnis};

    fn identity(app_info: Option<AppInfo>) -> CallIdentity {
        CallIdentity {
            call_id: "abc@10.0.0.1".into(),
            guid: CallGuid::parse("2340597125-4034597340-2149908499-422385232").expect("valid"),
            ani: "4085550123".into(),
            dnis: Dnis("541764140144".into()),
            app_info,
            uui: None,
            source: None,
        }
    }

    #[test]
    fn cvp_new_call_parameters() {
        let cfg = GatewayConfig::default().services;
        let url = new_call_url(
            &identity(Some(AppInfo {
                host: "10.86.129.20".into(),
                port: None,
            })),
            &cfg,
        )
        .expect("url");
        assert!(
            url.starts_with("http://10.86.129.20:8000/cvp/VBServlet?MSG_TYPE=CALL_NEW&"),
            "{url}"
        );
        for p in [
            "CALL_DNIS=541764140144",
            "CALL_ANI=4085550123",
            "CALL_ID=8B82AD85F07B11DC80250013192D1650",
            "CALL_LEGID=abc%4010.0.0.1",
            "CALL_UUI=&",
            "ERROR_CODE=0",
            "RECOVERY_VXML=flash%3Arecovery.vxml",
            "CLIENT_TYPE=IOS",
            "VERSION=vxgate-",
        ] {
            assert!(url.contains(p), "{p} missing in {url}");
        }
    }

    #[test]
    fn app_info_port_and_ipv6_and_no_server() {
        let cfg = GatewayConfig::default().services;
        let url = new_call_url(
            &identity(Some(AppInfo {
                host: "::1".into(),
                port: Some(9000),
            })),
            &cfg,
        )
        .expect("url");
        assert!(url.starts_with("http://[::1]:9000/cvp/VBServlet?"), "{url}");
        assert_eq!(
            new_call_url(&identity(None), &cfg),
            Err(NewCallError::NoCallServer)
        );
    }
}
