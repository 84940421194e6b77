//! Building a [`Document`] from its source with quick-xml: well-formedness errors with their position, attribute
//! values and text unescaped (XML 1.0 §4.6), adjacent text pieces merged, and every string kept as a span of the
//! source where it can be.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{
    pos_of, span_str, truncate, Document, DocumentError, Node, NodeId, NodeKind, Span, MAX_SOURCE,
    OWNED,
};

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
