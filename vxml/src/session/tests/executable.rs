//! Executable content (VoiceXML 2.0 §5.3, 2.1 §3 and §6): `<var>`, `<foreach>`, `<disconnect namelist>`, as
//! W3C-IR-style documents on the virtual clock.

use super::*;

fn run(body: &str) -> Driver {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(body))]);
    d.pump(false);
    d
}

#[test]
fn var_without_expr_keeps_the_current_value() {
    // §5.3.1: "If there is no expr attribute, the variable retains its current value, if any."
    let d = run(r#"<var name="d" expr="'doc'"/><var name="d"/>
      <form><var name="f" expr="7"/><var name="f"/><block><var name="x" expr="1"/><var name="x"/><var name="u"/>
        <if cond="x == 1 &amp;&amp; f == 7 &amp;&amp; d == 'doc' &amp;&amp; u === undefined"><prompt>pass</prompt>
        <else/><prompt>fail</prompt></if></block></form>"#);
    assert_passed(&d);
}

#[test]
fn foreach_inside_a_prompt_renders_its_content_per_element() {
    // 2.1 §6: <foreach> may appear in <prompt>; its content is rendered once per array element.
    let d = run(
        r#"<form><block><script>var a = ['one', 'two', 'three'];</script>
      <prompt>list <foreach item="w" array="a"><value expr="w"/><break time="10ms"/></foreach> end</prompt>
      </block></form>"#,
    );
    assert_eq!(d.said.join(" | "), "list one | two | three | end");
    let play = d
        .outputs
        .iter()
        .find_map(|o| match o {
            Output::Play { prompts, .. } => Some(prompts.clone()),
            _ => None,
        })
        .expect("a play");
    assert_eq!(
        play.iter()
            .filter(|p| matches!(p, PromptItem::Break(_)))
            .count(),
        3
    );
}

#[test]
fn foreach_over_a_non_array_is_error_semantic() {
    let d = run(
        r#"<form><catch event="error.semantic"><prompt>pass</prompt><exit/></catch>
      <block><var name="o" expr="({a: 1})"/><prompt><foreach item="w" array="o"><value expr="w"/></foreach></prompt>
      <prompt>fail</prompt></block></form>"#,
    );
    assert_passed(&d);
    let d = run(
        r#"<form><catch event="error.semantic"><prompt>pass</prompt><exit/></catch>
      <block><var name="o" expr="5"/><foreach item="w" array="o"><prompt>fail</prompt></foreach>
      <prompt>fail</prompt></block></form>"#,
    );
    assert_passed(&d);
}

#[test]
fn disconnect_namelist_with_an_undeclared_variable_is_error_semantic() {
    let d = run(
        r#"<form><catch event="error.semantic"><prompt>pass</prompt><exit/></catch>
      <catch event="connection.disconnect"><prompt>fail disconnected</prompt><exit/></catch>
      <block><disconnect namelist="nosuchvar"/></block></form>"#,
    );
    assert_passed(&d);
    assert!(!d.outputs.iter().any(|o| matches!(o, Output::Disconnect)));
    let d = run(r#"<form><var name="v" expr="1"/>
      <catch event="connection.disconnect.hangup"><prompt>pass</prompt><exit/></catch>
      <block><disconnect namelist="v"/><prompt>fail</prompt></block></form>"#);
    assert_passed(&d);
}

#[test]
fn session_connection_originator_is_the_remote_object() {
    // 2.0 §5.1.4: originator is set to the local or remote property itself.
    let d = run(
        r#"<form><block><if cond="session.connection.originator === session.connection.remote">
      <prompt>pass</prompt><else/><prompt>fail</prompt></if></block></form>"#,
    );
    assert_passed(&d);
}

#[test]
fn assign_to_an_undeclared_scope_qualified_variable_is_error_semantic() {
    // 2.0 §5.1.1 / §5.3.2: assigning a variable that was not declared is error.semantic, with a scope prefix too.
    let d = run(
        r#"<var name="x" expr="1"/><form><catch event="error.semantic"><prompt>pass</prompt><exit/></catch>
      <block><assign name="document.x" expr="2"/><if cond="x != 2"><prompt>fail</prompt></if>
      <assign name="document.zz" expr="1"/><prompt>fail assigned</prompt></block></form>"#,
    );
    assert_passed(&d);
}

#[test]
fn var_with_a_scope_prefix_is_error_semantic() {
    // 2.0 §5.1.1: it is illegal to declare a variable with a scope prefix.
    let d = run(
        r#"<form><catch event="error.semantic"><prompt>pass</prompt><exit/></catch>
      <block><var name="document.x" expr="1"/><prompt>fail declared</prompt></block></form>"#,
    );
    assert_passed(&d);
}

#[test]
fn subdialog_post_sends_its_namelist_in_the_body_and_get_before_the_fragment() {
    // 2.0 §2.3.4: a subdialog's namelist is submitted as <submit> does, with its method and enctype.
    let sub = doc(r#"<form id="s"><block><return/></block></form>"#);
    let main = doc(
        r#"<form><var name="a" expr="'x y'"/><var name="b" expr="2"/>
      <subdialog name="p" src="sub.vxml" method="post" namelist="a b"/>
      <subdialog name="g" src="sub.vxml#s" namelist="a"/>
      <block><prompt>pass</prompt></block></form>"#,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", main), ("http://h/sub.vxml", sub)]);
    d.pump(false);
    assert_passed(&d);
    let subs: Vec<&FetchRequest> = d
        .requests
        .iter()
        .filter(|r| r.url.starts_with("http://h/sub.vxml"))
        .collect();
    assert_eq!(subs.len(), 2, "{subs:?}");
    assert_eq!(subs[0].method, Method::Post);
    assert_eq!(subs[0].url, "http://h/sub.vxml");
    let body = subs[0].body.as_ref().expect("a body");
    assert_eq!(body.content_type, "application/x-www-form-urlencoded");
    assert_eq!(String::from_utf8_lossy(&body.bytes), "a=x+y&b=2");
    assert_eq!(subs[1].method, Method::Get);
    assert_eq!(subs[1].url, "http://h/sub.vxml?a=x+y");
}

#[test]
fn session_variables_are_read_only() {
    // 2.0 §5.1.2: session variables are read-only; documents cannot declare new ones.
    let d = run(
        r#"<form><catch event="error.semantic"><if cond="session.connection.local.uri === ''
        &amp;&amp; session.x === undefined"><prompt>pass</prompt><else/><prompt>fail changed</prompt></if><exit/></catch>
      <block><script>session.x = 1; session.connection.local.uri = 'changed';</script>
      <assign name="session.connection.local.uri" expr="'changed'"/><prompt>fail assigned</prompt></block></form>"#,
    );
    assert_passed(&d);
}

#[test]
fn audio_whose_expr_is_undefined_is_ignored_with_its_fallback() {
    // 2.0 §4.1.3: <audio expr> evaluating to undefined is ignored (unlike an audio that fails to play, whose
    // content is played instead).
    let d = run(
        r#"<form><block><var name="u"/><prompt>a <audio expr="u">fallback</audio> b</prompt>
      <prompt>pass</prompt></block></form>"#,
    );
    assert_eq!(d.said, ["a b", "pass"]);
}
