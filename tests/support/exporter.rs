//! The exporter binary as users run it, on ports the system chose.
//!
//! The exporter is started with `--port 0 --telemetry-port 0` and its ports are read from
//! its first log line (`listening metrics=… telemetry=…`). Picking a free port here and
//! passing it on would leave a gap between the pick and the exporter's bind, in which
//! another process (an exporter of a test running beside, an outgoing connection) can
//! take the port: the exporter then fails with "Address already in use".

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long an exporter may take to bind its ports, and to become ready.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// Read timeout of one GET.
const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// An exporter process with its stderr in a log file; stopped (by its PID) and reaped
/// on drop.
pub struct ExporterProcess {
    child: Child,
    pub port: u16,
    pub telemetry_port: u16,
    pub log: PathBuf,
    /// Holds the log when the caller gave no path for it.
    _log_dir: Option<tempfile::TempDir>,
}

impl ExporterProcess {
    /// Starts the binary with `args` (and `envs`) on loopback, stderr to `log` (a
    /// temporary file when `None`), and waits (bounded) until it has bound its ports.
    /// It does not wait for `/readyz`: an exporter whose credentials are refused never
    /// becomes ready ([`ExporterProcess::wait_ready`] does).
    pub fn spawn(args: &[&str], log: Option<PathBuf>, envs: &[(&str, &str)]) -> ExporterProcess {
        let (log, log_dir) = match log {
            Some(path) => (path, None),
            None => {
                let dir = tempfile::tempdir().expect("a temp dir for the exporter's log");
                (dir.path().join("exporter.log"), Some(dir))
            }
        };
        let stderr = std::fs::File::create(&log).expect("the log file");
        let child = Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
            .args(args)
            .args(["--host", "127.0.0.1", "--telemetry-host", "127.0.0.1"])
            .args(["--port", "0", "--telemetry-port", "0"])
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the exporter binary starts");
        let mut exporter = ExporterProcess {
            child,
            port: 0,
            telemetry_port: 0,
            log,
            _log_dir: log_dir,
        };
        (exporter.port, exporter.telemetry_port) = exporter.wait_for_ports();
        exporter
    }

    /// As [`ExporterProcess::spawn`] against the cluster of `kubeconfig`, logging to `log`.
    pub fn start(kubeconfig: &std::path::Path, args: &[&str], log: PathBuf) -> ExporterProcess {
        let kubeconfig = kubeconfig.to_string_lossy();
        let mut all_args = vec!["--kubeconfig", kubeconfig.as_ref()];
        all_args.extend_from_slice(args);
        ExporterProcess::spawn(&all_args, Some(log), &[])
    }

    /// The ports of the `listening` log line; panics with the log if the process ends
    /// first or the deadline passes.
    fn wait_for_ports(&mut self) -> (u16, u16) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let log = self.log_text();
            if let Some(ports) = log.lines().find_map(listening_ports) {
                return ports;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the exporter ended ({status}) before listening; log:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "the exporter did not listen within {START_DEADLINE:?}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (bounded) until `/readyz` answers 200.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        while self.get_telemetry("/readyz").map(|(status, _)| status) != Some(200) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the exporter ended ({status}); log:\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the exporter never became ready; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// GET on the metrics port: status and body (`None`: no answer).
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        get(self.port, path)
    }

    /// As [`ExporterProcess::get`], saying what failed.
    pub fn try_get(&self, path: &str) -> Result<(u16, String), String> {
        try_get(self.port, path)
    }

    /// GET on the telemetry port.
    pub fn get_telemetry(&self, path: &str) -> Option<(u16, String)> {
        get(self.telemetry_port, path)
    }

    /// `/metrics` when it answers 200.
    pub fn metrics(&self) -> Option<String> {
        self.get("/metrics")
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| body)
    }

    /// `/metrics`, which must answer 200; otherwise panics with what went wrong and the
    /// exporter's log.
    pub fn scrape(&self) -> String {
        match self.try_get("/metrics") {
            Ok((200, body)) => body,
            Ok((status, body)) => panic!("/metrics answered {status}: {body}"),
            Err(error) => panic!(
                "/metrics did not answer ({error}); log:\n{}",
                self.log_text()
            ),
        }
    }

    /// The value of one self-metric series (telemetry port), e.g.
    /// `kube_state_metrics_list_total{resource="secrets",result="error"}`; 0 when absent.
    pub fn self_metric(&self, series: &str) -> f64 {
        let Some((_, body)) = self.get_telemetry("/metrics") else {
            return 0.0;
        };
        body.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) until the log has a line holding every one of `parts`; returns it.
    pub fn wait_for_log_line(&self, parts: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log_text();
            if let Some(line) = log
                .lines()
                .find(|line| parts.iter().all(|part| line.contains(part)))
            {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {parts:?} within {within:?}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (bounded) until `series_keys(/metrics, family, labels)` equals `truth()`
    /// (re-read every 20 rounds); returns how long that took.
    pub fn wait_until_equal(
        &self,
        family: &str,
        labels: &[&str],
        truth: impl Fn() -> BTreeSet<String>,
        within: Duration,
    ) -> Duration {
        let started = Instant::now();
        let deadline = started + within;
        let mut want = truth();
        let mut round = 0u32;
        loop {
            let got = self
                .metrics()
                .map(|body| series_keys(&body, family, labels))
                .unwrap_or_default();
            if got == want {
                return started.elapsed();
            }
            if Instant::now() >= deadline {
                let missing: Vec<_> = want.difference(&got).take(10).collect();
                let extra: Vec<_> = got.difference(&want).take(10).collect();
                panic!(
                    "{family}: /metrics never matched the apiserver within {within:?}: \
                     {} series vs {} objects; missing {missing:?}, extra {extra:?}",
                    got.len(),
                    want.len()
                );
            }
            round += 1;
            if round % 20 == 0 {
                want = truth();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ExporterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The two ports of the exporter's `listening` line, in the text or the JSON log format.
fn listening_ports(line: &str) -> Option<(u16, u16)> {
    if !line.contains("listening") {
        return None;
    }
    let port_of = |key: &str| -> Option<u16> {
        let text = [format!("{key}="), format!("\"{key}\":\"")]
            .iter()
            .find_map(|needle| Some(&line[line.find(needle.as_str())? + needle.len()..]))?;
        let address = text.split([' ', '"']).next()?;
        address.rsplit_once(':')?.1.parse().ok()
    };
    Some((port_of("metrics")?, port_of("telemetry")?))
}

/// A plain HTTP/1.0 GET against 127.0.0.1 (no client library needed for this).
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    try_get(port, path).ok()
}

/// As [`get`], saying what failed: connect, send, read (with how much had come), or the
/// response's shape.
pub fn try_get(port: u16, path: &str) -> Result<(u16, String), String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connect to port {port}: {e}"))?;
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| format!("read timeout: {e}"))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut response = Vec::new();
    if let Err(error) = stream.read_to_end(&mut response) {
        return Err(format!("read after {} bytes: {error}", response.len()));
    }
    let response =
        String::from_utf8(response).map_err(|e| format!("response is not UTF-8: {e}"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no end of header in {} bytes", response.len()))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// For each series of `family` in an exposition, its `labels` values joined by `/`
/// (e.g. `kube_pod_info` with `["namespace", "pod"]` → `"default/web-1"`).
pub fn series_keys(exposition: &str, family: &str, labels: &[&str]) -> BTreeSet<String> {
    exposition
        .lines()
        .filter_map(|line| line.strip_prefix(family)?.strip_prefix('{'))
        .map(|rest| {
            labels
                .iter()
                .map(|label| label_value(rest, label).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

fn label_value(labels: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let mut start = 0;
    // Match at a label boundary (`{` stripped, so the start or after `,`).
    loop {
        let at = labels[start..].find(&needle)? + start;
        if at == 0 || labels.as_bytes()[at - 1] == b',' {
            let value = &labels[at + needle.len()..];
            return value.find('"').map(|end| value[..end].to_string());
        }
        start = at + needle.len();
    }
}
