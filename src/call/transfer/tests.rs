//! Routing of transfer destinations, far-end answers as VoiceXML outcomes, and sipfrag status lines.

use super::*;
use crate::dialpeer::DigitPattern;

fn routes() -> Vec<TransferRoute> {
    vec![
        TransferRoute {
            pattern: DigitPattern::parse("1555T").expect("pattern"),
            target: "127.0.0.1:5070".parse().expect("addr"),
        },
        TransferRoute {
            pattern: DigitPattern::parse("15551000").expect("pattern"),
            target: "127.0.0.1:5080".parse().expect("addr"),
        },
    ]
}

#[test]
fn tel_destinations_take_the_most_specific_route() {
    let r = resolve("tel:+1-555-1000", &routes()).expect("route");
    assert_eq!(
        r.target,
        "127.0.0.1:5080".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(r.uri, "sip:15551000@127.0.0.1:5080");
    let r = resolve("tel:+15552000;phone-context=x", &routes()).expect("route");
    assert_eq!(r.target.port(), 5070);
    assert_eq!(
        resolve("tel:+4930123", &routes()),
        Err(RouteError::NoRoute("tel:+4930123".into()))
    );
}

#[test]
fn sip_destinations_route_by_number_then_by_ip_host() {
    let r = resolve("sip:15559999@agents.example.com", &routes()).expect("route");
    assert_eq!(r.target.port(), 5070);
    let r = resolve("<sip:agent@127.0.0.2:5099;transport=udp>", &routes()).expect("route");
    assert_eq!(
        r.target,
        "127.0.0.2:5099".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(r.uri, "sip:agent@127.0.0.2:5099;transport=udp");
    let r = resolve("sip:agent@10.0.0.1", &[]).expect("route");
    assert_eq!(r.target.port(), 5060);
    assert!(matches!(
        resolve("sip:agent@example.com", &[]),
        Err(RouteError::NoRoute(_))
    ));
    assert!(matches!(
        resolve("mailto:x@y", &[]),
        Err(RouteError::Scheme(_))
    ));
    assert!(matches!(resolve("", &[]), Err(RouteError::Scheme(_))));
}

#[test]
fn far_end_answers_map_to_voicexml_outcomes() {
    assert_eq!(outcome_of_status(486), TransferOutcome::Busy);
    assert_eq!(outcome_of_status(600), TransferOutcome::Busy);
    assert_eq!(outcome_of_status(480), TransferOutcome::NoAnswer);
    assert_eq!(outcome_of_status(408), TransferOutcome::NoAnswer);
    assert_eq!(outcome_of_status(503), TransferOutcome::NetworkBusy);
    let err = |e: &str| TransferOutcome::Error(e.into());
    assert_eq!(
        outcome_of_status(404),
        err("error.connection.baddestination")
    );
    assert_eq!(
        outcome_of_status(484),
        err("error.connection.baddestination")
    );
    assert_eq!(
        outcome_of_status(403),
        err("error.connection.noauthorization")
    );
    assert_eq!(outcome_of_status(488), err("error.connection.protocol.488"));
    assert_eq!(outcome_of_status(302), err("error.connection.protocol.302"));
}

#[test]
fn sipfrag_status_lines() {
    assert_eq!(sipfrag_status(b"SIP/2.0 200 OK\r\n"), Some(200));
    assert_eq!(sipfrag_status(b"SIP/2.0 100 Trying"), Some(100));
    assert_eq!(
        sipfrag_status(b"SIP/2.0 486 Busy Here\r\nX: y\r\n"),
        Some(486)
    );
    assert_eq!(sipfrag_status(b"HTTP/1.1 200 OK"), None);
    assert_eq!(sipfrag_status(b"SIP/2.0 99999"), None);
    assert_eq!(sipfrag_status(&[0xff, 0xfe]), None);
    assert_eq!(sipfrag_status(b""), None);
}
