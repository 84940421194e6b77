//! DTMF grammars: the builtin types of VoiceXML 2.0 Appendix P and SRGS 1.0 XML grammars in DTMF mode.
