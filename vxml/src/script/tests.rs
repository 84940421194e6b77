//! Engine tests: the scope chain, values, scripts, limits and errors.

use super::*;

#[test]
fn scope_chain_lookup_and_shadowing() {
    let e = ScriptEngine::new(ScriptLimits::default()).unwrap();
    let app = e.new_scope(Some("application")).unwrap();
    let doc = e.new_scope(Some("document")).unwrap();
    let dlg = e.new_scope(Some("dialog")).unwrap();
    e.set(&app, "x", &e.number(1.0));
    e.set(&doc, "x", &e.number(2.0));
    assert_eq!(e.eval_string(&[&app, &doc, &dlg], "x").unwrap(), "2");
    assert_eq!(
        e.eval_string(&[&app, &doc, &dlg], "application.x").unwrap(),
        "1"
    );
    e.assign(&[&app, &doc, &dlg], "application.x", &e.number(5.0))
        .unwrap();
    assert_eq!(e.eval_string(&[&app], "x").unwrap(), "5");
    assert!(e
        .assign(&[&app, &doc, &dlg], "nope", &e.number(5.0))
        .is_err());
}

/// `from_json` builds what `JSON.parse` would: same values, same key order, `__proto__` an own property.
#[test]
fn from_json_matches_json_parse() {
    let e = ScriptEngine::new(ScriptLimits::default()).unwrap();
    let app = e.new_scope(Some("application")).unwrap();
    let text =
        r#"{"b":[1,2.5,-0.0,"s\u00e9",null,true,4294967296],"a":{"__proto__":{"x":1}},"c":-7}"#;
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    e.set(&app, "v", &e.from_json(&v));
    e.set(&app, "t", &e.string(&v.to_string()));
    let same = "JSON.stringify(v) === JSON.stringify(JSON.parse(t)) && Object.is(v.b[2], -0) \
                    && v.a.x === undefined && Object.getPrototypeOf(v.a) === Object.prototype \
                    && v.a.hasOwnProperty('__proto__') && v.b[6] === 4294967296";
    assert!(e.eval_bool(&[&app], same).unwrap());
}

#[test]
fn script_declarations_land_in_the_scope() {
    let e = ScriptEngine::new(ScriptLimits::default()).unwrap();
    let app = e.new_scope(Some("application")).unwrap();
    let doc = e.new_scope(Some("document")).unwrap();
    e.run_script(
        &[&app, &doc],
        "var a = 3, b; function f(n) { var inner = n; return n * a; }",
    )
    .unwrap();
    assert!(e.has(&doc, "a") && e.has(&doc, "b") && e.has(&doc, "f"));
    assert!(!e.has(&doc, "inner"));
    assert_eq!(e.eval_string(&[&app, &doc], "f(2)").unwrap(), "6");
    e.assign(&[&app, &doc], "a", &e.number(10.0)).unwrap();
    assert_eq!(e.eval_string(&[&app, &doc], "f(2)").unwrap(), "20");
    // No leak into the application scope or globals.
    assert!(!e.has(&app, "a"));
    assert!(e.eval_string(&[&app], "typeof a").unwrap() == "undefined");
}

#[test]
fn infinite_loop_is_stopped() {
    let e = ScriptEngine::new(ScriptLimits {
        interrupt_budget: 50,
        ..Default::default()
    })
    .unwrap();
    let doc = e.new_scope(Some("document")).unwrap();
    assert!(e.run_script(&[&doc], "while(true){}").is_err());
    // And the engine still works afterwards.
    assert_eq!(e.eval_string(&[&doc], "1+1").unwrap(), "2");
}

#[test]
fn full_heap_makes_new_scope_fail_instead_of_panicking() {
    let e = ScriptEngine::new(ScriptLimits {
        memory_bytes: 1 << 20,
        ..Default::default()
    })
    .unwrap();
    let doc = e.new_scope(Some("document")).unwrap();
    e.run_script(&[&doc], "var head = null;").unwrap();
    // Caught inside the script: the heap stays full.
    e.run_script(
        &[&doc],
        "try { while (true) { head = {n: head}; } } catch (x) {}",
    )
    .unwrap();
    let err = e.new_scope(Some("dialog")).unwrap_err();
    assert!(err.0.contains("dialog scope"), "{err}");
    // Releasing the data makes room again.
    e.set(&doc, "head", &e.undefined());
    e.gc();
    assert!(e.new_scope(None).is_ok());
}

#[test]
fn syntax_error_is_an_error() {
    let e = ScriptEngine::new(ScriptLimits::default()).unwrap();
    let doc = e.new_scope(None).unwrap();
    assert!(e.eval(&[&doc], "1 +").is_err());
    assert!(e.eval(&[&doc], "undefinedVar").is_err());
}
