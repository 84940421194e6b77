//! The schema rules of VoiceXML 2.0/2.1 that a conforming interpreter must enforce when a document is loaded.
//!
//! A document that breaks them (an unknown element, `<goto>` with both `next` and `expr`, `<grammar>` with both
//! `src` and inline content, ...) is not run: the fetch that asked for it fails with `error.badfetch` (2.0 §5.2.6).

use std::collections::HashSet;

use crate::dom::{Document, DocumentError, NodeId, ROOT};

/// Every element of the VoiceXML 2.1 schema (and the SSML elements allowed in prompts); a `match` compiles to a
/// length-and-bytes decision tree instead of a linear scan of string compares.
fn is_known(name: &str) -> bool {
    matches!(
        name,
        "vxml"
            | "meta"
            | "metadata"
            | "property"
            | "var"
            | "script"
            | "form"
            | "menu"
            | "catch"
            | "error"
            | "help"
            | "noinput"
            | "nomatch"
            | "link"
            | "block"
            | "field"
            | "record"
            | "transfer"
            | "subdialog"
            | "object"
            | "initial"
            | "filled"
            | "grammar"
            | "prompt"
            | "enumerate"
            | "choice"
            | "option"
            | "audio"
            | "value"
            | "break"
            | "emphasis"
            | "prosody"
            | "say-as"
            | "voice"
            | "sub"
            | "mark"
            | "p"
            | "s"
            | "paragraph"
            | "sentence"
            | "phoneme"
            | "lexicon"
            | "desc"
            | "assign"
            | "clear"
            | "if"
            | "elseif"
            | "else"
            | "goto"
            | "submit"
            | "exit"
            | "return"
            | "disconnect"
            | "throw"
            | "log"
            | "reprompt"
            | "data"
            | "foreach"
            | "param"
            | "speak"
    )
}

/// Checks the document against the schema rules; the first violation is returned with its position.
pub fn validate(doc: &Document) -> Result<(), DocumentError> {
    if doc.name(ROOT) != "vxml" {
        return Err(fail(
            doc,
            ROOT,
            format!("root element is <{}>, expected <vxml>", doc.name(ROOT)),
        ));
    }
    let mut ids = HashSet::new();
    for d in doc.elements(ROOT) {
        if matches!(doc.name(d), "form" | "menu") {
            if let Some(id) = doc.attr(d, "id") {
                if !ids.insert(id) {
                    return Err(fail(doc, d, format!("duplicate dialog id {id:?}")));
                }
            }
            let mut names = HashSet::new();
            for item in doc.elements(d) {
                if matches!(
                    doc.name(item),
                    "field" | "record" | "transfer" | "subdialog" | "object" | "block" | "initial"
                ) {
                    if let Some(n) = doc.attr(item, "name") {
                        if !names.insert(n) {
                            return Err(fail(doc, item, format!("duplicate form item name {n:?}")));
                        }
                    }
                }
            }
        }
    }
    check(doc)
}

fn fail(doc: &Document, id: NodeId, what: String) -> DocumentError {
    DocumentError {
        url: doc.url.clone(),
        pos: doc.pos(id),
        what,
    }
}

fn count(doc: &Document, id: NodeId, keys: &[&str]) -> usize {
    keys.iter().filter(|k| doc.has(id, k)).count()
}

/// Checks every element in document order. Elements are stored in document order, so one
/// pass over ids visits them as a depth-first walk would; a subtree that is not ours to judge (foreign namespace,
/// SRGS grammar content, metadata) is skipped by its source range.
fn check(doc: &Document) -> Result<(), DocumentError> {
    let mut skip_to = 0u32;
    for i in 0..doc.len() {
        let id = NodeId(i as u32);
        if !doc.is_element(id) {
            continue;
        }
        let n = doc.node(id);
        if n.start < skip_to {
            continue;
        }
        if !check_one(doc, id)? {
            skip_to = n.end;
        }
    }
    Ok(())
}

/// Checks one element; `Ok(false)` when its content is not to be checked.
fn check_one(doc: &Document, id: NodeId) -> Result<bool, DocumentError> {
    let name = doc.name(id);
    let prefix = doc.prefix(id);
    if !prefix.is_empty() {
        // Foreign namespaces are not ours to judge.
        return Ok(false);
    }
    if !is_known(name) {
        return Err(fail(doc, id, format!("unknown element <{name}>")));
    }
    let one_of = |keys: &[&str]| count(doc, id, keys);
    let bad = |what: String| Err(fail(doc, id, what));
    match name {
        "goto" if one_of(&["next", "expr", "nextitem", "expritem"]) > 1 => {
            return bad("<goto> may have only one of next, expr, nextitem, expritem".into())
        }
        "submit" if one_of(&["next", "expr"]) != 1 => {
            return bad("<submit> needs exactly one of next, expr".into())
        }
        "audio" if one_of(&["src", "expr"]) != 1 => {
            return bad("<audio> needs exactly one of src, expr".into())
        }
        "exit" if one_of(&["expr", "namelist"]) > 1 => {
            return bad("<exit> may not have both expr and namelist".into())
        }
        "return" if one_of(&["event", "eventexpr", "namelist"]) > 1 => {
            return bad("<return> may have only one of event, eventexpr, namelist".into())
        }
        "return" if one_of(&["message", "messageexpr"]) > 1 => {
            return bad("<return> may not have both message and messageexpr".into())
        }
        "grammar" => {
            let srcs = one_of(&["src", "srcexpr"]);
            let content = doc.has_content(id);
            if srcs > 1 {
                return bad("<grammar> may not have both src and srcexpr".into());
            }
            if srcs == 1 && content {
                return bad("<grammar> may not have both a source and inline content".into());
            }
            if srcs == 0 && !content {
                return bad("<grammar> needs src, srcexpr or inline content".into());
            }
            // SRGS content is the grammar layer's business.
            return Ok(false);
        }
        "script" => {
            let srcs = one_of(&["src", "srcexpr"]);
            if srcs > 1 {
                return bad("<script> may not have both src and srcexpr".into());
            }
            if srcs == 1 && doc.has_content(id) {
                return bad("<script> may not have both a source and inline content".into());
            }
            // 2.1 §2 (IR assertion 11): a script with neither a source nor inline content is error.badfetch.
            if srcs == 0 && !doc.has_content(id) {
                return bad("<script> needs src, srcexpr or inline content".into());
            }
        }
        // 2.1 §4 (IR assertion 18): exactly one of name and nameexpr.
        "mark" if one_of(&["name", "nameexpr"]) != 1 => {
            return bad("<mark> needs exactly one of name, nameexpr".into())
        }
        "subdialog" if one_of(&["src", "srcexpr"]) > 1 => {
            return bad("<subdialog> may not have both src and srcexpr".into())
        }
        "throw" if one_of(&["event", "eventexpr"]) != 1 => {
            return bad("<throw> needs exactly one of event, eventexpr".into())
        }
        "throw" if one_of(&["message", "messageexpr"]) > 1 => {
            return bad("<throw> may not have both message and messageexpr".into())
        }
        "choice" if one_of(&["next", "expr", "event", "eventexpr"]) > 1 => {
            return bad("<choice> may have only one of next, expr, event, eventexpr".into())
        }
        "link" if one_of(&["next", "expr", "event", "eventexpr"]) != 1 => {
            return bad("<link> needs exactly one of next, expr, event, eventexpr".into())
        }
        "link" if one_of(&["message", "messageexpr"]) > 1 => {
            return bad("<link> may not have both message and messageexpr".into())
        }
        "data" if one_of(&["src", "srcexpr"]) != 1 => {
            return bad("<data> needs exactly one of src, srcexpr".into())
        }
        "var" if !doc.has(id, "name") => return bad("<var> needs a name".into()),
        "assign" if !doc.has(id, "name") || !doc.has(id, "expr") => {
            return bad("<assign> needs name and expr".into())
        }
        "if" | "elseif" if !doc.has(id, "cond") => return bad(format!("<{name}> needs cond")),
        "value" if !doc.has(id, "expr") => return bad("<value> needs expr".into()),
        "foreach" if !doc.has(id, "array") || !doc.has(id, "item") => {
            return bad("<foreach> needs array and item".into())
        }
        "param" if !doc.has(id, "name") => return bad("<param> needs a name".into()),
        "param" if one_of(&["expr", "value"]) > 1 => {
            return bad("<param> may not have both expr and value".into())
        }
        "property" if !doc.has(id, "name") || !doc.has(id, "value") => {
            return bad("<property> needs name and value".into())
        }
        "metadata" => return Ok(false),
        "elseif" | "else" if doc.parent(id).map(|p| doc.name(p)) != Some("if") => {
            return bad(format!("<{name}> outside <if>"))
        }
        _ => {}
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(src: &str) -> Result<(), DocumentError> {
        validate(&Document::parse("http://h/d.vxml", src.to_string()).unwrap())
    }

    #[test]
    fn goto_next_and_expr_is_rejected_with_position() {
        let e = v("<vxml version=\"2.1\">\n<form><block><goto next=\"a\" expr=\"'b'\"/></block></form></vxml>")
            .unwrap_err();
        assert_eq!(e.pos.line, 2);
        assert!(e.what.contains("goto"), "{e}");
    }

    #[test]
    fn unknown_element_is_rejected() {
        assert!(v("<vxml><form><blok/></form></vxml>")
            .unwrap_err()
            .what
            .contains("blok"));
        assert!(v("<vxml><form><block><x:foo xmlns:x=\"u\"/></block></form></vxml>").is_ok());
    }

    #[test]
    fn grammar_rules() {
        assert!(v("<vxml><form><field name=\"f\"><grammar src=\"a\" srcexpr=\"'b'\"/></field></form></vxml>").is_err());
        assert!(v("<vxml><form><field name=\"f\"><grammar/></field></form></vxml>").is_err());
        assert!(v(
            "<vxml><form><field name=\"f\"><grammar src=\"a\">x</grammar></field></form></vxml>"
        )
        .is_err());
        assert!(
            v("<vxml><form><field name=\"f\"><grammar src=\"a\"/></field></form></vxml>").is_ok()
        );
    }
}
