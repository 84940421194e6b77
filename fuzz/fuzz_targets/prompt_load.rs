//! Prompt files from bytes (WAV, FLAC, MP3, Ogg Vorbis): `prompt::probe_bytes` and `prompt::load_bytes` in both
//! G.711 laws. Prompts are fetched over HTTP, so every byte is untrusted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vxgate_media::g711::Law;
use vxgate_media::prompt;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = prompt::probe_bytes(data, "fuzz.wav") {
        let _ = info.duration();
        let _ = info.conversion(Law::Ulaw);
    }
    for law in [Law::Ulaw, Law::Alaw] {
        match prompt::load_bytes(data, "fuzz.wav", law) {
            Ok(p) => {
                assert_eq!(p.law(), law);
                let frames = p.frames(160);
                for i in 0..frames.min(4) {
                    assert!(p.frame(i, 160).is_some());
                }
                let mut wav = Vec::new();
                prompt::write_wav(&p, &mut wav).expect("writing to a Vec");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
