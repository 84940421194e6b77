//! Tests of parsing (positions, errors, unescaping) and of queries on the parsed tree.

use super::*;

#[test]
fn parses_with_positions() {
    let src = "<?xml version=\"1.0\"?>\n<vxml version=\"2.1\">\n  <form id=\"a\"><block>hi &amp; bye</block></form>\n</vxml>";
    let d = Document::parse("http://x/a.vxml", src.to_string()).unwrap();
    assert_eq!(d.name(ROOT), "vxml");
    let form = d.elements(ROOT).next().unwrap();
    assert_eq!(d.attr(form, "id"), Some("a"));
    assert_eq!(d.pos(form), Pos { line: 3, column: 3 });
    let block = d.elements(form).next().unwrap();
    assert_eq!(d.text_content(block), "hi & bye");
}

#[test]
fn unclosed_tag_names_line() {
    let e = Document::parse("u", "<vxml>\n<form>\n</vxml>".into()).unwrap_err();
    assert!(e.what.contains("form") || e.what.contains("vxml"), "{e}");
    assert!(e.pos.line >= 2, "{e}");
}

#[test]
fn duplicate_attribute_is_an_error_with_quick_xml_positions() {
    let e = Document::parse("u", "<vxml>\n <form id=\"a\" id=\"b\"/></vxml>".into()).unwrap_err();
    assert_eq!(e.pos, Pos { line: 2, column: 2 });
    assert_eq!(
        e.what,
        "bad attribute in <form>: position 12: duplicated attribute, previous declaration at position 5"
    );
    let e = Document::parse("u", "<a x='1' y='2' x='&amp;'/>".into()).unwrap_err();
    assert!(e.what.contains("duplicated attribute"), "{e}");
}

#[test]
fn names_values_and_text_keep_their_unescaped_form() {
    let src = "<v:vxml xmlns:v=\"u\" a=\"x &lt; y\" b='&#65;'><p>one &amp; two<![CDATA[ <three> ]]>\r\nfour</p></v:vxml>";
    let d = Document::parse("u", src.into()).unwrap();
    assert_eq!((d.prefix(ROOT), d.name(ROOT)), ("v", "vxml"));
    assert_eq!(d.attr(ROOT, "a"), Some("x < y"));
    assert_eq!(d.attr(ROOT, "b"), Some("A"));
    assert_eq!(d.attr(ROOT, "xmlns:v"), Some("u"));
    let attrs: Vec<_> = d.attrs(ROOT).collect();
    assert_eq!(attrs, [("xmlns:v", "u"), ("a", "x < y"), ("b", "A")]);
    let p = d.elements(ROOT).next().unwrap();
    assert_eq!(
        d.node(p).children.len(),
        1,
        "text pieces merge into one node"
    );
    assert_eq!(d.text_content(p), "one & two <three> \nfour");
    assert_eq!(
        d.raw(p),
        "<p>one &amp; two<![CDATA[ <three> ]]>\r\nfour</p>"
    );
}

#[test]
fn properties_index_matches_children_named() {
    let src = "<vxml><property name=\"a\" value=\"1\"/><form><property name=\"b\" value=\"2\"/><block/>\
               <field name=\"f\"><property name=\"c\" value=\"3\"/><property name=\"d\" value=\"4\"/></field>\
               </form><x:property xmlns:x=\"u\"/></vxml>";
    let d = Document::parse("u", src.into()).unwrap();
    for i in 0..d.len() {
        let id = NodeId(i as u32);
        let want: Vec<_> = d.children_named(id, "property").collect();
        assert_eq!(d.properties(id).collect::<Vec<_>>(), want, "node {i}");
    }
    assert_eq!(
        d.properties(ROOT).count(),
        2,
        "local names count, as children_named does"
    );
}

#[test]
fn garbage_is_an_error() {
    assert!(Document::parse("u", "not xml at all".into()).is_err());
    assert!(Document::parse("u", "".into()).is_err());
    assert!(Document::parse("u", "<a></a><b/>".into()).is_err());
    assert!(Document::parse("u", "<a>&bogus;</a>".into()).is_err());
}
