//! DTMF grammar cost (criterion): what a page execution pays to compile and match its grammars.
//!
//! - `compile/*`: a builtin (`digits?maxlength=10`), a 9-option menu grammar, a small SRGS XML grammar.
//! - `match/*`: ten keys against the builtin, one key against a literal-tag grammar, four keys against a grammar
//!   whose tags are SISR script (run in QuickJS).
//!
//! `cargo bench --bench grammar -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::Value;
use vxgate_vxml::grammar::Grammar;

const LITERAL_TAGS: &str = r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" mode="dtmf" root="r" version="1.0">
  <rule id="r" scope="public"><one-of><item>1<tag>out='a'</tag></item><item>2<tag>out='b'</tag></item></one-of></rule></grammar>"#;

const SCRIPT_TAGS: &str = r##"<grammar mode="dtmf" root="r"><rule id="r"><item repeat="1-4"><ruleref uri="#d"/></item><tag>out.pin = meta.current().text; out.n = rules.latest()</tag></rule><rule id="d"><one-of><item>1</item><item>2</item></one-of></rule></grammar>"##;

fn compile(c: &mut Criterion) {
    let alts: Vec<(String, Value)> = (1..=9)
        .map(|i| (i.to_string(), Value::String(format!("o{i}"))))
        .collect();
    let mut g = c.benchmark_group("compile");
    g.bench_function("builtin_digits", |b| {
        b.iter(|| Grammar::builtin(black_box("digits?maxlength=10")))
    });
    g.bench_function("menu_9_options", |b| {
        b.iter(|| Grammar::from_alternatives(black_box(&alts)))
    });
    g.bench_function("srgs_small", |b| {
        b.iter(|| Grammar::parse_srgs(black_box(LITERAL_TAGS), "http://h/g.grxml"))
    });
    g.finish();
}

fn matching(c: &mut Criterion) {
    let mut g = c.benchmark_group("match");
    if let Ok(digits) = Grammar::builtin("digits?maxlength=10") {
        g.bench_function("builtin_10_keys", |b| {
            b.iter(|| digits.matches(black_box("1234567890")))
        });
    }
    if let Ok(literal) = Grammar::parse_srgs(LITERAL_TAGS, "") {
        g.bench_function("literal_tag", |b| {
            b.iter(|| literal.matches(black_box("2")))
        });
    }
    if let Ok(script) = Grammar::parse_srgs(SCRIPT_TAGS, "") {
        g.bench_function("script_tag_quickjs", |b| {
            b.iter(|| script.matches(black_box("1212")))
        });
    }
    g.finish();
}

criterion_group!(benches, compile, matching);
criterion_main!(benches);
