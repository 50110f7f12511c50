//! The exporter binary as the bench runs it: against a kubeconfig, on ports it chose.
//!
//! It is started with `--port 0 --telemetry-port 0` and its ports are read from its
//! `listening` log line, so no port is picked here and then lost to another process before
//! the exporter binds it. Its other log lines are passed on when they are warnings or
//! errors (the bench's output stays what it was with `--log-level warn`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context};

/// How long the exporter may take to bind its ports.
const LISTEN_DEADLINE: Duration = Duration::from_secs(60);

/// A child process, killed (by its PID) and reaped on drop.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An exporter process and its two ports.
pub struct Exporter {
    pub process: Running,
    pub port: u16,
    pub telemetry_port: u16,
}

impl Exporter {
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }
}

/// Starts the exporter against `kubeconfig` with `extra` flags; returns once it listens.
pub fn spawn(kubeconfig: &Path, extra: &[&str]) -> anyhow::Result<Exporter> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--host", "127.0.0.1", "--telemetry-host", "127.0.0.1"])
        .args(["--port", "0", "--telemetry-port", "0"])
        .args(["--log-level", "info"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the exporter binary")?;
    let stderr = child.stderr.take().context("the exporter's stderr")?;
    let process = Running(child);
    let (ports_tx, ports) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(found) = listening_ports(&line) {
                let _ = ports_tx.send(found);
            } else if line.contains(" WARN ") || line.contains(" ERROR ") {
                eprintln!("{line}");
            }
        }
    });
    let Ok((port, telemetry_port)) = ports.recv_timeout(LISTEN_DEADLINE) else {
        bail!("the exporter did not log its ports within {LISTEN_DEADLINE:?} (ended, or still starting)");
    };
    Ok(Exporter {
        process,
        port,
        telemetry_port,
    })
}

/// The ports of the `listening metrics=HOST:PORT telemetry=HOST:PORT` line.
fn listening_ports(line: &str) -> Option<(u16, u16)> {
    if !line.contains("listening") {
        return None;
    }
    let port_of = |key: &str| -> Option<u16> {
        let needle = format!("{key}=");
        let rest = &line[line.find(&needle)? + needle.len()..];
        let address = rest.split(' ').next()?;
        address.rsplit_once(':')?.1.parse().ok()
    };
    Some((port_of("metrics")?, port_of("telemetry")?))
}
