//! SIP datagrams before the stack sees them: `sip::screen::screen` (400/501 stateless answers), plus the header
//! value parsers of the call identity (`Cisco-Guid`, `X-Cisco-CVP`-style app info, URI user parts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vxgate::sip::{identity, screen, AppInfo, CallGuid};

fuzz_target!(|data: &[u8]| {
    let _ = screen::screen(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = CallGuid::parse(s);
        let _ = AppInfo::parse(s);
        let _ = identity::uri_user(s);
    }
});
