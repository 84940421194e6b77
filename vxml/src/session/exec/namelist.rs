//! What a `namelist` sends (2.0 §5.3.8): the values of its variables, as a query string or as an
//! `application/x-www-form-urlencoded` or `multipart/form-data` body.

use crate::request::Body;
use crate::session::{Event, Session};

impl Session {
    /// The `(name, value)` pairs of a namelist (values as strings).
    pub(crate) fn namelist(&mut self, names: &str) -> Result<Vec<(String, String)>, Event> {
        let mut out = Vec::new();
        for n in names.split_whitespace() {
            let v = self.eval(n)?;
            let s = if self.js.type_name(&v) == "object" {
                match self.js.to_json(&v) {
                    Some(j) => j.to_string(),
                    None => self.js.to_string(&v).unwrap_or_default(),
                }
            } else {
                self.js.to_string(&v).map_err(|e| Event {
                    name: "error.semantic".into(),
                    message: Some(e.0),
                })?
            };
            out.push((n.to_string(), s));
        }
        Ok(out)
    }

    /// The body of a POST (`<submit>`, `<data>`): `application/x-www-form-urlencoded`, or `multipart/form-data`
    /// with recordings as file parts (2.0 §5.3.8).
    pub(super) fn form_body(&self, pairs: &[(String, String)], multipart: bool) -> Body {
        if multipart {
            let boundary = format!(
                "vxgate-{:016x}",
                self.next_fetch.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1
            );
            let mut bytes = Vec::new();
            for (k, v) in pairs {
                bytes.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                if let Some((audio, ty)) = self.recordings.get(k) {
                    bytes.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{k}\"; filename=\"{k}.wav\"\r\nContent-Type: {ty}\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    bytes.extend_from_slice(audio);
                } else {
                    bytes.extend_from_slice(
                        format!("Content-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}")
                            .as_bytes(),
                    );
                }
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            Body {
                content_type: format!("multipart/form-data; boundary={boundary}"),
                bytes,
            }
        } else {
            Body {
                content_type: "application/x-www-form-urlencoded".into(),
                bytes: form_urlencode(pairs).into_bytes(),
            }
        }
    }
}

/// `uri` with the pairs added to its query (`?` or `&`), before any fragment.
pub(super) fn with_query(uri: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return uri.to_string();
    }
    let (head, frag) = match uri.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (uri, None),
    };
    let sep = if head.contains('?') { '&' } else { '?' };
    let mut out = format!("{head}{sep}{}", form_urlencode(pairs));
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// `application/x-www-form-urlencoded` (WHATWG URL §5).
fn form_urlencode(pairs: &[(String, String)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}
