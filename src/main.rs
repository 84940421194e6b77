//! The `vxgate` command: parses the command line, runs it, prints the error chain once and picks the exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match vxgate::cli::main() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("vxgate: {err:#}");
            ExitCode::FAILURE
        }
    }
}
