//! VoiceXML interpreter tests against a real HTTP server on 127.0.0.1 (filled in below).
