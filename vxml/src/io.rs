//! What a [`crate::Session`] asks of the platform ([`Output`]) and what the platform tells it ([`Input`]).

use std::time::Duration;

use crate::request::{FetchError, FetchRequest, FetchResponse};

/// Identifies one fetch the session asked for; the answer must carry the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FetchId(pub u64);

/// One piece of a prompt, in play order.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptItem {
    /// Text to speak (TTS); the runner prints it as `say:`.
    Text(String),
    /// Audio to play from a URL; when it cannot be fetched or played, play `fallback` instead (2.0 §4.1.3).
    Audio {
        /// Absolute URL.
        url: String,
        /// The fetchtimeout in force for the audio.
        timeout: Duration,
        /// The `<audio>` element's content.
        fallback: Vec<PromptItem>,
    },
    /// Silence.
    Break(Duration),
    /// A `<mark>` (2.1): its name is reported back when playback passes it.
    Mark(String),
}

/// How a caller may barge in (2.0 §4.1.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BargeInType {
    /// Any DTMF or speech interrupts.
    Speech,
    /// Only input that matches an active grammar interrupts.
    Hotword,
}

/// The DTMF timers of one collection (2.0 §6.3.3), for information: the session runs them itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectTimeouts {
    /// No-input timeout.
    pub timeout: Duration,
    /// Time allowed between digits.
    pub interdigittimeout: Duration,
    /// Time to wait for the termchar after a complete match.
    pub termtimeout: Duration,
    /// The terminating digit, if any.
    pub termchar: Option<char>,
}

/// How a `<transfer>` is placed (2.0 §2.3.7, 2.1 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferType {
    /// Blind: the session ends when the call is handed over.
    Blind,
    /// Bridge: the caller is connected and comes back when the far end hangs up.
    Bridge,
    /// Consultation (2.1): like blind, but the outcome of the attempt is reported.
    Consultation,
}

/// How a transfer attempt ended; becomes the transfer item's value or an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    /// Blind/consultation transfer succeeded; the caller is gone.
    Transferred,
    /// The callee was busy.
    Busy,
    /// The callee did not answer within connecttimeout.
    NoAnswer,
    /// The network refused the call.
    NetworkBusy,
    /// Bridge ended by the caller (or by a hotword).
    NearEndDisconnect,
    /// Bridge ended by the callee.
    FarEndDisconnect,
    /// Bridge ended by the network.
    NetworkDisconnect,
    /// Bridge ended because maxtime elapsed.
    MaxTimeDisconnect,
    /// Anything else.
    Unknown,
    /// The attempt failed in a way 2.0 §2.3.7.3 names as an event rather than a value: `error.connection.noroute`,
    /// `error.connection.baddestination`, `error.connection.noauthorization`, `error.connection.noresource`,
    /// `error.connection.protocol.<nnn>`, `error.unsupported.transfer.<type>`, `error.unsupported.uri`. The
    /// interpreter throws it at the transfer item instead of filling the item.
    Error(String),
}

impl TransferOutcome {
    /// The value the transfer form item gets (2.0 §2.3.7.2).
    pub fn value(&self) -> &'static str {
        match self {
            TransferOutcome::Transferred => "unknown",
            TransferOutcome::Busy => "busy",
            TransferOutcome::NoAnswer => "noanswer",
            TransferOutcome::NetworkBusy => "network_busy",
            TransferOutcome::NearEndDisconnect => "near_end_disconnect",
            TransferOutcome::FarEndDisconnect => "far_end_disconnect",
            TransferOutcome::NetworkDisconnect => "network_disconnect",
            TransferOutcome::MaxTimeDisconnect => "maxtime_disconnect",
            TransferOutcome::Unknown | TransferOutcome::Error(_) => "unknown",
        }
    }
}

/// Why the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// `<exit>` or the document ran to its end.
    Exit,
    /// `<disconnect>`.
    Disconnect,
    /// The caller hung up.
    Hangup,
    /// A blind/consultation transfer handed the call over.
    Transfer(String),
    /// An uncaught error event (name), or a platform limit.
    Error(String),
}

/// What the session asks the platform to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Fetch a resource; answer with [`Input::Fetched`] with the same id.
    Fetch {
        /// Correlates the answer.
        id: FetchId,
        /// What to fetch.
        request: FetchRequest,
    },
    /// Play these prompts; answer with [`Input::PlayDone`] when finished (or after [`Output::StopPlay`]).
    Play {
        /// Prompt pieces in order.
        prompts: Vec<PromptItem>,
        /// Whether caller input may interrupt.
        bargein: bool,
        /// Which input interrupts.
        bargeintype: BargeInType,
    },
    /// The caller barged in: stop playing at once (then send [`Input::PlayDone`]).
    StopPlay,
    /// Listen for DTMF now and send each digit as [`Input::Dtmf`]; the session runs the timers.
    Collect {
        /// The timers in force.
        timeouts: CollectTimeouts,
        /// Number of DTMF grammars active.
        grammars: usize,
    },
    /// Collection is over; stop sending digits (they would be buffered as type-ahead).
    StopCollect,
    /// Record the caller; answer with [`Input::RecordDone`].
    Record {
        /// Maximum recording time.
        maxtime: Duration,
        /// Silence that ends the recording.
        finalsilence: Duration,
        /// Whether a DTMF key ends the recording.
        dtmfterm: bool,
        /// Play a beep first.
        beep: bool,
        /// Requested media type.
        media_type: String,
    },
    /// Transfer the call; answer with [`Input::TransferResult`].
    Transfer {
        /// Destination URI (`tel:`, `sip:`).
        dest: String,
        /// Blind, bridge or consultation.
        kind: TransferType,
        /// How long to wait for an answer.
        connecttimeout: Duration,
        /// Maximum bridge time (zero: no limit).
        maxtime: Duration,
        /// Application-to-application information for the far end.
        aai: Option<String>,
    },
    /// A `<log>` message (label, text).
    Log {
        /// The `label` attribute.
        label: Option<String>,
        /// The text.
        text: String,
    },
    /// Hang up the caller (`<disconnect>`); the session carries on with the `connection.disconnect.hangup` handler.
    Disconnect,
    /// `<exit>`: the value for the platform (`expr` result, or namelist as JSON).
    Exit {
        /// The returned value, as JSON.
        value: Option<serde_json::Value>,
    },
    /// The session is over; nothing more will come out.
    End(EndReason),
}

/// What the platform tells the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The answer to a [`Output::Fetch`].
    Fetched {
        /// The id the fetch was asked with.
        id: FetchId,
        /// The response or why it failed.
        result: Result<FetchResponse, FetchError>,
    },
    /// The last [`Output::Play`] finished (or was stopped).
    PlayDone,
    /// The caller pressed a key (`0`-`9`, `*`, `#`, `A`-`D`).
    Dtmf(char),
    /// A recording ended.
    RecordDone {
        /// The audio (empty when the caller said nothing).
        audio: Vec<u8>,
        /// Its media type.
        media_type: String,
        /// Length of the recording.
        duration: Duration,
        /// The DTMF key that ended it, if any.
        termchar: Option<char>,
        /// Whether maxtime ended it.
        maxtime: bool,
    },
    /// A transfer attempt ended.
    TransferResult {
        /// The outcome.
        outcome: TransferOutcome,
        /// How long the bridge lasted.
        duration: Duration,
    },
    /// The caller hung up.
    Hangup,
    /// Playback passed a [`PromptItem::Mark`] (VoiceXML 2.1 §4): send it as the player reaches the mark, so a
    /// barge-in can be placed after it (`lastresult$.markname`/`marktime`).
    Mark {
        /// The mark's name.
        name: String,
    },
}
