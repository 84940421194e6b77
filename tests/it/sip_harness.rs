//! Shared pieces of the SIP tests: a `vxgate serve` child on free loopback ports and SIPp runs against it, or an
//! in-process gateway with a call server.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use vxgate::call::CallEnv;
use vxgate::cli::demo::callserver::CallServer;
use vxgate::config::GatewayConfig;
use vxgate::service::ServiceEnv;

use crate::support::vxgate_bin;

/// A port free for both UDP and TCP on 127.0.0.1 (best effort: the kernel may hand it out again before use).
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Path of a SIPp scenario in tests/sipp.
pub fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// Whether SIPp is installed (`sip-tester`); the SIP tests need it (`.ci/run` installs it).
pub fn have_sipp() -> bool {
    Command::new("sipp").arg("-v").output().is_ok()
}

/// A running `vxgate serve`, killed on drop.
pub struct Gateway {
    child: Child,
    /// The SIP address (UDP and TCP).
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Gateway {
    /// Starts `vxgate serve` with `extra` appended to a config that listens on a free port (UDP and TCP).
    /// `extra` may hold `[[dial_peer]]` entries and further `[services]`; `sip_extra` goes into `[sip]`.
    pub fn start(sip_extra: &str, extra: &str) -> Gateway {
        Gateway::start_with(sip_extra, extra, 0)
    }

    /// Like [`Gateway::start`], waiting up to `drain_secs` for calls after SIGTERM.
    pub fn start_with(sip_extra: &str, extra: &str, drain_secs: u64) -> Gateway {
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("gw.toml");
        let text = format!(
            "[sip]\nudp = \"127.0.0.1:{port}\"\ntcp = \"127.0.0.1:{port}\"\n{sip_extra}\n{extra}\n"
        );
        std::fs::write(&cfg, text).expect("write config");
        let mut child = Command::new(vxgate_bin())
            .args(["serve", "--drain-secs", &drain_secs.to_string(), "--config"])
            .arg(&cfg)
            .env("RUST_LOG", "info,rsipstack=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vxgate serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("listening") {
                    tx.send(line).ok();
                }
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        rx.recv_timeout(Duration::from_secs(20))
            .expect("vxgate serve did not start listening");
        Gateway {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
            stderr: Some(stderr),
        }
    }

    /// Sends SIGTERM: the gateway drains (new calls and OPTIONS get 503) and exits when its calls are over.
    pub fn terminate(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
    }

    /// Stops the gateway and returns its log (stderr).
    pub fn stop(mut self) -> String {
        self.child.kill().ok();
        self.child.wait().ok();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// In process: the gateway (`vxgate::sip::server`) with built-in defaults on a free UDP port of 127.0.0.1, its SIP
/// address, and the demo's call server (on the gateway's media engine) to place calls into it.
pub async fn in_process_gateway() -> (vxgate::sip::server::SipServer, SocketAddr, CallServer) {
    let mut config = GatewayConfig::default();
    config.sip.udp = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.sip.tcp = None;
    let config = Arc::new(config);
    let services = ServiceEnv::new(&config).await.expect("services");
    let engine = services.engine.clone();
    let env = Arc::new(CallEnv {
        config: config.clone(),
        services,
    });
    let server = vxgate::sip::server::start(config, env)
        .await
        .expect("gateway");
    let gw = server.udp_addr().expect("udp");
    let cs = CallServer::start(engine).await.expect("call server");
    (server, gw, cs)
}

/// Runs SIPp with scenario `name` against `gw`, calling `dnis`, with extra arguments; returns its output.
pub fn sipp(gw: &Gateway, name: &str, dnis: &str, extra: &[&str]) -> Output {
    sipp_to(gw.addr, name, dnis, extra)
}

/// As [`sipp`], against a gateway at `gw` (for a call run on another thread while the test goes on).
pub fn sipp_to(gw: SocketAddr, name: &str, dnis: &str, extra: &[&str]) -> Output {
    let local = free_port();
    let media = free_port();
    let mut cmd = Command::new("sipp");
    cmd.arg("-sf")
        .arg(scenario(name))
        .args(["-s", dnis])
        .arg(gw.to_string())
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &local.to_string(),
            "-mp",
            &media.to_string(),
        ])
        .args([
            "-nostdin",
            "-timeout",
            "30s",
            "-timeout_error",
            "-max_socket",
            "1024",
        ])
        .args(extra);
    cmd.output().expect("run sipp")
}

/// One SIPp call to the gateway at `gw`'s ringtone number, held `hold_ms` after the answer, on its own thread: a
/// call in progress while the test does something else. Join it for SIPp's output.
pub fn ringtone_call_in_background(
    gw: SocketAddr,
    hold_ms: u32,
) -> std::thread::JoinHandle<Output> {
    std::thread::spawn(move || {
        let hold = hold_ms.to_string();
        sipp_to(gw, "basic_call.xml", "91919191", &["-m", "1", "-d", &hold])
    })
}

/// A SIPp UAS playing scenario `name` on its own port on 127.0.0.1 (one call, 30 s timeout): the far end of a
/// transfer, a call server the gateway forwards to. `wait` collects how it ended.
pub struct SippUas {
    child: Child,
    /// The SIP port it listens on (UDP).
    pub port: u16,
}

impl SippUas {
    /// Starts SIPp as UAS with scenario `name`.
    pub fn start(name: &str) -> SippUas {
        let port = free_port();
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(scenario(name))
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-mp", &free_port().to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sipp uas");
        SippUas { child, port }
    }

    /// Waits for SIPp to end; its exit status and output.
    pub fn wait(self) -> Output {
        self.child.wait_with_output().expect("sipp uas output")
    }
}

/// Asserts SIPp exited 0 (every call successful), showing its output and the gateway log otherwise.
pub fn assert_sipp_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: sipp exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        tail(&String::from_utf8_lossy(&out.stdout), 60),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
