//! vxgate media: everything that touches audio samples and RTP, and nothing that knows of SIP or VoiceXML.
//!
//! - [`g711`]: ITU-T G.711 µ-law and A-law, bit-exact with the G.191 reference, with SIMD fast paths.
