//! DTMF collection for fields, `<initial>` and menus: grammar activation (inline, builtin, external, options,
//! choices), the digit timers of 2.0 §6.3.3 and the processing of a result (shadow variables, `lastresult$`).
//!
//! Speech grammars are not activated: the platform has no recogniser, so a field whose grammars are all voice
//! grammars only ever gets `noinput` (or `nomatch` for keys), which is what a DTMF-only platform reports.
//!
//! The steps are submodules: `grammars` turns the active `<grammar>` elements into grammars (fetching external
//! ones and their rule references), `collect` listens for keys under the timers and decides match, nomatch or
//! noinput, and `results` processes a match.

mod collect;
mod grammars;
mod results;

pub use collect::Collecting;
pub(crate) use grammars::{Owner, Prep, Spec};
