//! SDP offers and answers (RFC 3264, RFC 4566): `sip::sdp::negotiate` for each codec and DTMF relay, the answer
//! built from it, and `accept_answer` to the gateway's own offer.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use vxgate::dialpeer::{Codec, DtmfRelay};
use vxgate::sip::sdp;

fuzz_target!(|data: &[u8]| {
    let local: SocketAddr = "127.0.0.1:40000".parse().expect("literal address");
    for codec in [Codec::G711Ulaw, Codec::G711Alaw] {
        for relay in [DtmfRelay::RtpNte, DtmfRelay::Inband] {
            match sdp::negotiate(data, codec, relay) {
                Ok(n) => {
                    let _ = sdp::answer(&n, local, 1, 1);
                }
                Err(e) => {
                    let _ = (e.to_string(), e.sip_status());
                }
            }
            let own = sdp::own_offer(codec, relay);
            let _ = sdp::accept_answer(&own, data);
        }
    }
});
