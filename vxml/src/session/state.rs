//! The interpreter's state between steps: events in flight, frames of executable content, dialogs and execution
//! contexts, what the session waits for and what it does next.

use std::collections::HashMap;
use std::sync::Arc;

use super::Collecting;
use crate::dom::{Document, NodeId};
use crate::io::{EndReason, FetchId};
use crate::request::FetchRequest;
use crate::script::{JsValue, Scope};

/// An event in flight.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub name: String,
    pub message: Option<String>,
}

/// A resumable piece of executable content: run `parent`'s children from `idx`.
#[derive(Clone)]
pub(crate) struct Frame {
    pub doc: Arc<Document>,
    pub parent: NodeId,
    pub idx: usize,
    pub kind: FrameKind,
}

#[derive(Clone)]
pub(crate) enum FrameKind {
    /// Plain content (block, filled, catch, if-branch of an `<else>`).
    Plain,
    /// Plain content that starts a fresh anonymous scope when it starts (the second and later `<filled>` run for
    /// one input: 2.0 §5.1.2 gives each its own).
    Scoped,
    /// The branch of an `<if>`: stop at the next `<elseif>`/`<else>`.
    Branch,
    /// One iteration of `<foreach>` (2.1): array, next index, item variable name.
    Foreach {
        array: JsValue,
        next: u32,
        len: u32,
        item: String,
    },
    /// `<vxml>` initialisation: only var, script, data (and catch/property/meta are skipped).
    DocInit,
    /// Dialog initialisation: var, script, and form item variables.
    DialogInit,
}

/// What to do when an [`Exec`] finishes without a transition.
#[derive(Clone, Debug)]
pub(crate) enum Then {
    /// The application root has been initialised: now initialise the leaf.
    AppInitDone { fragment: Option<String> },
    /// The document has been initialised: enter the dialog.
    DocInitDone { fragment: Option<String> },
    /// The dialog has been initialised: run the FIA.
    DialogInitDone,
    /// A form item's content (block, filled) finished: back to the FIA.
    Fia,
}

/// Executable content in progress.
pub(crate) struct Exec {
    pub frames: Vec<Frame>,
    pub then: Then,
    /// The scope the content runs in when it is not the dialog's (anonymous scope of block/filled/catch).
    pub anon: Option<Scope>,
}

/// One form or menu being interpreted.
pub(crate) struct Dialog {
    pub id: NodeId,
    pub scope: Scope,
    pub prompt_counts: HashMap<NodeId, u32>,
    pub event_counts: HashMap<(Option<NodeId>, String), u32>,
    pub next_item: Option<NodeId>,
    pub current: Option<NodeId>,
    /// False after a catch that did not `<reprompt>`: the next collection queues no prompts (Appendix C).
    pub queue_prompts: bool,
    /// Form items filled by the last input (for `<filled>` with mode/namelist).
    pub just_filled: Vec<NodeId>,
}

/// An execution context: the documents and scopes of one (sub)dialog level.
pub(crate) struct Ctx {
    pub app_url: Option<String>,
    pub app_doc: Option<Arc<Document>>,
    pub app_scope: Scope,
    pub doc: Arc<Document>,
    pub doc_scope: Scope,
    pub dialog: Option<Dialog>,
    pub exec: Option<Exec>,
    /// For a subdialog context: the `<subdialog>` item in the caller.
    pub caller_item: Option<NodeId>,
}

/// Why a fetch was asked for.
pub(crate) enum FetchPurpose {
    /// A document to run (goto, submit, link, menu choice) or a subdialog's document.
    Document {
        fragment: Option<String>,
        sub: Option<SubdialogCall>,
        submit: bool,
    },
    /// The application root of a fetched leaf.
    AppRoot {
        leaf: Arc<Document>,
        fragment: Option<String>,
        sub: Option<SubdialogCall>,
    },
    /// `<script src>`: run it in the current scope and carry on; `charset` is the element's (2.0 §5.3.12).
    Script { charset: Option<String> },
    /// `<data>`: parse and bind to `name`.
    Data { name: Option<String> },
    /// An external grammar for the collection being prepared.
    Grammar { index: usize },
}

/// A pending `<subdialog>` call.
pub(crate) struct SubdialogCall {
    pub item: NodeId,
    pub params: Vec<(String, JsValue)>,
}

/// What the session is waiting for.
pub(crate) enum Wait {
    Fetch {
        id: FetchId,
        purpose: FetchPurpose,
    },
    Input(Box<Collecting>),
    Record {
        item: NodeId,
    },
    Transfer {
        item: NodeId,
        dest: String,
        kind: crate::io::TransferType,
    },
}

/// Something to do once the current step finishes.
pub(crate) enum Next {
    /// Fetch and run a document.
    Load {
        request: FetchRequest,
        fragment: Option<String>,
        sub: Option<SubdialogCall>,
        submit: bool,
    },
    /// Enter a dialog of the current document by id (`#id`), or the first one.
    EnterDialog(Option<String>),
    /// Enter this dialog (form or menu) of the current document.
    EnterDialogAt(NodeId),
    /// Return from a subdialog with these values (or an event).
    Return {
        values: Vec<(String, JsValue)>,
        event: Option<Event>,
    },
    /// End the session.
    End(EndReason),
}
