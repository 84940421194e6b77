//! Session tests on a virtual clock: no sockets, no sleeps; every fetch answered from a table.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::*;
use crate::io::{EndReason, Input, Output, PromptItem};
use crate::request::{FetchError, FetchResponse};

struct Driver {
    s: Session,
    docs: HashMap<String, String>,
    now: Instant,
    t0: Instant,
    said: Vec<String>,
    outputs: Vec<Output>,
    requests: Vec<FetchRequest>,
    /// Resources served as raw bytes with a Content-Type (by URL without query), before `docs`.
    raw: HashMap<String, (Vec<u8>, Option<String>)>,
}

/// A one-second WAV recording as the platform reports it (8 bytes of stand-in audio, no termchar, not cut off).
fn wav_recording() -> Input {
    Input::RecordDone {
        audio: b"RIFFdata".to_vec(),
        media_type: "audio/x-wav".into(),
        duration: Duration::from_secs(1),
        termchar: None,
        maxtime: false,
    }
}

fn doc(body: &str) -> String {
    format!("<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">{body}</vxml>")
}

impl Driver {
    fn new(docs: &[(&str, String)]) -> Driver {
        Driver::with(docs, SessionConfig::default())
    }

    fn with(docs: &[(&str, String)], cfg: SessionConfig) -> Driver {
        let first = docs[0].0.to_string();
        let t0 = Instant::now();
        let mut d = Driver {
            s: Session::new(cfg, &first).unwrap(),
            docs: docs
                .iter()
                .map(|(u, b)| (u.to_string(), b.clone()))
                .collect(),
            now: t0,
            t0,
            said: Vec::new(),
            outputs: Vec::new(),
            requests: Vec::new(),
            raw: HashMap::new(),
        };
        d.s.start(t0);
        d
    }

    /// A driver that also serves `raw` resources (bytes, Content-Type) by URL.
    fn with_raw(docs: &[(&str, String)], raw: &[(&str, &[u8], Option<&str>)]) -> Driver {
        let mut d = Driver::new(docs);
        d.raw = raw
            .iter()
            .map(|(u, b, t)| (u.to_string(), (b.to_vec(), t.map(str::to_string))))
            .collect();
        d
    }

    /// Answers fetches and (unless `hold_play`) finishes plays, until the session waits.
    fn pump(&mut self, hold_play: bool) {
        while let Some(o) = self.s.poll_output() {
            match &o {
                Output::Fetch { id, request } => {
                    self.requests.push(request.clone());
                    let url = request.url.split('?').next().unwrap_or("").to_string();
                    let raw = self.raw.get(&url).map(|(b, t)| FetchResponse {
                        url: request.url.clone(),
                        status: 200,
                        content_type: t.clone(),
                        body: b.clone(),
                    });
                    let result = match self.docs.get(&url) {
                        _ if raw.is_some() => raw.ok_or(FetchError::Http(404)),
                        Some(b) => Ok(FetchResponse {
                            url: request.url.clone(),
                            status: 200,
                            content_type: None,
                            body: b.clone().into_bytes(),
                        }),
                        None => Err(FetchError::Http(404)),
                    };
                    let id = *id;
                    self.s.handle_input(self.now, Input::Fetched { id, result });
                }
                Output::Play { prompts, .. } => {
                    for p in prompts {
                        if let PromptItem::Text(t) = p {
                            self.said.push(t.clone());
                        }
                    }
                    if !hold_play {
                        self.s.handle_input(self.now, Input::PlayDone);
                    }
                }
                _ => {}
            }
            self.outputs.push(o);
        }
    }

    fn at(&mut self, ms: u64) {
        self.now = self.t0 + Duration::from_millis(ms);
    }

    fn key(&mut self, ms: u64, c: char) {
        self.at(ms);
        self.s.handle_input(self.now, Input::Dtmf(c));
        self.pump(false);
    }

    fn tick(&mut self, ms: u64) {
        self.at(ms);
        self.s.handle_timeout(self.now);
        self.pump(false);
    }

    fn end(&self) -> Option<&EndReason> {
        self.s.end_reason()
    }

    fn deadline_ms(&self) -> Option<u64> {
        self.s
            .poll_timeout()
            .map(|t| t.duration_since(self.t0).as_millis() as u64)
    }
}

const FIELD: &str = r#"<form><field name="f" type="digits?minlength=2;maxlength=4"><prompt>enter</prompt>
  <filled><prompt>got <value expr="f"/></prompt><exit/></filled>
  <noinput><prompt>silence</prompt><exit/></noinput><nomatch><prompt>bad</prompt><exit/></nomatch></field></form>"#;

#[test]
fn noinput_timer_starts_when_the_prompt_finishes() {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(FIELD))]);
    d.pump(true);
    assert_eq!(d.said, vec!["enter"]);
    assert_eq!(d.deadline_ms(), None, "no timer while the prompt plays");
    d.at(2_000);
    d.s.handle_input(d.now, Input::PlayDone);
    assert_eq!(
        d.deadline_ms(),
        Some(7_000),
        "5 s default timeout from the end of the prompt"
    );
    d.tick(6_999);
    assert!(d.end().is_none());
    d.tick(7_000);
    assert_eq!(d.said.last().map(String::as_str), Some("silence"));
    assert_eq!(d.end(), Some(&EndReason::Exit));
}

#[test]
fn interdigit_timeout_completes_a_variable_length_match() {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(FIELD))]);
    d.pump(false);
    d.key(1_000, '1');
    assert_eq!(
        d.deadline_ms(),
        Some(4_000),
        "partial: wait interdigittimeout (3 s)"
    );
    d.key(2_000, '2');
    assert_eq!(
        d.deadline_ms(),
        Some(5_000),
        "complete but extendable: wait interdigittimeout again"
    );
    d.tick(5_000);
    assert_eq!(d.said.last().map(String::as_str), Some("got 12"));
}

#[test]
fn termchar_and_max_length_end_collection_at_once() {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(FIELD))]);
    d.pump(false);
    d.key(100, '1');
    d.key(200, '2');
    d.key(300, '#');
    assert_eq!(d.said.last().map(String::as_str), Some("got 12"));
    let mut d = Driver::new(&[("http://h/a.vxml", doc(FIELD))]);
    d.pump(false);
    for (i, c) in "1234".chars().enumerate() {
        d.key(100 * i as u64, c);
    }
    assert_eq!(d.said.last().map(String::as_str), Some("got 1234"));
}

#[test]
fn partial_input_times_out_as_nomatch() {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(FIELD))]);
    d.pump(false);
    d.key(100, '7');
    d.tick(3_100);
    assert_eq!(d.said.last().map(String::as_str), Some("bad"));
}

#[test]
fn digits_during_a_prompt_barge_in_and_stop_it() {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(FIELD))]);
    d.pump(true);
    d.s.handle_input(d.now, Input::Dtmf('4'));
    d.pump(true);
    assert!(d.outputs.iter().any(|o| matches!(o, Output::StopPlay)));
}

#[test]
fn bargein_false_ignores_keys_while_the_prompt_plays() {
    let body = FIELD.replace(
        "<prompt>enter</prompt>",
        "<prompt bargein=\"false\">enter</prompt>",
    );
    let mut d = Driver::new(&[("http://h/a.vxml", doc(&body))]);
    d.pump(true);
    d.s.handle_input(d.now, Input::Dtmf('4'));
    d.pump(true);
    assert!(!d.outputs.iter().any(|o| matches!(o, Output::StopPlay)));
}

#[test]
fn typeahead_feeds_later_collections() {
    let body = r#"<form><field name="a" type="digits?length=1"/><field name="b" type="digits?length=1"/>
      <block><prompt><value expr="a + b"/></prompt></block></form>"#;
    let mut d = Driver::new(&[("http://h/a.vxml", doc(body))]);
    d.pump(false);
    d.key(10, '3');
    d.key(20, '4');
    assert_eq!(d.said.last().map(String::as_str), Some("34"));
    assert_eq!(d.end(), Some(&EndReason::Exit));
}

#[test]
fn hangup_while_fetching_runs_the_handler_and_ends_with_hangup() {
    let page = doc(
        r#"<catch event="connection.disconnect.hangup"><log>bye</log></catch>
      <form><block><goto next="http://h/slow.vxml"/></block></form>"#,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    // Answer only the first fetch by hand.
    let Some(Output::Fetch { id, request }) = d.s.poll_output() else {
        panic!("fetch first")
    };
    let body = d.docs[&request.url].clone().into_bytes();
    d.s.handle_input(
        d.now,
        Input::Fetched {
            id,
            result: Ok(FetchResponse {
                url: request.url,
                status: 200,
                content_type: None,
                body,
            }),
        },
    );
    let next = d.s.poll_output();
    assert!(matches!(next, Some(Output::Fetch { .. })), "{next:?}");
    d.s.handle_input(d.now, Input::Hangup);
    d.pump(false);
    assert!(d
        .outputs
        .iter()
        .any(|o| matches!(o, Output::Log { text, .. } if text == "bye")));
    assert_eq!(d.end(), Some(&EndReason::Hangup));
}

#[test]
fn stale_and_unknown_fetch_answers_are_ignored() {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(FIELD))]);
    d.s.handle_input(
        d.now,
        Input::Fetched {
            id: crate::io::FetchId(999),
            result: Err(FetchError::Timeout),
        },
    );
    d.pump(false);
    assert_eq!(d.said, vec!["enter"]);
}

#[test]
fn time_going_backwards_fires_nothing() {
    let mut d = Driver::new(&[("http://h/a.vxml", doc(FIELD))]);
    d.at(1_000);
    d.pump(false);
    d.s.handle_timeout(d.t0);
    d.pump(false);
    assert!(d.end().is_none());
}

#[test]
fn fetchtimeout_attribute_then_property_then_default() {
    let page = doc(r#"<property name="fetchtimeout" value="3s"/><form><block>
      <script src="http://h/a.js" fetchtimeout="1500ms"/><script src="http://h/b.js"/></block></form>"#);
    let cfg = SessionConfig {
        fetchtimeout: Duration::from_secs(9),
        ..Default::default()
    };
    let mut d = Driver::with(
        &[
            ("http://h/a.vxml", page),
            ("http://h/a.js", "1".into()),
            ("http://h/b.js", "2".into()),
        ],
        cfg,
    );
    d.pump(false);
    let t: Vec<_> = d
        .requests
        .iter()
        .map(|r| (r.url.clone(), r.timeout))
        .collect();
    assert_eq!(
        t[0],
        ("http://h/a.vxml".to_string(), Duration::from_secs(9))
    );
    assert_eq!(
        t[1],
        ("http://h/a.js".to_string(), Duration::from_millis(1500))
    );
    assert_eq!(t[2], ("http://h/b.js".to_string(), Duration::from_secs(3)));
}

#[test]
fn session_variables_are_visible() {
    let cfg = SessionConfig {
        vars: SessionVars {
            remote_uri: "sip:5551234@10.0.0.1".into(),
            sip_headers: vec![("Cisco-Guid".into(), "1-2-3-4".into())],
            ..Default::default()
        },
        ..Default::default()
    };
    let page = doc(
        r#"<form><block><prompt><value expr="session.connection.remote.uri + ' ' + session.connection.protocol.sip.headers['cisco-guid']"/></prompt></block></form>"#,
    );
    let mut d = Driver::with(&[("http://h/a.vxml", page)], cfg);
    d.pump(false);
    assert_eq!(d.said, vec!["sip:5551234@10.0.0.1 1-2-3-4"]);
}

#[test]
fn multipart_submit_carries_the_recording() {
    let page = doc(
        r#"<form><record name="msg"/><block><submit next="http://h/up" method="post" enctype="multipart/form-data" namelist="msg"/></block></form>"#,
    );
    let mut d = Driver::new(&[
        ("http://h/a.vxml", page),
        ("http://h/up", doc("<form><block>ok</block></form>")),
    ]);
    d.pump(false);
    assert!(d.outputs.iter().any(|o| matches!(o, Output::Record { .. })));
    d.s.handle_input(d.now, wav_recording());
    d.pump(false);
    let post = d
        .requests
        .iter()
        .find(|r| r.url == "http://h/up")
        .expect("submit");
    let body = post.body.as_ref().expect("body");
    assert!(body
        .content_type
        .starts_with("multipart/form-data; boundary="));
    let text = String::from_utf8_lossy(&body.bytes);
    assert!(
        text.contains("name=\"msg\"; filename=\"msg.wav\"") && text.contains("RIFFdata"),
        "{text}"
    );
    assert_eq!(d.said, vec!["ok"]);
}

#[test]
fn voice_only_field_reports_noinput_not_a_fake_recognition() {
    let body = r#"<form><field name="city"><grammar xmlns="http://www.w3.org/2001/06/grammar" root="r" version="1.0">
      <rule id="r"><item>chicago</item></rule></grammar>
      <noinput><prompt>no speech</prompt><exit/></noinput><nomatch><prompt>key</prompt><exit/></nomatch></field></form>"#;
    let mut d = Driver::new(&[("http://h/a.vxml", doc(body))]);
    d.pump(false);
    d.tick(5_000);
    assert_eq!(d.said, vec!["no speech"]);
    let mut d = Driver::new(&[("http://h/a.vxml", doc(body))]);
    d.pump(false);
    d.key(10, '1');
    assert_eq!(d.said, vec!["key"]);
}

#[test]
fn event_counters_reset_when_the_form_is_reentered() {
    let body = r##"<var name="n" expr="0"/><form id="f"><field name="x" type="digits">
      <noinput count="1"><assign name="n" expr="n + 1"/><if cond="n == 2"><prompt>pass</prompt><exit/></if><goto next="#f"/></noinput>
      <noinput count="2"><prompt>fail</prompt><exit/></noinput></field></form>"##;
    let mut d = Driver::new(&[("http://h/a.vxml", doc(body))]);
    d.pump(false);
    d.tick(5_000);
    d.tick(10_000);
    assert_eq!(d.said, vec!["pass"]);
}

#[test]
fn inputmodes_voice_disables_dtmf_grammars() {
    let body = FIELD.replace(
        "<form>",
        "<form><property name=\"inputmodes\" value=\"voice\"/>",
    );
    let mut d = Driver::new(&[("http://h/a.vxml", doc(&body))]);
    d.pump(false);
    d.key(10, '1');
    assert_eq!(d.said.last().map(String::as_str), Some("bad"));
}

/// Regression guard for the idle-session memory figure (the QuickJS runtime and context alone are ~75 KB).
#[test]
fn idle_session_script_heap_stays_small() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/vxml/microapp-getdigits.vxml"
    ))
    .unwrap();
    let url = "http://127.0.0.1:8000/ivr/page.vxml";
    let mut d = Driver::new(&[(url, page)]);
    d.pump(false);
    assert!(d
        .outputs
        .iter()
        .any(|o| matches!(o, Output::Collect { .. })));
    let heap = d.s.script_memory();
    assert!(
        heap < 120 * 1024,
        "script heap of an idle session: {heap} bytes"
    );
}

#[test]
fn fetchaudio_plays_after_fetchaudiodelay_and_stops_when_the_document_arrives() {
    let page = doc(
        r#"<property name="fetchaudiodelay" value="1s"/><form><block>
      <goto next="http://h/next.vxml" fetchaudio="hold.wav"/></block></form>"#,
    );
    let mut d = Driver::new(&[("http://h/a.vxml", page)]);
    // Answer the first fetch only.
    let Some(Output::Fetch { id, request }) = d.s.poll_output() else {
        panic!("fetch first")
    };
    let body = d.docs[&request.url].clone().into_bytes();
    d.s.handle_input(
        d.now,
        Input::Fetched {
            id,
            result: Ok(FetchResponse {
                url: request.url,
                status: 200,
                content_type: None,
                body,
            }),
        },
    );
    let Some(Output::Fetch { id, .. }) = d.s.poll_output() else {
        panic!("second fetch")
    };
    assert_eq!(d.deadline_ms(), Some(1_000));
    d.at(999);
    d.s.handle_timeout(d.now);
    assert!(
        d.s.poll_output().is_none(),
        "nothing before fetchaudiodelay"
    );
    d.at(1_000);
    d.s.handle_timeout(d.now);
    match d.s.poll_output() {
        Some(Output::Play {
            prompts,
            bargein: false,
            ..
        }) => {
            assert!(
                matches!(&prompts[0], PromptItem::Audio { url, .. } if url == "http://h/hold.wav")
            )
        }
        other => panic!("expected fetchaudio, got {other:?}"),
    }
    let body = doc("<form><block>here</block></form>").into_bytes();
    d.s.handle_input(
        d.now,
        Input::Fetched {
            id,
            result: Ok(FetchResponse {
                url: "http://h/next.vxml".into(),
                status: 200,
                content_type: None,
                body,
            }),
        },
    );
    assert!(matches!(d.s.poll_output(), Some(Output::StopPlay)));
    d.pump(false);
    assert_eq!(d.said, vec!["here"]);
}

/// Regression: `ScriptEngine::new_scope` used to `expect` when QuickJS was out of memory, so a page that filled its
/// heap panicked the whole process when the interpreter next entered a scope. Now the scope cannot be made, the
/// interpreter throws `error.semantic` (2.0 §5.2.6) with the reason in `_message`, and other sessions go on.
#[test]
fn full_script_heap_raises_error_semantic_not_a_panic() {
    let cfg = SessionConfig {
        script: crate::script::ScriptLimits {
            memory_bytes: 1 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    // The linked list lives in the document scope, so leaving dialog "a" frees nothing; each node is one small
    // allocation, so when the loop stops the heap is within one object of its limit.
    let page = doc(r##"<var name="head" expr="null"/>
      <catch event="error.semantic"><prompt>pass</prompt><exit/></catch>
      <form id="a"><block><script>try { while (true) { head = {n: head}; } } catch (e) {}</script>
        <goto next="#b"/></block></form>
      <form id="b"><block><prompt>fail</prompt><exit/></block></form>"##);
    let mut d = Driver::with(&[("http://h/a.vxml", page)], cfg);
    d.pump(false);
    let tail = &d.outputs[d.outputs.len().saturating_sub(5)..];
    assert_eq!(d.said, vec!["pass"], "{tail:?}");
    assert_eq!(d.end(), Some(&EndReason::Exit));
    let logs: Vec<&str> = d
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::Log { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        logs.iter()
            // Which scope the full heap first refuses (dialog "b" or the anonymous scope of its block)
            // depends on how much each allocation needs.
            .any(|l| l.contains("out of script memory")
                && (l.contains("dialog scope") || l.contains("anonymous scope"))),
        "{logs:?}"
    );

    // A second session in the same process (and thread) is unaffected.
    let mut d2 = Driver::new(&[("http://h/a.vxml", doc(FIELD))]);
    d2.pump(false);
    d2.key(10, '4');
    d2.key(20, '2');
    d2.key(30, '#');
    assert_eq!(d2.said, vec!["enter", "got 42"]);
}

/// Asserts a W3C-IR-style run passed: its last prompt is "pass" and no prompt says "fail".
fn assert_passed(d: &Driver) {
    assert_eq!(
        d.said.last().map(String::as_str),
        Some("pass"),
        "said {:?}, ended {:?}, outputs {:?}",
        d.said,
        d.end(),
        d.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Log { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
    );
    assert!(!d.said.iter().any(|s| s.contains("fail")), "{:?}", d.said);
}

mod documents;
mod events;
mod executable;
mod fia;
mod input;
mod link;
mod transfer;
