//! Events (VoiceXML 2.0 §5.2): counters, catch selection by count through the scope chain, as W3C-IR-style
//! documents that end in "pass" or "fail", on the virtual clock.

use super::*;

fn run(body: &str) -> Driver {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(body))]);
    d.pump(false);
    d
}

#[test]
fn a_counter_counts_every_event_its_name_is_a_prefix_of() {
    // §5.2.2: "event.foo.1" increments the counters of "event.foo.1", "event.foo" and "event". The second event
    // under "ev" (ev.b after ev.a) selects the count=2 handler although ev.b itself occurs for the first time.
    let d = run(r#"<form><var name="n" expr="0"/>
      <catch event="ev" count="2"><prompt>pass</prompt><exit/></catch>
      <catch event="ev"><assign name="n" expr="n + 1"/><if cond="n == 1"><throw event="ev.b"/></if>
        <prompt>fail second event took the count 1 handler</prompt><exit/></catch>
      <block><throw event="ev.a"/></block></form>"#);
    assert_passed(&d);
}

#[test]
fn the_highest_eligible_count_wins_and_document_order_breaks_ties() {
    let d = run(r#"<form><var name="n" expr="0"/>
      <catch event="e" count="3"><prompt>fail count 3 on the second event</prompt><exit/></catch>
      <catch event="e" count="2"><prompt>pass</prompt><exit/></catch>
      <catch event="e" count="2"><prompt>fail second count 2 handler</prompt><exit/></catch>
      <catch event="e"><assign name="n" expr="n + 1"/><throw event="e"/></catch>
      <block><throw event="e"/></block></form>"#);
    assert_passed(&d);
}

#[test]
fn a_more_specific_name_is_counted_on_its_own() {
    // The count=2 handler for "err.x" must not fire on the first err.x although "err" was seen before.
    let d = run(r#"<form><var name="n" expr="0"/>
      <catch event="err.x" count="2"><prompt>fail</prompt><exit/></catch>
      <catch event="err.x"><prompt>pass</prompt><exit/></catch>
      <catch event="err"><throw event="err.x"/></catch>
      <block><throw event="err.y"/></block></form>"#);
    assert_passed(&d);
}

#[test]
fn clear_resets_the_item_counters() {
    // §5.2.2: item-level counters are reset when the item is reset with <clear>.
    let d = run(r#"<form><var name="n" expr="0"/>
      <block name="b"><assign name="n" expr="n + 1"/><throw event="e"/></block>
      <catch event="e" count="2"><prompt>fail counter survived clear</prompt><exit/></catch>
      <catch event="e"><if cond="n == 2"><prompt>pass</prompt><exit/></if><clear namelist="b"/></catch>
      </form>"#);
    assert_passed(&d);
}

#[test]
fn form_level_filled_events_use_the_form_counters() {
    // §5.2.2: events thrown while executing a form-level <filled> count against the form, not the item last
    // visited: the field's own earlier "e" does not make the form-level one its second occurrence.
    let mut d = Driver::new(&[(
        "http://h/a.vxml",
        doc(r#"<form><var name="n" expr="0"/>
          <catch event="e" count="2"><prompt>fail second e</prompt><exit/></catch>
          <catch event="e"><assign name="n" expr="n + 1"/><if cond="n == 2"><prompt>pass</prompt><exit/></if></catch>
          <field name="f" type="digits?length=1"><prompt>key</prompt><noinput><throw event="e"/></noinput></field>
          <filled><throw event="e"/></filled></form>"#),
    )]);
    d.pump(false);
    d.tick(5_000);
    assert!(
        d.end().is_none(),
        "still collecting after the handlers: {:?}",
        d.said
    );
    d.key(6_000, '5');
    assert_passed(&d);
}
