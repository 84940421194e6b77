//! The read-only DOM that VoiceXML 2.1 `<data>` exposes to scripts (2.1 §5: a subset of DOM Level 2 Core).
//!
//! The fetched XML is parsed here, on its own (not with the VoiceXML document parser, which drops what a page does
//! not need): every text node is kept, whitespace-only ones included, as are CDATA sections, comments and processing
//! instructions, and namespaces are resolved, since scripts walk `childNodes` and call the `...NS` methods. The tree
//! goes to the script engine as JSON and becomes DOM objects in a small script ([`DOM_JS`]): Document
//! (`documentElement`, `getElementsByTagName[NS]`), Node (`nodeName`, `nodeValue`, `nodeType`, `parentNode`,
//! `childNodes`, `firstChild`, `lastChild`, `previousSibling`, `nextSibling`, `attributes`, `ownerDocument`,
//! `namespaceURI`, `prefix`, `localName`, `hasChildNodes`, `hasAttributes`), Element (`tagName`,
//! `getAttribute[NS]`, `getAttributeNode[NS]`, `hasAttribute[NS]`, `getElementsByTagName[NS]`), Attr (`name`,
//! `value`, `specified`, `ownerElement`), CharacterData (`data`, `length`, `substringData`), ProcessingInstruction
//! (`target`, `data`), NodeList (`length`, `item`) and NamedNodeMap (`length`, `item`, `getNamedItem[NS]`).

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde_json::{json, Map, Value};

/// An open element while parsing: its JSON object (children so far) and the namespace bindings in scope.
type Open = (Map<String, Value>, Vec<(String, String)>);

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// The XML text of a `<data>` answer as the JSON tree [`DOM_JS`] builds the DOM from:
/// `{t:"e", n, ns, a:[[name, value, ns], ..], c:[..]}`, `{t:"t"|"d"|"c", v}` (text, CDATA, comment) and
/// `{t:"p", n: target, v: data}`, under a document node `{t:"doc", c:[..]}`. Not well-formed XML is an error naming
/// the problem.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    reader.config_mut().expand_empty_elements = false;
    // Open elements: (JSON object being built, its in-scope namespace bindings).
    let mut stack: Vec<Open> = Vec::new();
    let mut top: Vec<Value> = Vec::new();
    let mut root_seen = false;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| format!("not well-formed at byte {pos}: {e}"))?;
        match ev {
            Event::Start(_) | Event::Empty(_) if stack.is_empty() && root_seen => {
                return Err("more than one root element".into());
            }
            Event::Start(s) => {
                let el = element(&s, stack.last().map(|(_, ns)| ns.as_slice()))?;
                root_seen = true;
                stack.push(el);
            }
            Event::Empty(s) => {
                let (el, _) = element(&s, stack.last().map(|(_, ns)| ns.as_slice()))?;
                root_seen = true;
                push_child(&mut stack, &mut top, Value::Object(el));
            }
            Event::End(_) => {
                let Some((el, _)) = stack.pop() else {
                    return Err("end tag without a start tag".into());
                };
                push_child(&mut stack, &mut top, Value::Object(el));
            }
            Event::Text(t) => {
                let v = t.xml_content().map_err(|e| format!("bad text: {e}"))?;
                add_text(&mut stack, &v)?;
            }
            Event::GeneralRef(r) => {
                let mut buf = [0u8; 4];
                let v = crate::dom::general_ref(&r, &mut buf)?;
                add_text(&mut stack, v)?;
            }
            Event::CData(t) => {
                let v = String::from_utf8_lossy(&t).into_owned();
                if stack.is_empty() {
                    return Err("CDATA outside the root element".into());
                }
                push_child(&mut stack, &mut top, json!({"t": "d", "v": v}));
            }
            Event::Comment(t) => {
                let v = String::from_utf8_lossy(&t).into_owned();
                push_child(&mut stack, &mut top, json!({"t": "c", "v": v}));
            }
            Event::PI(p) => {
                let target = String::from_utf8_lossy(p.target()).into_owned();
                let content = String::from_utf8_lossy(p.content()).trim().to_string();
                push_child(
                    &mut stack,
                    &mut top,
                    json!({"t": "p", "n": target, "v": content}),
                );
            }
            Event::Decl(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("unclosed element at the end of the data".into());
    }
    if !root_seen {
        return Err("no root element".into());
    }
    Ok(json!({"t": "doc", "c": top}))
}

/// Appends a finished node to the open element, or to the document's children.
fn push_child(stack: &mut [Open], top: &mut Vec<Value>, node: Value) {
    let children = match stack.last_mut() {
        Some((el, _)) => el.get_mut("c").and_then(Value::as_array_mut),
        None => Some(top),
    };
    if let Some(c) = children {
        c.push(node);
    }
}

/// Adds character data to the open element, merging it with a text node just before it (entity references split
/// text into pieces). Text outside the root may only be whitespace.
fn add_text(stack: &mut [Open], v: &str) -> Result<(), String> {
    let Some((el, _)) = stack.last_mut() else {
        if v.trim().is_empty() {
            return Ok(());
        }
        return Err("text outside the root element".into());
    };
    let Some(c) = el.get_mut("c").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    if let Some(Value::Object(last)) = c.last_mut() {
        if last.get("t").and_then(Value::as_str) == Some("t") {
            if let Some(Value::String(s)) = last.get_mut("v") {
                s.push_str(v);
                return Ok(());
            }
        }
    }
    c.push(json!({"t": "t", "v": v}));
    Ok(())
}

/// An element's JSON object (children still empty) and its in-scope namespace bindings.
fn element(s: &BytesStart<'_>, parent_ns: Option<&[(String, String)]>) -> Result<Open, String> {
    let name = String::from_utf8_lossy(s.name().into_inner()).into_owned();
    let mut bindings: Vec<(String, String)> = parent_ns.map(<[_]>::to_vec).unwrap_or_default();
    let mut attrs: Vec<(String, String)> = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
        let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let v = a
            .unescape_value()
            .map_err(|e| format!("bad attribute value {k:?} in <{name}>: {e}"))?
            .into_owned();
        if k == "xmlns" {
            bindings.push((String::new(), v.clone()));
        } else if let Some(p) = k.strip_prefix("xmlns:") {
            bindings.push((p.to_string(), v.clone()));
        }
        attrs.push((k, v));
    }
    let lookup = |prefix: &str| -> Value {
        match prefix {
            "xml" => Value::String(XML_NS.into()),
            "xmlns" => Value::String(XMLNS_NS.into()),
            p => bindings
                .iter()
                .rev()
                .find(|(bp, _)| bp == p)
                .filter(|(_, uri)| !uri.is_empty())
                .map(|(_, uri)| Value::String(uri.clone()))
                .unwrap_or(Value::Null),
        }
    };
    let el_prefix = name.split_once(':').map(|(p, _)| p).unwrap_or("");
    let ns = lookup(el_prefix);
    let a: Vec<Value> = attrs
        .iter()
        .map(|(k, v)| {
            // Unprefixed attributes are in no namespace; `xmlns` itself is in the xmlns namespace (DOM Level 2).
            let ans = match k.split_once(':') {
                _ if k == "xmlns" => Value::String(XMLNS_NS.into()),
                Some((p, _)) => lookup(p),
                None => Value::Null,
            };
            json!([k, v, ans])
        })
        .collect();
    let mut m = Map::new();
    m.insert("t".into(), json!("e"));
    m.insert("n".into(), Value::String(name));
    m.insert("ns".into(), ns);
    m.insert("a".into(), Value::Array(a));
    m.insert("c".into(), Value::Array(Vec::new()));
    Ok((m, bindings))
}

/// Whether an XML answer lets a document served from `requester_host` read it: the `<?access-control allow="..."
/// deny="..."?>` processing instructions at its top level (VoiceXML 2.1 §5.1, "Authorizing Read Access to XML
/// Content"). With none, access is allowed; with some, the host must match an `allow` pattern and no `deny` one.
/// Patterns are host names, `*.domain` (the domain and every host under it) or `*`.
pub fn access_allowed(tree: &Value, requester_host: &str) -> bool {
    let host = requester_host.to_ascii_lowercase();
    let pis: Vec<&str> = tree
        .get("c")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|n| {
            n.get("t").and_then(Value::as_str) == Some("p")
                && n.get("n").and_then(Value::as_str) == Some("access-control")
        })
        .filter_map(|n| n.get("v").and_then(Value::as_str))
        .collect();
    if pis.is_empty() {
        return true;
    }
    let matches = |list: &str| {
        list.split_whitespace().any(|p| {
            let p = p.to_ascii_lowercase();
            p == "*"
                || p == host
                || p.strip_prefix("*.")
                    .is_some_and(|d| host == d || host.ends_with(&format!(".{d}")))
        })
    };
    let mut allowed = false;
    for pi in pis {
        if let Some(list) = pseudo_attr(pi, "deny") {
            if matches(&list) {
                return false;
            }
        }
        if let Some(list) = pseudo_attr(pi, "allow") {
            allowed |= matches(&list);
        }
    }
    allowed
}

/// A pseudo-attribute (`name="value"`) of a processing instruction's content.
fn pseudo_attr(content: &str, name: &str) -> Option<String> {
    let mut rest = content;
    while let Some(at) = rest.find(name) {
        let before_ok = rest[..at].chars().last().is_none_or(|c| c.is_whitespace());
        let after = rest[at + name.len()..].trim_start();
        if let (true, Some(v)) = (before_ok, after.strip_prefix('=')) {
            let v = v.trim_start();
            let q = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let v = &v[1..];
            return Some(v[..v.find(q)?].to_string());
        }
        rest = &rest[at + name.len()..];
    }
    None
}

/// Builds DOM objects from the JSON tree of [`parse`].
pub const DOM_JS: &str = r#"
(function(g){
  function list(arr){ arr.item = function(i){ return (i >= 0 && i < arr.length) ? arr[i] : null; }; return arr; }
  function local(q){ var i = q.indexOf(':'); return i < 0 ? q : q.substring(i + 1); }
  function pre(q){ var i = q.indexOf(':'); return i < 0 ? null : q.substring(0, i); }
  function walk(n, pred, out){
    for (var i = 0; i < n.childNodes.length; i++) {
      var c = n.childNodes[i];
      if (c.nodeType === 1) { if (pred(c)) out.push(c); walk(c, pred, out); }
    }
    return out;
  }
  function byName(t){ return function(c){ return t === '*' || c.tagName === t; }; }
  function byNS(ns, l){
    return function(c){ return (ns === '*' || c.namespaceURI === ns) && (l === '*' || c.localName === l); };
  }
  function text(n){
    if (n.nodeType === 3 || n.nodeType === 4) return n.data;
    if (n.nodeType !== 1 && n.nodeType !== 9) return '';
    var s = ''; for (var i = 0; i < n.childNodes.length; i++) s += text(n.childNodes[i]); return s;
  }
  function chars(n, type, name, v){
    n.nodeType = type; n.nodeName = name; n.nodeValue = v; n.data = v; n.length = v.length;
    n.substringData = function(off, count){
      if (off < 0 || off > v.length || count < 0) throw new Error('INDEX_SIZE_ERR');
      return v.substr(off, count);
    };
  }
  // The DOM is read-only (2.1 §5): the mutators of DOM Level 2 Core raise NO_MODIFICATION_ALLOWED_ERR (code 7),
  // and every node is frozen once built, so plain assignments change nothing either.
  var MUTATORS = ['appendChild', 'insertBefore', 'removeChild', 'replaceChild', 'normalize', 'cloneNode',
    'setAttribute', 'setAttributeNS', 'setAttributeNode', 'setAttributeNodeNS', 'removeAttribute',
    'removeAttributeNS', 'removeAttributeNode', 'setNamedItem', 'setNamedItemNS', 'removeNamedItem',
    'removeNamedItemNS', 'appendData', 'insertData', 'deleteData', 'replaceData', 'splitText',
    'createElement', 'createElementNS', 'createTextNode', 'createComment', 'createCDATASection',
    'createProcessingInstruction', 'createAttribute', 'createAttributeNS', 'createDocumentFragment',
    'createEntityReference', 'importNode'];
  function readonly(){ var e = new Error('NO_MODIFICATION_ALLOWED_ERR: the data DOM is read-only'); e.code = 7; throw e; }
  function seal(o){ for (var i = 0; i < MUTATORS.length; i++) o[MUTATORS[i]] = readonly; }
  function base(n, parent, doc){
    seal(n);
    n.parentNode = parent; n.ownerDocument = doc; n.attributes = null;
    n.namespaceURI = null; n.prefix = null; n.localName = null; n.childNodes = list([]);
    n.firstChild = null; n.lastChild = null; n.previousSibling = null; n.nextSibling = null;
    n.hasChildNodes = function(){ return n.childNodes.length > 0; };
    n.hasAttributes = function(){ return false; };
    n.isSupported = function(){ return false; };
    Object.defineProperty(n, 'textContent', {get: function(){ return text(n); }});
  }
  function link(n){
    var cs = n.childNodes;
    n.firstChild = cs.length ? cs[0] : null;
    n.lastChild = cs.length ? cs[cs.length - 1] : null;
    for (var i = 0; i < cs.length; i++) {
      cs[i].previousSibling = i > 0 ? cs[i - 1] : null;
      cs[i].nextSibling = i + 1 < cs.length ? cs[i + 1] : null;
    }
  }
  function build(j, parent, doc){
    var n = {};
    base(n, parent, doc);
    if (j.t === 't') chars(n, 3, '#text', j.v);
    else if (j.t === 'd') chars(n, 4, '#cdata-section', j.v);
    else if (j.t === 'c') chars(n, 8, '#comment', j.v);
    else if (j.t === 'p') { n.nodeType = 7; n.nodeName = j.n; n.target = j.n; n.nodeValue = j.v; n.data = j.v; }
    else {
      n.nodeType = 1; n.nodeName = j.n; n.tagName = j.n; n.nodeValue = null;
      n.namespaceURI = j.ns; n.prefix = pre(j.n); n.localName = local(j.n);
      var attrs = [];
      for (var k = 0; k < j.a.length; k++) {
        var a = j.a[k];
        var at = {};
        base(at, null, doc);
        at.nodeType = 2; at.nodeName = a[0]; at.name = a[0]; at.value = a[1]; at.nodeValue = a[1];
        at.specified = true; at.ownerElement = n; at.namespaceURI = a[2];
        at.prefix = pre(a[0]); at.localName = local(a[0]);
        attrs.push(at);
      }
      seal(attrs);
      n.attributes = list(attrs);
      attrs.getNamedItem = function(k){
        for (var i = 0; i < attrs.length; i++) if (attrs[i].name === k) return attrs[i];
        return null;
      };
      attrs.getNamedItemNS = function(ns, l){
        for (var i = 0; i < attrs.length; i++)
          if (attrs[i].namespaceURI === ns && attrs[i].localName === l) return attrs[i];
        return null;
      };
      n.getAttribute = function(k){ var a = attrs.getNamedItem(k); return a ? a.value : ''; };
      n.getAttributeNS = function(ns, l){ var a = attrs.getNamedItemNS(ns, l); return a ? a.value : ''; };
      n.getAttributeNode = function(k){ return attrs.getNamedItem(k); };
      n.getAttributeNodeNS = function(ns, l){ return attrs.getNamedItemNS(ns, l); };
      n.hasAttribute = function(k){ return attrs.getNamedItem(k) !== null; };
      n.hasAttributeNS = function(ns, l){ return attrs.getNamedItemNS(ns, l) !== null; };
      n.hasAttributes = function(){ return attrs.length > 0; };
      n.getElementsByTagName = function(t){ return list(walk(n, byName(t), [])); };
      n.getElementsByTagNameNS = function(ns, l){ return list(walk(n, byNS(ns, l), [])); };
      for (var i = 0; i < j.c.length; i++) n.childNodes.push(build(j.c[i], n, doc));
      link(n);
    }
    return n;
  }
  Object.defineProperty(g, '__vx_mkdom', {value: function(j){
    var doc = {};
    base(doc, null, null);
    doc.nodeType = 9; doc.nodeName = '#document'; doc.nodeValue = null; doc.doctype = null;
    doc.implementation = {hasFeature: function(f, v){
      return String(f).toLowerCase() === 'core' && (v === undefined || v === null || v === '' || v === '2.0');
    }};
    doc.documentElement = null;
    for (var i = 0; i < j.c.length; i++) {
      var c = build(j.c[i], doc, doc);
      doc.childNodes.push(c);
      if (c.nodeType === 1) doc.documentElement = c;
    }
    link(doc);
    doc.getElementsByTagName = function(t){ return list(walk(doc, byName(t), [])); };
    doc.getElementsByTagNameNS = function(ns, l){ return list(walk(doc, byNS(ns, l), [])); };
    doc.getElementById = function(){ return null; };
    (function freeze(n){
      if (n === null || typeof n !== 'object' || Object.isFrozen(n)) return;
      Object.freeze(n);
      for (var k in n) if (k !== 'parentNode' && k !== 'ownerDocument') freeze(n[k]);
    })(doc);
    return doc;
  }});
})(globalThis);
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_whitespace_comments_cdata_and_namespaces() {
        let t = parse(
            "<?xml version=\"1.0\"?>\n<?access-control allow=\"*\"?>\n<r xmlns=\"urn:a\" xmlns:b=\"urn:b\">\n  <b:x b:k=\"1\" k=\"2\">a&amp;b</b:x><!--c--><![CDATA[<d>]]>\n</r>",
        )
        .unwrap();
        let root = &t["c"][1];
        assert_eq!(root["n"], "r");
        assert_eq!(root["ns"], "urn:a");
        let c = root["c"].as_array().unwrap();
        assert_eq!(c[0], json!({"t": "t", "v": "\n  "}));
        assert_eq!(c[1]["ns"], "urn:b");
        assert_eq!(c[1]["a"][0], json!(["b:k", "1", "urn:b"]));
        assert_eq!(c[1]["a"][1], json!(["k", "2", null]));
        assert_eq!(c[1]["c"][0], json!({"t": "t", "v": "a&b"}));
        assert_eq!(c[2], json!({"t": "c", "v": "c"}));
        assert_eq!(c[3], json!({"t": "d", "v": "<d>"}));
        assert_eq!(
            t["c"][0],
            json!({"t": "p", "n": "access-control", "v": "allow=\"*\""})
        );
    }

    #[test]
    fn malformed_is_an_error() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("just text").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn access_control_allow_and_deny() {
        let with = |pi: &str| parse(&format!("<?access-control {pi}?><r/>")).unwrap();
        assert!(access_allowed(&parse("<r/>").unwrap(), "a.example.com"));
        assert!(access_allowed(&with("allow=\"*\""), "a.example.com"));
        assert!(access_allowed(
            &with("allow=\"*.example.com\""),
            "a.example.com"
        ));
        assert!(!access_allowed(
            &with("allow=\"*.example.com\""),
            "example.org"
        ));
        assert!(!access_allowed(
            &with("allow=\"*\" deny=\"a.example.com\""),
            "a.example.com"
        ));
        assert!(!access_allowed(&with("allow=\"\""), "a.example.com"));
    }
}
