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
