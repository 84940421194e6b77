//! Helpers shared by the integration test modules.

#![allow(dead_code)]

use std::path::PathBuf;

/// Path of the `vxgate` binary built for these tests.
pub fn vxgate_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vxgate"))
}
