//! DTMF: RFC 4733 telephone-event receive and send, and in-band (Goertzel) detection.
