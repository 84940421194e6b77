//! `<transfer>` outcomes (VoiceXML 2.0 §2.3.7): values fill the item, failures named by §2.3.7.3 are events.

use super::*;
use crate::io::TransferOutcome;

const PAGE: &str = r#"<form><transfer name="t" dest="tel:+14085550100" bridge="true" connecttimeout="5s">
    <filled><prompt>value <value expr="t"/></prompt><exit/></filled>
    <catch event="error.connection.noroute"><prompt>noroute <value expr="t === undefined"/></prompt><exit/></catch>
    <catch event="error.connection"><prompt>connection <value expr="_event"/></prompt><exit/></catch>
  </transfer></form>"#;

/// Runs the page up to its transfer request, answers it with `outcome` and returns what was said.
fn outcome(outcome: TransferOutcome) -> Vec<String> {
    let mut d = Driver::new(&[("http://h/t.vxml", doc(PAGE))]);
    d.pump(false);
    assert!(
        d.outputs
            .iter()
            .any(|o| matches!(o, Output::Transfer { dest, .. } if dest == "tel:+14085550100")),
        "no transfer request: {:?}",
        d.outputs
    );
    d.s.handle_input(
        d.now,
        Input::TransferResult {
            outcome,
            duration: Duration::ZERO,
        },
    );
    d.pump(false);
    assert_eq!(d.end(), Some(&EndReason::Exit));
    d.said
}

#[test]
fn busy_fills_the_item() {
    assert_eq!(outcome(TransferOutcome::Busy), ["value busy"]);
}

#[test]
fn noroute_is_thrown_at_the_item_and_leaves_it_unfilled() {
    let said = outcome(TransferOutcome::Error("error.connection.noroute".into()));
    assert_eq!(said, ["noroute true"]);
}

#[test]
fn protocol_errors_match_by_prefix() {
    let said = outcome(TransferOutcome::Error(
        "error.connection.protocol.488".into(),
    ));
    assert_eq!(said, ["connection error.connection.protocol.488"]);
}
