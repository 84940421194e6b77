//! Text of fetched resources in the encoding they declare.
//!
//! VoiceXML documents and `<data>` XML name their encoding in the XML declaration (XML 1.0 §4.3.3), scripts in the
//! `charset` attribute of `<script>` (VoiceXML 2.0 §5.3.12) or the `Content-Type` charset parameter; UTF-8 is the
//! default. Besides UTF-8 the encodings that pages in the field use are decoded here: ISO-8859-1 (and its aliases),
//! US-ASCII and windows-1252; UTF-16 with a byte order mark. Text in any other encoding is read when it is valid
//! UTF-8 (plain ASCII is), and refused with a clear error otherwise.

/// Decodes `body` as text: a byte order mark wins, then (with `xml`) the XML declaration's `encoding` (servers
/// often label every response with a default charset, the document knows its own), then the `declared` charset
/// (`<script charset>` or the `Content-Type` parameter), else UTF-8.
pub fn decode(body: &[u8], declared: Option<&str>, xml: bool) -> Result<String, String> {
    if let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest);
    }
    if body.starts_with(b"\xFF\xFE") || body.starts_with(b"\xFE\xFF") {
        return utf16(body);
    }
    let from_decl = if xml { xml_encoding(body) } else { None };
    let label = from_decl
        .or_else(|| declared.map(str::to_string))
        .unwrap_or_default();
    let label = label.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    match label.as_str() {
        // US-ASCII is a subset of UTF-8 (and a mislabelled UTF-8 page is still read).
        "" | "utf-8" | "utf8" | "us-ascii" | "ascii" => utf8(body),
        "iso-8859-1" | "iso8859-1" | "latin1" | "latin-1" | "l1" | "iso_8859-1" | "cp819"
        | "iso-ir-100" => Ok(body.iter().map(|&b| char::from(b)).collect()),
        "windows-1252" | "cp1252" => Ok(body.iter().map(|&b| cp1252(b)).collect()),
        // An encoding not decoded here is still readable when the text is plain ASCII or UTF-8.
        other => utf8(body).map_err(|_| format!("unsupported character encoding {other:?}")),
    }
}

/// The `charset` parameter of a `Content-Type` value.
pub fn content_type_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    })
}

fn utf8(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|e| format!("not utf-8: {e}"))
}

fn utf16(b: &[u8]) -> Result<String, String> {
    let le = b.starts_with(b"\xFF\xFE");
    let body = b.get(2..).unwrap_or_default();
    if body.len() % 2 != 0 {
        return Err("utf-16 text with an odd number of bytes".into());
    }
    let units = body.chunks_exact(2).map(|c| {
        if le {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|e| format!("bad utf-16: {e}"))
}

/// The `encoding` of an XML declaration at the start of `body` (`<?xml version="1.0" encoding="..."?>`).
fn xml_encoding(body: &[u8]) -> Option<String> {
    let head = body.get(..body.len().min(200))?;
    let head = String::from_utf8_lossy(head);
    let decl = head.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

/// windows-1252: ISO-8859-1 with printable characters in 0x80-0x9F (WHATWG Encoding index).
fn cp1252(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => HIGH
            .get(usize::from(b - 0x80))
            .and_then(|&u| char::from_u32(u32::from(u)))
            .unwrap_or(char::REPLACEMENT_CHARACTER),
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_declaration_names_latin1() {
        let body = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><vxml>caf\xE9</vxml>";
        assert_eq!(
            decode(body, None, true).unwrap(),
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><vxml>café</vxml>"
        );
        // Without the declaration the same bytes are not UTF-8.
        assert!(decode(b"<vxml>caf\xE9</vxml>", None, true).is_err());
    }

    #[test]
    fn declared_charset_wins_and_utf8_is_the_default() {
        assert_eq!(
            decode(b"x='\xE9'", Some("iso-8859-1"), false).unwrap(),
            "x='é'"
        );
        assert_eq!(decode("é".as_bytes(), None, false).unwrap(), "é");
        assert_eq!(decode(b"\x80", Some("windows-1252"), false).unwrap(), "€");
        assert!(decode(b"\xE9", Some("klingon"), false).is_err());
        assert_eq!(decode(b"x", Some("klingon"), false).unwrap(), "x");
        assert_eq!(
            content_type_charset("text/javascript; charset=\"ISO-8859-1\""),
            Some("ISO-8859-1")
        );
        assert_eq!(content_type_charset("text/javascript"), None);
    }

    #[test]
    fn the_xml_declaration_beats_a_content_type_default() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><vxml>café</vxml>";
        assert_eq!(
            decode(body.as_bytes(), Some("ISO-8859-1"), true).unwrap(),
            body
        );
        // Without a declaration the Content-Type charset applies.
        assert_eq!(
            decode(b"<vxml>caf\xe9</vxml>", Some("ISO-8859-1"), true).unwrap(),
            "<vxml>café</vxml>"
        );
    }

    #[test]
    fn byte_order_marks() {
        assert_eq!(decode(b"\xEF\xBB\xBFab", None, true).unwrap(), "ab");
        assert_eq!(decode(b"\xFF\xFEa\x00b\x00", None, true).unwrap(), "ab");
        assert_eq!(decode(b"\xFE\xFF\x00a\x00b", None, true).unwrap(), "ab");
    }
}
