//! vxgate VoiceXML 2.1 interpreter.
//!
//! The interpreter is driven by inputs and outputs: it asks the platform for fetches, prompts, input collection and
//! transfers, and is told what happened. It knows nothing of sockets, RTP or SIP, so the same core runs under the
//! gateway, the load generator and unit tests on a virtual clock.
//!
//! # Driving a [`Session`]
//!
//! ```text
//! let mut s = Session::new(SessionConfig::default(), "http://127.0.0.1/app.vxml")?;
//! s.start(now);
//! loop {
//!     while let Some(out) = s.poll_output() {
//!         match out {
//!             Output::Fetch { id, request } => /* fetch (vxgate_vxml::fetch), then */
//!                 s.handle_input(now, Input::Fetched { id, result }),
//!             Output::Play { prompts, .. } => /* play; at each PromptItem::Mark: Input::Mark { name };
//!                 when done */ s.handle_input(now, Input::PlayDone),
//!             Output::Collect { .. } => /* send each key as */ s.handle_input(now, Input::Dtmf('5')),
//!             Output::Record { .. } | Output::Transfer { .. } => /* RecordDone / TransferResult */,
//!             Output::Log { .. } | Output::StopPlay | Output::StopCollect | Output::Exit { .. } => {}
//!             Output::Disconnect => /* hang up the caller; the session goes on with its handler */,
//!             Output::End(reason) => return reason,
//!         }
//!     }
//!     // sleep until s.poll_timeout() (or the next input), then s.handle_timeout(now)
//! }
//! ```
//!
//! - [`Session::handle_input`] / [`Session::handle_timeout`] take `now` from the caller; the session never reads a
//!   clock, never sleeps and does no I/O. All its timers (noinput, interdigit/termtimeout) are in one table and
//!   [`Session::poll_timeout`] says when the earliest is due.
//! - Fetches are requests ([`request::FetchRequest`], with the fetchtimeout already resolved: attribute, then
//!   property, then [`SessionConfig::fetchtimeout`]); failures come back as [`request::FetchError`] and become
//!   `error.badfetch[.http.<code>]` in the document that needed the resource.
//! - The caller hanging up is [`Input::Hangup`]: the session throws `connection.disconnect.hangup` and ends.
//! - A [`Session`] owns a QuickJS runtime and is not `Send`: keep each session on one thread (e.g. a per-core
//!   `tokio::task::LocalSet` with `spawn_local`, or a dedicated thread per group of calls).
#![warn(missing_docs)]

pub mod dom;
pub mod event;
pub mod fetch;
pub mod grammar;
pub mod io;
pub mod request;
pub mod script;
pub mod session;
pub mod timer;
pub mod validate;
pub mod xmldom;

pub use io::{
    BargeInType, CollectTimeouts, EndReason, FetchId, Input, Output, PromptItem, TransferOutcome,
    TransferType,
};
pub use session::{Session, SessionConfig, SessionVars};
