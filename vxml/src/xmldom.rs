//! The read-only DOM that VoiceXML 2.1 `<data>` exposes to scripts (2.1 §5: a subset of DOM Level 2 Core).
//!
//! The fetched XML is parsed with the same parser as documents, handed to the script engine as JSON, and turned into
//! DOM-like objects by a small script ([`DOM_JS`]): `documentElement`, `childNodes`, `firstChild`, `nextSibling`,
//! `getElementsByTagName`, `getAttribute`, `nodeValue`, `data`, `tagName`, ...

use crate::dom::{Document, NodeId, ROOT};

/// The tree as `{t:"e", n:name, a:{..}, c:[..]}` / `{t:"t", v:text}` JSON.
pub fn to_json(doc: &Document) -> serde_json::Value {
    node(doc, ROOT)
}

fn node(doc: &Document, id: NodeId) -> serde_json::Value {
    if let Some(t) = doc.text(id) {
        return serde_json::json!({"t": "t", "v": t});
    }
    let (name, prefix) = (doc.name(id), doc.prefix(id));
    let qname = if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}:{name}")
    };
    let mut a = serde_json::Map::new();
    for (k, v) in doc.attrs(id) {
        a.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let c: Vec<_> = doc
        .node(id)
        .children
        .iter()
        .map(|c| node(doc, *c))
        .collect();
    serde_json::json!({"t": "e", "n": qname, "a": a, "c": c})
}

/// Builds DOM objects from the JSON tree.
pub const DOM_JS: &str = r#"
(function(g){
  function list(arr){ arr.item = function(i){ return i < arr.length ? arr[i] : null; }; return arr; }
  function byTag(n, tag, out){
    for (var i = 0; i < n.childNodes.length; i++) {
      var c = n.childNodes[i];
      if (c.nodeType === 1) { if (tag === '*' || c.tagName === tag) out.push(c); byTag(c, tag, out); }
    }
    return out;
  }
  function text(n){
    if (n.nodeType === 3) return n.data;
    var s = ''; for (var i = 0; i < n.childNodes.length; i++) s += text(n.childNodes[i]); return s;
  }
  function build(j, parent, doc){
    var n;
    if (j.t === 't') {
      n = {nodeType: 3, nodeName: '#text', nodeValue: j.v, data: j.v, length: j.v.length, childNodes: list([])};
    } else {
      n = {nodeType: 1, nodeName: j.n, tagName: j.n, nodeValue: null, childNodes: list([])};
      var attrs = [];
      for (var k in j.a) attrs.push({nodeType: 2, nodeName: k, name: k, value: j.a[k], nodeValue: j.a[k], specified: true});
      n.attributes = list(attrs);
      attrs.getNamedItem = function(k){ for (var i = 0; i < attrs.length; i++) if (attrs[i].name === k) return attrs[i]; return null; };
      n.getAttribute = function(k){ return (k in j.a) ? j.a[k] : ''; };
      n.hasAttribute = function(k){ return k in j.a; };
      n.getAttributeNode = function(k){ return attrs.getNamedItem(k); };
      n.getElementsByTagName = function(t){ return list(byTag(n, t, [])); };
      n.hasAttributes = function(){ return attrs.length > 0; };
    }
    n.parentNode = parent; n.ownerDocument = doc;
    n.hasChildNodes = function(){ return n.childNodes.length > 0; };
    if (j.t === 'e') {
      for (var i = 0; i < j.c.length; i++) n.childNodes.push(build(j.c[i], n, doc));
    }
    var cs = n.childNodes;
    n.firstChild = cs.length ? cs[0] : null;
    n.lastChild = cs.length ? cs[cs.length - 1] : null;
    for (var i = 0; i < cs.length; i++) {
      cs[i].previousSibling = i > 0 ? cs[i - 1] : null;
      cs[i].nextSibling = i + 1 < cs.length ? cs[i + 1] : null;
    }
    Object.defineProperty(n, 'textContent', {get: function(){ return text(n); }});
    return n;
  }
  Object.defineProperty(g, '__vx_mkdom', {value: function(j){
    var doc = {nodeType: 9, nodeName: '#document', nodeValue: null, parentNode: null};
    var root = build(j, doc, doc);
    doc.documentElement = root; doc.childNodes = list([root]); doc.firstChild = root; doc.lastChild = root;
    doc.getElementsByTagName = function(t){ var r = []; if (t === '*' || root.tagName === t) r.push(root); return list(byTag(root, t, r)); };
    return doc;
  }});
})(globalThis);
"#;
