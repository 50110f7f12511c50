//! The exporter binary as a user runs it: started on free loopback ports, waited for
//! until `/readyz` answers 200 (with a deadline), stopped by PID when dropped.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// A plain HTTP/1.0 GET against 127.0.0.1: (status, body).
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

pub struct Exporter {
    child: Child,
    pub port: u16,
    pub telemetry_port: u16,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Exporter {
    /// Starts the binary with `args` on free loopback ports, its stderr written to
    /// `log` (or discarded), and waits until it is ready.
    pub fn start(args: &[&str], log: Option<&Path>, envs: &[(&str, &str)]) -> Exporter {
        let (port, telemetry_port) = (free_port(), free_port());
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("the log file")),
            None => Stdio::null(),
        };
        let child = Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
            .args(args)
            .args(["--host", "127.0.0.1", "--telemetry-host", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .args(["--telemetry-port", &telemetry_port.to_string()])
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the exporter binary starts");
        let exporter = Exporter {
            child,
            port,
            telemetry_port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(telemetry_port, "/readyz").map(|(status, _)| status) != Some(200) {
            assert!(Instant::now() < deadline, "the exporter never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        exporter
    }

    pub fn metrics(&self) -> String {
        let (status, body) = get(self.port, "/metrics").expect("/metrics answers");
        assert_eq!(status, 200, "/metrics: {body}");
        body
    }
}
