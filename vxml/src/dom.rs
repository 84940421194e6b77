//! VoiceXML documents as a compact tree that keeps every element's source position.
//!
//! The interpreter walks this tree directly: elements live in one arena (`Vec<Node>`) and refer to each other by
//! [`NodeId`], so a resumable execution frame is just `(document, element, child index)`. Parsing (quick-xml) and
//! the schema checks of [`crate::validate`] run once when a document arrives; a document that fails either is
//! reported as `error.badfetch` in the document that asked for it (VoiceXML 2.0 §5.2.6).

pub mod cache;

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

/// A string of the document: a byte range of its source (most names, attribute values and texts are used as
/// written), or of [`Document`]'s side buffer when unescaping or merging changed it. Keeps parsing free of one
/// allocation per name, attribute and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    /// Byte offset; [`OWNED`] set means "in the side buffer".
    off: u32,
    /// Length in bytes.
    len: u32,
}

/// Flag of [`Span::off`]: the bytes are in [`Document::strings`], not in the source.
const OWNED: u32 = 1 << 31;

/// The largest source a [`Span`] can address.
const MAX_SOURCE: usize = (OWNED - 1) as usize;

impl Span {
    const EMPTY: Span = Span { off: 0, len: 0 };
}

/// What a node holds.
#[derive(Debug, Clone, Copy)]
enum NodeKind {
    /// An element: local name (prefix stripped), namespace prefix (empty when none), and its attributes, unescaped
    /// and in document order, as `attrs[first..first + count]` of the document.
    Element {
        name: Span,
        prefix: Span,
        first_attr: u32,
        attrs: u32,
    },
    /// Character data (text or CDATA), entities already resolved.
    Text(Span),
}

/// One node of the arena.
#[derive(Debug, Clone)]
pub struct Node {
    kind: NodeKind,
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
    nodes: Vec<Node>,
    /// Attributes of all elements (key, value), each element's in one run.
    attrs: Vec<(Span, Span)>,
    /// Strings that differ from their source text (unescaped values, merged text pieces).
    strings: String,
    /// Every `<property>` element with its parent, by parent then document order: property lookups walk the
    /// ancestors of an element many times per page, and most elements have none.
    props: Vec<(NodeId, NodeId)>,
}

/// The root element id of every document.
pub const ROOT: NodeId = NodeId(0);

/// The span of `s` when it is a slice of `src` on character boundaries (quick-xml hands out borrowed slices of
/// its input whenever it did not have to rewrite the text).
fn span_in(src: &str, s: &[u8]) -> Option<Span> {
    let off = (s.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize);
    if off <= src.len() && s.len() <= src.len() - off {
        src.get(off..off + s.len())?;
        Some(Span {
            off: off as u32,
            len: s.len() as u32,
        })
    } else {
        None
    }
}

/// The arena being built by [`Document::parse`].
struct Builder<'s> {
    src: &'s str,
    nodes: Vec<Node>,
    attrs: Vec<(Span, Span)>,
    strings: String,
    /// Open elements, innermost last, each with its last child so far (for merging adjacent text pieces).
    stack: Vec<(NodeId, Option<NodeId>)>,
}

impl Builder<'_> {
    /// A span for `s`: its place in the source when it is a slice of it, else a copy in the side buffer.
    fn span(&mut self, s: &str) -> Span {
        if let Some(sp) = span_in(self.src, s.as_bytes()) {
            return sp;
        }
        self.owned(&[s])
    }

    /// A span for raw bytes of the source (names, unescaped values); bytes that are not (see [`span_in`]) are
    /// copied, invalid UTF-8 replaced.
    fn span_bytes(&mut self, s: &[u8]) -> Span {
        if let Some(sp) = span_in(self.src, s) {
            return sp;
        }
        let owned = String::from_utf8_lossy(s);
        self.owned(&[&owned])
    }

    /// Copies the pieces, one after the other, into the side buffer.
    fn owned(&mut self, pieces: &[&str]) -> Span {
        let off = self.strings.len();
        for p in pieces {
            self.strings.push_str(p);
        }
        Span {
            off: off as u32 | OWNED,
            len: (self.strings.len() - off) as u32,
        }
    }

    fn str(&self, sp: Span) -> &str {
        span_str(self.src, &self.strings, sp)
    }

    /// Adds a node under the innermost open element.
    fn push(&mut self, kind: NodeKind, start: usize, end: usize) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        let parent = self.stack.last_mut().map(|(p, last)| {
            *last = Some(id);
            *p
        });
        self.nodes.push(Node {
            kind,
            parent,
            children: Vec::new(),
            start: start as u32,
            end: end as u32,
        });
        id
    }

    /// Adds character data, merging it with a preceding text sibling (entity references split text into pieces).
    fn text(&mut self, text: &str, start: usize, end: usize) -> Result<(), String> {
        // Whitespace-only text between elements means nothing to VoiceXML (prompts normalise whitespace): not kept.
        if text.bytes().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        let Some(&(_, last)) = self.stack.last() else {
            if text.trim().is_empty() {
                return Ok(());
            }
            return Err(format!(
                "text outside the root element: {:?}",
                truncate(text.trim(), 40)
            ));
        };
        if let Some(last) = last {
            let prev = match self.nodes.get(last.0 as usize).map(|n| n.kind) {
                Some(NodeKind::Text(sp)) => Some(sp),
                _ => None,
            };
            if let Some(prev) = prev {
                let merged = if prev.off & OWNED != 0
                    && (prev.off & !OWNED) as usize + prev.len as usize == self.strings.len()
                {
                    // Already the last piece of the side buffer: extend it in place.
                    self.strings.push_str(text);
                    Span {
                        off: prev.off,
                        len: prev.len + text.len() as u32,
                    }
                } else {
                    let p = self.str(prev).to_string();
                    self.owned(&[&p, text])
                };
                if let Some(n) = self.nodes.get_mut(last.0 as usize) {
                    n.kind = NodeKind::Text(merged);
                    n.end = end as u32;
                }
                return Ok(());
            }
        }
        let sp = self.span(text);
        self.push(NodeKind::Text(sp), start, end);
        Ok(())
    }

    /// The `<property>` elements by parent (see [`Document::properties`]).
    fn props(&self) -> Vec<(NodeId, NodeId)> {
        let mut props: Vec<(NodeId, NodeId)> = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match (n.kind, n.parent) {
                (NodeKind::Element { name, .. }, Some(p)) if self.str(name) == "property" => {
                    Some((p, NodeId(i as u32)))
                }
                _ => None,
            })
            .collect();
        // Stable: document order within a parent.
        props.sort_by_key(|(p, _)| *p);
        props
    }

    /// Fills every element's child list, each allocated once at its final size.
    fn link(&mut self) {
        // Indexing by parent id cannot fail: a parent is always an earlier node of the same arena.
        let mut counts = vec![0u32; self.nodes.len()];
        for n in &self.nodes {
            if let Some(p) = n.parent {
                counts[p.0 as usize] += 1;
            }
        }
        for (n, c) in self.nodes.iter_mut().zip(&counts) {
            if *c > 0 {
                n.children = Vec::with_capacity(*c as usize);
            }
        }
        for i in 0..self.nodes.len() {
            if let Some(p) = self.nodes[i].parent {
                self.nodes[p.0 as usize].children.push(NodeId(i as u32));
            }
        }
    }
}

fn span_str<'a>(src: &'a str, strings: &'a str, sp: Span) -> &'a str {
    let (buf, off) = if sp.off & OWNED != 0 {
        (strings, (sp.off & !OWNED) as usize)
    } else {
        (src, sp.off as usize)
    };
    buf.get(off..off + sp.len as usize).unwrap_or("")
}

impl Document {
    /// Parses `source` into a tree. Well-formedness errors (unclosed or mismatched tags, bad entities, text outside
    /// the root) are reported with their line and column.
    pub fn parse(url: &str, source: String) -> Result<Document, DocumentError> {
        let err = |off: usize, what: String, src: &str| DocumentError {
            url: url.to_string(),
            pos: pos_of(src, off),
            what,
        };
        if source.len() > MAX_SOURCE {
            return Err(err(
                0,
                format!("document is {} bytes, too large to parse", source.len()),
                &source,
            ));
        }
        let mut b = Builder {
            src: &source,
            // About one node per 50 bytes and two attributes per element in VoiceXML pages.
            nodes: Vec::with_capacity(source.len() / 50 + 4),
            attrs: Vec::with_capacity(source.len() / 30 + 4),
            strings: String::new(),
            stack: Vec::with_capacity(16),
        };
        let mut root_closed = false;
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
                    if b.stack.is_empty() && !b.nodes.is_empty() {
                        return Err(err(before, "more than one root element".into(), &source));
                    }
                    let qname_bytes = s.name().into_inner();
                    let qname = || String::from_utf8_lossy(qname_bytes);
                    let (prefix, local) = match qname_bytes.iter().position(|&c| c == b':') {
                        Some(i) => (
                            b.span_bytes(qname_bytes.get(..i).unwrap_or_default()),
                            qname_bytes.get(i + 1..).unwrap_or_default(),
                        ),
                        None => (Span::EMPTY, qname_bytes),
                    };
                    let name = b.span_bytes(local);
                    let first_attr = b.attrs.len() as u32;
                    // Duplicates are checked here, against this element's keys so far, rather than by quick-xml
                    // (which keeps a list of its own per element).
                    for a in s.attributes().with_checks(false) {
                        let a = a.map_err(|e| {
                            err(
                                before,
                                format!("bad attribute in <{}>: {e}", qname()),
                                &source,
                            )
                        })?;
                        let key = a.key.as_ref();
                        let k = b.span_bytes(key);
                        let dup = b.attrs.get(first_attr as usize..).and_then(|prev| {
                            prev.iter()
                                .find(|(pk, _)| b.str(*pk).as_bytes() == key)
                                .map(|(pk, _)| *pk)
                        });
                        if let Some(prev) = dup {
                            // Positions within the tag, as quick-xml reports them.
                            let tag = s.as_ref().as_ptr() as usize;
                            let e = quick_xml::events::attributes::AttrError::Duplicated(
                                (key.as_ptr() as usize).wrapping_sub(tag),
                                (b.str(prev).as_ptr() as usize).wrapping_sub(tag),
                            );
                            return Err(err(
                                before,
                                format!("bad attribute in <{}>: {e}", qname()),
                                &source,
                            ));
                        }
                        // Without a reference there is nothing to unescape: the value is the source text.
                        let v = if !a.value.contains(&b'&') {
                            b.span_bytes(&a.value)
                        } else {
                            let value = a.unescape_value().map_err(|e| {
                                err(
                                    before,
                                    format!(
                                        "bad attribute value {:?} in <{}>: {e}",
                                        String::from_utf8_lossy(a.key.as_ref()),
                                        qname()
                                    ),
                                    &source,
                                )
                            })?;
                            b.span(&value)
                        };
                        b.attrs.push((k, v));
                    }
                    let kind = NodeKind::Element {
                        name,
                        prefix,
                        first_attr,
                        attrs: b.attrs.len() as u32 - first_attr,
                    };
                    let id = b.push(kind, before, after);
                    if matches!(ev, Event::Start(_)) {
                        b.stack.push((id, None));
                    } else if b.stack.is_empty() {
                        root_closed = true;
                    }
                }
                Event::End(_) => {
                    // check_end_names guarantees a matching open element.
                    if let Some((id, _)) = b.stack.pop() {
                        if let Some(n) = b.nodes.get_mut(id.0 as usize) {
                            n.end = after as u32;
                        }
                    }
                    if b.stack.is_empty() {
                        root_closed = true;
                    }
                }
                Event::Text(t) => {
                    // Whitespace between elements is dropped before any decoding.
                    if t.iter().all(|c| c.is_ascii_whitespace()) {
                        continue;
                    }
                    let text = t
                        .xml_content()
                        .map_err(|e| err(before, format!("bad text: {e}"), &source))?;
                    b.text(&text, before, after)
                        .map_err(|w| err(before, w, &source))?;
                }
                Event::CData(t) => {
                    let text = String::from_utf8_lossy(&t);
                    b.text(&text, before, after)
                        .map_err(|w| err(before, w, &source))?;
                }
                Event::GeneralRef(r) => {
                    let mut buf = [0u8; 4];
                    let text = general_ref(&r, &mut buf).map_err(|w| err(before, w, &source))?;
                    b.text(text, before, after)
                        .map_err(|w| err(before, w, &source))?;
                }
                Event::Eof => break,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if let Some(&(open, _)) = b.stack.last() {
            let (name, at) = match b.nodes.get(open.0 as usize) {
                Some(n) => match n.kind {
                    NodeKind::Element { name, .. } => (b.str(name).to_string(), n.start as usize),
                    NodeKind::Text(_) => (String::new(), n.start as usize),
                },
                None => (String::new(), 0),
            };
            return Err(err(
                at,
                format!("element <{name}> is never closed"),
                &source,
            ));
        }
        if b.nodes.is_empty() {
            return Err(err(0, "no root element".into(), &source));
        }
        b.link();
        let props = b.props();
        let Builder {
            nodes,
            attrs,
            strings,
            ..
        } = b;
        Ok(Document {
            url: url.to_string(),
            source,
            nodes,
            attrs,
            strings,
            props,
        })
    }

    fn str(&self, sp: Span) -> &str {
        span_str(&self.source, &self.strings, sp)
    }

    /// The bytes of a span (for comparisons: no character-boundary checks).
    fn bytes(&self, sp: Span) -> &[u8] {
        let (buf, off) = if sp.off & OWNED != 0 {
            (self.strings.as_bytes(), (sp.off & !OWNED) as usize)
        } else {
            (self.source.as_bytes(), sp.off as usize)
        };
        buf.get(off..off + sp.len as usize).unwrap_or_default()
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// Number of nodes (elements and texts); ids run from 0 to this, in document order.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: a parsed document has at least its root element.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether the node is an element (not text).
    pub fn is_element(&self, id: NodeId) -> bool {
        matches!(self.node(id).kind, NodeKind::Element { .. })
    }

    /// The element name, or `""` for text.
    pub fn name(&self, id: NodeId) -> &str {
        match self.node(id).kind {
            NodeKind::Element { name, .. } => self.str(name),
            NodeKind::Text(_) => "",
        }
    }

    /// The namespace prefix of an element, or `""`.
    pub fn prefix(&self, id: NodeId) -> &str {
        match self.node(id).kind {
            NodeKind::Element { prefix, .. } => self.str(prefix),
            NodeKind::Text(_) => "",
        }
    }

    /// The text of a text node.
    pub fn text(&self, id: NodeId) -> Option<&str> {
        match self.node(id).kind {
            NodeKind::Text(t) => Some(self.str(t)),
            NodeKind::Element { .. } => None,
        }
    }

    fn attr_spans(&self, id: NodeId) -> &[(Span, Span)] {
        match self.node(id).kind {
            NodeKind::Element {
                first_attr, attrs, ..
            } => self
                .attrs
                .get(first_attr as usize..(first_attr + attrs) as usize)
                .unwrap_or(&[]),
            NodeKind::Text(_) => &[],
        }
    }

    /// An attribute's value.
    pub fn attr(&self, id: NodeId, key: &str) -> Option<&str> {
        // Lengths first: most keys are told apart without looking at their bytes.
        let key = key.as_bytes();
        self.attr_spans(id)
            .iter()
            .find(|(k, _)| k.len as usize == key.len() && self.bytes(*k) == key)
            .map(|(_, v)| self.str(*v))
    }

    /// All attributes of an element (key, value), in document order.
    pub fn attrs(&self, id: NodeId) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.attr_spans(id)
            .iter()
            .map(|(k, v)| (self.str(*k), self.str(*v)))
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
            .filter(move |c| self.is_element(*c))
    }

    /// Child elements with this name.
    pub fn children_named<'a>(
        &'a self,
        id: NodeId,
        name: &'a str,
    ) -> impl Iterator<Item = NodeId> + 'a {
        self.elements(id).filter(move |c| self.name(*c) == name)
    }

    /// The `<property>` children of an element, in document order (what `children_named(id, "property")` gives,
    /// from an index).
    pub fn properties(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let from = self.props.partition_point(|(p, _)| *p < id);
        self.props
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(move |(p, _)| *p == id)
            .map(|(_, c)| *c)
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
        match self.node(id).kind {
            NodeKind::Text(t) => out.push_str(self.str(t)),
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

/// The text of an entity or character reference (`&amp;`, `&#x41;`): XML 1.0 §4.6 predefines five entities, and
/// a VoiceXML document declares no others. `buf` holds the character of a character reference.
pub(crate) fn general_ref<'b>(
    r: &quick_xml::events::BytesRef<'_>,
    buf: &'b mut [u8; 4],
) -> Result<&'b str, String> {
    match r.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.encode_utf8(buf)),
        Ok(None) => match &**r {
            b"amp" => Ok("&"),
            b"lt" => Ok("<"),
            b"gt" => Ok(">"),
            b"quot" => Ok("\""),
            b"apos" => Ok("'"),
            other => Err(format!(
                "unknown entity &{};",
                String::from_utf8_lossy(other)
            )),
        },
        Err(e) => Err(format!("bad character reference: {e}")),
    }
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
    fn duplicate_attribute_is_an_error_with_quick_xml_positions() {
        let e =
            Document::parse("u", "<vxml>\n <form id=\"a\" id=\"b\"/></vxml>".into()).unwrap_err();
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
}
