//! Capture for recording: a small jitter buffer, decode to PCM, max duration and final silence.
