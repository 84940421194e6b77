//! Collection details of VoiceXML 2.1 on the virtual clock: external rule references inside fetched grammars
//! (SRGS 1.0 §2.2.2), `<mark>` in `lastresult$` (2.1 §4), `recordutterance` (2.1 §10) and `fetchaudiominimum`
//! (2.0 §6.3.5). Documents end in "pass" or "fail".

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

fn grxml(rules: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="dtmf" root="r"
        tag-format="semantics/1.0">{rules}</grammar>"#
    )
}

const CATCHES: &str = r#"<catch event="error.badfetch"><log><value expr="_message"/></log><prompt>badfetch</prompt><exit/></catch>
  <nomatch><prompt>fail nomatch</prompt><exit/></nomatch><noinput><prompt>fail noinput</prompt><exit/></noinput>"#;

#[test]
fn rulerefs_inside_fetched_grammars_are_fetched_in_turn() {
    // page -> a.grxml -> g/b.grxml (relative to a) -> c.grxml (relative to b, so g/c.grxml), with tags at each
    // level.
    let page = doc(&format!(
        r#"<form><field name="f"><grammar src="gram/a.grxml"/>{CATCHES}
      <filled><if cond="f.total == 123"><prompt>pass</prompt><else/><prompt>fail <value expr="JSON.stringify(f)"/></prompt></if></filled></field></form>"#
    ));
    let a = grxml(
        r#"<rule id="r" scope="public">1 <ruleref uri="g/b.grxml#r"/><tag>out.total = 100 + rules.r;</tag></rule>"#,
    );
    let b = grxml(
        r#"<rule id="r" scope="public">2 <ruleref uri="c.grxml#r"/><tag>out = 20 + rules.r;</tag></rule>"#,
    );
    let c = grxml(r#"<rule id="r" scope="public">3<tag>out = 3;</tag></rule>"#);
    let mut d = Driver::new(&[
        ("http://h/a.vxml", page),
        ("http://h/gram/a.grxml", a),
        ("http://h/gram/g/b.grxml", b),
        ("http://h/gram/g/c.grxml", c),
    ]);
    d.pump(false);
    let fetched: Vec<&str> = d.requests.iter().map(|r| r.url.as_str()).collect();
    assert!(fetched.contains(&"http://h/gram/g/c.grxml"), "{fetched:?}");
    for (i, k) in "123".chars().enumerate() {
        d.key(100 * (i as u64 + 1), k);
    }
    said_pass(&d);
}

#[test]
fn a_cycle_of_external_rulerefs_is_fetched_once_and_matches() {
    // a: "1" then b, or "#"; b: "2" then a. So 1 2 1 2 # is a sentence, and each file is fetched once.
    let page = doc(&format!(
        r#"<property name="termchar" value=""/><form><field name="f"><grammar src="http://h/a.grxml"/>{CATCHES}
      <filled><if cond="f == 'ok'"><prompt>pass</prompt><else/><prompt>fail</prompt></if></filled></field></form>"#
    ));
    let a = grxml(
        r#"<rule id="r" scope="public"><one-of><item>1 <ruleref uri="b.grxml#r"/></item><item>#</item></one-of><tag>out = 'ok';</tag></rule>"#,
    );
    let b = grxml(r#"<rule id="r" scope="public">2 <ruleref uri="a.grxml#r"/></rule>"#);
    let mut d = Driver::new(&[
        ("http://h/a.vxml", page),
        ("http://h/a.grxml", a),
        ("http://h/b.grxml", b),
    ]);
    d.pump(false);
    for (i, k) in "1212#".chars().enumerate() {
        d.key(100 * (i as u64 + 1), k);
    }
    said_pass(&d);
    let n = |u: &str| d.requests.iter().filter(|r| r.url == u).count();
    assert_eq!((n("http://h/a.grxml"), n("http://h/b.grxml")), (1, 1));
}

#[test]
fn a_missing_nested_grammar_is_error_badfetch() {
    let page = doc(&format!(
        r#"<form><field name="f"><grammar src="http://h/a.grxml"/>{CATCHES}<filled><prompt>fail</prompt></filled></field></form>"#
    ));
    let a = grxml(r#"<rule id="r" scope="public">1 <ruleref uri="b.grxml#r"/></rule>"#);
    let b = grxml(r#"<rule id="r" scope="public">2 <ruleref uri="missing.grxml#r"/></rule>"#);
    let mut d = Driver::new(&[
        ("http://h/a.vxml", page),
        ("http://h/a.grxml", a),
        ("http://h/b.grxml", b),
    ]);
    d.pump(false);
    assert_eq!(d.said.last().map(String::as_str), Some("badfetch"));
    assert!(
        d.outputs
            .iter()
            .any(|o| matches!(o, Output::Log { text, .. } if text.contains("404"))),
        "{:?}",
        d.outputs
    );
}

#[test]
fn external_rulerefs_nested_too_deep_are_error_badfetch() {
    let page = doc(&format!(
        r#"<form><field name="f"><grammar src="http://h/g0.grxml"/>{CATCHES}<filled><prompt>fail</prompt></filled></field></form>"#
    ));
    let mut docs = vec![("http://h/a.vxml".to_string(), page)];
    for i in 0..20 {
        docs.push((
            format!("http://h/g{i}.grxml"),
            grxml(&format!(
                r#"<rule id="r" scope="public">1 <ruleref uri="g{}.grxml#r"/></rule>"#,
                i + 1
            )),
        ));
    }
    let docs: Vec<(&str, String)> = docs.iter().map(|(u, b)| (u.as_str(), b.clone())).collect();
    let mut d = Driver::new(&docs);
    d.pump(false);
    assert_eq!(d.said.last().map(String::as_str), Some("badfetch"));
    assert!(
        d.requests.len() < 15,
        "stopped early: {} fetches",
        d.requests.len()
    );
}

const MARK_CHECK: &str = r#"<filled><if cond="f$.markname === application.lastresult$.markname
        &amp;&amp; f$.marktime === application.lastresult$.marktime">
      <prompt>mark <value expr="f$.markname"/> <value expr="f$.marktime"/></prompt>
      <else/><prompt>fail shadow and lastresult differ</prompt></if><exit/></filled>"#;

fn mark_page(prompt: &str) -> String {
    doc(&format!(
        r#"<form><field name="f" type="digits?length=1"><prompt>{prompt}</prompt>{MARK_CHECK}</field></form>"#
    ))
}

#[test]
fn barge_in_after_a_leading_mark_sets_markname_and_marktime() {
    // 2.1 §4: "m2" is 500 ms into the queue (after a break), so a barge-in at 700 ms is 200 ms after it.
    let page =
        mark_page(r#"<mark name="m1"/><break time="500ms"/><mark nameexpr="'m' + 2"/>press a key"#);
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(true);
    d.at(700);
    d.s.handle_input(d.now, Input::Dtmf('5'));
    d.pump(true);
    assert_eq!(d.said.last().map(String::as_str), Some("mark m2 200"));
}

#[test]
fn marks_reported_by_the_player_time_the_barge_in() {
    let page = mark_page(r#"first part <mark name="middle"/> second part"#);
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(true);
    d.at(1_000);
    d.s.handle_input(
        d.now,
        Input::Mark {
            name: "middle".into(),
        },
    );
    d.at(1_300);
    d.s.handle_input(d.now, Input::Dtmf('5'));
    d.pump(true);
    assert_eq!(d.said.last().map(String::as_str), Some("mark middle 300"));
}

#[test]
fn marktime_runs_to_the_end_of_playback_without_barge_in() {
    let page = mark_page(r#"text <mark name="end"/>"#);
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(true);
    d.at(1_500);
    d.s.handle_input(d.now, Input::Mark { name: "end".into() });
    d.at(2_000);
    d.s.handle_input(d.now, Input::PlayDone);
    d.key(4_000, '5');
    assert_eq!(d.said.last().map(String::as_str), Some("mark end 500"));
}

#[test]
fn no_mark_executed_leaves_markname_and_marktime_undefined() {
    // The mark comes after the text and the caller barges in before playback reaches it.
    let page = doc(
        r#"<form><field name="f" type="digits?length=1"><prompt>long text <mark name="late"/></prompt>
      <filled><if cond="f$.markname === undefined &amp;&amp; f$.marktime === undefined
          &amp;&amp; application.lastresult$.markname === undefined"><prompt>pass</prompt>
        <else/><prompt>fail</prompt></if><exit/></filled></field></form>"#,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(true);
    d.at(300);
    d.s.handle_input(d.now, Input::Dtmf('5'));
    d.pump(true);
    said_pass(&d);
}

/// Answers the first fetch (the start page) and returns the id of the next one (the `<goto>` target), unanswered.
fn start_and_goto(page: String) -> (Driver, crate::io::FetchId) {
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    let Some(Output::Fetch { id, request }) = d.s.poll_output() else {
        panic!("fetch first")
    };
    let body = d.docs[&request.url].clone().into_bytes();
    let result = Ok(FetchResponse {
        url: request.url,
        status: 200,
        content_type: None,
        body,
    });
    d.s.handle_input(d.now, Input::Fetched { id, result });
    let Some(Output::Fetch { id, .. }) = d.s.poll_output() else {
        panic!("the goto's fetch")
    };
    (d, id)
}

fn next_page() -> Result<FetchResponse, crate::request::FetchError> {
    Ok(FetchResponse {
        url: "http://h/next.vxml".into(),
        status: 200,
        content_type: None,
        body: doc("<form><block>here</block></form>").into_bytes(),
    })
}

const SLOW_GOTO: &str = r#"<property name="fetchaudiodelay" value="1s"/><property name="fetchaudiominimum" value="3s"/>
  <form><block><goto next="http://h/next.vxml" fetchaudio="hold.wav"/></block></form>"#;

#[test]
fn fetchaudiominimum_holds_a_document_that_arrives_early() {
    let (mut d, id) = start_and_goto(doc(SLOW_GOTO));
    d.at(1_000);
    d.s.handle_timeout(d.now);
    assert!(
        matches!(d.s.poll_output(), Some(Output::Play { bargein: false, .. })),
        "fetchaudio starts at 1 s"
    );
    // The document arrives 500 ms into the fetchaudio: it waits until 3 s of fetchaudio have played.
    d.at(1_500);
    d.s.handle_input(
        d.now,
        Input::Fetched {
            id,
            result: next_page(),
        },
    );
    assert_eq!(d.s.poll_output(), None, "nothing happens yet");
    assert_eq!(d.deadline_ms(), Some(4_000));
    d.at(3_999);
    d.s.handle_timeout(d.now);
    assert_eq!(d.s.poll_output(), None);
    d.at(4_000);
    d.s.handle_timeout(d.now);
    assert_eq!(d.s.poll_output(), Some(Output::StopPlay));
    d.pump(false);
    assert_eq!(d.said, vec!["here"]);
}

#[test]
fn fetchaudiominimum_does_not_apply_before_fetchaudio_starts_or_after_it_elapsed() {
    // Before fetchaudiodelay: no fetchaudio, no minimum.
    let (mut d, id) = start_and_goto(doc(SLOW_GOTO));
    d.at(500);
    d.s.handle_input(
        d.now,
        Input::Fetched {
            id,
            result: next_page(),
        },
    );
    d.pump(false);
    assert_eq!(d.said, vec!["here"]);
    assert!(!d
        .outputs
        .iter()
        .any(|o| matches!(o, Output::Play { bargein: false, .. })));
    // After the minimum: the document is used at once.
    let (mut d, id) = start_and_goto(doc(SLOW_GOTO));
    d.at(1_000);
    d.s.handle_timeout(d.now);
    assert!(matches!(d.s.poll_output(), Some(Output::Play { .. })));
    d.at(4_200);
    d.s.handle_input(
        d.now,
        Input::Fetched {
            id,
            result: next_page(),
        },
    );
    assert_eq!(d.s.poll_output(), Some(Output::StopPlay));
    d.pump(false);
    assert_eq!(d.said, vec!["here"]);
}

#[test]
fn hangup_while_a_document_is_held_for_fetchaudiominimum_ends_the_session() {
    let page = SLOW_GOTO.replace(
        "<form>",
        r#"<catch event="connection.disconnect.hangup"><log>bye</log></catch><form>"#,
    );
    let (mut d, id) = start_and_goto(doc(&page));
    d.at(1_000);
    d.s.handle_timeout(d.now);
    d.at(1_500);
    d.s.handle_input(
        d.now,
        Input::Fetched {
            id,
            result: next_page(),
        },
    );
    d.s.handle_input(d.now, Input::Hangup);
    d.pump(false);
    assert_eq!(d.end(), Some(&EndReason::Hangup));
    assert!(d.said.is_empty(), "{:?}", d.said);
    assert_eq!(d.s.poll_timeout(), None);
}

#[test]
fn recordutterance_with_dtmf_input_declares_the_recording_variables_undefined() {
    // 2.1 §10: no audio is collected for keys, so recording, recordingsize and recordingduration are undefined
    // (but present) on the field's shadow variable and on lastresult$, for a match and for a nomatch.
    let page = doc(
        r#"<property name="recordutterance" value="true"/><var name="nm" expr="false"/>
      <form><field name="f" type="digits?length=2">
        <nomatch><assign name="nm" expr="'recording' in application.lastresult$
            &amp;&amp; application.lastresult$.recordingsize === undefined"/></nomatch>
        <filled><if cond="nm &amp;&amp; 'recording' in f$ &amp;&amp; f$.recording === undefined
            &amp;&amp; f$.recordingsize === undefined &amp;&amp; f$.recordingduration === undefined
            &amp;&amp; 'recordingduration' in application.lastresult$ &amp;&amp; application.lastresult$.recording === undefined
            &amp;&amp; application.lastresult$[0].recordingsize === undefined &amp;&amp; f$.utterance == '12'">
          <prompt>pass</prompt><else/><prompt>fail</prompt></if></filled></field></form>"#,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '*');
    d.key(200, '1');
    d.key(300, '2');
    said_pass(&d);
}

#[test]
fn without_recordutterance_there_are_no_recording_variables() {
    let page = doc(r#"<form><field name="f" type="digits?length=1">
        <filled><if cond="!('recording' in f$) &amp;&amp; !('recording' in application.lastresult$)">
          <prompt>pass</prompt><else/><prompt>fail</prompt></if></filled></field></form>"#);
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '1');
    said_pass(&d);
}

#[test]
fn a_fragment_in_grammar_src_names_the_root_rule() {
    // VoiceXML 2.0 §3.1.1.2 / SRGS 1.0 §2.2.2: `g.grxml#second` activates the public rule `second`; the fragment is
    // not sent in the request.
    let page = doc(&format!(
        r#"<form><field name="f"><grammar src="g.grxml#second"/>{CATCHES}
      <filled><if cond="f == 'two'"><prompt>pass</prompt><else/><prompt>fail</prompt></if></filled></field></form>"#
    ));
    let g = grxml(
        r#"<rule id="r" scope="public">1<tag>out = 'one';</tag></rule><rule id="second" scope="public">2<tag>out = 'two';</tag></rule>"#,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", page), ("http://h/g.grxml", g)]);
    d.pump(false);
    assert!(d.requests.iter().any(|r| r.url == "http://h/g.grxml"));
    d.key(100, '2');
    said_pass(&d);
}

#[test]
fn a_fragment_naming_a_missing_or_private_rule_is_error_badfetch() {
    for fragment in ["nope", "hidden"] {
        let page = doc(&format!(
            r#"<form><field name="f"><grammar src="g.grxml#{fragment}"/>{CATCHES}<filled><prompt>fail</prompt></filled></field></form>"#
        ));
        let g = grxml(r#"<rule id="r" scope="public">1</rule><rule id="hidden">2</rule>"#);
        let mut d = Driver::new(&[("http://h/a.vxml", page), ("http://h/g.grxml", g)]);
        d.pump(false);
        assert_eq!(d.said, vec!["badfetch"], "#{fragment}");
    }
}

#[test]
fn a_grammar_mode_in_conflict_with_the_fetched_grammar_is_error_badfetch() {
    // 2.0 §3.1.1.4, mode: "If the mode value is in conflict with the mode of the grammar itself, a badfetch event
    // is thrown". The file declares no mode, so it is a voice grammar (SRGS 1.0 §4.6).
    let page = doc(&format!(
        r#"<form><field name="f"><grammar mode="dtmf" src="g.grxml"/>{CATCHES}<filled><prompt>fail</prompt></filled></field></form>"#
    ));
    let g = r#"<?xml version="1.0"?><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" root="r">
      <rule id="r" scope="public">1</rule></grammar>"#;
    let mut d = Driver::new(&[
        ("http://h/a.vxml", page),
        ("http://h/g.grxml", g.to_string()),
    ]);
    d.pump(false);
    assert_eq!(d.said, vec!["badfetch"]);
}

#[test]
fn a_termchar_key_that_a_grammar_takes_is_input() {
    // `<choice dtmf="#">` with the default termchar `#`: the key selects the choice instead of ending an empty
    // input as a nomatch.
    let page = doc(
        r##"<menu><prompt>m</prompt><choice dtmf="1" next="#a">a</choice><choice dtmf="#" next="#b">back</choice>
      <nomatch><prompt>fail nomatch</prompt><exit/></nomatch></menu>
      <form id="a"><block><prompt>fail</prompt></block></form><form id="b"><block><prompt>pass</prompt></block></form>"##,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    d.key(100, '#');
    said_pass(&d);
    // A grammar ending in `#`: "1 #" is a sentence; with a complete input `#` still only terminates it.
    let page = doc(&format!(
        r#"<form><field name="f">{}{CATCHES}<filled><if cond="f == 'k'"><prompt>pass</prompt><else/><prompt>fail</prompt></if></filled></field>
      <field name="g" type="digits"><filled><if cond="g == '12'"><prompt>pass</prompt><else/><prompt>fail</prompt></if></filled></field></form>"#,
        r#"<grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar"><rule id="r">1 #<tag>out = 'k'</tag></rule></grammar>"#
    ));
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    d.pump(false);
    for (i, k) in "1#12#".chars().enumerate() {
        d.key(100 * (i as u64 + 1), k);
    }
    assert_eq!(d.said, vec!["pass", "pass"]);
}
