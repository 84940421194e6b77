//! `<log>` (2.0 §5.3.13): a message for the platform's log, as an [`Output::Log`].

use std::sync::Arc;

use super::normalize;
use crate::dom::{Document, NodeId};
use crate::io::Output;
use crate::session::{Event, Session};

impl Session {
    pub(super) fn exec_log(&mut self, doc: &Arc<Document>, id: NodeId) -> Result<(), Event> {
        let mut text = String::new();
        if let Some(e) = doc.attr(id, "expr") {
            text.push_str(&self.eval_string(e)?);
        }
        for c in doc.node(id).children.clone() {
            if let Some(t) = doc.text(c) {
                text.push_str(t);
            } else if doc.name(c) == "value" {
                if let Some(e) = doc.attr(c, "expr") {
                    text.push_str(&self.eval_string(e)?);
                }
            }
        }
        let label = match (doc.attr(id, "label"), doc.attr(id, "labelexpr")) {
            (Some(l), _) => Some(l.to_string()),
            (None, Some(x)) => Some(self.eval_string(x)?),
            _ => None,
        };
        let text = normalize(&text);
        tracing::info!(target: "vxml", label = ?label, "log: {text}");
        self.out.push_back(Output::Log { label, text });
        Ok(())
    }
}
