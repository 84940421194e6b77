//! Prompts: audio files decoded, resampled to 8 kHz mono and encoded to G.711 once, shared by every call.
