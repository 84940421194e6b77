//! Reading a [`Document`]: nodes, names, attributes, children, text, source and ancestors.

use super::{pos_of, Document, Node, NodeId, NodeKind, Pos, Span};

impl Document {
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
