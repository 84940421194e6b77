//! Integration tests: one binary, a module per topic.
//!
//! Each module is owned by the work on its topic; shared helpers live in `support`.

mod support;

mod codec;
mod dtmf;
mod fetch;
mod gateway_ivr;
mod gateway_marks;
mod gateway_media;
mod gateway_ops;
mod gateway_record;
mod gateway_survivability;
mod gateway_transfer;
mod ivr_bad_page;
mod prompt;
mod rtp;
mod sip;
mod sip_harness;
mod sip_malformed;
mod vxml;
mod w3c;
