//! A small element tree read with quick-xml: what the SRGS reader walks. Keeps each element's line for messages.

use quick_xml::events::Event;
use quick_xml::Reader;

/// A node of the tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
}

/// An element: its qualified name, attributes and children.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    /// The name as written (`rule`, `grex:optional`).
    pub name: String,
    /// Attributes as written, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Children in document order.
    pub children: Vec<Node>,
    /// 1-based line of the start tag.
    pub line: usize,
    /// Namespace URI of the element name, from the `xmlns` declarations in scope.
    pub ns: Option<String>,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The local part of the name (`optional` for `grex:optional`).
    pub fn local_name(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }

    /// The prefix of the name, if any.
    fn prefix(&self) -> Option<&str> {
        self.name.split_once(':').map(|(p, _)| p)
    }

    /// All text inside, concatenated.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.children {
            match c {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => out.push_str(&e.text()),
            }
        }
        out
    }
}

fn line_of(src: &str, pos: usize) -> usize {
    src.as_bytes()
        .iter()
        .take(pos)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses `src` into its root element. Errors are lowercase and say where.
pub(crate) fn parse(src: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(src);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    // Namespace declarations in scope, innermost last: (prefix, uri); "" is the default namespace.
    let mut scopes: Vec<Vec<(String, String)>> = Vec::new();
    let resolve = |el: &mut Element, scopes: &[Vec<(String, String)>]| {
        let want = el.prefix().unwrap_or("");
        el.ns = scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter())
            .find(|(p, _)| p == want)
            .map(|(_, uri)| uri.clone())
            .filter(|uri| !uri.is_empty());
    };
    let declared = |el: &Element| -> Vec<(String, String)> {
        el.attrs
            .iter()
            .filter_map(|(k, v)| {
                if k == "xmlns" {
                    Some((String::new(), v.clone()))
                } else {
                    k.strip_prefix("xmlns:").map(|p| (p.to_string(), v.clone()))
                }
            })
            .collect()
    };
    let start = |e: &quick_xml::events::BytesStart<'_>, line: usize| -> Result<Element, String> {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| format!("line {line}: bad attribute in <{name}>: {err}"))?;
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|err| format!("line {line}: bad value of {key} in <{name}>: {err}"))?
                .into_owned();
            attrs.push((key, value));
        }
        Ok(Element {
            name,
            attrs,
            children: Vec::new(),
            line,
            ns: None,
        })
    };
    loop {
        let pos = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|err| {
            format!(
                "line {}: not well-formed: {err}",
                line_of(src, reader.error_position() as usize)
            )
        })?;
        let line = line_of(src, pos);
        let text = |t: String, stack: &mut Vec<Element>| {
            if let Some(top) = stack.last_mut() {
                top.children.push(Node::Text(t));
            }
        };
        match event {
            Event::Start(e) => {
                if root.is_some() {
                    return Err(format!("line {line}: content after the root element"));
                }
                let mut el = start(&e, line)?;
                scopes.push(declared(&el));
                resolve(&mut el, &scopes);
                stack.push(el);
            }
            Event::Empty(e) => {
                if root.is_some() {
                    return Err(format!("line {line}: content after the root element"));
                }
                let mut el = start(&e, line)?;
                scopes.push(declared(&el));
                resolve(&mut el, &scopes);
                scopes.pop();
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                // check_end_names makes quick-xml reject a mismatched end tag, so the stack is not empty here;
                // guard anyway.
                let el = stack
                    .pop()
                    .ok_or_else(|| format!("line {line}: unexpected end tag"))?;
                scopes.pop();
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t
                    .xml_content()
                    .map_err(|err| format!("line {line}: bad text: {err}"))?
                    .into_owned();
                if stack.is_empty() {
                    if !s.trim().is_empty() {
                        return Err(format!("line {line}: text outside the root element"));
                    }
                } else {
                    text(s, &mut stack);
                }
            }
            Event::CData(t) => {
                let s = t
                    .xml_content()
                    .map_err(|err| format!("line {line}: bad cdata: {err}"))?
                    .into_owned();
                text(s, &mut stack);
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|err| format!("line {line}: bad character reference: {err}"))?
                        .map(String::from)
                } else {
                    let name = r
                        .decode()
                        .map_err(|err| format!("line {line}: bad entity: {err}"))?;
                    quick_xml::escape::resolve_predefined_entity(&name).map(String::from)
                };
                let s = resolved.ok_or_else(|| {
                    format!(
                        "line {line}: unknown entity &{};",
                        String::from_utf8_lossy(&r)
                    )
                })?;
                text(s, &mut stack);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        let open = stack.last().map(|e| e.name.clone()).unwrap_or_default();
        return Err(format!("unexpected end of document inside <{open}>"));
    }
    root.ok_or_else(|| "no root element".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tree_entities_and_lines() {
        let e = parse("<?xml version='1.0'?>\n<a x='1&amp;2'>\n<b>t&lt;&#65;</b><c/></a>").unwrap();
        assert_eq!(e.name, "a");
        assert_eq!(e.attr("x"), Some("1&2"));
        let Node::Element(b) = &e.children[1] else {
            panic!("expected <b>")
        };
        assert_eq!((b.text().as_str(), b.line), ("t<A", 3));
    }

    #[test]
    fn resolves_namespaces() {
        let e =
            parse(r#"<g xmlns="urn:a" xmlns:x="urn:x"><x:o/><i xmlns="urn:b"><j/></i><k/></g>"#)
                .unwrap();
        let ns = |n: &Node| match n {
            Node::Element(e) => e.ns.clone(),
            Node::Text(_) => None,
        };
        assert_eq!(e.ns.as_deref(), Some("urn:a"));
        assert_eq!(ns(&e.children[0]).as_deref(), Some("urn:x"));
        let Node::Element(i) = &e.children[1] else {
            panic!("expected <i>")
        };
        assert_eq!(
            (i.ns.as_deref(), ns(&i.children[0]).as_deref()),
            (Some("urn:b"), Some("urn:b"))
        );
        assert_eq!(ns(&e.children[2]).as_deref(), Some("urn:a"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "<a><b></a>",
            "<a>",
            "",
            "<a></a><b/>",
            "<a>&nope;</a>",
            "text",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
