//! VoiceXML documents as a compact tree that keeps every element's source position.
//!
//! The interpreter walks this tree directly: elements live in one arena (`Vec<Node>`) and refer to each other by
//! [`NodeId`], so a resumable execution frame is just `(document, element, child index)`. Parsing (quick-xml) and
//! the schema checks of [`crate::validate`] run once when a document arrives; a document that fails either is
//! reported as `error.badfetch` in the document that asked for it (VoiceXML 2.0 §5.2.6).
//!
//! This module holds the tree itself (ids, nodes, spans, positions); building it from the source is `parse`, and
//! reading it (names, attributes, children, text, ancestors) is `queries`.

pub mod cache;
mod parse;
mod queries;
#[cfg(test)]
mod tests;

use std::fmt;

pub(crate) use parse::general_ref;

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

fn span_str<'a>(src: &'a str, strings: &'a str, sp: Span) -> &'a str {
    let (buf, off) = if sp.off & OWNED != 0 {
        (strings, (sp.off & !OWNED) as usize)
    } else {
        (src, sp.off as usize)
    };
    buf.get(off..off + sp.len as usize).unwrap_or("")
}
impl Document {
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
