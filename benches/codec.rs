//! G.711 codec throughput (criterion). (Filled in by the foundation work.)
fn main() {}
