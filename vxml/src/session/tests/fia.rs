//! The Form Interpretation Algorithm (2.0 Appendix C) and the process phase on the virtual clock: `<filled>` order,
//! shadow variables of fields filled by a form-level grammar. Documents end in "pass" or "fail".

use super::*;

const PASS: &str = "<prompt>pass</prompt><exit/>";

/// A DTMF grammar of one key with an optional SISR tag.
fn key_grammar(key: char, tag: &str) -> String {
    let tag = if tag.is_empty() {
        String::new()
    } else {
        format!("<tag>{tag}</tag>")
    };
    format!(
        r#"<grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar"
        tag-format="semantics/1.0"><rule id="r"><item>{key}{tag}</item></rule></grammar>"#
    )
}

fn run(page: String, keys: &str) -> Driver {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(&page))]);
    d.pump(false);
    for (i, k) in keys.chars().enumerate() {
        d.key(100 * (i as u64 + 1), k);
    }
    d
}

#[test]
fn filled_elements_run_in_document_order_form_level_first_when_written_first() {
    // Appendix C: "for each <filled> action in document order". The form's <filled mode="any"> comes before the
    // field, so it runs before the field's own.
    let page = format!(
        r#"<form><var name="s" expr="''"/>
      <filled mode="any"><assign name="s" expr="s + 'F'"/></filled>
      <field name="f">{g}<prompt>x</prompt><filled><assign name="s" expr="s + 'I'"/></filled></field>
      <filled><assign name="s" expr="s + 'A'"/></filled>
      <block><if cond="s == 'FIA'">{PASS}<else/><prompt>fail <value expr="s"/></prompt></if></block></form>"#,
        g = key_grammar('5', "")
    );
    assert_passed(&run(page, "5"));
}

#[test]
fn a_field_filled_by_a_form_level_grammar_gets_its_shadow_variables() {
    // While visiting `a`, the form-level grammar fills `b`: b$ is set like for b's own grammar (2.0 §2.3.1).
    let page = format!(
        r#"<form>{form_g}
      <field name="a">{a_g}<prompt>a</prompt></field>
      <field name="b">{a_g}<prompt>b</prompt></field>
      <block><if cond="a == '5' &amp;&amp; b == 'nine' &amp;&amp; b$.utterance == '9' &amp;&amp; b$.inputmode == 'dtmf'
        &amp;&amp; b$.interpretation.b == 'nine' &amp;&amp; b$.confidence == 1">{PASS}<else/><prompt>fail</prompt></if></block>
      </form>"#,
        form_g = key_grammar('9', "out.b = 'nine';"),
        a_g = key_grammar('5', "")
    );
    assert_passed(&run(page, "95"));
}

#[test]
fn builtin_number_has_no_leading_zero() {
    // Appendix P, number: the result must not use a leading zero.
    let page = format!(
        r#"<form><field name="f" type="number"><prompt>x</prompt>
      <filled><if cond="f === '7.5'">{PASS}<else/><prompt>fail <value expr="f"/></prompt></if></filled></field></form>"#
    );
    assert_passed(&run(page, "007*5#"));
}

#[test]
fn an_inline_abnf_grammar_declaring_mode_dtmf_is_active_without_a_mode_attribute() {
    // SRGS 1.0 §4.7: the ABNF header's `mode dtmf;` makes it a DTMF grammar.
    let page = format!(
        r#"<form><field name="f"><grammar type="application/srgs"><![CDATA[#ABNF 1.0; mode dtmf; root $r;
      $r = 1 2 {{out = "ok"}};]]></grammar><prompt>x</prompt>
      <filled><if cond="f == 'ok'">{PASS}<else/><prompt>fail</prompt></if></filled>
      <nomatch><prompt>fail nomatch</prompt></nomatch><noinput><prompt>fail noinput</prompt><exit/></noinput></field></form>"#
    );
    assert_passed(&run(page, "12"));
}

#[test]
fn a_grammar_of_an_unsupported_type_is_error_unsupported_format() {
    // 2.0 §5.2.6: "error.unsupported.format: the requested resource has a format that is not supported by the
    // platform, e.g. an unsupported grammar format".
    let page = format!(
        r#"<form><field name="f"><grammar type="application/x-jsgf" mode="dtmf">( 1 | 2 )+</grammar><prompt>x</prompt>
      <filled><prompt>fail</prompt></filled></field>
      <catch event="error.unsupported.format">{PASS}</catch><catch event="error"><prompt>fail <value expr="_event"/></prompt><exit/></catch></form>"#
    );
    assert_passed(&run(page, ""));
}

#[test]
fn a_voice_grammar_of_an_unsupported_type_is_left_inactive() {
    // Not activated (no recogniser), so its format does not matter; the DTMF grammar beside it works.
    let page = format!(
        r#"<form><field name="f"><grammar type="application/x-jsgf">( one | two )+</grammar>{g}<prompt>x</prompt>
      <filled>{PASS}</filled></field><catch event="error"><prompt>fail <value expr="_event"/></prompt><exit/></catch></form>"#,
        g = key_grammar('5', "")
    );
    assert_passed(&run(page, "5"));
}

#[test]
fn record_termchar_is_undefined_unless_a_key_ended_the_recording() {
    // 2.0 §2.3.6: name$.termchar is the key that ended the recording, "otherwise it is undefined".
    let page = format!(
        r#"<form><record name="r"><prompt>x</prompt><filled><if cond="typeof r$.termchar == 'undefined'
      &amp;&amp; r$.size == 8 &amp;&amp; r$.maxtime === false">{PASS}<else/><prompt>fail</prompt></if></filled></record></form>"#
    );
    let mut d = run(page, "");
    d.s.handle_input(d.now, wav_recording());
    d.pump(false);
    assert_passed(&d);
}

#[test]
fn a_subdialog_param_without_a_var_in_the_form_is_error_semantic() {
    // 2.0 §2.3.4: parameters "must be declared as <var> elements in the form executed as the subdialog or an
    // error.semantic will be thrown". Declared ones are still passed.
    let caller = doc(&format!(
        r#"<form><subdialog name="s" src="http://h/sub.vxml"><param name="p" expr="'a'"/><param name="zz" expr="1"/>
      <filled><prompt>fail</prompt></filled></subdialog>
      <catch event="bad.param"><if cond="_message == 'a'">{PASS}<else/><prompt>fail</prompt></if></catch></form>"#
    ));
    let sub = doc(
        r#"<form><var name="p"/><catch event="error.semantic"><return event="bad.param" messageexpr="p"/></catch>
      <block><return/></block></form>"#,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", caller), ("http://h/sub.vxml", sub)]);
    d.pump(false);
    assert_passed(&d);
}

#[test]
fn prompts_are_queued_again_once_a_block_ran_after_a_catch() {
    // Appendix C skips prompt queuing only when "the last loop iteration ended with a catch that had no
    // <reprompt>": here the iteration after the catch runs a block, so the field's prompt plays.
    let page = format!(
        r#"<form><catch event="x"><log>caught</log></catch><block><throw event="x"/></block><block><log>b2</log></block>
      <field name="f">{g}<prompt>fprompt</prompt><filled>{PASS}</filled></field></form>"#,
        g = key_grammar('5', "")
    );
    let d = run(page, "5");
    assert_passed(&d);
    assert_eq!(d.said, vec!["fprompt", "pass"]);
}

#[test]
fn initial_is_set_when_a_field_is_filled_by_its_own_grammar() {
    // 2.0 §2.3.3: any field filled by user input sets every <initial> variable to true before <filled> runs. Here
    // the initial's catch sends the FIA to the field, whose own grammar fills it.
    let page = format!(
        r#"<form>{form_g}<initial name="i"><prompt>both</prompt><nomatch><goto nextitem="a"/></nomatch></initial>
      <field name="a">{a_g}<prompt>a</prompt><filled><if cond="i === true">{PASS}<else/><prompt>fail</prompt></if></filled></field>
      </form>"#,
        form_g = key_grammar('9', "out.a = 'nine';"),
        a_g = key_grammar('5', "")
    );
    assert_passed(&run(page, "15"));
}

#[test]
fn initial_stays_unset_when_a_form_grammar_fills_no_field() {
    // The form grammar matches but names no field of the form: no field is filled, so <initial> is visited again.
    let page = format!(
        r#"<form><var name="n" expr="0"/>{form_g}<initial name="i"><prompt>both</prompt></initial>
      <field name="a">{a_g}<prompt>a</prompt></field>
      <block><if cond="a == '5'">{PASS}<else/><prompt>fail</prompt></if></block>
      <catch event="nomatch"><prompt>fail</prompt><exit/></catch></form>"#,
        form_g = "<grammar mode=\"dtmf\" version=\"1.0\" root=\"r\" xmlns=\"http://www.w3.org/2001/06/grammar\" \
                  tag-format=\"semantics/1.0\"><rule id=\"r\"><one-of><item>9<tag>out.zz = 1;</tag></item>\
                  <item>8<tag>out.a = '5';</tag></item></one-of></rule></grammar>",
        a_g = key_grammar('5', "")
    );
    let d = run(page, "98");
    assert_passed(&d);
    assert_eq!(d.said, vec!["both", "both", "pass"]);
}

#[test]
fn text_and_value_written_directly_in_a_field_or_menu_are_its_prompt() {
    // 2.0 §4.1: the <prompt> tags may be omitted when the prompt is only text, <audio> or <value>.
    let page = format!(
        r##"<form><var name="v" expr="'now'"/><field name="f" type="digits">Enter digits <value expr="v"/>
      <filled><goto next="#m"/></filled></field></form>
      <menu id="m">Press one. <choice dtmf="1" next="#ok">one</choice></menu><form id="ok"><block>{PASS}</block></form>"##
    );
    let d = run(page, "12#1");
    assert_passed(&d);
    assert_eq!(d.said, vec!["Enter digits now", "Press one.", "pass"]);
}

#[test]
fn a_subdialog_form_that_completes_without_return_exits_the_session() {
    // 2.0 §2.1.6.2.1: a form completed without an explicit transfer of control is an implicit <exit>; only
    // <return> goes back to the calling dialog.
    let caller = doc(
        r#"<form><subdialog name="s" src="http://h/sub.vxml"><filled><prompt>fail returned</prompt></filled></subdialog>
      <block><prompt>fail after</prompt></block></form>"#,
    );
    let sub = doc(r#"<form><block><prompt>in sub</prompt></block></form>"#);
    let mut d = Driver::new(&[("http://h/a.vxml", caller), ("http://h/sub.vxml", sub)]);
    d.pump(false);
    assert_eq!(d.said, vec!["in sub"]);
    assert_eq!(d.end(), Some(&EndReason::Exit));
}

#[test]
fn a_record_of_an_unsupported_type_is_error_unsupported_format() {
    // 2.0 §2.3.6: the Appendix E formats are supported; another type is error.unsupported.format, thrown at the
    // item before anything is recorded.
    let page = format!(
        r#"<form><record name="r" type="audio/x-unknown"><prompt>speak</prompt><filled><prompt>fail</prompt></filled>
      <catch event="error.unsupported.format">{PASS}</catch></record></form>"#
    );
    let d = run(page, "");
    assert_passed(&d);
    assert!(!d.outputs.iter().any(|o| matches!(o, Output::Record { .. })));
    // A required format is recorded.
    let page = r#"<form><record name="r" type="audio/basic"/></form>"#.to_string();
    let d = run(page, "");
    assert!(d.outputs.iter().any(|o| matches!(o, Output::Record { .. })));
}

#[test]
fn a_dotted_slot_names_a_property_path_of_the_result() {
    // 2.0 §3.1.6.3: slot="order.size" takes interpretation.order.size, from a field grammar or a form grammar.
    let page = format!(
        r#"<form>{form_g}<field name="size" slot="order.size">{g}<prompt>s</prompt></field>
      <field name="kind" slot="order.kind"><prompt>k</prompt></field>
      <block><if cond="size == 'large' &amp;&amp; kind == 'tea'">{PASS}<else/><prompt>fail</prompt></if></block></form>"#,
        form_g = key_grammar('9', "out.order = {kind: 'tea'};"),
        g = key_grammar('5', "out.order = {size: 'large'};")
    );
    assert_passed(&run(page, "59"));
}

#[test]
fn each_filled_run_for_one_input_has_its_own_anonymous_scope() {
    // 2.0 §5.1.2: each <filled> defines a new anonymous scope. The field's <filled> declares `t`; the form's
    // <filled>, run for the same input, must not see it (and its own `t` must not leak back to the dialog).
    let page = format!(
        r#"<form><var name="seen" expr="'unset'"/>
      <field name="f">{g}<prompt>x</prompt><filled><var name="t" expr="'field'"/></filled></field>
      <filled><assign name="seen" expr="typeof t"/><var name="t" expr="'form'"/></filled>
      <block><if cond="seen == 'undefined' &amp;&amp; typeof t == 'undefined'">{PASS}<else/>
        <prompt>fail <value expr="seen"/></prompt></if></block></form>"#,
        g = key_grammar('5', "")
    );
    assert_passed(&run(page, "5"));
}
