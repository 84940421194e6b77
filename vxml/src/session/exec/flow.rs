//! `<if>`/`<elseif>`/`<else>` (2.0 §5.3.4) and `<foreach>` (2.1 §6): flow within a piece of executable content, as
//! a new frame on the stack.

use std::sync::Arc;

use super::vars::is_identifier;
use crate::dom::{Document, NodeId};
use crate::script::JsValue;
use crate::session::{Event, Frame, FrameKind, Session};

impl Session {
    pub(super) fn exec_if(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        let children = &doc.node(id).children;
        // Branch start indexes: 0 for the <if> itself, then after each <elseif>/<else>.
        let mut branch_cond = doc.attr(id, "cond").map(str::to_string);
        let mut start = 0usize;
        let mut i = 0usize;
        loop {
            let holds = match &branch_cond {
                None => true,
                Some(c) => self.eval_bool(c)?,
            };
            if holds {
                self.push_frame(Frame {
                    doc: doc.clone(),
                    parent: id,
                    idx: start,
                    kind: FrameKind::Branch,
                });
                return Ok(());
            }
            // Find the next elseif/else.
            loop {
                if i >= children.len() {
                    return Ok(());
                }
                let c = children[i];
                i += 1;
                match doc.name(c) {
                    "elseif" => {
                        branch_cond = Some(doc.attr(c, "cond").unwrap_or("false").to_string());
                        break;
                    }
                    "else" => {
                        branch_cond = None;
                        break;
                    }
                    _ => {}
                }
            }
            start = i;
        }
    }

    /// The array of a `<foreach>` and its length; `error.semantic` when `array` is not an ECMAScript array or
    /// `item` is not a variable name (2.1 §6).
    pub(super) fn foreach_array(
        &mut self,
        array: &str,
        item: &str,
    ) -> Result<(JsValue, u32), Event> {
        if !is_identifier(item) {
            return Err(Event {
                name: "error.semantic".into(),
                message: Some(format!("foreach: item {item:?} is not a variable name")),
            });
        }
        let arr = self.eval(array)?;
        let is_array = {
            let chain = self.chain();
            let refs: Vec<&crate::script::Scope> = chain.iter().collect();
            let tmp = self.new_scope(None)?;
            self.js.set(&tmp, "__vx_a", &arr);
            let mut r = refs.clone();
            r.push(&tmp);
            self.js
                .eval_bool(&r, "Array.isArray(__vx_a)")
                .unwrap_or(false)
        };
        if !is_array {
            return Err(Event {
                name: "error.semantic".into(),
                message: Some(format!("foreach: {array:?} is not an array")),
            });
        }
        let len_v = self.js.get_prop(&arr, "length");
        let len = self
            .js
            .to_string(&len_v)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0);
        Ok((arr, len))
    }

    pub(super) fn exec_foreach(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        let (Some(array), Some(item)) = (doc.attr(id, "array"), doc.attr(id, "item")) else {
            return Ok(());
        };
        let (arr, len) = self.foreach_array(array, item)?;
        self.push_frame(Frame {
            doc: doc.clone(),
            parent: id,
            idx: usize::MAX,
            kind: FrameKind::Foreach {
                array: arr,
                next: 0,
                len,
                item: item.to_string(),
            },
        });
        Ok(())
    }
}
