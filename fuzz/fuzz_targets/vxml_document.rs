//! VoiceXML documents: `dom::Document::parse` (well-formedness), `validate::validate` (schema rules) and the DOM
//! view scripts get (`xmldom::to_json`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vxgate_vxml::dom::Document;
use vxgate_vxml::{validate, xmldom};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Document::parse("http://127.0.0.1/fuzz.vxml", text.to_string()) {
        Ok(doc) => {
            let _ = validate::validate(&doc);
            let _ = xmldom::to_json(&doc);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
