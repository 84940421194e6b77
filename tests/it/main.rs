//! Integration tests: one binary, a module per topic.
//!
//! Each module is owned by the work on its topic; shared helpers live in `support`.

mod support;

mod codec;
mod gateway_ivr;
mod gateway_ops;
mod sip;
mod sip_harness;
mod prompt;
mod fetch;
mod rtp;
mod vxml;
mod w3c;
mod dtmf;
