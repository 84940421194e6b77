//! ITU-T G.711 µ-law and A-law, bit-exact with the G.191 reference, with SIMD fast paths.
