//! Helpers shared by the integration test modules.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the `vxgate` binary built for these tests.
pub fn vxgate_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vxgate"))
}

/// Runs `vxgate check` on the config file `path`; its output, and its stdout and stderr as one text.
pub fn vxgate_check(path: &Path) -> (Output, String) {
    let out = Command::new(vxgate_bin())
        .arg("check")
        .arg(path)
        .output()
        .expect("run check");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out, text)
}
