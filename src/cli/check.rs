//! `vxgate check CONFIG`: validates a gateway config file and prints each problem with its line.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{ConfigError, GatewayConfig};

/// Options of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file (TOML) to validate.
    pub config: PathBuf,
}

/// Runs `check`: exit 0 and a summary when the file is valid, exit 1 and one `FILE:LINE: problem` per problem
/// otherwise.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match GatewayConfig::load(&args.config) {
        Ok(cfg) => {
            println!("{}: ok", args.config.display());
            for p in &cfg.dial_peers {
                println!(
                    "  dial-peer {} service {} incoming called-number {} codec {} max-conn {}",
                    p.tag,
                    p.service,
                    p.pattern,
                    p.codec.as_str(),
                    p.max_conn.map_or("-".to_string(), |n| n.to_string())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ConfigError::Invalid(problems)) => {
            for p in &problems {
                println!("{}:{}: {}", args.config.display(), p.line, p.message);
            }
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
