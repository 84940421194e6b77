//! RFC 4733 telephone-event payloads: `TelephoneEvent::parse` and `parse_all`, with a round trip through the wire
//! form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vxgate_media::dtmf::TelephoneEvent;

fuzz_target!(|data: &[u8]| {
    if let Ok(ev) = TelephoneEvent::parse(data) {
        assert_eq!(data.len(), TelephoneEvent::LEN);
        let again = TelephoneEvent::parse(&ev.to_bytes()).expect("4 bytes parse");
        assert_eq!(again, ev);
    }
    match TelephoneEvent::parse_all(data) {
        Ok(events) => {
            let n = events.count();
            assert_eq!(n * TelephoneEvent::LEN, data.len());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
