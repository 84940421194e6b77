//! `<link>` (VoiceXML 2.0 §2.5), grammar activation and precedence (2.0 §3.1.4) and document-scope grammars
//! (2.0 §3.1.3), as W3C-IR-style documents that end in "pass" or "fail", on the virtual clock.

use super::*;

fn said_pass(d: &Driver) {
    assert_eq!(
        d.said.last().map(String::as_str),
        Some("pass"),
        "said {:?}, ended {:?}",
        d.said,
        d.end()
    );
    assert!(!d.said.iter().any(|s| s.contains("fail")), "{:?}", d.said);
}

/// A field (its only key is "1") that fails on its own input, noinput or nomatch: only a link or another
/// dialog's grammar can make the test pass.
const WAIT: &str = r#"<field name="f"><option dtmf="1">one</option><prompt>wait</prompt>
      <filled><prompt>fail filled</prompt><exit/></filled>
      <noinput><prompt>fail noinput</prompt><exit/></noinput><nomatch><prompt>fail nomatch</prompt><exit/></nomatch></field>"#;

#[test]
fn document_link_dtmf_goes_to_a_dialog_and_sets_lastresult() {
    let page = doc(r##"<link dtmf="9" next="#b"/>
      <form id="a"><field name="f"><grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar">
        <rule id="r"><item>1</item></rule></grammar><prompt>wait</prompt>
        <filled><prompt>fail filled</prompt></filled><nomatch><prompt>fail nomatch</prompt><exit/></nomatch></field></form>
      <form id="b"><block>
        <if cond="application.lastresult$.utterance == '9' &amp;&amp; application.lastresult$.inputmode == 'dtmf'
                  &amp;&amp; application.lastresult$[0].utterance == '9'"><prompt>pass</prompt>
        <else/><prompt>fail lastresult</prompt></if></block></form>"##);
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '9');
    said_pass(&d);
    assert_eq!(d.end(), Some(&EndReason::Exit));
}

#[test]
fn link_event_is_thrown_at_the_current_item_with_its_message() {
    // The form-level handler is not reached: the field's own catch handles the event (thrown where execution
    // is, 2.0 §2.5), and the field stays unfilled.
    let page = doc(
        r#"<form><link dtmf="*" event="app.menu" message="to the menu"/>
      <catch event="app.menu"><prompt>fail form catch</prompt><exit/></catch>
      <field name="f" type="digits?length=1"><prompt>wait</prompt>
        <catch event="app.menu"><if cond="_message == 'to the menu' &amp;&amp; f === undefined"><prompt>pass</prompt>
          <else/><prompt>fail message</prompt></if><exit/></catch>
        <filled><prompt>fail filled</prompt><exit/></filled></field></form>"#,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '*');
    said_pass(&d);
}

#[test]
fn link_expr_eventexpr_and_messageexpr_are_evaluated_when_it_matches() {
    let page = doc(&format!(
        r##"<var name="where" expr="'#x'"/><var name="ev" expr="'my.ev'"/>
      <link dtmf="7" expr="where"/>
      <form><link dtmf="8" eventexpr="ev" messageexpr="'m' + 1"/>
        <catch event="my.ev"><if cond="_message == 'm1'"><assign name="where" expr="'#y'"/><clear namelist="f"/>
          <else/><prompt>fail</prompt><exit/></if></catch>
        {WAIT}</form>
      <form id="x"><block><prompt>fail x</prompt></block></form>
      <form id="y"><block><prompt>pass</prompt></block></form>"##
    ));
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '8');
    d.key(200, '7');
    said_pass(&d);
}

#[test]
fn field_grammar_beats_form_link_beats_document_link() {
    // 2.0 §3.1.4: field, then form (with its links), then document links. "1" is in all three; "2" is in the
    // form link and the document link; "3" only in the document link.
    let page = doc(
        r##"<link dtmf="1" next="#doc1"/><link dtmf="2" next="#doc2"/><link dtmf="3" next="#doc3"/>
      <var name="seen" expr="''"/>
      <form id="a"><link dtmf="2" next="#form2"/><link dtmf="1" next="#form1"/>
        <field name="f"><option dtmf="1" value="one"/><prompt>wait</prompt>
          <filled><assign name="seen" expr="seen + 'F'"/><goto next="#a"/></filled></field></form>
      <form id="form2"><block><assign name="seen" expr="seen + 'L'"/><goto next="#a"/></block></form>
      <form id="form1"><block><prompt>fail form1</prompt><exit/></block></form>
      <form id="doc1"><block><prompt>fail doc1</prompt><exit/></block></form>
      <form id="doc2"><block><prompt>fail doc2</prompt><exit/></block></form>
      <form id="doc3"><block><if cond="seen == 'FL'"><prompt>pass</prompt><else/><prompt>fail <value expr="seen"/></prompt></if></block></form>"##,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '1');
    d.key(200, '2');
    d.key(300, '3');
    said_pass(&d);
}

#[test]
fn same_level_grammars_go_by_document_order() {
    // Two document links with the same keys: the first in document order wins (2.0 §3.1.4).
    let page = doc(&format!(
        r##"<link dtmf="5" next="#first"/><link dtmf="5" next="#second"/>
      <form>{WAIT}</form>
      <form id="first"><block><prompt>pass</prompt></block></form>
      <form id="second"><block><prompt>fail</prompt></block></form>"##
    ));
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '5');
    said_pass(&d);
}

#[test]
fn link_grammar_child_with_semantics_fills_lastresult_interpretation() {
    let page = doc(&format!(
        r##"<link next="#b"><grammar mode="dtmf" version="1.0" root="r" tag-format="semantics/1.0"
          xmlns="http://www.w3.org/2001/06/grammar"><rule id="r"><item>4 2<tag>out.code = 42;</tag></item></rule></grammar></link>
      <form>{WAIT}</form>
      <form id="b"><block><if cond="application.lastresult$.interpretation.code == 42"><prompt>pass</prompt>
        <else/><prompt>fail</prompt></if></block></form>"##
    ));
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '4');
    d.key(200, '2');
    said_pass(&d);
}

#[test]
fn modal_field_turns_off_link_grammars() {
    let page = doc(r##"<link dtmf="9" next="#b"/>
      <form><field name="f" type="digits?length=1" modal="true"><prompt>wait</prompt>
        <filled><if cond="f == '9'"><prompt>pass</prompt><else/><prompt>fail</prompt></if><exit/></filled></field></form>
      <form id="b"><block><prompt>fail link</prompt></block></form>"##);
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '9');
    said_pass(&d);
}

#[test]
fn field_link_is_active_only_in_its_field() {
    let page = doc(
        r##"<form><field name="a" type="digits?length=1"><link dtmf="#" event="fail.a"/><prompt>a</prompt></field>
        <field name="b" type="digits?length=1"><prompt>b</prompt>
          <catch event="fail.a"><prompt>fail link of a</prompt><exit/></catch>
          <nomatch><prompt>pass</prompt><exit/></nomatch></field></form>"##,
    );
    // termchar is off so "#" is an ordinary key in b: no grammar of b matches it.
    let page = page.replace("<form>", "<form><property name=\"termchar\" value=\"\"/>");
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '1');
    d.key(200, '#');
    said_pass(&d);
}

#[test]
fn document_link_is_active_in_a_menu() {
    let page = doc(r##"<link dtmf="0" next="#b"/>
      <menu><choice dtmf="1" next="#c">one</choice></menu>
      <form id="b"><block><prompt>pass</prompt></block></form>
      <form id="c"><block><prompt>fail</prompt></block></form>"##);
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '0');
    said_pass(&d);
}

#[test]
fn application_root_link_is_active_in_leaf_documents_and_resolves_against_the_root() {
    let root = doc(r##"<var name="hits" expr="0"/>
      <link dtmf="0" next="#home"/><link dtmf="*" next="leaf2.vxml"/>
      <form id="home"><block><if cond="hits == 1 &amp;&amp; application.lastresult$.utterance == '0'"><prompt>pass</prompt>
        <else/><prompt>fail home</prompt></if><exit/></block></form>"##);
    let leaf = doc(&format!(
        r##"<form>{WAIT}</form><form id="home"><block><prompt>fail leaf home</prompt></block></form>"##
    ))
    .replace("<vxml ", "<vxml application=\"http://h/app/root.vxml\" ");
    let leaf2 = doc(&format!(
        r##"<form><block><assign name="application.hits" expr="application.hits + 1"/></block>{WAIT}</form>"##
    ))
    .replace("<vxml ", "<vxml application=\"root.vxml\" ");
    let mut d = Driver::new(&[
        ("http://h/app/leaf.vxml", leaf),
        ("http://h/app/root.vxml", root),
        ("http://h/app/leaf2.vxml", leaf2),
    ]);
    d.pump(false);
    d.key(100, '*');
    assert!(
        d.requests
            .iter()
            .any(|r| r.url == "http://h/app/leaf2.vxml"),
        "{:?}",
        d.requests
    );
    d.key(200, '0');
    said_pass(&d);
}

#[test]
fn link_without_exactly_one_target_is_error_badfetch() {
    for bad in [
        r##"<link dtmf="1" next="#a" event="x"/>"##,
        r##"<link dtmf="1"/>"##,
        r##"<link dtmf="1" event="x" message="a" messageexpr="'b'"/>"##,
    ] {
        let start = doc(
            r#"<catch event="error.badfetch"><prompt>pass</prompt><exit/></catch>
          <form><block><goto next="http://h/bad.vxml"/></block></form>"#,
        );
        let bad_doc = doc(&format!(
            "{bad}<form id=\"a\"><block><prompt>fail</prompt></block></form>"
        ));
        let mut d = Driver::new(&[("http://h/a.vxml", start), ("http://h/bad.vxml", bad_doc)]);
        d.pump(false);
        said_pass(&d);
    }
}

#[test]
fn document_scope_form_grammar_is_active_in_other_dialogs_and_fills_its_form() {
    // 2.0 §3.1.3 and Appendix C: matching the grammar of form "order" (scope="document") while in form "a"
    // transitions to "order", whose FIA then processes the result as a form-level match.
    let page = doc(&format!(
        r##"<form id="a">{WAIT}</form>
      <form id="order" scope="document">
        <grammar mode="dtmf" version="1.0" root="r" tag-format="semantics/1.0" xmlns="http://www.w3.org/2001/06/grammar">
          <rule id="r"><item>*<tag>out.qty = 3;</tag></item></rule></grammar>
        <block name="intro"><prompt>fail intro ran after the fill</prompt></block>
        <field name="qty" type="digits"><prompt>fail qty prompt</prompt></field>
        <filled><if cond="qty == 3 &amp;&amp; application.lastresult$.utterance == '*'"><prompt>pass</prompt>
          <else/><prompt>fail qty</prompt></if><exit/></filled></form>"##
    ));
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '*');
    said_pass(&d);
}

#[test]
fn grammar_scope_overrides_the_form_default_and_dialog_scope_stays_local() {
    let page = doc(&format!(
        r##"<form id="a">{WAIT}</form>
      <form id="b" scope="document">
        <grammar scope="dialog" mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar"><rule id="r">8</rule></grammar>
        <field name="x"/><filled><prompt>fail b</prompt><exit/></filled></form>
      <form id="c">
        <grammar scope="document" mode="dtmf" version="1.0" root="r" tag-format="semantics/1.0" xmlns="http://www.w3.org/2001/06/grammar">
          <rule id="r">7<tag>out.y = 'seven';</tag></rule></grammar>
        <field name="y"/><filled><if cond="y == 'seven'"><prompt>pass</prompt><else/><prompt>fail y</prompt></if><exit/></filled></form>"##
    ));
    // "8" belongs to a dialog-scope grammar of b: in a it is a nomatch.
    let mut d = Driver::new(&[("http://h/a.vxml", page.clone())]);
    d.pump(false);
    d.key(100, '8');
    assert_eq!(d.said.last().map(String::as_str), Some("fail nomatch"));
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '7');
    said_pass(&d);
}

#[test]
fn document_scope_menu_choice_is_active_in_other_dialogs() {
    let page = doc(&format!(
        r##"<form id="a">{WAIT}</form>
      <menu id="m" scope="document" dtmf="true"><choice next="#one">one</choice><choice next="#two">two</choice></menu>
      <form id="one"><block><prompt>fail one</prompt></block></form>
      <form id="two"><block><prompt>pass</prompt></block></form>"##
    ));
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '2');
    said_pass(&d);
}

#[test]
fn application_root_document_scope_form_is_active_in_a_leaf() {
    let root = doc(
        r##"<form id="agent" scope="document"><grammar mode="dtmf" version="1.0" root="r" tag-format="semantics/1.0"
          xmlns="http://www.w3.org/2001/06/grammar"><rule id="r">0<tag>out.who = 'agent';</tag></rule></grammar>
        <field name="who"/><filled><if cond="who == 'agent'"><prompt>pass</prompt><else/><prompt>fail</prompt></if><exit/></filled></form>"##,
    );
    let leaf = doc(&format!(r##"<form>{WAIT}</form>"##))
        .replace("<vxml ", "<vxml application=\"root.vxml\" ");
    let mut d = Driver::new(&[("http://h/leaf.vxml", leaf), ("http://h/root.vxml", root)]);
    d.pump(false);
    let fetches = d.requests.len();
    d.key(100, '0');
    said_pass(&d);
    assert_eq!(
        d.requests.len(),
        fetches,
        "the loaded root is not fetched again"
    );
}

#[test]
fn fragment_in_an_application_root_handler_names_a_root_dialog() {
    // RFC 3986 §4.4: "#home" in the root document refers to the root's own dialog, even while a leaf runs. The
    // root is not initialised again (2.0 §1.5.2): its variable keeps the value the leaf gave it.
    let root = doc(r##"<var name="n" expr="0"/>
      <catch event="go.home"><goto next="#home"/></catch>
      <form id="home"><block><if cond="n == 5"><prompt>pass</prompt><else/><prompt>fail root reinitialised</prompt></if></block></form>"##);
    let leaf = doc(
        r##"<form><block><assign name="application.n" expr="5"/><throw event="go.home"/></block></form>
      <form id="home"><block><prompt>fail leaf home</prompt></block></form>"##,
    )
    .replace("<vxml ", "<vxml application=\"root.vxml\" ");
    let mut d = Driver::new(&[("http://h/leaf.vxml", leaf), ("http://h/root.vxml", root)]);
    d.pump(false);
    said_pass(&d);
}
