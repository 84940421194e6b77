//! Grammar tests: builtin types, SRGS structure and semantics, linking, and the W3C conformance grammars.

use serde_json::{json, Value};

use super::*;

fn complete(g: &Grammar, keys: &str) -> (Value, bool) {
    match g.matches(keys) {
        MatchResult::Complete {
            interpretation,
            can_extend,
            ..
        } => (interpretation, can_extend),
        other => panic!("{keys:?}: expected complete, got {other:?}"),
    }
}

fn srgs(body: &str) -> Grammar {
    let xml = format!(
        r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="dtmf" root="main">{body}</grammar>"#
    );
    Grammar::parse_srgs(&xml, "http://example.com/app/g.grxml").unwrap()
}

const W3C: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/w3c-ir"
);

fn w3c(path: &str) -> Option<String> {
    let p = std::path::Path::new(W3C).join(path);
    let alt = std::path::Path::new("/work/shared/conformance/w3c-ir").join(path);
    std::fs::read_to_string(p)
        .or_else(|_| std::fs::read_to_string(alt))
        .ok()
}

#[test]
fn digits_lengths_and_extension() {
    let g = Grammar::builtin("digits?minlength=2;maxlength=4").unwrap();
    assert_eq!(g.mode(), Mode::Dtmf);
    assert_eq!(g.matches("1"), MatchResult::Partial);
    assert_eq!(complete(&g, "12"), (json!("12"), true));
    assert_eq!(complete(&g, "1234"), (json!("1234"), false));
    assert_eq!(g.matches("12345"), MatchResult::NoMatch);
    assert_eq!(g.matches("1*"), MatchResult::NoMatch);
    let g = Grammar::builtin("builtin:dtmf/digits?length=4").unwrap();
    assert_eq!(g.matches("123"), MatchResult::Partial);
    assert_eq!(complete(&g, "0042"), (json!("0042"), false));
    let g = Grammar::builtin("digits").unwrap();
    assert_eq!(g.matches(""), MatchResult::Partial);
    assert_eq!(complete(&g, "9"), (json!("9"), true));
}

#[test]
fn boolean_and_parameters() {
    let g = Grammar::builtin("boolean").unwrap();
    assert_eq!(complete(&g, "1"), (json!(true), false));
    assert_eq!(complete(&g, "2"), (json!(false), false));
    assert_eq!(g.matches("3"), MatchResult::NoMatch);
    let g = Grammar::builtin("boolean?y=7;n=9").unwrap();
    assert_eq!(complete(&g, "9"), (json!(false), false));
    assert_eq!(g.matches("1"), MatchResult::NoMatch);
}

#[test]
fn date_time_number_currency_phone() {
    let date = Grammar::builtin("date").unwrap();
    assert_eq!(complete(&date, "20240229"), (json!("20240229"), false));
    assert_eq!(date.matches("20230229"), MatchResult::NoMatch);
    assert_eq!(date.matches("20231301"), MatchResult::NoMatch);
    assert_eq!(date.matches("20230431"), MatchResult::NoMatch);
    assert_eq!(date.matches("202312"), MatchResult::Partial);
    let time = Grammar::builtin("time").unwrap();
    assert_eq!(complete(&time, "2359"), (json!("2359h"), false));
    assert_eq!(complete(&time, "0730"), (json!("0730?"), false));
    assert_eq!(time.matches("2400"), MatchResult::NoMatch);
    assert_eq!(time.matches("1260"), MatchResult::NoMatch);
    let number = Grammar::builtin("number").unwrap();
    assert_eq!(complete(&number, "12*5"), (json!("12.5"), true));
    assert_eq!(number.matches("12*"), MatchResult::Partial);
    assert_eq!(number.matches("1*2*3"), MatchResult::NoMatch);
    assert_eq!(complete(&number, "*25"), (json!("0.25"), true));
    assert_eq!(number.matches("*"), MatchResult::Partial);
    let currency = Grammar::builtin("currency").unwrap();
    assert_eq!(complete(&currency, "4*99"), (json!("4.99"), true));
    let phone = Grammar::builtin("phone").unwrap();
    assert_eq!(
        complete(&phone, "8005551212*1234"),
        (json!("8005551212x1234"), true)
    );
}

#[test]
fn builtin_errors_name_the_grammar() {
    let e = Grammar::builtin("builtin:doesnotexist").unwrap_err();
    assert!(e.to_string().contains("doesnotexist"), "{e}");
    let e = Grammar::builtin("digits?maxlength=two").unwrap_err();
    assert!(e.to_string().contains("\"two\""), "{e}");
}

#[test]
fn alternatives_prefer_first_and_extend() {
    let g = Grammar::from_alternatives(&[
        ("1".into(), json!("sales")),
        ("12".into(), json!("support")),
        ("1 2".into(), json!("shadowed")),
        ("*".into(), json!({"x": 1})),
    ]);
    assert_eq!(complete(&g, "1"), (json!("sales"), true));
    assert_eq!(complete(&g, "12"), (json!("support"), false));
    assert_eq!(complete(&g, "*"), (json!({"x": 1}), false));
    assert_eq!(g.matches("3"), MatchResult::NoMatch);
    let empty = Grammar::from_alternatives(&[]);
    assert_eq!(empty.matches("1"), MatchResult::NoMatch);
}

#[test]
fn srgs_structure_repeat_and_default_interpretation() {
    let g = srgs(
        r#"<rule id="main" scope="public">
             <item repeat="0-1">*</item>
             <one-of><item>1</item><item>2 3</item></one-of>
             <item repeat="2-">9</item>
           </rule>"#,
    );
    assert_eq!(g.matches("1"), MatchResult::Partial);
    assert_eq!(g.matches("19"), MatchResult::Partial);
    let MatchResult::Complete {
        interpretation,
        utterance,
        can_extend,
    } = g.matches("*2399")
    else {
        panic!("no match")
    };
    assert_eq!(
        (interpretation, utterance.as_str(), can_extend),
        (json!("*2399"), "*2399", true)
    );
    assert_eq!(g.matches("3"), MatchResult::NoMatch);
    assert_eq!(g.matches("2 4"), MatchResult::NoMatch);
}

#[test]
fn srgs_specials() {
    let g = srgs(
        r#"<rule id="main"><one-of><item>1 <ruleref special="VOID"/></item><item>2 <ruleref special="NULL"/></item></one-of></rule>"#,
    );
    // "1" leads only into $VOID: not even a prefix.
    assert_eq!(g.matches("1"), MatchResult::NoMatch);
    assert!(!complete(&g, "2").1);
    let g = srgs(r#"<rule id="main">1 <ruleref special="GARBAGE"/> #</rule>"#);
    assert!(complete(&g, "1#").1);
    assert!(complete(&g, "1234#").1);
    assert_eq!(g.matches("123"), MatchResult::Partial);
}

#[test]
fn sisr_literals_scripts_and_rule_references() {
    let g = srgs(
        r##"<rule id="main" scope="public">
             <one-of>
               <item>1 <tag>'one'</tag></item>
               <item>2 <tag>out = "two";</tag></item>
               <item>3 <ruleref uri="#pin"/><tag>out.kind = 'pin'; out.pin = rules.pin;</tag></item>
               <item>4 <ruleref uri="#pin"/><tag>out = rules.latest() + '!'</tag></item>
               <item>5 <ruleref uri="#pin"/></item>
               <item>6 <ruleref uri="#pin"/><tag>$ = $pin + meta.current().text</tag></item>
               <item>7 <ruleref uri="builtin:dtmf/digits?length=2"/><tag>out = rules.digits * 2</tag></item>
             </one-of>
           </rule>
           <rule id="pin"><item repeat="2">0</item><tag>out = 'pin' + meta.current().text</tag></rule>"##,
    );
    assert_eq!(complete(&g, "1").0, json!("one"));
    assert_eq!(complete(&g, "2").0, json!("two"));
    assert_eq!(
        complete(&g, "300").0,
        json!({"kind": "pin", "pin": "pin00"})
    );
    assert_eq!(complete(&g, "400").0, json!("pin00!"));
    assert_eq!(complete(&g, "500").0, json!("pin00"));
    assert_eq!(complete(&g, "600").0, json!("pin00600"));
    assert_eq!(complete(&g, "721").0, json!(42));
}

#[test]
fn sisr_vars_are_shared_by_the_tags_of_a_rule() {
    // A common SISR idiom: accumulate across a repeat in rule-scoped variables.
    let g = srgs(
        r##"<rule id="main"><tag>var total = 0; var n = 0;</tag>
             <item repeat="1-"><ruleref uri="#d"/><tag>total = total * 10 + rules.d; n++;</tag></item>
             <tag>out.total = total; out.count = n; out.text = meta.current().text;</tag></rule>
           <rule id="d"><one-of><item>1<tag>out = 1</tag></item><item>2<tag>out = 2</tag></item></one-of></rule>"##,
    );
    assert_eq!(
        complete(&g, "2121").0,
        json!({"total": 2121, "count": 4, "text": "2121"})
    );
    // Variables do not leak into another activation of the same rule.
    let g = srgs(
        r##"<rule id="main"><ruleref uri="#c"/><ruleref uri="#c"/><tag>out = [rules.latest()]</tag></rule>
           <rule id="c">1<tag>var seen = typeof seen === 'undefined' ? 'fresh' : 'leaked'; out = seen;</tag></rule>"##,
    );
    assert_eq!(complete(&g, "11").0, json!(["fresh"]));
}

#[test]
fn sisr_header_tags_are_global_to_the_rules() {
    // SRGS 1.0 §4.11: <tag> in the grammar header; its declarations (variables, functions) are seen by the tags of
    // every rule, which may also assign them; each interpretation starts from the header again.
    let g = srgs(
        r##"<tag>var base = 40; var hits = 0; function twice(x) { return 2 * x; }</tag>
           <rule id="main"><ruleref uri="#d"/><ruleref uri="#d"/><tag>out.v = base + hits; out.t = twice(rules.d);</tag></rule>
           <rule id="d"><one-of><item>1<tag>out = 1; hits++;</tag></item><item>2<tag>out = 2; hits++;</tag></item></one-of></rule>"##,
    );
    assert_eq!(complete(&g, "12").0, json!({"v": 42, "t": 4}));
    assert_eq!(complete(&g, "21").0, json!({"v": 42, "t": 2}));
    // Undeclared names still fail as before: a script error is no interpretation.
    let g = srgs(r#"<tag>var a = 1;</tag><rule id="main">1<tag>out = nothere;</tag></rule>"#);
    assert_eq!(g.matches("1"), MatchResult::NoMatch);
}

#[test]
fn sisr_script_error_is_no_interpretation() {
    let g = srgs(r#"<rule id="main">1<tag>out = (;</tag></rule>"#);
    assert_eq!(g.matches("1"), MatchResult::NoMatch);
    let g = srgs(r#"<rule id="main">1<tag>while (true) {}</tag></rule>"#);
    assert_eq!(g.matches("1"), MatchResult::NoMatch);
}

#[test]
fn literal_tag_format() {
    let xml = r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" mode="dtmf" root="r" tag-format="semantics/1.0-literals"><rule id="r">1<tag>yes please</tag></rule></grammar>"#;
    let g = Grammar::parse_srgs(xml, "").unwrap();
    assert_eq!(complete(&g, "1").0, json!("yes please"));
}

#[test]
fn ambiguity_prefers_document_order() {
    let g = srgs(
        r#"<rule id="main"><one-of><item>1<tag>'first'</tag></item><item>1<tag>'second'</tag></item></one-of></rule>"#,
    );
    assert_eq!(complete(&g, "1").0, json!("first"));
}

#[test]
fn recursion_is_matched_and_bounded() {
    // Right recursion: 1+ ones then #.
    let g = srgs(
        r##"<rule id="main"><one-of><item>1 <ruleref uri="#main"/></item><item>#</item></one-of></rule>"##,
    );
    assert!(!complete(&g, "111#").1);
    assert_eq!(g.matches("11"), MatchResult::Partial);
    // Left recursion never terminates a parse but must not hang.
    let g = srgs(
        r##"<rule id="main"><one-of><item><ruleref uri="#main"/> 1</item><item>2</item></one-of></rule>"##,
    );
    let _ = g.matches("21");
}

#[test]
fn nullable_loops_terminate() {
    let g = srgs(r#"<rule id="main"><item repeat="0-"><item repeat="0-1">1</item></item></rule>"#);
    assert!(complete(&g, "111").1);
    assert!(complete(&g, "").1);
}

#[test]
fn srgs_errors() {
    let cases = [
        (
            r#"<grammar mode="dtmf" root="a"><rule id="a">1</grammar>"#,
            "not well-formed",
        ),
        (
            r#"<grammar mode="dtmf" root="b"><rule id="a">1</rule></grammar>"#,
            "\"b\"",
        ),
        (
            r##"<grammar mode="dtmf" root="a"><rule id="a"><ruleref uri="#zz"/></rule></grammar>"##,
            "#zz",
        ),
        (
            r#"<grammar mode="dtmf"><rule id="a">x</rule></grammar>"#,
            "\"x\"",
        ),
        (
            r#"<grammar mode="dtmf"><rule id="a"><item repeat="3-1">1</item></rule></grammar>"#,
            "3-1",
        ),
        (
            r#"<grammar mode="dtmf"><rule id="a"><ruleref uri="builtin:doesnotexist"/></rule></grammar>"#,
            "doesnotexist",
        ),
        (
            r#"<grammar mode="keys"><rule id="a">1</rule></grammar>"#,
            "\"keys\"",
        ),
        (r#"<vxml/>"#, "<vxml>"),
        (
            r#"<grammar mode="dtmf"><rule id="a"><bogus/></rule></grammar>"#,
            "bogus",
        ),
        (
            r#"<grammar mode="dtmf"><rule id="a">1</rule><rule id="a">2</rule></grammar>"#,
            "twice",
        ),
        (
            r#"<grammar mode="dtmf"><rule id="a"><one-of></one-of></rule></grammar>"#,
            "one-of",
        ),
    ];
    for (xml, needle) in cases {
        let e = Grammar::parse_srgs(xml, "http://h/x.grxml").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("http://h/x.grxml") && s.contains(needle),
            "{xml}: {s}"
        );
    }
}

#[test]
fn namespaces_prefixed_srgs_and_foreign_elements() {
    let xml = r#"<s:grammar xmlns:s="http://www.w3.org/2001/06/grammar" xmlns:x="urn:ext" mode="dtmf" root="r">
        <s:rule id="r"><x:hint>ignored 9</x:hint><s:one-of><s:item>1</s:item><s:item>2</s:item></s:one-of></s:rule>
      </s:grammar>"#;
    let g = Grammar::parse_srgs(xml, "").unwrap();
    assert_eq!(complete(&g, "2").0, json!("2"));
    assert_eq!(g.matches("9"), MatchResult::NoMatch);
    // Inline in a VoiceXML document: the grammar elements are in the VoiceXML namespace.
    let xml = r#"<grammar xmlns="http://www.w3.org/2001/vxml" mode="dtmf" root="r"><rule id="r">5</rule></grammar>"#;
    assert_eq!(
        complete(&Grammar::parse_srgs(xml, "").unwrap(), "5").0,
        json!("5")
    );
}

#[test]
fn voice_grammar_is_kept_but_never_matches_dtmf() {
    let g = Grammar::parse_srgs(
        r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="c" version="1.0"><rule id="c">Chicago</rule></grammar>"#,
        "",
    )
    .unwrap();
    assert_eq!(g.mode(), Mode::Voice);
    assert_eq!(g.matches("1"), MatchResult::NoMatch);
    assert!(matches!(
        g.matches_tokens(&["Chicago"]),
        MatchResult::Complete { .. }
    ));
}

#[test]
fn external_references_resolve_and_link() {
    let main = Grammar::parse_srgs(
        r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" mode="dtmf" root="m">
             <rule id="m"><ruleref uri="sub.grxml#two"/><ruleref uri="../other.grxml"/><tag>out = rules.two + rules.o</tag></rule>
           </grammar>"#,
        "http://example.com/app/main.grxml",
    )
    .unwrap();
    assert_eq!(
        main.external_refs(),
        vec![
            "http://example.com/app/sub.grxml",
            "http://example.com/other.grxml"
        ]
    );
    assert_eq!(main.matches("2"), MatchResult::NoMatch);
    let e = main.check().unwrap_err();
    assert!(
        e.to_string()
            .contains("http://example.com/app/sub.grxml was not fetched"),
        "{e}"
    );
    let sub = Grammar::parse_srgs(
        r#"<grammar mode="dtmf" root="one"><rule id="one" scope="public">1</rule><rule id="two" scope="public">2<tag>'b'</tag></rule></grammar>"#,
        "http://example.com/app/sub.grxml",
    )
    .unwrap();
    let mut main = main;
    main.resolve_external("http://example.com/app/sub.grxml", sub);
    assert_eq!(main.external_refs(), vec!["http://example.com/other.grxml"]);
    assert_eq!(main.matches("2"), MatchResult::NoMatch);
    let other = Grammar::parse_srgs(
        r#"<grammar mode="dtmf" root="o"><rule id="o" scope="public">3 <ruleref uri="main.grxml#m"/><tag>'c'</tag></rule></grammar>"#,
        "http://example.com/other.grxml",
    )
    .unwrap();
    main.resolve_external("http://example.com/other.grxml", other);
    // other.grxml refers to http://example.com/main.grxml (not the main grammar's URI): still to fetch.
    assert_eq!(main.external_refs(), vec!["http://example.com/main.grxml"]);
    let empty = Grammar::parse_srgs(
        r#"<grammar mode="dtmf" root="m"><rule id="m" scope="public"><ruleref special="NULL"/></rule></grammar>"#,
        "http://example.com/main.grxml",
    )
    .unwrap();
    main.resolve_external("http://example.com/main.grxml", empty);
    assert!(main.external_refs().is_empty());
    assert!(main.check().is_ok());
    assert_eq!(complete(&main, "23").0, json!("bc"));
}

#[test]
fn private_external_rule_is_a_link_problem() {
    let mut main = Grammar::parse_srgs(
        r#"<grammar mode="dtmf" root="m"><rule id="m"><ruleref uri="s.grxml#p"/></rule></grammar>"#,
        "file:///g/main.grxml",
    )
    .unwrap();
    let sub = Grammar::parse_srgs(
        r#"<grammar mode="dtmf" root="p"><rule id="p">1</rule></grammar>"#,
        "file:///g/s.grxml",
    )
    .unwrap();
    main.resolve_external("file:///g/s.grxml", sub);
    let e = main.check().unwrap_err();
    assert!(e.to_string().contains("private"), "{e}");
    assert_eq!(main.matches("1"), MatchResult::NoMatch);
}

#[test]
fn adversarial_input_does_not_panic() {
    let g = Grammar::builtin("digits").unwrap();
    let long: String = "1".repeat(MAX_INPUT_TOKENS);
    assert!(matches!(g.matches(&long), MatchResult::Complete { .. }));
    let longer: String = "1".repeat(MAX_INPUT_TOKENS + 1);
    assert_eq!(g.matches(&longer), MatchResult::NoMatch);
    assert_eq!(g.matches("1\u{0}é"), MatchResult::NoMatch);
    for xml in [
        "<grammar",
        "<grammar mode='dtmf'><rule id='r'><item repeat='99999'>1</item></rule></grammar>",
        "\u{feff}<",
    ] {
        assert!(Grammar::parse_srgs(xml, "").is_err());
    }
    // Nested repeats within limits compile; beyond, a clear error.
    let big = "<grammar mode='dtmf'><rule id='r'><item repeat='1000'><item repeat='1000'>1</item></item></rule></grammar>";
    let e = Grammar::parse_srgs(big, "").unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
}

#[test]
fn w3c_ir_dtmf_grammars() {
    for (path, keys) in [
        ("vxml20/337/337Grammar.grxml", "1"),
        ("vxml21/1/1_grammar.grxml", "1"),
        ("vxml21/5/first.grxml", "4"),
        ("vxml21/5/third.grxml", "1"),
        ("vxml21/7/7.grxml", "1"),
    ] {
        let Some(xml) = w3c(path) else {
            eprintln!("skipping {path}: conformance folder not found");
            continue;
        };
        let g = Grammar::parse_srgs(&xml, &format!("file:///w3c/{path}")).unwrap();
        assert_eq!(g.mode(), Mode::Dtmf);
        assert_eq!(complete(&g, keys), (json!(keys), false), "{path}");
        assert_eq!(g.matches("9"), MatchResult::NoMatch, "{path}");
    }
    for path in [
        "vxml20-ir/1174_grammar.grxml",
        "vxml20-ir/246_abs_grammar.grxml",
    ] {
        if let Some(xml) = w3c(path) {
            let g = Grammar::parse_srgs(&xml, "").unwrap();
            assert_eq!(g.mode(), Mode::Voice, "{path}");
            assert_eq!(g.matches("1"), MatchResult::NoMatch, "{path}");
        }
    }
}

/// The SRGS 1.0 IR grammars state their test in `<meta name="in.N">`/`out.N`: accept or `REJECT`.
#[test]
fn w3c_srgs10_conformance_xml() {
    let metas = |xml: &str| -> Vec<(String, String)> {
        let root = super::xml::parse(xml).unwrap();
        let metas: Vec<(String, String)> = root
            .children
            .iter()
            .filter_map(|n| match n {
                super::xml::Node::Element(e) if e.name == "meta" => Some((
                    e.attr("name").unwrap_or("").to_string(),
                    e.attr("content").unwrap_or("").to_string(),
                )),
                _ => None,
            })
            .collect();
        let get = |k: &str| metas.iter().find(|(n, _)| n == k).map(|(_, c)| c.clone());
        (1..10)
            .filter_map(|n| Some((get(&format!("in.{n}"))?, get(&format!("out.{n}"))?)))
            .collect()
    };
    let mut ran = 0;
    for file in [
        "conformance-1.grxml",
        "conformance-5.grxml",
        "conformance-6.grxml",
    ] {
        let Some(xml) = w3c(&format!("srgs10/{file}")) else {
            continue;
        };
        match Grammar::parse_srgs(&xml, &format!("file:///w3c/srgs10/{file}")) {
            Ok(g) => {
                for (input, expected) in metas(&xml) {
                    let tokens: Vec<&str> = input.split_whitespace().collect();
                    let got = g.matches_tokens(&tokens);
                    // conformance-5: the non-standard grex:optional element is ignored (the test allows it), so
                    // "this is a test" is rejected while "test" (through the item with a foreign attribute) is
                    // accepted.
                    let accept = if file == "conformance-5.grxml" {
                        input == "test"
                    } else {
                        expected != "REJECT"
                    };
                    assert_eq!(
                        matches!(got, MatchResult::Complete { .. }),
                        accept,
                        "{file} {input:?} -> {got:?}"
                    );
                    ran += 1;
                }
            }
            Err(e) => {
                assert_eq!(file, "conformance-6.grxml", "{e}");
                assert!(e.to_string().contains("doesnotexist"), "{e}");
                ran += 1;
            }
        }
    }
    if w3c("srgs10/conformance-1.grxml").is_some() {
        assert!(ran >= 2);
    }
}

/// Mutated grammars and random keys: errors or answers, never a panic or a hang.
#[test]
fn mutation_fuzz_never_panics() {
    let seeds = [
        r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" mode="dtmf" root="r"><rule id="r"><item repeat="1-3"><one-of><item>1<tag>out.a='x'</tag></item><item>2 <ruleref uri="#s"/></item></one-of></item><ruleref special="GARBAGE"/>#</rule><rule id="s"><item repeat="0-">3</item><tag>out = rules.latest()</tag></rule></grammar>"##,
        r##"<grammar mode="dtmf" root="r" tag-format="semantics/1.0-literals"><rule id="r"><ruleref uri="builtin:dtmf/digits?minlength=1;maxlength=3"/><item repeat="0-1">*<tag>star</tag></item></rule></grammar>"##,
        "#ABNF 1.0;\nmode dtmf; root $r; /* c */\n$r = ($d<1-3> | [*] $<#d>) {out = 1} // x\n; $d = 1 | \"2\" | {!{ out='3' }!} 3 ;",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"<>/=\"' #*0123456789ABCDrule item one-of repeat-$;|()[]{}!";
    let keys = b"0123456789*#ABCD";
    let rounds: usize = std::env::var("VXGATE_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    for round in 0..rounds {
        let mut bytes = seeds[round % seeds.len()].as_bytes().to_vec();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % bytes.len();
            match next() % 3 {
                0 => bytes[at] = alphabet[(next() as usize) % alphabet.len()],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, alphabet[(next() as usize) % alphabet.len()]),
            }
        }
        let Ok(src) = String::from_utf8(bytes) else {
            continue;
        };
        if let Ok(g) = Grammar::parse_srgs(&src, "http://h/g.grxml") {
            for len in 0..6 {
                let input: String = (0..len)
                    .map(|_| keys[(next() as usize) % keys.len()] as char)
                    .collect();
                let _ = g.matches(&input);
            }
        }
    }
}

#[test]
fn abnf_dtmf_grammar() {
    let src = r#"#ABNF 1.0 UTF-8;
        mode dtmf;
        root $pin;
        tag-format <semantics/1.0>;
        // a comment; with a semicolon
        /* and a block comment */
        meta "author" is 'a; b';
        $digit = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
        public $pin = $digit<4> [ "*" $<builtin:dtmf/digits?length=2> {out.ext = rules.digits} ] {out.pin = meta.current().text.substr(0, 4)};
        private $unused = /2/ 1 | /1/ (2 3)<1-> $NULL | $VOID;
    "#;
    let g = Grammar::parse_srgs(src, "http://h/pin.gram").unwrap();
    assert_eq!(g.mode(), Mode::Dtmf);
    assert_eq!(complete(&g, "1234").0, json!({"pin": "1234"}));
    assert_eq!(g.matches("1234*5"), MatchResult::Partial);
    assert_eq!(
        complete(&g, "1234*56").0,
        json!({"pin": "1234", "ext": "56"})
    );
    assert_eq!(g.matches("12a"), MatchResult::NoMatch);
}

#[test]
fn abnf_inline_in_a_voicexml_grammar_element() {
    // VoiceXML IR 334 style: `{$ = "alpha"}` in an inline ABNF grammar (here in DTMF mode).
    let src = r#"<grammar type="application/srgs" version="1.0">#ABNF 1.0 UTF-8;
      language en;
      mode dtmf;
      root $CityName;
      $CityName = 1 2 {$ = "alpha"};
      </grammar>"#;
    let g = Grammar::parse_srgs(src, "file:///t/334.vxml").unwrap();
    assert_eq!(complete(&g, "12").0, json!("alpha"));
}

#[test]
fn abnf_errors_name_the_grammar_and_line() {
    for (src, needle) in [
        ("#ABNF 2.0;\nroot $a; $a = x;", "2.0"),
        ("#ABNF 1.0;\nmode dtmf;\n$a = 1 | x;", "line 3"),
        ("#ABNF 1.0;\n$a = (1 | 2;", "')'"),
        ("#ABNF 1.0;\n$a = 1", "';'"),
        ("#ABNF 1.0;\nroot $b;\n$a = 1;", "\"b\""),
        ("#ABNF 1.0;\n$a = $c;", "#c"),
        ("#ABNF 1.0;\n$a = {unterminated;", "tag"),
        ("#ABNF 1.0;\n$a = 1<3-1>;", "3-1"),
        ("#ABNF 1.0;\n$a = 1;\n$a = 2;", "twice"),
        ("#ABNF 1.0;\nmode keys;", "keys"),
        ("#ABNF 1.0\n$a = 1;", "header"),
        ("#ABNF 1.0; ;", "';'"),
        ("#ABNF 1.0; mode", "';'"),
        ("#ABNF 1.0; $", "'$'"),
    ] {
        let e = Grammar::parse_srgs(src, "http://h/g.gram").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("http://h/g.gram") && s.contains(needle),
            "{src:?}: {s}"
        );
    }
}

#[test]
fn w3c_srgs10_conformance_abnf() {
    let cases = [
        (
            "conformance-1.gram",
            &["please", "call", "Jean", "Francois"][..],
            true,
        ),
        ("conformance-1.gram", &["Dominic", "thanks"][..], true),
        ("conformance-1.gram", &["please", "Dominic"][..], false),
        (
            "conformance-2.gram",
            &["please", "call", "Jean", "Francois"][..],
            true,
        ),
    ];
    let mut ran = 0;
    for (file, input, accept) in cases {
        let Some(src) = w3c(&format!("srgs10/{file}")) else {
            continue;
        };
        let g = Grammar::parse_srgs(&src, &format!("file:///w3c/srgs10/{file}")).unwrap();
        let got = g.matches_tokens(input);
        assert_eq!(
            matches!(got, MatchResult::Complete { .. }),
            accept,
            "{file} {input:?}: {got:?}"
        );
        ran += 1;
    }
    if let Some(src) = w3c("srgs10/conformance-5.gram") {
        let e = Grammar::parse_srgs(&src, "file:///w3c/srgs10/conformance-5.gram").unwrap_err();
        assert!(e.to_string().contains("doesnotexist"), "{e}");
        ran += 1;
    }
    if let Some(src) = w3c("srgs10/conformance-6.gram") {
        // References an XML grammar that is not in the folder: parses, and asks for it.
        let g = Grammar::parse_srgs(&src, "file:///w3c/srgs10/conformance-6.gram").unwrap();
        assert_eq!(
            g.external_refs(),
            vec!["file:///w3c/srgs10/politeness.grxml"]
        );
        ran += 1;
    }
    if w3c("srgs10/conformance-1.gram").is_some() {
        assert_eq!(ran, 6);
    }
}

/// Differential test: the VM's complete/partial/no-match verdicts against brute-force enumeration of the language
/// of small random rule expansions (alphabet {1, 2}).
#[test]
fn matcher_agrees_with_brute_force_enumeration() {
    use std::collections::BTreeSet;
    const L: usize = 14;

    fn lang(e: &Expansion) -> BTreeSet<String> {
        let concat = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
            let mut out = BTreeSet::new();
            for x in a {
                for y in b {
                    if x.len() + y.len() <= L {
                        out.insert(format!("{x}{y}"));
                    }
                }
            }
            out
        };
        match e {
            Expansion::Token(t) => BTreeSet::from([t.clone()]),
            Expansion::Seq(v) => v.iter().fold(BTreeSet::from([String::new()]), |acc, e| {
                concat(&acc, &lang(e))
            }),
            Expansion::OneOf(v) => v.iter().flat_map(lang).collect(),
            Expansion::Repeat { body, min, max } => {
                let b = lang(body);
                let top = max.unwrap_or((*min).max(L as u32 + 1));
                let mut cur = BTreeSet::from([String::new()]);
                let mut out = BTreeSet::new();
                if *min == 0 {
                    out.insert(String::new());
                }
                for k in 1..=top {
                    cur = concat(&cur, &b);
                    if k >= *min {
                        out.extend(cur.iter().cloned());
                    }
                    if cur.is_empty() {
                        break;
                    }
                }
                out
            }
            Expansion::Null => BTreeSet::from([String::new()]),
            Expansion::Void => BTreeSet::new(),
            _ => unreachable!("not generated"),
        }
    }

    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    fn gen(rnd: &mut dyn FnMut(u64) -> u64, depth: u32) -> Expansion {
        let pick = if depth == 0 { rnd(3) } else { rnd(8) };
        match pick {
            0 | 1 => Expansion::Token(if rnd(2) == 0 { "1" } else { "2" }.to_string()),
            2 => {
                if rnd(4) == 0 {
                    Expansion::Null
                } else if rnd(6) == 0 {
                    Expansion::Void
                } else {
                    Expansion::Token("1".into())
                }
            }
            3 | 4 => Expansion::Seq((0..1 + rnd(3)).map(|_| gen(rnd, depth - 1)).collect()),
            5 | 6 => Expansion::OneOf((0..1 + rnd(3)).map(|_| gen(rnd, depth - 1)).collect()),
            _ => {
                let min = rnd(3) as u32;
                let max = if rnd(3) == 0 {
                    None
                } else {
                    Some(min + rnd(3) as u32)
                };
                Expansion::Repeat {
                    body: Box::new(gen(rnd, depth - 1)),
                    min,
                    max,
                }
            }
        }
    }

    for _ in 0..250 {
        let body = gen(&mut rnd, 3);
        let doc = Doc {
            uri: "random".into(),
            root: None,
            mode: Mode::Dtmf,
            rules: vec![RuleDef {
                id: "r".into(),
                public: true,
                body: body.clone(),
            }],
            globals: Vec::new(),
        };
        let g = Grammar::from_doc(doc, BTreeMap::new()).unwrap();
        let language = lang(&body);
        for len in 0..=4 {
            for bits in 0..(1u32 << len) {
                let input: String = (0..len)
                    .map(|i| if bits >> i & 1 == 0 { '1' } else { '2' })
                    .collect();
                let in_lang = language.contains(&input);
                let extends = language
                    .iter()
                    .any(|s| s.len() > input.len() && s.starts_with(&input));
                let want = match (in_lang, extends) {
                    (true, can_extend) => MatchResult::Complete {
                        interpretation: Value::String(input.clone()),
                        utterance: input.clone(),
                        can_extend,
                    },
                    (false, true) => MatchResult::Partial,
                    (false, false) => MatchResult::NoMatch,
                };
                assert_eq!(g.matches(&input), want, "{body:?} on {input:?}");
            }
        }
    }
}
