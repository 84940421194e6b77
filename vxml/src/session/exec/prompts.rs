//! `<prompt>` and prompt content (2.0 §4.1, §5.3.5): text, `<audio>`, `<value>`, `<break>`, `<mark>`,
//! `<enumerate>`, `<foreach>` and SSML, turned into the [`PromptItem`]s of the prompt queue.

use std::sync::Arc;
use std::time::Duration;

use crate::dom::{Document, NodeId};
use crate::io::PromptItem;
use crate::session::{Event, Session};

impl Session {
    /// `<prompt>` in executable content: queued now, with its `<value>`s evaluated now (2.0 §4.1).
    pub(crate) fn exec_prompt(
        &mut self,
        doc: &Arc<Document>,
        id: NodeId,
        check_cond: bool,
    ) -> Result<(), Event> {
        if check_cond && !self.cond(doc, id)? {
            return Ok(());
        }
        if let Some(b) = doc.attr(id, "bargein") {
            self.queue_bargein = b != "false";
        } else if let Some(b) = self.property(doc, Some(id), "bargein") {
            self.queue_bargein = b != "false";
        }
        let bargeintype = doc
            .attr(id, "bargeintype")
            .map(str::to_string)
            .or_else(|| self.property(doc, Some(id), "bargeintype"));
        if let Some(t) = bargeintype {
            self.queue_bargeintype = if t == "hotword" {
                crate::io::BargeInType::Hotword
            } else {
                crate::io::BargeInType::Speech
            };
        }
        if let Some(t) = doc.attr(id, "timeout").and_then(crate::event::parse_time) {
            self.prompt_timeout = Some(t);
        }
        let mut items = Vec::new();
        for c in doc.node(id).children.clone() {
            self.prompt_content(doc, c, &mut items)?;
        }
        self.queue.extend(items);
        Ok(())
    }

    /// Turns prompt content (text, audio, value, break, SSML) into prompt items.
    pub(crate) fn prompt_content(
        &mut self,
        doc: &Arc<Document>,
        id: NodeId,
        items: &mut Vec<PromptItem>,
    ) -> Result<(), Event> {
        if let Some(t) = doc.text(id) {
            let t = normalize(t);
            if !t.is_empty() {
                push_text(items, t);
            }
            return Ok(());
        }
        match doc.name(id) {
            "value" => {
                if let Some(e) = doc.attr(id, "expr") {
                    let s = self.eval_string(e)?;
                    push_text(items, s);
                }
            }
            "audio" => {
                let url = match (doc.attr(id, "src"), doc.attr(id, "expr")) {
                    (Some(s), _) => Some(s.to_string()),
                    (None, Some(x)) => {
                        let v = self.eval(x)?;
                        if self.js.is_undefined(&v) {
                            // 2.0 §4.1.3: an audio element whose expr evaluates to undefined is ignored, fallback
                            // content included.
                            return Ok(());
                        } else {
                            Some(self.js.to_string(&v).map_err(|e| Event {
                                name: "error.semantic".into(),
                                message: Some(e.0),
                            })?)
                        }
                    }
                    _ => None,
                };
                let mut fallback = Vec::new();
                for c in doc.node(id).children.clone() {
                    self.prompt_content(doc, c, &mut fallback)?;
                }
                match url {
                    Some(u) => {
                        let url = self.resolve_in(doc, &u)?;
                        let timeout = self.fetch_timeout(doc, id);
                        items.push(PromptItem::Audio {
                            url,
                            timeout,
                            fallback,
                        });
                    }
                    None => items.extend(fallback),
                }
            }
            "break" => {
                let d = doc
                    .attr(id, "time")
                    .and_then(crate::event::parse_time)
                    .unwrap_or_else(|| match doc.attr(id, "strength").or(doc.attr(id, "size")) {
                        Some("none") => Duration::ZERO,
                        Some("x-weak") => Duration::from_millis(100),
                        Some("weak") | Some("small") => Duration::from_millis(250),
                        Some("strong") | Some("large") => Duration::from_millis(1000),
                        Some("x-strong") => Duration::from_millis(1500),
                        _ => Duration::from_millis(500),
                    });
                items.push(PromptItem::Break(d));
            }
            "mark" => {
                let name = match (doc.attr(id, "name"), doc.attr(id, "nameexpr")) {
                    (Some(n), _) => n.to_string(),
                    (None, Some(x)) => self.eval_string(x)?,
                    _ => String::new(),
                };
                items.push(PromptItem::Mark(name));
            }
            "enumerate" => self.enumerate(doc, id, items)?,
            // `<foreach>` inside a prompt (2.1 §6.2): its content is rendered once per array element, in order,
            // with `item` set to that element.
            "foreach" => {
                let (Some(array), Some(item)) = (doc.attr(id, "array"), doc.attr(id, "item"))
                else {
                    return Ok(());
                };
                let (arr, len) = self.foreach_array(array, item)?;
                for i in 0..len {
                    let v = self.js.get_prop(&arr, &i.to_string());
                    if let Some(s) = self.scopes().last() {
                        self.js.set(s, item, &v);
                    }
                    for c in doc.node(id).children.clone() {
                        self.prompt_content(doc, c, items)?;
                    }
                }
            }
            "desc" | "metadata" | "lexicon" => {}
            _ => {
                for c in doc.node(id).children.clone() {
                    self.prompt_content(doc, c, items)?;
                }
            }
        }
        Ok(())
    }

    /// `<enumerate>` (2.0 §2.2.4): one rendering per choice/option, with `_prompt` and `_dtmf` set.
    fn enumerate(
        &mut self,
        doc: &Arc<Document>,
        id: NodeId,
        items: &mut Vec<PromptItem>,
    ) -> Result<(), Event> {
        let Some(owner) = doc.ancestor(id, &["menu", "field"]) else {
            return Ok(());
        };
        let choices = self.choices(doc, owner);
        for (dtmf, text, _) in choices {
            if doc.node(id).children.is_empty() {
                push_text(items, text.clone());
                continue;
            }
            let chain = self.chain();
            let Some(s) = chain.last() else { continue };
            self.js.set(s, "_prompt", &self.js.string(&text));
            self.js.set(s, "_dtmf", &self.js.string(&dtmf));
            for c in doc.node(id).children.clone() {
                self.prompt_content(doc, c, items)?;
            }
        }
        Ok(())
    }
}

fn push_text(items: &mut Vec<PromptItem>, t: String) {
    if let Some(PromptItem::Text(prev)) = items.last_mut() {
        prev.push(' ');
        prev.push_str(&t);
    } else {
        items.push(PromptItem::Text(t));
    }
}

/// Collapses whitespace runs and trims.
pub(crate) fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
