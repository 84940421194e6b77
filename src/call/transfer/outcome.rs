//! The far end's final answer as a VoiceXML transfer outcome or event (2.0 §2.3.7.2.2, §2.3.7.3).

use vxgate_vxml::io::TransferOutcome;

/// The outcome value of a final non-2xx answer of the far end (VoiceXML 2.0 §2.3.7.2.2).
pub fn outcome_of_status(code: u16) -> TransferOutcome {
    match code {
        486 | 600 => TransferOutcome::Busy,
        408 | 480 | 487 => TransferOutcome::NoAnswer,
        500..=599 => TransferOutcome::NetworkBusy,
        // 2.0 §2.3.7.3 events: the destination does not exist / is malformed (RFC 3261 §21.4.5, §21.4.22,
        // §21.6.3), authorization refused (§21.4.2, §21.4.4, §21.4.8), any other failure of the protocol.
        404 | 484 | 604 => TransferOutcome::Error("error.connection.baddestination".into()),
        401 | 403 | 407 => TransferOutcome::Error("error.connection.noauthorization".into()),
        300..=699 => TransferOutcome::Error(format!("error.connection.protocol.{code}")),
        _ => TransferOutcome::Unknown,
    }
}
