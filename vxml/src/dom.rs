//! VoiceXML documents as a compact tree that keeps every element's source position.
//!
//! The interpreter walks this tree directly: elements live in one arena (`Vec<Node>`) and refer to each other by
//! [`NodeId`], so a resumable execution frame is just `(document, element, child index)`. Parsing (quick-xml) and
//! the schema checks of [`crate::validate`] run once when a document arrives; a document that fails either is
//! reported as `error.badfetch` in the document that asked for it (VoiceXML 2.0 §5.2.6).

use std::fmt;

use quick_xml::events::Event;
use quick_xml::Reader;

/// Index of a node in its document's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// A line:column position in a document's source (both 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What a node holds.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// An element: local name (prefix stripped), namespace prefix (empty when none) and attributes in order.
    Element {
        /// Local name, e.g. `field`.
        name: Box<str>,
        /// Namespace prefix as written (`conf` in `conf:pass`), empty when none.
        prefix: Box<str>,
        /// Attributes, unescaped, in document order.
        attrs: Vec<(Box<str>, Box<str>)>,
    },
    /// Character data (text or CDATA), entities already resolved.
    Text(Box<str>),
}

/// One node of the arena.
#[derive(Debug, Clone)]
pub struct Node {
    /// Element or text.
    pub kind: NodeKind,
    /// The parent element; `None` for the root.
    pub parent: Option<NodeId>,
    /// Children in document order.
    pub children: Vec<NodeId>,
    /// Byte offset of the node's start in the source.
    pub start: u32,
    /// Byte offset just past the node's end in the source.
    pub end: u32,
}

/// Why a document could not be turned into a tree, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url}:{pos}: {what}")]
pub struct DocumentError {
    /// The document's URL.
    pub url: String,
    /// Where in the source.
    pub pos: Pos,
    /// What is wrong (lowercase, naming the bad value).
    pub what: String,
}

/// A parsed VoiceXML (or other XML) document.
#[derive(Debug)]
pub struct Document {
    /// Absolute URL the document was fetched from (the base for relative URIs).
    pub url: String,
    /// The source text (grammars are handed on as slices of it).
    pub source: String,
    /// The arena; `nodes[0]` is the root element.
    pub nodes: Vec<Node>,
}

/// The root element id of every document.
pub const ROOT: NodeId = NodeId(0);

impl Document {
    /// Parses `source` into a tree. Well-formedness errors (unclosed or mismatched tags, bad entities, text outside
    /// the root) are reported with their line and column.
    pub fn parse(url: &str, source: String) -> Result<Document, DocumentError> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut stack: Vec<NodeId> = Vec::new();
        let mut root_closed = false;
        let err = |off: usize, what: String, src: &str| DocumentError {
            url: url.to_string(),
            pos: pos_of(src, off),
            what,
        };
        {
            let mut reader = Reader::from_str(&source);
            reader.config_mut().check_end_names = true;
            reader.config_mut().expand_empty_elements = false;
            loop {
                let before = reader.buffer_position() as usize;
                let ev = match reader.read_event() {
                    Ok(ev) => ev,
                    Err(e) => {
                        let at = reader.error_position() as usize;
                        return Err(err(at, format!("not well-formed: {e}"), &source));
                    }
                };
                let after = reader.buffer_position() as usize;
                match ev {
                    Event::Start(ref s) | Event::Empty(ref s) => {
                        if root_closed {
                            return Err(err(
                                before,
                                "content after the root element".into(),
                                &source,
                            ));
                        }
                        if stack.is_empty() && !nodes.is_empty() {
                            return Err(err(before, "more than one root element".into(), &source));
                        }
                        let qname = String::from_utf8_lossy(s.name().into_inner());
                        let (prefix, local): (&str, &str) = match qname.split_once(':') {
                            Some((p, l)) => (p, l),
                            None => ("", &qname),
                        };
                        let mut attrs = Vec::with_capacity(2);
                        for a in s.attributes() {
                            let a = a.map_err(|e| {
                                err(before, format!("bad attribute in <{qname}>: {e}"), &source)
                            })?;
                            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                            let value = a
                                .unescape_value()
                                .map_err(|e| {
                                    err(
                                        before,
                                        format!("bad attribute value {key:?} in <{qname}>: {e}"),
                                        &source,
                                    )
                                })?
                                .into_owned();
                            attrs.push((key.into_boxed_str(), value.into_boxed_str()));
                        }
                        let id = NodeId(nodes.len() as u32);
                        let parent = stack.last().copied();
                        nodes.push(Node {
                            kind: NodeKind::Element {
                                name: local.into(),
                                prefix: prefix.into(),
                                attrs,
                            },
                            parent,
                            children: Vec::new(),
                            start: before as u32,
                            end: after as u32,
                        });
                        if let Some(p) = parent {
                            nodes[p.0 as usize].children.push(id);
                        }
                        if matches!(ev, Event::Start(_)) {
                            stack.push(id);
                        } else if stack.is_empty() {
                            root_closed = true;
                        }
                    }
                    Event::End(_) => {
                        // check_end_names guarantees a matching open element.
                        if let Some(id) = stack.pop() {
                            nodes[id.0 as usize].end = after as u32;
                        }
                        if stack.is_empty() {
                            root_closed = true;
                        }
                    }
                    Event::Text(t) => {
                        let text = t
                            .xml_content()
                            .map_err(|e| err(before, format!("bad text: {e}"), &source))?;
                        push_text(&mut nodes, &stack, &text, before, after, root_closed)
                            .map_err(|w| err(before, w, &source))?;
                    }
                    Event::CData(t) => {
                        let text = String::from_utf8_lossy(&t).into_owned();
                        push_text(&mut nodes, &stack, &text, before, after, root_closed)
                            .map_err(|w| err(before, w, &source))?;
                    }
                    Event::GeneralRef(r) => {
                        let text = match r.resolve_char_ref() {
                            Ok(Some(c)) => c.to_string(),
                            Ok(None) => {
                                let name = String::from_utf8_lossy(&r).into_owned();
                                match name.as_str() {
                                    "amp" => "&".into(),
                                    "lt" => "<".into(),
                                    "gt" => ">".into(),
                                    "quot" => "\"".into(),
                                    "apos" => "'".into(),
                                    _ => {
                                        return Err(err(
                                            before,
                                            format!("unknown entity &{name};"),
                                            &source,
                                        ))
                                    }
                                }
                            }
                            Err(e) => {
                                return Err(err(
                                    before,
                                    format!("bad character reference: {e}"),
                                    &source,
                                ))
                            }
                        };
                        push_text(&mut nodes, &stack, &text, before, after, root_closed)
                            .map_err(|w| err(before, w, &source))?;
                    }
                    Event::Eof => break,
                    Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
                }
            }
            if let Some(open) = stack.last() {
                let name = match &nodes[open.0 as usize].kind {
                    NodeKind::Element { name, .. } => name.to_string(),
                    NodeKind::Text(_) => String::new(),
                };
                let at = nodes[open.0 as usize].start as usize;
                return Err(err(
                    at,
                    format!("element <{name}> is never closed"),
                    &source,
                ));
            }
            if nodes.is_empty() {
                return Err(err(0, "no root element".into(), &source));
            }
        }
        Ok(Document {
            url: url.to_string(),
            source,
            nodes,
        })
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// The element name, or `""` for text.
    pub fn name(&self, id: NodeId) -> &str {
        match &self.node(id).kind {
            NodeKind::Element { name, .. } => name,
            NodeKind::Text(_) => "",
        }
    }

    /// The namespace prefix of an element, or `""`.
    pub fn prefix(&self, id: NodeId) -> &str {
        match &self.node(id).kind {
            NodeKind::Element { prefix, .. } => prefix,
            NodeKind::Text(_) => "",
        }
    }

    /// The text of a text node.
    pub fn text(&self, id: NodeId) -> Option<&str> {
        match &self.node(id).kind {
            NodeKind::Text(t) => Some(t),
            NodeKind::Element { .. } => None,
        }
    }

    /// An attribute's value.
    pub fn attr(&self, id: NodeId, key: &str) -> Option<&str> {
        match &self.node(id).kind {
            NodeKind::Element { attrs, .. } => {
                attrs.iter().find(|(k, _)| &**k == key).map(|(_, v)| &**v)
            }
            NodeKind::Text(_) => None,
        }
    }

    /// All attributes of an element.
    pub fn attrs(&self, id: NodeId) -> &[(Box<str>, Box<str>)] {
        match &self.node(id).kind {
            NodeKind::Element { attrs, .. } => attrs,
            NodeKind::Text(_) => &[],
        }
    }

    /// Whether the element has this attribute.
    pub fn has(&self, id: NodeId, key: &str) -> bool {
        self.attr(id, key).is_some()
    }

    /// Child elements (text skipped).
    pub fn elements(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.node(id)
            .children
            .iter()
            .copied()
            .filter(move |c| self.text(*c).is_none())
    }

    /// Child elements with this name.
    pub fn children_named<'a>(
        &'a self,
        id: NodeId,
        name: &'a str,
    ) -> impl Iterator<Item = NodeId> + 'a {
        self.elements(id).filter(move |c| self.name(*c) == name)
    }

    /// The parent element.
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.node(id).parent
    }

    /// All text below an element, concatenated.
    pub fn text_content(&self, id: NodeId) -> String {
        let mut out = String::new();
        self.collect_text(id, &mut out);
        out
    }

    fn collect_text(&self, id: NodeId, out: &mut String) {
        match &self.node(id).kind {
            NodeKind::Text(t) => out.push_str(t),
            NodeKind::Element { .. } => {
                for c in &self.node(id).children {
                    self.collect_text(*c, out);
                }
            }
        }
    }

    /// Whether the element has non-whitespace text or child elements.
    pub fn has_content(&self, id: NodeId) -> bool {
        self.node(id).children.iter().any(|c| match self.text(*c) {
            Some(t) => !t.trim().is_empty(),
            None => true,
        })
    }

    /// The element's source text, from its start tag to its end tag.
    pub fn raw(&self, id: NodeId) -> &str {
        let n = self.node(id);
        self.source
            .get(n.start as usize..n.end as usize)
            .unwrap_or("")
    }

    /// Line:column of a node.
    pub fn pos(&self, id: NodeId) -> Pos {
        pos_of(&self.source, self.node(id).start as usize)
    }

    /// The first ancestor-or-self with one of these names.
    pub fn ancestor(&self, id: NodeId, names: &[&str]) -> Option<NodeId> {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if names.contains(&self.name(c)) {
                return Some(c);
            }
            cur = self.parent(c);
        }
        None
    }

    /// Whether this element is in the subtree of `anc` (or is it).
    pub fn is_within(&self, id: NodeId, anc: NodeId) -> bool {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c == anc {
                return true;
            }
            cur = self.parent(c);
        }
        false
    }
}

fn push_text(
    nodes: &mut Vec<Node>,
    stack: &[NodeId],
    text: &str,
    start: usize,
    end: usize,
    root_closed: bool,
) -> Result<(), String> {
    // Whitespace-only text between elements means nothing to VoiceXML (prompts normalise whitespace): not kept.
    if text.bytes().all(|b| b.is_ascii_whitespace()) {
        return Ok(());
    }
    let Some(parent) = stack.last().copied() else {
        if text.trim().is_empty() {
            return Ok(());
        }
        let _ = root_closed;
        return Err(format!(
            "text outside the root element: {:?}",
            truncate(text.trim(), 40)
        ));
    };
    // Merge with a preceding text sibling (entity references split text into pieces).
    if let Some(last) = nodes[parent.0 as usize].children.last().copied() {
        if let NodeKind::Text(prev) = &nodes[last.0 as usize].kind {
            let merged = format!("{prev}{text}");
            nodes[last.0 as usize].kind = NodeKind::Text(merged.into_boxed_str());
            nodes[last.0 as usize].end = end as u32;
            return Ok(());
        }
    }
    let id = NodeId(nodes.len() as u32);
    nodes.push(Node {
        kind: NodeKind::Text(text.into()),
        parent: Some(parent),
        children: Vec::new(),
        start: start as u32,
        end: end as u32,
    });
    nodes[parent.0 as usize].children.push(id);
    Ok(())
}

/// Shortens `s` to at most `n` characters for messages.
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

/// Line and column (1-based, in characters) of a byte offset.
pub fn pos_of(source: &str, offset: usize) -> Pos {
    let offset = offset.min(source.len());
    let mut line = 1u32;
    let mut line_start = 0usize;
    for (i, b) in source.as_bytes()[..offset].iter().enumerate() {
        if *b == b'\n' {
            line += 1;
            line_start = i + 1;
        }
    }
    let column = source
        .get(line_start..offset)
        .map(|s| s.chars().count())
        .unwrap_or(0) as u32
        + 1;
    Pos { line, column }
}

#[cfg(test)]
mod tests {
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
    fn garbage_is_an_error() {
        assert!(Document::parse("u", "not xml at all".into()).is_err());
        assert!(Document::parse("u", "".into()).is_err());
        assert!(Document::parse("u", "<a></a><b/>".into()).is_err());
        assert!(Document::parse("u", "<a>&bogus;</a>".into()).is_err());
    }
}
