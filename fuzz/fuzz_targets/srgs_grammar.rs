//! SRGS XML grammars (W3C SRGS 1.0): `Grammar::parse_srgs`, `check`, then `matches` (DTMF keys) and
//! `matches_tokens` (voice words). The input is the grammar text, a NUL byte, then the utterance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vxgate_vxml::grammar::Grammar;

fuzz_target!(|data: &[u8]| {
    let (xml, input) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"123"[..]),
    };
    let Ok(xml) = std::str::from_utf8(xml) else {
        return;
    };
    let input = String::from_utf8_lossy(input);
    match Grammar::parse_srgs(xml, "http://127.0.0.1/fuzz.grxml") {
        Ok(g) => {
            let _ = g.check();
            let _ = g.external_refs();
            let _ = g.mode();
            let _ = g.matches(&input);
            let tokens: Vec<&str> = input.split_whitespace().collect();
            let _ = g.matches_tokens(&tokens);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
