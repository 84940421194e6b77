//! Documents and fetched resources (VoiceXML 2.0 §1.5, §6.1; 2.1 §5): application roots, `xml:base`, character
//! encodings, `<data>` and its DOM, as W3C-IR-style documents on the virtual clock.

use super::*;

#[test]
fn an_application_root_that_names_a_root_is_error_semantic() {
    // 2.0 §1.5.2 (IR assertion 81, errata): a root document may not itself name an application root.
    let leaf = r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" application="root.vxml">
      <form><block><prompt>fail leaf ran</prompt></block></form></vxml>"#;
    let mut d = Driver::new(&[
        (
            "http://h/a.vxml",
            doc(r#"<form><catch event="error.semantic"><prompt>pass</prompt><exit/></catch>
              <catch><prompt>fail <value expr="_event"/></prompt><exit/></catch>
              <block><goto next="leaf.vxml"/></block></form>"#),
        ),
        ("http://h/leaf.vxml", leaf.to_string()),
        (
            "http://h/root.vxml",
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" application="other.vxml"><var name="r"/></vxml>"#
                .to_string(),
        ),
        ("http://h/other.vxml", doc(r#"<var name="o"/>"#)),
    ]);
    d.pump(false);
    assert_passed(&d);
}

#[test]
fn xml_base_is_the_base_of_relative_uris() {
    let mut d = Driver::new(&[
        (
            "http://h/a.vxml",
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:base="http://h/sub/">
              <form><catch><prompt>fail <value expr="_event"/></prompt><exit/></catch>
              <block><goto next="b.vxml"/></block></form></vxml>"#
                .to_string(),
        ),
        (
            "http://h/sub/b.vxml",
            doc("<form><block><prompt>pass</prompt></block></form>"),
        ),
    ]);
    d.pump(false);
    assert_passed(&d);
}

#[test]
fn a_latin1_document_and_script_are_decoded() {
    let page: &[u8] = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\"><form><block><script src=\"s.js\" charset=\"ISO-8859-1\"/><if cond=\"s == 'caf\xe9' &amp;&amp; s.length == 4\"><prompt>pass</prompt><else/><prompt>fail <value expr=\"s\"/></prompt></if></block></form></vxml>";
    let mut d = Driver::with_raw(
        &[("http://h/a.vxml", String::new())],
        &[
            ("http://h/a.vxml", page, Some("application/voicexml+xml")),
            (
                "http://h/s.js",
                b"var s = 'caf\xe9';",
                Some("text/javascript"),
            ),
        ],
    );
    d.pump(false);
    assert_passed(&d);
}

fn data_run(xml: &str, check: &str) -> Driver {
    let page = doc(&format!(
        r#"<form><catch><prompt>fail <value expr="_event"/> <value expr="_message"/></prompt><exit/></catch>
        <block><data name="d" src="d.xml"/><if cond="{check}"><prompt>pass</prompt>
        <else/><prompt>fail check</prompt></if></block></form>"#
    ));
    let mut d = Driver::with_raw(
        &[("http://h/a.vxml", page)],
        &[("http://h/d.xml", xml.as_bytes(), Some("text/xml"))],
    );
    d.pump(false);
    d
}

#[test]
fn data_dom_keeps_whitespace_text_and_comments() {
    let xml =
        "<?xml version=\"1.0\"?>\n<r>\n  <a k=\"v\">x</a>\n  <!-- note -->\n  <a>y</a>\n</r>\n";
    let d = data_run(
        xml,
        "d.documentElement.childNodes.length == 7 &amp;&amp; d.documentElement.firstChild.nodeType == 3 \
         &amp;&amp; d.documentElement.childNodes.item(3).nodeType == 8 \
         &amp;&amp; d.documentElement.childNodes.item(3).data == ' note ' \
         &amp;&amp; d.getElementsByTagName('a').length == 2 \
         &amp;&amp; d.getElementsByTagName('a').item(1).firstChild.data == 'y' \
         &amp;&amp; d.documentElement.firstChild.nextSibling.getAttribute('k') == 'v' \
         &amp;&amp; d.documentElement.firstChild.nextSibling.attributes.item(0).ownerElement.tagName == 'a' \
         &amp;&amp; d.documentElement.parentNode === d &amp;&amp; d.nodeType == 9",
    );
    assert_passed(&d);
}

#[test]
fn data_dom_namespace_methods() {
    let xml = r#"<q:r xmlns:q="urn:q" xmlns="urn:d"><q:i q:k="1">a</q:i><i k="2">b</i></q:r>"#;
    let d = data_run(
        xml,
        "d.documentElement.namespaceURI == 'urn:q' &amp;&amp; d.documentElement.localName == 'r' \
         &amp;&amp; d.documentElement.prefix == 'q' \
         &amp;&amp; d.getElementsByTagNameNS('urn:q', 'i').length == 1 \
         &amp;&amp; d.getElementsByTagNameNS('urn:d', 'i').item(0).getAttribute('k') == '2' \
         &amp;&amp; d.getElementsByTagNameNS('*', 'i').length == 2 \
         &amp;&amp; d.getElementsByTagName('q:i').item(0).getAttributeNS('urn:q', 'k') == '1' \
         &amp;&amp; d.getElementsByTagName('q:i').item(0).hasAttributeNS('urn:q', 'k') \
         &amp;&amp; !d.getElementsByTagName('i').item(0).hasAttributeNS('urn:q', 'k') \
         &amp;&amp; d.getElementsByTagName('i').item(0).firstChild.substringData(0, 1) == 'b'",
    );
    assert_passed(&d);
}

#[test]
fn data_access_control_denies_with_error_noauthorization() {
    let page = doc(
        r#"<form><catch event="error.noauthorization"><prompt>pass</prompt><exit/></catch>
        <catch><prompt>fail <value expr="_event"/></prompt><exit/></catch>
        <block><data name="d" src="d.xml"/><prompt>fail read</prompt></block></form>"#,
    );
    let xml: &[u8] = b"<?access-control allow=\"*.example.com\"?><r/>";
    let mut d = Driver::with_raw(
        &[("http://h/a.vxml", page)],
        &[("http://h/d.xml", xml, Some("text/xml"))],
    );
    d.pump(false);
    assert_passed(&d);
}

#[test]
fn data_that_is_not_xml_is_error_badfetch() {
    let d = data_run("no xml here", "true");
    assert_eq!(
        d.said
            .last()
            .map(String::as_str)
            .map(|s| s.starts_with("fail error.badfetch")),
        Some(true),
        "{:?}",
        d.said
    );
}

#[test]
fn data_dom_is_read_only() {
    // 2.1 §5: a read-only DOM; a mutator raises an exception (error.semantic), an assignment changes nothing.
    let page = doc(
        r#"<form><catch event="error.semantic"><if cond="d.documentElement.getAttribute('k') == 'v'
          &amp;&amp; d.documentElement.firstChild.data == 'x' &amp;&amp; d.documentElement.childNodes.length == 1">
          <prompt>pass</prompt><else/><prompt>fail changed</prompt></if><exit/></catch>
        <catch><prompt>fail <value expr="_event"/></prompt><exit/></catch>
        <data name="d" src="d.xml"/>
        <block><script>d.documentElement.firstChild.data = 'y'; d.documentElement.tagName = 'z';</script>
          <script>d.documentElement.setAttribute('k', 'w');</script><prompt>fail modified</prompt></block></form>"#,
    );
    let mut d = Driver::with_raw(
        &[("http://h/a.vxml", page)],
        &[("http://h/d.xml", b"<r k=\"v\">x</r>", Some("text/xml"))],
    );
    d.pump(false);
    assert_passed(&d);
}

#[test]
fn empty_script_and_mark_without_a_name_are_error_badfetch() {
    // VoiceXML 2.1 IR assertions 11 and 18: the document that holds them is refused with error.badfetch.
    for bad in [
        "<script/>",
        "<prompt>a<mark/>b</prompt>",
        "<prompt>a<mark name=\"m\" nameexpr=\"'m'\"/>b</prompt>",
    ] {
        let mut d = Driver::new(&[
            (
                "http://h/a.vxml",
                doc(
                    r#"<form><catch event="error.badfetch"><prompt>pass</prompt><exit/></catch>
                  <catch><prompt>fail <value expr="_event"/></prompt><exit/></catch>
                  <block><goto next="b.vxml"/></block></form>"#,
                ),
            ),
            (
                "http://h/b.vxml",
                doc(&format!(
                    "<form><block>{bad}<prompt>fail loaded</prompt></block></form>"
                )),
            ),
        ]);
        d.pump(false);
        assert_passed(&d);
    }
}
