//! Packet captures (pcap, pcapng): `dtmf::pcap::read_capture`, then offline DTMF detection over the datagrams.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vxgate_media::dtmf::pcap;
use vxgate_media::dtmf::{detect_datagrams, DetectOptions};

fuzz_target!(|data: &[u8]| {
    let _ = pcap::is_capture(data);
    match pcap::read_capture(data) {
        Ok(cap) => {
            let origin = cap.first_packet.unwrap_or(Duration::ZERO);
            let opts = DetectOptions::default();
            for d in detect_datagrams(&cap.datagrams, origin, &opts) {
                let _ = d.to_string();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
