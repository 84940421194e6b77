//! `<script>` (2.0 §5.3.12) and `<data>` (2.1 §5): executable content that fetches a resource and waits for it (an
//! inline script runs at once).

use std::sync::Arc;

use super::namelist::with_query;
use crate::dom::{Document, NodeId};
use crate::request::{FetchKind, Method};
use crate::session::{Event, FetchPurpose, Session, Wait};

impl Session {
    pub(crate) fn exec_script(&mut self, doc: &Arc<Document>, id: NodeId) {
        let src = match (doc.attr(id, "src"), doc.attr(id, "srcexpr")) {
            (Some(s), _) => Ok(Some(s.to_string())),
            (None, Some(x)) => self.eval_string(x).map(Some),
            _ => Ok(None),
        };
        match src {
            Err(ev) => self.fail(doc, id, ev),
            Ok(Some(u)) => match self.resolve_in(doc, &u) {
                Err(ev) => self.fail(doc, id, ev),
                Ok(url) => {
                    let req = self.request(doc, id, url, FetchKind::Script, Method::Get, None);
                    let fid = self.fetch(req);
                    self.wait = Some(Wait::Fetch {
                        id: fid,
                        purpose: FetchPurpose::Script {
                            charset: doc.attr(id, "charset").map(str::to_string),
                        },
                    });
                }
            },
            Ok(None) => {
                let body = doc.text_content(id);
                let chain = self.chain();
                let refs: Vec<&crate::script::Scope> = chain.iter().collect();
                if let Err(e) = self.js.run_script(&refs, &body) {
                    self.fail(
                        doc,
                        id,
                        Event {
                            name: "error.semantic".into(),
                            message: Some(e.0),
                        },
                    );
                }
            }
        }
    }

    pub(crate) fn exec_data(&mut self, doc: &Arc<Document>, id: NodeId) {
        let r = (|| -> Result<(), Event> {
            let src = match (doc.attr(id, "src"), doc.attr(id, "srcexpr")) {
                (Some(s), _) => s.to_string(),
                (None, Some(x)) => self.eval_string(x)?,
                _ => {
                    return Err(Event {
                        name: "error.badfetch".into(),
                        message: Some("<data> without src".into()),
                    })
                }
            };
            let mut url = self.resolve_in(doc, &src)?;
            let pairs = match doc.attr(id, "namelist") {
                Some(n) => self.namelist(n)?,
                None => Vec::new(),
            };
            let post = doc
                .attr(id, "method")
                .map(|m| m.eq_ignore_ascii_case("post"))
                .unwrap_or(false);
            let (method, body) = if post {
                // 2.1 §5: enctype as for <submit>.
                let multipart = doc.attr(id, "enctype") == Some("multipart/form-data");
                (Method::Post, Some(self.form_body(&pairs, multipart)))
            } else {
                url = with_query(&url, &pairs);
                (Method::Get, None)
            };
            // A fragment names nothing the server sees.
            url.truncate(url.find('#').unwrap_or(url.len()));
            let req = self.request(doc, id, url, FetchKind::Data, method, body);
            let fid = self.fetch(req);
            let name = doc.attr(id, "name").map(str::to_string);
            self.wait = Some(Wait::Fetch {
                id: fid,
                purpose: FetchPurpose::Data { name },
            });
            Ok(())
        })();
        if let Err(ev) = r {
            self.fail(doc, id, ev);
        }
    }
}
