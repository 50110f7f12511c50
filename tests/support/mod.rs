//! Helpers for tests that run the exporter binary (and other programs) as a user does:
//! the exporter on ports it chose ([`exporter`]), the real apiserver of `../shared`
//! ([`realk8s`]), a plain HTTP GET, child processes stopped on drop, the list-only
//! replay of the demo recording, and "tool missing: skip, unless CI".

#![allow(dead_code, unused_imports)] // each test crate uses a different subset

pub mod exporter;
pub mod realk8s;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use exporter::{get, series_keys, try_get, ExporterProcess};

use kube_state_exporter::metrics::resources;
use kube_state_exporter::replay::{Faults, Recording, ReplayHandle, ReplayServer};

/// A child process, killed (by its own PID) and reaped when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The exporter binary, stopped on drop.
pub type Exporter = ExporterProcess;

/// Starts the binary with `args` on loopback ports it chose; waits until /readyz is 200.
pub fn start(args: &[&str]) -> (Exporter, u16) {
    start_logged(args, None, &[])
}

/// As [`start`], with the exporter's stderr written to `log` and extra environment.
pub fn start_logged(args: &[&str], log: Option<&Path>, envs: &[(&str, &str)]) -> (Exporter, u16) {
    let mut exporter = ExporterProcess::spawn(args, log.map(Path::to_path_buf), envs);
    exporter.wait_ready();
    let port = exporter.port;
    (exporter, port)
}

/// GET /metrics of an exporter started here; it must answer 200.
pub fn metrics(port: u16) -> String {
    let (status, body) = get(port, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200, "/metrics: {body}");
    body
}

pub fn recording_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings/real-1.28-demo")
}

/// A replay apiserver on 127.0.0.1 serving only the demo recording's lists (watches
/// stay open and empty), and a kubeconfig pointing at it.
pub fn start_list_only_apiserver(
    runtime: &tokio::runtime::Runtime,
    kubeconfig: &Path,
) -> ReplayHandle {
    start_list_only_replay(&recording_dir(), runtime, kubeconfig)
}

/// A replay apiserver on 127.0.0.1 serving only the lists of the recording in `dir`,
/// and a kubeconfig pointing at it. Lists only: a scrape right after start-up could
/// otherwise land before or after the recorded watch events.
pub fn start_list_only_replay(
    dir: &Path,
    runtime: &tokio::runtime::Runtime,
    kubeconfig: &Path,
) -> ReplayHandle {
    let mut recording = Recording::load(dir).expect("the recording loads");
    recording
        .manifest
        .captures
        .retain(|capture| !capture.path.contains("watch="));
    let (addr, handle) = runtime
        .block_on(ReplayServer::start(&recording, Faults::default()))
        .expect("the replay apiserver starts");
    let config = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: replay\n  cluster:\n    server: http://{addr}\n\
         users:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: replay\n  context:\n    cluster: replay\n    user: nobody\n\
         current-context: replay\n"
    );
    std::fs::write(kubeconfig, config).expect("the kubeconfig is written");
    handle
}

/// Our /metrics for the demo recording's lists (what KSM v2.11 served is
/// `recording_dir()/ksm-v2.11.0-metrics.txt`), fetched once; every process and server
/// started for it is stopped before this returns.
pub fn recorded_lists_exposition() -> String {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let _apiserver = start_list_only_apiserver(&runtime, &kubeconfig);
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let (_exporter, port) = start(&["--kubeconfig", &kubeconfig]);
    let (status, body) = get(port, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200, "/metrics status");
    body
}

/// Whether the program `name` (installed by .ci/run) can be run. Missing on a
/// developer machine: prints why the check is skipped and returns false. Missing with
/// `CI` set: panics.
pub fn tool_available(name: &str, what: &str) -> bool {
    program_runs(
        Path::new(name),
        &["--version"],
        &format!("`{name}` ({what}; Debian package `prometheus`, installed by .ci/run)"),
    )
}

/// A program the tests run: the path in the environment variable `env` if set, else
/// `name` on PATH.
pub fn program_path(env: &str, name: &str) -> PathBuf {
    std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Whether `program args` runs and succeeds. Where it does not: a failure in CI (`CI`
/// set), elsewhere a skip that says so; `what` names the program and where it comes from.
pub fn program_runs(program: &Path, args: &[&str], what: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "{what} is required in CI");
        eprintln!("skipped: {what} does not run");
    }
    ok
}

/// The `kube_<kind>_` prefix of every resource that has metrics.
pub fn served_prefixes() -> Vec<String> {
    resources::all()
        .iter()
        .filter_map(|r| {
            let first = r.families().first()?.name;
            let kind_end = first["kube_".len()..].find('_')? + "kube_".len();
            Some(first[..=kind_end].to_string())
        })
        .collect()
}

/// `promtool check metrics` on an exposition (promtool is installed by .ci/run; a
/// developer machine without it skips the check, CI fails).
pub fn promtool_check(exposition: &str) {
    // promtool is installed by .ci/run; a developer machine without it skips the check.
    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut promtool) => {
            promtool
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(exposition.as_bytes())
                .expect("promtool reads the exposition");
            let output = promtool.wait_with_output().expect("promtool finishes");
            assert!(
                output.status.success(),
                "promtool check metrics failed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("promtool not installed: skipping `promtool check metrics` (CI installs it)")
        }
        Err(error) => panic!("promtool is required in CI: {error}"),
    }
}

/// The non-zero `kube_pod_lifecycle_*` series of an exposition → value, bucket lines
/// left out (their counts follow from `_count`). Every workload with a pod has its
/// label-less series at 0 (so that `increase()` sees the first pod): only what was
/// counted is kept.
pub fn lifecycle_series(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| l.starts_with("kube_pod_lifecycle_") && !l.contains("_bucket{"))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .filter(|(_, value)| *value != 0.0)
        .collect()
}

/// A `prometheus` process running `config` (prometheus.yml text) on a loopback port that
/// the system picks (its log says which); stopped (by PID) and its storage removed on drop
/// (fields drop in order: the process, then its directory).
pub struct PrometheusProcess {
    pub child: ChildGuard,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl PrometheusProcess {
    pub fn start(config: &str) -> PrometheusProcess {
        let dir = tempfile::tempdir().expect("a temp dir for Prometheus");
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("the Prometheus config is written");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("a log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            // Port 0: a port picked here and passed on could be taken before Prometheus
            // binds it.
            .arg("--web.listen-address=127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        let mut process = PrometheusProcess {
            child: ChildGuard(child),
            dir,
            port: 0,
        };
        process.port = process.wait_for_port(Duration::from_secs(60));
        process
    }

    /// The port of the log's `msg="Listening on" address=127.0.0.1:PORT` line (the bound
    /// address; the earlier "Start listening" line repeats the flag's port 0). Panics with
    /// the log when Prometheus ends or does not listen within `limit`.
    fn wait_for_port(&mut self, limit: Duration) -> u16 {
        let started = Instant::now();
        loop {
            let log = self.log();
            let port = log
                .lines()
                .filter(|line| line.contains("msg=\"Listening on\""))
                .find_map(|line| {
                    line.split("address=")
                        .nth(1)?
                        .rsplit_once(':')?
                        .1
                        .parse()
                        .ok()
                });
            if let Some(port) = port {
                return port;
            }
            if let Ok(Some(status)) = self.child.0.try_wait() {
                panic!("prometheus ended ({status}) before listening; log:\n{log}");
            }
            if started.elapsed() > limit {
                panic!("prometheus did not listen within {limit:?}; log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

/// A container argument as the kubelet passes it: each `$(VAR)` replaced by its value in
/// `samples`. `Err` names a reference to a variable the container does not define
/// (`defined`) or that `samples` has no value for.
pub fn expand_references(
    arg: &str,
    defined: impl Fn(&str) -> bool,
    samples: &[(&str, &str)],
) -> Result<String, String> {
    let reference = regex::Regex::new(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)").expect("regex");
    let mut failure = None;
    let expanded = reference.replace_all(arg, |captures: &regex::Captures<'_>| {
        let name = &captures[1];
        let value = samples.iter().find(|(var, _)| *var == name);
        match value {
            Some((_, value)) if defined(name) => value.to_string(),
            Some(_) => {
                failure = Some(format!("$({name}) is not in the container's env"));
                String::new()
            }
            None => {
                failure = Some(format!("no sample value for $({name})"));
                String::new()
            }
        }
    });
    match failure {
        Some(failure) => Err(failure),
        None => Ok(expanded.into_owned()),
    }
}

/// Runs the built exporter with `--validate-config` and `args`; `Err` is its stderr.
pub fn validate_config(args: &[String]) -> Result<(), String> {
    let output = Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .arg("--validate-config")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the exporter runs");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}
