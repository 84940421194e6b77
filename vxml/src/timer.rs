//! All timers of one session in one table, indexed by [`Timer`] (the quinn pattern): the platform asks
//! [`Timers::next`] when to wake the session and the session checks which timers expired.

use std::time::Instant;

/// The session's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// No input within `timeout` after the prompts finished.
    NoInput = 0,
    /// No further digit within `interdigittimeout` (or `termtimeout` after a complete match).
    InterDigit = 1,
    /// Start playing `fetchaudio` when a document fetch has taken `fetchaudiodelay` (2.0 §6.1.1).
    FetchAudio = 2,
    /// fetchaudio has played for `fetchaudiominimum` (2.0 §6.3.5): a document that arrived earlier may be used.
    FetchAudioMinimum = 3,
}

const COUNT: usize = 4;

/// Deadlines, one slot per [`Timer`].
#[derive(Debug, Clone, Default)]
pub struct Timers {
    slots: [Option<Instant>; COUNT],
}

impl Timers {
    /// Arms a timer.
    pub fn set(&mut self, t: Timer, at: Instant) {
        self.slots[t as usize] = Some(at);
    }

    /// Disarms a timer.
    pub fn stop(&mut self, t: Timer) {
        self.slots[t as usize] = None;
    }

    /// Disarms every timer.
    pub fn stop_all(&mut self) {
        self.slots = [None; COUNT];
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Whether a timer is armed and due at `now`; a due timer is disarmed.
    pub fn expired(&mut self, t: Timer, now: Instant) -> bool {
        match self.slots[t as usize] {
            Some(at) if at <= now => {
                self.slots[t as usize] = None;
                true
            }
            _ => false,
        }
    }
}
