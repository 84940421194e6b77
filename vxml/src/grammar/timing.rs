//! When DTMF collection ends (VoiceXML 2.0 §6.3.3 and the scenarios of Appendix D): the `interdigittimeout` while
//! the grammar can take more keys, the `termtimeout` once it cannot (waiting for an optional termchar), and the
//! `termchar` ending input at once. A key that leaves no possible match ends collection with `nomatch` at once.
//!
//! Pure decision logic: the interpreter owns the clock and the timers and calls [`decide`] after each key.

use std::time::Duration;

use super::MatchResult;

/// The DTMF properties in force for one collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfTiming {
    /// `interdigittimeout`: wait for another key while the grammar can still take one.
    pub interdigittimeout: Duration,
    /// `termtimeout`: wait for the termchar once the grammar is complete and cannot take more (default 0 s).
    pub termtimeout: Duration,
    /// `termchar` (default `#`); `None` when set to the empty string.
    pub termchar: Option<char>,
}

impl Default for DtmfTiming {
    /// The defaults of VoiceXML 2.0 §6.3.3 (interdigittimeout is platform-dependent; vxgate uses 3 s).
    fn default() -> Self {
        DtmfTiming {
            interdigittimeout: Duration::from_secs(3),
            termtimeout: Duration::ZERO,
            termchar: Some('#'),
        }
    }
}

/// What the collector does when a timer runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// Return the complete match.
    Accept,
    /// Raise `nomatch`.
    NoMatch,
}

/// What to do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Input is finished and matches: fill the field now.
    Accept,
    /// Input can no longer match: `nomatch` now.
    NoMatch,
    /// Wait for another key for `timeout`; if none comes, `on_timeout`.
    Wait {
        /// How long to wait.
        timeout: Duration,
        /// What expiry means.
        on_timeout: OnTimeout,
    },
}

/// Decides after a key. `result` is the grammar's answer for the keys collected so far *without* the termchar;
/// `termchar_seen` is whether the key just pressed was the termchar (which is never part of the utterance).
pub fn decide(result: &MatchResult, termchar_seen: bool, timing: &DtmfTiming) -> Decision {
    match result {
        MatchResult::Complete { .. } if termchar_seen => Decision::Accept,
        _ if termchar_seen => Decision::NoMatch,
        MatchResult::NoMatch => Decision::NoMatch,
        MatchResult::Partial => Decision::Wait {
            timeout: timing.interdigittimeout,
            on_timeout: OnTimeout::NoMatch,
        },
        MatchResult::Complete {
            can_extend: true, ..
        } => Decision::Wait {
            timeout: timing.interdigittimeout,
            on_timeout: OnTimeout::Accept,
        },
        MatchResult::Complete {
            can_extend: false, ..
        } => {
            // Appendix D: with an empty termchar there is nothing to wait for once the grammar must terminate.
            if timing.termtimeout.is_zero() || timing.termchar.is_none() {
                Decision::Accept
            } else {
                Decision::Wait {
                    timeout: timing.termtimeout,
                    on_timeout: OnTimeout::Accept,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn complete(can_extend: bool) -> MatchResult {
        MatchResult::Complete {
            interpretation: Value::from("1"),
            utterance: "1".into(),
            can_extend,
        }
    }

    #[test]
    fn follows_6_3_3() {
        let t = DtmfTiming {
            interdigittimeout: Duration::from_secs(2),
            termtimeout: Duration::from_millis(500),
            termchar: Some('#'),
        };
        assert_eq!(decide(&MatchResult::NoMatch, false, &t), Decision::NoMatch);
        assert_eq!(
            decide(&MatchResult::Partial, false, &t),
            Decision::Wait {
                timeout: Duration::from_secs(2),
                on_timeout: OnTimeout::NoMatch
            }
        );
        assert_eq!(
            decide(&complete(true), false, &t),
            Decision::Wait {
                timeout: Duration::from_secs(2),
                on_timeout: OnTimeout::Accept
            }
        );
        assert_eq!(
            decide(&complete(false), false, &t),
            Decision::Wait {
                timeout: Duration::from_millis(500),
                on_timeout: OnTimeout::Accept
            }
        );
        assert_eq!(decide(&complete(true), true, &t), Decision::Accept);
        assert_eq!(decide(&MatchResult::Partial, true, &t), Decision::NoMatch);
        let t0 = DtmfTiming::default();
        assert_eq!(decide(&complete(false), false, &t0), Decision::Accept);
        let no_termchar = DtmfTiming {
            termchar: None,
            ..t
        };
        assert_eq!(
            decide(&complete(false), false, &no_termchar),
            Decision::Accept
        );
    }
}
