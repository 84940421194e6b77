//! VoiceXML interpreter conformance-style tests: documents that end in "pass" or "fail", served by a real HTTP
//! server on 127.0.0.1 and run through `vxgate run-vxml` (virtual clock, scripted DTMF). Plus bad pages: each must
//! give the right event and a clear log line, never a panic or a hang.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::vxgate_bin;

/// One request the server saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) target: String,
    content_type: String,
    body: Vec<u8>,
}

#[derive(Clone)]
pub(crate) struct Page {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    delay: Duration,
}

/// A tiny HTTP/1.1 server: fixed pages by path (query ignored), requests recorded.
pub(crate) struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub(crate) fn start(pages: Vec<(&str, Page)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let pages: Arc<HashMap<String, Page>> = Arc::new(
            pages
                .into_iter()
                .map(|(p, pg)| (p.to_string(), pg))
                .collect(),
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let pages = pages.clone();
                let seen = seen2.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().expect("clone stream"));
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_string();
                    let target = parts.next().unwrap_or("").to_string();
                    let mut len = 0usize;
                    let mut ctype = String::new();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            match k.trim().to_ascii_lowercase().as_str() {
                                "content-length" => len = v.trim().parse().unwrap_or(0),
                                "content-type" => ctype = v.trim().to_string(),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0u8; len];
                    let _ = reader.read_exact(&mut body);
                    seen.lock().expect("lock").push(Seen {
                        method,
                        target: target.clone(),
                        content_type: ctype,
                        body,
                    });
                    let path = target.split('?').next().unwrap_or("").to_string();
                    let page = pages.get(&path).cloned().unwrap_or(Page {
                        status: 404,
                        content_type: "text/plain",
                        body: b"not found".to_vec(),
                        delay: Duration::ZERO,
                    });
                    std::thread::sleep(page.delay);
                    let head = format!(
                        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        page.status,
                        page.content_type,
                        page.body.len()
                    );
                    let _ = conn.write_all(head.as_bytes());
                    let _ = conn.write_all(&page.body);
                });
            }
        });
        Server { base, seen }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

pub(crate) fn vxml(body: &str) -> Page {
    Page {
        status: 200,
        content_type: "application/voicexml+xml",
        body: format!("<?xml version=\"1.0\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">\n{body}\n</vxml>")
            .into_bytes(),
        delay: Duration::ZERO,
    }
}

fn raw(body: &str, ctype: &'static str) -> Page {
    Page {
        status: 200,
        content_type: ctype,
        body: body.as_bytes().to_vec(),
        delay: Duration::ZERO,
    }
}

/// A catch-all that turns any unexpected event into a fail with its name.
const CATCH_ALL: &str = r#"<catch><log>unexpected <value expr="_event"/>: <value expr="_message"/></log><prompt>fail</prompt><exit/></catch>"#;

struct Run {
    stdout: String,
    ok: bool,
    took: Duration,
}

impl Run {
    fn passed(&self) -> bool {
        self.stdout.lines().any(|l| l.trim() == "say: pass")
            && !self.stdout.lines().any(|l| l.starts_with("say: fail"))
    }
    fn has(&self, line_start: &str) -> bool {
        self.stdout.lines().any(|l| l.starts_with(line_start))
    }
    fn last(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }
}

fn run(url: &str, extra: &[&str]) -> Run {
    let t = Instant::now();
    let out = Command::new(vxgate_bin())
        .arg("run-vxml")
        .arg(url)
        .args(extra)
        .args(["--max-seconds", "120"])
        .output()
        .expect("run vxgate");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "vxgate panicked: {stderr}\n{stdout}"
    );
    Run {
        stdout,
        ok: out.status.success(),
        took: t.elapsed(),
    }
}

fn assert_pass(r: &Run) {
    assert!(r.passed(), "expected pass:\n{}", r.stdout);
    assert!(r.ok, "expected exit status 0:\n{}", r.stdout);
}

#[test]
fn digits_field_submits_the_digits_by_post() {
    let s = Server::start(vec![
        (
            "/start.vxml",
            vxml(&format!(
                r#"{CATCH_ALL}<form><field name="acct" type="digits?length=4"><prompt>Enter your account</prompt>
                <filled><submit next="/next" method="post" namelist="acct"/></filled></field></form>"#
            )),
        ),
        (
            "/next",
            vxml(r#"<form><block><prompt>pass</prompt></block></form>"#),
        ),
    ]);
    let r = run(&s.url("/start.vxml"), &["--dtmf", "5432"]);
    assert_pass(&r);
    assert!(
        r.has("say: Enter your account") && r.has("input: 5432"),
        "{}",
        r.stdout
    );
    assert_eq!(r.last(), "end: exit");
    let post = s
        .seen()
        .into_iter()
        .find(|q| q.method == "POST")
        .expect("a POST");
    assert_eq!(post.content_type, "application/x-www-form-urlencoded");
    assert_eq!(String::from_utf8_lossy(&post.body), "acct=5432");
}

#[test]
fn termchar_ends_a_variable_length_field_and_get_submit_uses_the_query() {
    let s = Server::start(vec![
        (
            "/a.vxml",
            vxml(&format!(
                r#"{CATCH_ALL}<form><field name="pin" type="digits"><filled>
                <if cond="pin == '12' &amp;&amp; pin$.utterance == '12' &amp;&amp; pin$.inputmode == 'dtmf'
                   &amp;&amp; application.lastresult$.utterance == '12'">
                <submit next="/b.vxml" namelist="pin"/><else/><prompt>fail</prompt></if></filled></field></form>"#
            )),
        ),
        (
            "/b.vxml",
            vxml(r#"<form><block><prompt>pass</prompt></block></form>"#),
        ),
    ]);
    let r = run(&s.url("/a.vxml"), &["--dtmf", "12#"]);
    assert_pass(&r);
    assert!(
        s.seen().iter().any(|q| q.target == "/b.vxml?pin=12"),
        "{:?}",
        s.seen()
    );
}

#[test]
fn noinput_handlers_are_chosen_by_count_then_reprompt() {
    let s = Server::start(vec![(
        "/n.vxml",
        vxml(&format!(
            r#"{CATCH_ALL}<form><field name="f" type="digits">
            <prompt count="1">first</prompt><prompt count="2">second</prompt>
            <noinput count="1"><reprompt/></noinput>
            <noinput count="2"><if cond="f === undefined"><prompt>pass</prompt><exit/></if></noinput>
            </field></form>"#
        )),
    )]);
    let r = run(&s.url("/n.vxml"), &[]);
    assert_pass(&r);
    let says: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("say:")).collect();
    assert_eq!(
        says,
        vec!["say: first", "say: second", "say: pass"],
        "{}",
        r.stdout
    );
}

#[test]
fn menu_with_dtmf_numbering_nomatch_then_choice() {
    let s = Server::start(vec![(
        "/m.vxml",
        vxml(&format!(
            r##"{CATCH_ALL}<menu id="m" dtmf="true"><prompt>Say one of <enumerate/></prompt>
            <choice next="#one">sales</choice><choice next="#two">support</choice>
            <nomatch>nomatch <reprompt/></nomatch></menu>
            <form id="one"><block><prompt>fail</prompt></block></form>
            <form id="two"><block><prompt>pass</prompt></block></form>"##
        )),
    )]);
    let r = run(&s.url("/m.vxml"), &["--dtmf", "92"]);
    assert_pass(&r);
    assert!(r.has("say: Say one of sales support"), "{}", r.stdout);
    assert!(r.has("say: nomatch"), "{}", r.stdout);
}

#[test]
fn http_404_raises_error_badfetch_http_404_caught_by_prefix() {
    let s = Server::start(vec![(
        "/g.vxml",
        vxml(&format!(
            r#"<catch event="error.badfetch"><if cond="_event == 'error.badfetch.http.404'"><prompt>pass</prompt>
            <else/><prompt>fail</prompt></if><exit/></catch>{CATCH_ALL}
            <form><block><goto next="/missing.vxml"/></block></form>"#
        )),
    )]);
    let r = run(&s.url("/g.vxml"), &[]);
    assert_pass(&r);
    assert!(
        r.has(&format!("fetch: GET {} 404", s.url("/missing.vxml"))),
        "{}",
        r.stdout
    );
}

#[test]
fn fetchtimeout_attribute_beats_the_default_and_raises_error_badfetch() {
    let mut slow = vxml("<form><block><prompt>fail</prompt></block></form>");
    slow.delay = Duration::from_millis(2500);
    let s = Server::start(vec![
        (
            "/t.vxml",
            vxml(&format!(
                r#"<catch event="error.badfetch"><prompt>pass</prompt><exit/></catch>{CATCH_ALL}
                <form><block><goto next="/slow.vxml" fetchtimeout="500ms"/></block></form>"#
            )),
        ),
        ("/slow.vxml", slow),
    ]);
    let r = run(&s.url("/t.vxml"), &[]);
    assert_pass(&r);
    assert!(
        r.has(&format!("fetch: GET {} timeout", s.url("/slow.vxml"))),
        "{}",
        r.stdout
    );
}

#[test]
fn application_root_variables_live_across_leaves() {
    let s = Server::start(vec![
        (
            "/root.vxml",
            vxml(r#"<var name="count" expr="1"/><script>function bump() { count++; }</script>"#),
        ),
        (
            "/leaf1.vxml",
            raw(
                r#"<vxml version="2.1" application="root.vxml"><form><block><script>bump();</script>
                <assign name="application.count" expr="application.count + 10"/><goto next="leaf2.vxml"/></block></form></vxml>"#,
                "text/xml",
            ),
        ),
        (
            "/leaf2.vxml",
            raw(
                r#"<vxml version="2.1" application="/root.vxml"><form><block>
                <if cond="count == 12"><prompt>pass</prompt><else/><prompt>fail <value expr="count"/></prompt></if>
                </block></form></vxml>"#,
                "text/xml",
            ),
        ),
    ]);
    let r = run(&s.url("/leaf1.vxml"), &[]);
    assert_pass(&r);
    assert_eq!(
        s.seen().iter().filter(|q| q.target == "/root.vxml").count(),
        1,
        "root fetched once"
    );
}

#[test]
fn subdialog_params_and_return_namelist() {
    let s = Server::start(vec![
        (
            "/main.vxml",
            vxml(&format!(
                r#"{CATCH_ALL}<form><subdialog name="r" src="/sub.vxml"><param name="x" expr="20"/>
                <filled><if cond="r.y == 21"><prompt>pass</prompt><else/><prompt>fail</prompt></if></filled>
                </subdialog></form>"#
            )),
        ),
        (
            "/sub.vxml",
            vxml(
                r#"<form><var name="x" expr="1"/><block><var name="y" expr="x + 1"/><return namelist="y"/></block></form>"#,
            ),
        ),
    ]);
    assert_pass(&run(&s.url("/main.vxml"), &[]));
}

#[test]
fn data_dom_and_foreach() {
    let s = Server::start(vec![
        (
            "/d.vxml",
            vxml(&format!(
                r#"{CATCH_ALL}<form><block><data name="q" src="/quote.xml"/>
                <var name="items" expr="[]"/>
                <script>var n = q.documentElement.getElementsByTagName('item');
                  for (var i = 0; i &lt; n.length; i++) items.push(n.item(i).getAttribute('v'));</script>
                <var name="sum" expr="0"/>
                <foreach item="it" array="items"><assign name="sum" expr="sum + Number(it)"/></foreach>
                <if cond="sum == 6 &amp;&amp; q.documentElement.firstChild.nodeName == 'item'"><prompt>pass</prompt>
                <else/><prompt>fail</prompt></if></block></form>"#
            )),
        ),
        (
            "/quote.xml",
            raw(
                r#"<quote><item v="1"/><item v="2"/><item v="3"/></quote>"#,
                "text/xml",
            ),
        ),
    ]);
    assert_pass(&run(&s.url("/d.vxml"), &[]));
}

#[test]
fn script_errors_raise_error_semantic_with_a_log_line() {
    let s = Server::start(vec![(
        "/s.vxml",
        vxml(&format!(
            r#"<catch event="error.semantic"><prompt>pass</prompt><exit/></catch>{CATCH_ALL}
            <form><block><script>var x = ;</script><prompt>fail</prompt></block></form>"#
        )),
    )]);
    let r = run(&s.url("/s.vxml"), &[]);
    assert_pass(&r);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("log: ") && l.contains("s.vxml:") && l.contains("script")),
        "{}",
        r.stdout
    );
}

#[test]
fn infinite_script_loop_is_interrupted_as_error_semantic() {
    let s = Server::start(vec![(
        "/loop.vxml",
        vxml(&format!(
            r#"<catch event="error.semantic"><prompt>pass</prompt><exit/></catch>{CATCH_ALL}
            <form><block><script>while (true) {{}}</script><prompt>fail</prompt></block></form>"#
        )),
    )]);
    let r = run(&s.url("/loop.vxml"), &[]);
    assert_pass(&r);
    assert!(r.took < Duration::from_secs(20), "took {:?}", r.took);
}

#[test]
fn throw_with_message_and_catch_cond() {
    let s = Server::start(vec![(
        "/t.vxml",
        vxml(&format!(
            r#"<catch event="my.event" cond="_message == 'no'"><prompt>fail</prompt><exit/></catch>
            <catch event="my"><if cond="_message == 'hello' &amp;&amp; _event == 'my.event'"><prompt>pass</prompt></if><exit/></catch>
            {CATCH_ALL}<form><block><throw event="my.event" messageexpr="'hel' + 'lo'"/></block></form>"#
        )),
    )]);
    assert_pass(&run(&s.url("/t.vxml"), &[]));
}

#[test]
fn object_is_unsupported() {
    let s = Server::start(vec![(
        "/o.vxml",
        vxml(&format!(
            r#"<catch event="error.unsupported.objecttype"><prompt>pass</prompt><exit/></catch>{CATCH_ALL}
            <form><object name="o" classid="method://x"/></form>"#
        )),
    )]);
    assert_pass(&run(&s.url("/o.vxml"), &[]));
}

#[test]
fn blind_transfer_ends_the_session_with_the_destination() {
    let s = Server::start(vec![(
        "/x.vxml",
        vxml(r#"<form><transfer name="t" dest="tel:+15551234" type="blind"/></form>"#),
    )]);
    let r = run(&s.url("/x.vxml"), &[]);
    assert_eq!(r.last(), "end: transfer tel:+15551234", "{}", r.stdout);
    assert!(r.ok);
}

#[test]
fn disconnect_runs_the_hangup_handler() {
    let s = Server::start(vec![(
        "/d.vxml",
        vxml(
            r#"<catch event="connection.disconnect.hangup"><log>cleanup</log><exit/></catch>
        <form><block><prompt>bye</prompt><disconnect/></block></form>"#,
        ),
    )]);
    let r = run(&s.url("/d.vxml"), &[]);
    assert!(r.has("say: bye") && r.has("log: cleanup"), "{}", r.stdout);
    assert_eq!(r.last(), "end: disconnect");
}

#[test]
fn audio_falls_back_to_its_content_when_the_fetch_fails() {
    let s = Server::start(vec![
        (
            "/a.vxml",
            vxml(
                r#"<form><block><audio src="/missing.wav">fallback text</audio><audio src="/ok.wav"/></block></form>"#,
            ),
        ),
        ("/ok.wav", raw("RIFF", "audio/wav")),
    ]);
    let r = run(&s.url("/a.vxml"), &[]);
    assert!(r.has("say: fallback text"), "{}", r.stdout);
    assert!(
        r.has(&format!("play: {}", s.url("/ok.wav"))),
        "{}",
        r.stdout
    );
}

// ---- bad pages ----

#[test]
fn unclosed_tag_is_error_badfetch_naming_url_and_line() {
    let s = Server::start(vec![
        (
            "/caller.vxml",
            vxml(
                r#"<catch event="error.badfetch"><log>caught <value expr="_message"/></log><prompt>pass</prompt><exit/></catch>
            <form><block><goto next="/broken.vxml"/></block></form>"#,
            ),
        ),
        (
            "/broken.vxml",
            raw(
                "<vxml version=\"2.1\">\n<form>\n<block>hi\n</form></vxml>",
                "text/xml",
            ),
        ),
    ]);
    let r = run(&s.url("/caller.vxml"), &[]);
    assert_pass(&r);
    let log = r
        .stdout
        .lines()
        .find(|l| l.starts_with("log: caught"))
        .unwrap_or("");
    assert!(
        log.contains("/broken.vxml:") && log.contains("block"),
        "{}",
        r.stdout
    );
    // As the first document, the session ends with the error.
    let r = run(&s.url("/broken.vxml"), &[]);
    assert_eq!(r.last(), "end: error error.badfetch", "{}", r.stdout);
    assert!(!r.ok);
}

#[test]
fn unknown_element_and_goto_with_next_and_expr_are_error_badfetch() {
    let s = Server::start(vec![
        ("/u.vxml", vxml(r#"<form><blok/></form>"#)),
        (
            "/g.vxml",
            vxml(r#"<form><block><goto next="a.vxml" expr="'b.vxml'"/></block></form>"#),
        ),
    ]);
    for (path, what) in [
        ("/u.vxml", "unknown element <blok>"),
        ("/g.vxml", "only one of next, expr"),
    ] {
        let r = run(&s.url(path), &[]);
        assert_eq!(r.last(), "end: error error.badfetch", "{}", r.stdout);
        assert!(
            r.stdout
                .lines()
                .any(|l| l.starts_with("log: ") && l.contains(what) && l.contains(":3:")),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn fifty_megabyte_document_is_refused_without_hanging() {
    let mut big = String::with_capacity(50 << 20);
    big.push_str("<vxml version=\"2.1\"><form><block>");
    while big.len() < 50 << 20 {
        big.push_str("<prompt>padding padding padding padding padding padding</prompt>\n");
    }
    big.push_str("</block></form></vxml>");
    let s = Server::start(vec![
        (
            "/c.vxml",
            vxml(
                r#"<catch event="error.badfetch"><prompt>pass</prompt><exit/></catch><form><block><goto next="/big.vxml"/></block></form>"#,
            ),
        ),
        ("/big.vxml", raw(&big, "text/xml")),
    ]);
    let r = run(&s.url("/c.vxml"), &[]);
    assert_pass(&r);
    assert!(r.took < Duration::from_secs(30), "took {:?}", r.took);
}

#[test]
fn infinite_goto_loop_within_a_document_raises_error_semantic() {
    let s = Server::start(vec![(
        "/l.vxml",
        vxml(r##"<form id="a"><block><goto next="#a"/></block></form>"##),
    )]);
    let r = run(&s.url("/l.vxml"), &[]);
    assert_eq!(r.last(), "end: error error.semantic", "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("log: ") && l.contains("dialog loop")),
        "{}",
        r.stdout
    );
    assert!(r.took < Duration::from_secs(20), "took {:?}", r.took);
}

#[test]
fn infinite_goto_loop_across_documents_ends() {
    let s = Server::start(vec![(
        "/self.vxml",
        vxml(r#"<form><block><goto next="/self.vxml"/></block></form>"#),
    )]);
    let r = run(&s.url("/self.vxml"), &[]);
    assert!(r.last().starts_with("end: error"), "{}", r.last());
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("log: ") && l.contains("document loop")),
        "{}",
        r.last()
    );
}

/// VoiceXML 2.0 §2.5: a link of the application root document, whose grammar is fetched from the server, is
/// active in a leaf document; `#main` is a dialog of the root (the link's own document).
#[test]
fn application_root_link_with_an_external_grammar_works_in_a_leaf() {
    let s = Server::start(vec![
        (
            "/app/root.vxml",
            vxml(&format!(
                r##"{CATCH_ALL}<link next="#main"><grammar src="menu.grxml"/></link>
                <form id="main"><block><if cond="application.lastresult$.interpretation == 'main'"><prompt>pass</prompt>
                <else/><prompt>fail</prompt></if><exit/></block></form>"##
            )),
        ),
        (
            "/app/menu.grxml",
            raw(
                r#"<?xml version="1.0"?><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="dtmf"
                root="r" tag-format="semantics/1.0"><rule id="r" scope="public">0 0<tag>out = 'main';</tag></rule></grammar>"#,
                "application/srgs+xml",
            ),
        ),
        (
            "/app/leaf.vxml",
            Page {
                body: String::from_utf8(vxml(&format!(
                    r##"{CATCH_ALL}<form id="main"><field name="acct" type="digits?length=6"><prompt>account</prompt>
                    <filled><prompt>fail filled</prompt></filled></field></form>"##
                )).body)
                .expect("utf-8")
                .replace("<vxml ", "<vxml application=\"root.vxml\" ")
                .into_bytes(),
                ..vxml("")
            },
        ),
    ]);
    let r = run(&s.url("/app/leaf.vxml"), &["--dtmf", "00"]);
    assert_pass(&r);
    assert!(
        s.seen().iter().any(|q| q.target == "/app/menu.grxml"),
        "{:?}",
        s.seen()
    );
}

/// VoiceXML 2.1 §4 through the headless runner: a mark at the start of a prompt is executed when playback starts;
/// the runner plays instantly, so marktime is 0. And a document-scope menu's choice (2.0 §3.1.3) is taken from
/// another dialog.
#[test]
fn leading_mark_and_document_scope_menu_through_run_vxml() {
    let s = Server::start(vec![(
        "/m.vxml",
        vxml(&format!(
            r##"{CATCH_ALL}<form id="a"><field name="f"><option dtmf="1">one</option>
              <prompt><mark name="top"/>press two</prompt><filled><prompt>fail filled</prompt></filled></field></form>
            <menu id="m" scope="document"><choice dtmf="2" next="#b">two</choice></menu>
            <form id="b"><block><if cond="application.lastresult$.markname == 'top' &amp;&amp; application.lastresult$.marktime == 0
              &amp;&amp; application.lastresult$.utterance == '2'"><prompt>pass</prompt><else/><prompt>fail</prompt></if></block></form>"##
        )),
    )]);
    let r = run(&s.url("/m.vxml"), &["--dtmf", "2"]);
    assert_pass(&r);
}

/// A WAV file of `ms` milliseconds of silence (8 kHz mono 16-bit PCM): its header tells the runner how long it plays.
pub(crate) fn wav_silence(ms: u32) -> Page {
    let data_len = ms * 16;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&16000u32.to_le_bytes()); // byte rate
    b.extend_from_slice(&2u16.to_le_bytes()); // block align
    b.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.resize(44 + data_len as usize, 0);
    Page {
        status: 200,
        content_type: "audio/wav",
        body: b,
        delay: Duration::ZERO,
    }
}

/// VoiceXML 2.1 §4 through the headless runner: the runner reports a `<mark>` after audio when the audio before it
/// has played, so a DTMF barge-in half a second after that gives `lastresult$.markname` "m2" and `marktime` 500
/// (and the field's `name$.markname`); a barge-in before the next prompt's only mark reports no mark at all.
#[test]
fn mark_after_audio_is_reported_on_barge_in_through_run_vxml() {
    let s = Server::start(vec![
        (
            "/marks.vxml",
            vxml(&format!(
                r##"{CATCH_ALL}<form><field name="a"><option dtmf="1">one</option>
                  <prompt><mark name="m1"/><audio src="/one.wav"/><mark name="m2"/><audio src="/two.wav"/><mark name="m3"/></prompt>
                  <filled><log>a: <value expr="application.lastresult$.markname + ' ' + application.lastresult$.marktime"/></log>
                    <if cond="application.lastresult$.markname != 'm2' || application.lastresult$.marktime != 500 || a$.markname != 'm2'">
                    <prompt>fail a</prompt><exit/></if></filled></field>
                <field name="b"><option dtmf="2">two</option>
                  <prompt><audio src="/one.wav"/><mark name="late"/><audio src="/two.wav"/></prompt>
                  <filled><log>b: <value expr="application.lastresult$.markname"/></log>
                    <if cond="typeof application.lastresult$.markname == 'undefined'"><prompt>pass</prompt>
                    <else/><prompt>fail b</prompt></if></filled></field></form>"##
            )),
        ),
        ("/one.wav", wav_silence(1000)),
        ("/two.wav", wav_silence(2000)),
    ]);
    let r = run(&s.url("/marks.vxml"), &["--dtmf-at", "1.5s:1 2.0s:2"]);
    assert_pass(&r);
    assert!(r.has("log: a: m2 500"), "{}", r.stdout);
    // Field b's barge-in at 2.0 s cut its prompt before two.wav: only field a's two.wav started.
    let two = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("play: ") && l.ends_with("/two.wav"))
        .count();
    assert_eq!(two, 1, "{}", r.stdout);
}
