//! Per-call prompt queue: pre-encoded frames paced out as RTP payloads, barge-in, PromptDone.
