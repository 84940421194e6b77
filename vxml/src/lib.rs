//! vxgate VoiceXML 2.1 interpreter.
//!
//! The interpreter is driven by inputs and outputs: it asks the platform for fetches, prompts, input collection and
//! transfers, and is told what happened. It knows nothing of sockets, RTP or SIP, so the same core runs under the
//! gateway, the load generator and unit tests on a virtual clock.

pub mod fetch;
pub mod grammar;
pub mod request;
