//! The rules KSM users run (kubernetes-mixin via kube-prometheus, `tests/fixtures/consumers`,
//! a copy of `../shared/consumers`), evaluated by real Prometheus on our /metrics and on
//! what kube-state-metrics v2.11 served, for the demo cluster, must give the same results.
//!
//! - Ours: the exporter binary pointed at a list-only replay of the demo recording (as
//!   `demo_server.rs` does), /metrics fetched once. KSM's: the recording's
//!   `ksm-v2.11.0-metrics.txt`. Each text is served as-is by a tiny HTTP server on
//!   127.0.0.1, and scraped every second by its own `prometheus` process (job
//!   `kube-state-metrics`, which the mixin selects; `instance` set to one constant so the
//!   two sides' labels can match) that evaluates every rule group every second.
//! - The test waits until every group has been evaluated `EVALUATIONS` times after the
//!   first successful scrape (enough for recording rules feeding other groups and for
//!   `rate`/`changes` windows to hold two samples), then compares rule by rule:
//!   recording rules by their output series (labels, and values equal to 1e-9 relative),
//!   alerting rules by the label sets of their active alerts, pending and firing together
//!   (the mixin's `for:` clauses keep nearly all of them pending for the whole test).
//!   Every rule must evaluate without error on both sides.
//! - Values that depend on the evaluation time (`time()` in the expression) would differ
//!   by the instances' evaluation skew, a second or two: they are compared to within
//!   `TIME_TOLERANCE_SECONDS`. Today only an alert (`KubeJobNotCompleted`) uses `time()`,
//!   and alerts are compared by labels only, so the tolerance is a safeguard.
//! - A group's own `interval:` (the apiserver availability group has 3m) is dropped when
//!   the rule files are written for Prometheus, so every group evaluates each second
//!   within the test; the expressions themselves are unchanged.
//!
//! `mixin_rules_agree_with_ksm_v2_11` fails listing every rule whose results differ, with
//! the KSM families it reads that no metrics file of ours serves yet, unless the rule is in
//! `KNOWN_DIFFERENCES`. `the_comparison_sees_one_changed_pod_phase` proves the mechanism:
//! two Prometheus on the same exposition agree on every rule, and one pod's phase changed
//! from Running to Pending shows up in `KubePodNotReady`, and only in rules that read
//! `kube_pod_status_phase` (directly or through recording rules).
//!
//! Timing: about 12 s per Prometheus run (they run side by side): Prometheus hands
//! discovered targets to its scrapers on a 5 s tick, so the first scrape comes 5-6 s after
//! start; then `EVALUATIONS` one-second evaluations. `PATIENCE` bounds the wait.
//!
//! Needs `prometheus` (Debian package `prometheus`, installed by .ci/run): without it the
//! Prometheus tests skip with a message, unless `CI` is set, where they fail.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use support::{get, recording_dir, served_prefixes};

/// Rules whose results differ between our output and KSM v2.11's on purpose: rule id
/// (as printed in the report) → the reason.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

/// Evaluations of every group after the first successful scrape before comparing.
const EVALUATIONS: u64 = 5;
/// Upper bound of any wait for Prometheus (start, first scrape, evaluations).
const PATIENCE: Duration = Duration::from_secs(40);
/// Allowed difference of values computed from `time()` (evaluation skew of two instances).
const TIME_TOLERANCE_SECONDS: f64 = 120.0;
/// Relative tolerance of other values (sums may add the same floats in another order).
const RELATIVE_TOLERANCE: f64 = 1e-9;

fn consumers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/consumers")
}

// ---------------------------------------------------------------------------------------
// Rule files

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Recording,
    Alerting,
}

#[derive(Debug)]
struct RuleSpec {
    /// Unique name in reports and `KNOWN_DIFFERENCES`: the rule's name, plus its static
    /// labels and then `#n` where needed to tell rules of one name apart.
    id: String,
    name: String,
    kind: Kind,
    file: String,
    group: String,
    expr: String,
    labels: BTreeMap<String, String>,
}

impl RuleSpec {
    fn time_dependent(&self) -> bool {
        self.expr.contains("time()")
    }
}

/// The consumer rule files converted for Prometheus (plain `groups:` files in a temp dir).
struct RuleFiles {
    _dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
    rules: Vec<RuleSpec>,
    /// `prometheus_rule_group_*` label values: `<path>;<group>`.
    group_keys: Vec<String>,
    /// Groups whose own `interval:` was dropped.
    dropped_intervals: Vec<String>,
}

fn yaml_str<'a>(value: &'a Yaml, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Yaml::as_str)
}

/// Reads every `*.yaml` in `tests/fixtures/consumers` (plain rule files or PrometheusRule
/// objects), drops group intervals and writes plain rule files for Prometheus.
fn load_rule_files() -> RuleFiles {
    let dir = tempfile::tempdir().expect("a temp dir for rule files");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(consumers_dir())
        .expect("tests/fixtures/consumers is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    sources.sort();
    assert!(
        !sources.is_empty(),
        "no rule files in tests/fixtures/consumers"
    );

    let (mut paths, mut rules, mut group_keys, mut dropped_intervals) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for source in &sources {
        let file = source
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(source).expect("a readable rule file");
        let doc: Yaml = serde_norway::from_str(&text)
            .unwrap_or_else(|error| panic!("{file} is not YAML: {error}"));
        // A PrometheusRule object keeps its groups under `spec`; a rule file at the top.
        let groups = doc
            .get("spec")
            .and_then(|spec| spec.get("groups"))
            .or_else(|| doc.get("groups"))
            .and_then(Yaml::as_sequence)
            .unwrap_or_else(|| panic!("{file}: no `groups` (or `spec.groups`) list"));
        let out_path = dir.path().join(&file);
        let mut out_groups = Vec::new();
        for group in groups {
            let mut group = group.clone();
            let mapping = group
                .as_mapping_mut()
                .unwrap_or_else(|| panic!("{file}: a group is not a mapping"));
            let group_name = mapping
                .get("name")
                .and_then(Yaml::as_str)
                .unwrap_or_else(|| panic!("{file}: a group without a name"))
                .to_string();
            if let Some(interval) = mapping.remove("interval") {
                dropped_intervals.push(format!("{group_name} (interval {interval:?})"));
            }
            let group_rules = mapping
                .get("rules")
                .and_then(Yaml::as_sequence)
                .unwrap_or_else(|| panic!("{file}/{group_name}: no rules list"));
            for rule in group_rules {
                let (name, kind) = match (yaml_str(rule, "record"), yaml_str(rule, "alert")) {
                    (Some(record), None) => (record, Kind::Recording),
                    (None, Some(alert)) => (alert, Kind::Alerting),
                    _ => panic!("{file}/{group_name}: a rule is neither `record` nor `alert`"),
                };
                let expr = yaml_str(rule, "expr")
                    .unwrap_or_else(|| panic!("{file}/{group_name}/{name}: no expr"));
                let labels = rule
                    .get("labels")
                    .and_then(Yaml::as_mapping)
                    .map(|labels| {
                        labels
                            .iter()
                            .map(|(key, value)| {
                                let text = |v: &Yaml| match v {
                                    Yaml::String(s) => s.clone(),
                                    other => serde_norway::to_string(other)
                                        .unwrap_or_default()
                                        .trim()
                                        .to_string(),
                                };
                                (text(key), text(value))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                rules.push(RuleSpec {
                    id: String::new(),
                    name: name.to_string(),
                    kind,
                    file: file.clone(),
                    group: group_name.clone(),
                    expr: expr.to_string(),
                    labels,
                });
            }
            group_keys.push(format!("{};{group_name}", out_path.display()));
            out_groups.push(group);
        }
        let mut out = serde_norway::Mapping::new();
        out.insert("groups".into(), Yaml::Sequence(out_groups));
        let out_text = serde_norway::to_string(&out).expect("rule groups serialise");
        std::fs::write(&out_path, out_text).expect("the rule file is written");
        paths.push(out_path);
    }
    assign_ids(&mut rules);
    RuleFiles {
        _dir: dir,
        paths,
        rules,
        group_keys,
        dropped_intervals,
    }
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn assign_ids(rules: &mut [RuleSpec]) {
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for rule in rules.iter() {
        *by_name.entry(rule.name.as_str()).or_default() += 1;
    }
    let with_labels: Vec<String> = rules
        .iter()
        .map(|rule| match by_name.get(rule.name.as_str()) {
            Some(1) => rule.name.clone(),
            _ => format!("{}{}", rule.name, labels_text(&rule.labels)),
        })
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &with_labels {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let ids: Vec<String> = with_labels
        .iter()
        .map(|id| {
            if counts.get(id.as_str()) == Some(&1) {
                return id.clone();
            }
            let n = seen.entry(id.clone()).or_default();
            *n += 1;
            format!("{id} #{n}")
        })
        .collect();
    for (rule, id) in rules.iter_mut().zip(ids) {
        rule.id = id;
    }
}

/// Metric and recording-rule names an expression reads (identifiers outside strings).
fn expr_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars().chain(std::iter::once(' ')) {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            current.push(c);
            continue;
        }
        if !current.is_empty() && !current.starts_with(|d: char| d.is_ascii_digit()) {
            names.insert(std::mem::take(&mut current));
        }
        current.clear();
        if matches!(c, '"' | '\'' | '`') {
            quote = Some(c);
        }
    }
    names
}

/// Every name a rule reads, following recording rules to what they read.
fn names_read(rule: &RuleSpec, rules: &[RuleSpec]) -> BTreeSet<String> {
    let mut names = expr_names(&rule.expr);
    loop {
        let more: BTreeSet<String> = rules
            .iter()
            .filter(|r| r.kind == Kind::Recording && names.contains(&r.name))
            .flat_map(|r| expr_names(&r.expr))
            .filter(|name| !names.contains(name))
            .collect();
        if more.is_empty() {
            return names;
        }
        names.extend(more);
    }
}

// ---------------------------------------------------------------------------------------
// Exposition text

/// `name{labels} value` → (name, labels, value); None for comments and blank lines.
fn parse_sample(line: &str) -> Option<(String, BTreeMap<String, String>, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_string();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            inner = inner.trim_start_matches([',', ' ']);
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = inner.find('=')?;
            let key = inner[..eq].trim().to_string();
            let mut chars = inner[eq + 1..].char_indices();
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => {
                        end = Some(eq + 1 + i + 1);
                        break;
                    }
                    other => value.push(other),
                }
            }
            labels.insert(key, value);
            inner = &inner[end?..];
        }
    }
    let value = rest.split_whitespace().next()?.to_string();
    Some((name, labels, value))
}

/// A Running, ready pod of the exposition that has an owner other than a Job (so it counts
/// for `KubePodNotReady` once Pending): (namespace, pod), the first in sorted order.
fn running_ready_owned_pod(text: &str) -> Option<(String, String)> {
    let mut running = BTreeSet::new();
    let mut ready = BTreeSet::new();
    let mut owned = BTreeSet::new();
    for (name, labels, value) in text.lines().filter_map(parse_sample) {
        let key = (
            labels.get("namespace").cloned().unwrap_or_default(),
            labels.get("pod").cloned().unwrap_or_default(),
        );
        let is = |label: &str, wanted: &str| labels.get(label).map(String::as_str) == Some(wanted);
        match name.as_str() {
            "kube_pod_status_phase" if is("phase", "Running") && value == "1" => {
                running.insert(key);
            }
            "kube_pod_status_ready" if is("condition", "true") && value == "1" => {
                ready.insert(key);
            }
            "kube_pod_owner" if !is("owner_kind", "Job") => {
                owned.insert(key);
            }
            _ => {}
        }
    }
    running
        .into_iter()
        .find(|key| ready.contains(key) && owned.contains(key))
}

/// The exposition with one pod's `kube_pod_status_phase` moved from Running to Pending.
fn with_pod_pending(text: &str, namespace: &str, pod: &str) -> String {
    let mut changed = 0;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let replacement = parse_sample(line).and_then(|(name, labels, value)| {
            let this_pod = labels.get("namespace").map(String::as_str) == Some(namespace)
                && labels.get("pod").map(String::as_str) == Some(pod);
            if name != "kube_pod_status_phase" || !this_pod {
                return None;
            }
            let new_value = match (labels.get("phase").map(String::as_str), value.as_str()) {
                (Some("Running"), "1") => "0",
                (Some("Pending"), "0") => "1",
                _ => return None,
            };
            let (series, _) = line.rsplit_once(' ')?;
            Some(format!("{series} {new_value}"))
        });
        match replacement {
            Some(line) => {
                changed += 1;
                out.push_str(&line);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    assert_eq!(
        changed, 2,
        "the Running and Pending lines of {namespace}/{pod}"
    );
    out
}

// ---------------------------------------------------------------------------------------
// Processes and servers

/// Serves one fixed exposition to every request on 127.0.0.1 (a free port) until dropped.
struct ExpositionServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ExpositionServer {
    fn start(body: String) -> ExpositionServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
        let port = listener.local_addr().expect("its address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = answer(stream, &body);
                }
            }
        });
        ExpositionServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

/// Reads one request head (bounded) and answers it with the exposition.
fn answer(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..n]);
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

impl Drop for ExpositionServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A `prometheus` process scraping one exposition server (`what` names it in failures).
struct Prometheus {
    process: support::PrometheusProcess,
    what: String,
}

impl Prometheus {
    fn start(what: &str, target_port: u16, rules: &RuleFiles) -> Prometheus {
        let rule_files: Vec<String> = rules
            .paths
            .iter()
            .map(|path| format!("  - {:?}\n", path.display().to_string()))
            .collect();
        // `instance` is the server's address unless set: one constant for both sides.
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n{}\
             scrape_configs:\n\
             - job_name: kube-state-metrics\n  honor_labels: true\n\
             \x20 static_configs:\n  - targets: ['127.0.0.1:{target_port}']\n\
             \x20 relabel_configs:\n  - target_label: instance\n    replacement: kube-state-metrics\n",
            rule_files.concat()
        );
        Prometheus {
            process: support::PrometheusProcess::start(&config),
            what: what.to_string(),
        }
    }

    fn log(&self) -> String {
        self.process.log()
    }

    /// Panics with the process's log unless it is still running.
    fn check_running(&mut self) {
        if let Ok(Some(status)) = self.process.child.0.try_wait() {
            panic!(
                "prometheus ({}) exited with {status}:\n{}",
                self.what,
                self.log()
            );
        }
    }

    fn api(&self, path: &str) -> Json {
        let (status, body) = get(self.process.port, path)
            .unwrap_or_else(|| panic!("prometheus ({}) answers {path}", self.what));
        assert_eq!(status, 200, "prometheus ({}) {path}: {body}", self.what);
        let json: Json = serde_json::from_str(&body)
            .unwrap_or_else(|error| panic!("prometheus ({}) {path}: {error}", self.what));
        assert_eq!(
            json["status"], "success",
            "prometheus ({}) {path}: {body}",
            self.what
        );
        json["data"].clone()
    }

    /// Evaluations per group (`<path>;<group>`): iterations scheduled minus missed.
    fn evaluations(&self) -> BTreeMap<String, u64> {
        let Some((200, text)) = get(self.process.port, "/metrics") else {
            return BTreeMap::new();
        };
        let mut scheduled: BTreeMap<String, u64> = BTreeMap::new();
        let mut missed: BTreeMap<String, u64> = BTreeMap::new();
        for (name, labels, value) in text.lines().filter_map(parse_sample) {
            let into = match name.as_str() {
                "prometheus_rule_group_iterations_total" => &mut scheduled,
                "prometheus_rule_group_iterations_missed_total" => &mut missed,
                _ => continue,
            };
            if let (Some(group), Ok(value)) = (labels.get("rule_group"), value.parse::<f64>()) {
                into.insert(group.clone(), value as u64);
            }
        }
        scheduled
            .into_iter()
            .map(|(group, n)| {
                let missed = missed.get(&group).copied().unwrap_or(0);
                (group, n.saturating_sub(missed))
            })
            .collect()
    }

    /// The first active target's health is "up" (the API answers once Prometheus is ready).
    fn scraped(&self) -> bool {
        let Some((200, body)) = get(self.process.port, "/api/v1/targets") else {
            return false;
        };
        serde_json::from_str::<Json>(&body).is_ok_and(|json| {
            json["data"]["activeTargets"]
                .as_array()
                .is_some_and(|t| !t.is_empty() && t.iter().all(|t| t["health"] == "up"))
        })
    }
    /// Each rule's health and result, in the order of `rules.rules`.
    fn results(&mut self, rules: &RuleFiles) -> Vec<RuleResult> {
        let data = self.api("/api/v1/rules");
        let mut by_group: BTreeMap<(String, String), Vec<Json>> = BTreeMap::new();
        for group in data["groups"].as_array().into_iter().flatten() {
            let file = group["file"].as_str().unwrap_or_default();
            let file = Path::new(file)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = group["name"].as_str().unwrap_or_default().to_string();
            let list = group["rules"].as_array().cloned().unwrap_or_default();
            by_group.insert((file, name), list);
        }
        let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut out = Vec::new();
        for spec in &rules.rules {
            let key = (spec.file.clone(), spec.group.clone());
            let position = index.entry(key.clone()).or_default();
            let api_rule = by_group
                .get(&key)
                .and_then(|list| list.get(*position))
                .cloned()
                .unwrap_or_else(|| {
                    panic!(
                        "prometheus ({}) has no rule {} in {key:?}",
                        self.what, spec.id
                    )
                });
            *position += 1;
            assert_eq!(
                api_rule["name"].as_str(),
                Some(spec.name.as_str()),
                "prometheus ({}): rules of {key:?} in another order",
                self.what
            );
            let health = api_rule["health"].as_str().unwrap_or("(none)").to_string();
            let last_error = api_rule["lastError"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let outcome = match spec.kind {
                Kind::Alerting => Outcome::Alerts(
                    api_rule["alerts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|alert| {
                            matches!(alert["state"].as_str(), Some("pending" | "firing"))
                        })
                        .map(|alert| labels_text(&json_labels(&alert["labels"])))
                        .collect(),
                ),
                Kind::Recording => {
                    let mut selector = spec.labels.clone();
                    selector.insert("__name__".to_string(), spec.name.clone());
                    let query = format!(
                        "/api/v1/query?query={}",
                        percent_encode(&labels_text(&selector))
                    );
                    let data = self.api(&query);
                    Outcome::Series(
                        data["result"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|sample| {
                                let value = sample["value"][1].as_str().unwrap_or("(none)");
                                (
                                    labels_text(&json_labels(&sample["metric"])),
                                    parse_value(value),
                                )
                            })
                            .collect(),
                    )
                }
            };
            out.push(RuleResult {
                health,
                last_error,
                outcome,
            });
        }
        out
    }
}

fn json_labels(labels: &Json) -> BTreeMap<String, String> {
    labels
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_string()))
        .collect()
}

fn parse_value(text: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().unwrap_or(f64::NAN),
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Comparison

#[derive(Debug, Clone)]
enum Outcome {
    /// A recording rule's output: series labels → value.
    Series(BTreeMap<String, f64>),
    /// An alerting rule's pending and firing alerts: their label sets.
    Alerts(BTreeSet<String>),
}

impl Outcome {
    fn len(&self) -> usize {
        match self {
            Outcome::Series(series) => series.len(),
            Outcome::Alerts(alerts) => alerts.len(),
        }
    }
}

#[derive(Debug)]
struct RuleResult {
    health: String,
    last_error: String,
    outcome: Outcome,
}

fn same_value(a: f64, b: f64, time_dependent: bool) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let difference = (a - b).abs();
    if time_dependent {
        difference <= TIME_TOLERANCE_SECONDS
    } else {
        difference <= RELATIVE_TOLERANCE * a.abs().max(b.abs())
    }
}

/// How `a` (named `a_name`) and `b` differ, or None when they agree.
fn difference(
    a_name: &str,
    a: &Outcome,
    b_name: &str,
    b: &Outcome,
    time_dependent: bool,
) -> Option<String> {
    const SHOWN: usize = 6;
    let list = |items: Vec<String>| {
        let n = items.len();
        let mut shown: Vec<String> = items.into_iter().take(SHOWN).collect();
        if n > SHOWN {
            shown.push(format!("… {} more", n - SHOWN));
        }
        shown.join("\n      ")
    };
    let mut parts = Vec::new();
    match (a, b) {
        (Outcome::Series(a), Outcome::Series(b)) => {
            let only_a: Vec<String> = a.keys().filter(|k| !b.contains_key(*k)).cloned().collect();
            let only_b: Vec<String> = b.keys().filter(|k| !a.contains_key(*k)).cloned().collect();
            let values: Vec<String> = a
                .iter()
                .filter_map(|(k, va)| {
                    let vb = b.get(k)?;
                    (!same_value(*va, *vb, time_dependent))
                        .then(|| format!("{k}: {a_name} {va}, {b_name} {vb}"))
                })
                .collect();
            for (what, items) in [
                (format!("series only {a_name}"), only_a),
                (format!("series only {b_name}"), only_b),
                ("values".to_string(), values),
            ] {
                if !items.is_empty() {
                    parts.push(format!(
                        "    {what} ({}):\n      {}",
                        items.len(),
                        list(items)
                    ));
                }
            }
        }
        (Outcome::Alerts(a), Outcome::Alerts(b)) => {
            let only_a: Vec<String> = a.difference(b).cloned().collect();
            let only_b: Vec<String> = b.difference(a).cloned().collect();
            for (what, items) in [
                (format!("alerts only {a_name}"), only_a),
                (format!("alerts only {b_name}"), only_b),
            ] {
                if !items.is_empty() {
                    parts.push(format!(
                        "    {what} ({}):\n      {}",
                        items.len(),
                        list(items)
                    ));
                }
            }
        }
        _ => parts.push("    a recording rule compared with an alerting rule".to_string()),
    }
    (!parts.is_empty()).then(|| parts.join("\n"))
}

struct Comparison {
    /// (rule id, description) of rules whose results differ.
    differing: Vec<(String, String)>,
    /// Rules that did not evaluate cleanly on a side.
    unhealthy: Vec<String>,
    equal: usize,
    /// Of the equal rules: with results (series or alerts) on both sides.
    equal_non_empty: usize,
    /// Of the equal rules: ids of those with no results on either side.
    empty_on_both: Vec<String>,
    compared: usize,
}

fn compare(
    rules: &[RuleSpec],
    a_name: &str,
    a: &[RuleResult],
    b_name: &str,
    b: &[RuleResult],
) -> Comparison {
    let mut comparison = Comparison {
        differing: Vec::new(),
        unhealthy: Vec::new(),
        equal: 0,
        equal_non_empty: 0,
        empty_on_both: Vec::new(),
        compared: 0,
    };
    for ((spec, ra), rb) in rules.iter().zip(a).zip(b) {
        for (side, result) in [(a_name, ra), (b_name, rb)] {
            if result.health != "ok" || !result.last_error.is_empty() {
                comparison.unhealthy.push(format!(
                    "{} on {side}: health {:?}, error {:?}",
                    spec.id, result.health, result.last_error
                ));
            }
        }
        comparison.compared += 1;
        match difference(
            a_name,
            &ra.outcome,
            b_name,
            &rb.outcome,
            spec.time_dependent(),
        ) {
            Some(description) => comparison.differing.push((spec.id.clone(), description)),
            None => {
                comparison.equal += 1;
                if ra.outcome.len() > 0 {
                    comparison.equal_non_empty += 1;
                } else {
                    comparison.empty_on_both.push(spec.id.clone());
                }
            }
        }
    }
    comparison
}

fn summary(rules: &RuleFiles, what: &str, comparison: &Comparison) -> String {
    let files: BTreeSet<&str> = rules.rules.iter().map(|r| r.file.as_str()).collect();
    let per_file: Vec<String> = files
        .iter()
        .map(|file| {
            let n = rules.rules.iter().filter(|r| r.file == *file).count();
            format!("{n} in {file}")
        })
        .collect();
    // Rules empty on both sides agree vacuously; say how many of them read KSM families
    // at all (the others read kubelet, apiserver, cAdvisor or node-exporter series).
    let empty_reading_ksm = comparison
        .empty_on_both
        .iter()
        .filter_map(|id| rules.rules.iter().find(|r| &r.id == id))
        .filter(|rule| {
            names_read(rule, &rules.rules)
                .iter()
                .any(|name| name.starts_with("kube_"))
        })
        .count();
    format!(
        "{what}: {} rules found ({}; {} groups), {} compared: {} equal ({} with results on \
         both sides, {} empty on both, {empty_reading_ksm} of which read KSM families), \
         {} differing, {} not evaluated cleanly",
        rules.rules.len(),
        per_file.join(", "),
        rules.group_keys.len(),
        comparison.compared,
        comparison.equal,
        comparison.equal_non_empty,
        comparison.empty_on_both.len(),
        comparison.differing.len(),
        comparison.unhealthy.len()
    )
}

// ---------------------------------------------------------------------------------------
// Running Prometheus on expositions

/// How far an instance is: waiting for its first successful scrape, then (with each
/// group's evaluation count at that scrape) for `EVALUATIONS` more of every group.
enum Stage {
    Starting,
    Scraped {
        at: Duration,
        baseline: BTreeMap<String, u64>,
    },
    Evaluated {
        scraped: Duration,
        evaluated: Duration,
    },
}

/// Waits (one bounded loop over all instances, so they progress together) until every
/// instance has scraped its target and evaluated every group `EVALUATIONS` times since.
fn wait_all(instances: &mut [Prometheus], rules: &RuleFiles, started: Instant) {
    let deadline = started + PATIENCE;
    let mut stages: Vec<Stage> = instances.iter().map(|_| Stage::Starting).collect();
    loop {
        for (instance, stage) in instances.iter_mut().zip(stages.iter_mut()) {
            instance.check_running();
            match stage {
                Stage::Starting => {
                    if instance.scraped() {
                        let baseline = instance.evaluations();
                        if rules.group_keys.iter().all(|k| baseline.contains_key(k)) {
                            *stage = Stage::Scraped {
                                at: started.elapsed(),
                                baseline,
                            };
                        }
                    }
                }
                Stage::Scraped { at, baseline } => {
                    let now = instance.evaluations();
                    let done = rules.group_keys.iter().all(|key| {
                        match (baseline.get(key), now.get(key)) {
                            (Some(before), Some(after)) => *after >= before + EVALUATIONS,
                            _ => false,
                        }
                    });
                    if done {
                        *stage = Stage::Evaluated {
                            scraped: *at,
                            evaluated: started.elapsed(),
                        };
                    }
                }
                Stage::Evaluated { .. } => {}
            }
        }
        if stages.iter().all(|s| matches!(s, Stage::Evaluated { .. })) {
            break;
        }
        if Instant::now() >= deadline {
            let report: Vec<String> = instances
                .iter()
                .zip(&stages)
                .map(|(instance, stage)| {
                    let waiting = match stage {
                        Stage::Starting => "its first successful scrape".to_string(),
                        Stage::Scraped { .. } => {
                            format!("{EVALUATIONS} evaluations of every group after it")
                        }
                        Stage::Evaluated { .. } => "nothing (done)".to_string(),
                    };
                    format!(
                        "prometheus ({}) waiting for {waiting}; log:\n{}",
                        instance.what,
                        instance.log()
                    )
                })
                .collect();
            panic!("timed out after {PATIENCE:?}:\n{}", report.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for (instance, stage) in instances.iter().zip(&stages) {
        if let Stage::Evaluated { scraped, evaluated } = stage {
            eprintln!(
                "prometheus ({}): first scrape after {scraped:.1?}, {EVALUATIONS} evaluations \
                 of every group after {evaluated:.1?}",
                instance.what
            );
        }
    }
}

/// Starts one exposition server and one Prometheus per exposition, waits until every rule
/// group has been evaluated `EVALUATIONS` times on each, and returns each side's results.
fn evaluate(rules: &RuleFiles, expositions: Vec<(&str, String)>) -> Vec<Vec<RuleResult>> {
    let started = Instant::now();
    let servers: Vec<ExpositionServer> = expositions
        .iter()
        .map(|(_, text)| ExpositionServer::start(text.clone()))
        .collect();
    let mut instances: Vec<Prometheus> = expositions
        .iter()
        .zip(&servers)
        .map(|((what, _), server)| Prometheus::start(what, server.port, rules))
        .collect();
    wait_all(&mut instances, rules, started);
    eprintln!(
        "{} Prometheus instances evaluated every group {EVALUATIONS} times in {:.1?}",
        instances.len(),
        started.elapsed()
    );
    instances
        .iter_mut()
        .map(|instance| instance.results(rules))
        .collect()
    // Prometheus processes, then the servers, stop here.
}

// ---------------------------------------------------------------------------------------
// Tests

fn ksm_exposition() -> String {
    std::fs::read_to_string(recording_dir().join("ksm-v2.11.0-metrics.txt"))
        .expect("the KSM v2.11 capture")
}

#[test]
fn consumer_rules_copy_matches_shared() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/consumers");
    if !shared.is_dir() {
        eprintln!(
            "{} absent: nothing to check the copy against",
            shared.display()
        );
        return;
    }
    let names = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .expect("a readable directory")
            .map(|entry| {
                entry
                    .expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    let copy = consumers_dir();
    assert_eq!(
        names(&copy),
        names(&shared),
        "files of tests/fixtures/consumers and ../shared/consumers"
    );
    for name in names(&shared) {
        let ours = std::fs::read(copy.join(&name)).expect("the copy");
        let theirs = std::fs::read(shared.join(&name)).expect("the original");
        assert!(ours == theirs, "tests/fixtures/consumers/{name} differs from ../shared/consumers/{name}: copy it again");
    }
}

#[test]
fn rule_files_load_and_ids_are_unique() {
    let rules = load_rule_files();
    assert!(
        !rules.rules.is_empty(),
        "no rules in tests/fixtures/consumers"
    );
    let ids: BTreeSet<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), rules.rules.len(), "rule ids are unique");
    let known: BTreeSet<&str> = KNOWN_DIFFERENCES.iter().map(|(id, _)| *id).collect();
    let unknown: Vec<&&str> = known.difference(&ids).collect();
    assert!(
        unknown.is_empty(),
        "KNOWN_DIFFERENCES names no rule: {unknown:?}"
    );
    eprintln!(
        "{} rules in {} groups; group intervals dropped: {:?}",
        rules.rules.len(),
        rules.group_keys.len(),
        rules.dropped_intervals
    );
}

#[test]
fn comparison_of_outcomes() {
    let series = |pairs: &[(&str, f64)]| {
        Outcome::Series(pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    };
    let alerts = |labels: &[&str]| Outcome::Alerts(labels.iter().map(|l| l.to_string()).collect());
    let a = series(&[("{x=\"1\"}", 0.1 + 0.2), ("{x=\"2\"}", f64::NAN)]);
    let b = series(&[("{x=\"1\"}", 0.3), ("{x=\"2\"}", f64::NAN)]);
    assert_eq!(
        difference("a", &a, "b", &b, false),
        None,
        "float noise and NaN are equal"
    );
    let c = series(&[("{x=\"1\"}", 0.31), ("{x=\"2\"}", f64::NAN)]);
    assert!(difference("a", &a, "c", &c, false).is_some_and(|d| d.contains("values (1)")));
    let d = series(&[("{x=\"1\"}", 0.3)]);
    assert!(difference("a", &a, "d", &d, false).is_some_and(|d| d.contains("series only a (1)")));
    let now = series(&[("{}", 1_000_000.0)]);
    let later = series(&[("{}", 1_000_002.5)]);
    assert!(difference("a", &now, "b", &later, false).is_some());
    assert_eq!(
        difference("a", &now, "b", &later, true),
        None,
        "time() skew is tolerated"
    );
    let one = alerts(&["{alertname=\"A\", pod=\"p\"}"]);
    let two = alerts(&[
        "{alertname=\"A\", pod=\"p\"}",
        "{alertname=\"A\", pod=\"q\"}",
    ]);
    assert_eq!(difference("a", &one, "b", &one.clone(), false), None);
    assert!(
        difference("a", &one, "b", &two, false).is_some_and(|d| d.contains("alerts only b (1)"))
    );
}

#[test]
fn exposition_edit_moves_one_pod_to_pending() {
    let ksm = ksm_exposition();
    let (namespace, pod) = running_ready_owned_pod(&ksm).expect("a Running, ready, owned pod");
    let edited = with_pod_pending(&ksm, &namespace, &pod);
    let phases = |text: &str| -> BTreeSet<(String, String, String)> {
        text.lines()
            .filter_map(parse_sample)
            .filter(|(name, _, value)| name == "kube_pod_status_phase" && value == "1")
            .map(|(_, labels, _)| {
                let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
                (get("namespace"), get("pod"), get("phase"))
            })
            .collect()
    };
    let (before, after) = (phases(&ksm), phases(&edited));
    let gone: Vec<_> = before.difference(&after).collect();
    let new: Vec<_> = after.difference(&before).collect();
    assert_eq!(
        gone,
        [&(namespace.clone(), pod.clone(), "Running".to_string())]
    );
    assert_eq!(new, [&(namespace, pod, "Pending".to_string())]);
    assert_eq!(ksm.lines().count(), edited.lines().count());
}

/// Two Prometheus on KSM's exposition agree on every rule; a third, on the same text with
/// one pod moved from Running to Pending, differs in `KubePodNotReady` and only in rules
/// that read `kube_pod_status_phase`.
#[test]
fn the_comparison_sees_one_changed_pod_phase() {
    if !support::tool_available("prometheus", "evaluating the mixin rules") {
        return;
    }
    let rules = load_rule_files();
    let ksm = ksm_exposition();
    let (namespace, pod) = running_ready_owned_pod(&ksm).expect("a Running, ready, owned pod");
    let edited = with_pod_pending(&ksm, &namespace, &pod);
    let results = evaluate(
        &rules,
        vec![("KSM", ksm.clone()), ("KSM again", ksm), ("edited", edited)],
    );
    let [ksm, again, edited] = &results[..] else {
        panic!("three result sets");
    };

    let same = compare(&rules.rules, "KSM", ksm, "KSM again", again);
    eprintln!("{}", summary(&rules, "KSM vs KSM again", &same));
    assert_eq!(same.compared, rules.rules.len(), "every rule compared");
    assert!(same.unhealthy.is_empty(), "{}", same.unhealthy.join("\n"));
    let described: Vec<String> = same
        .differing
        .iter()
        .map(|(id, d)| format!("{id}:\n{d}"))
        .collect();
    assert!(
        described.is_empty(),
        "one exposition, two results:\n{}",
        described.join("\n")
    );
    assert!(
        same.equal_non_empty > 0,
        "no rule has results on KSM's data"
    );

    let changed = compare(&rules.rules, "KSM", ksm, "edited", edited);
    eprintln!(
        "{}",
        summary(
            &rules,
            &format!("KSM vs KSM with {namespace}/{pod} Pending"),
            &changed
        )
    );
    for (id, description) in &changed.differing {
        eprintln!("  differs: {id}\n{description}");
    }
    assert!(
        changed.unhealthy.is_empty(),
        "{}",
        changed.unhealthy.join("\n")
    );
    let differing: BTreeSet<&str> = changed
        .differing
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    assert!(
        differing.contains("KubePodNotReady"),
        "{namespace}/{pod} Pending does not show in KubePodNotReady; differing: {differing:?}"
    );
    let reading_phase: BTreeSet<&str> = rules
        .rules
        .iter()
        .filter(|rule| names_read(rule, &rules.rules).contains("kube_pod_status_phase"))
        .map(|rule| rule.id.as_str())
        .collect();
    let unrelated: Vec<&&str> = differing.difference(&reading_phase).collect();
    assert!(
        unrelated.is_empty(),
        "rules that do not read kube_pod_status_phase differ: {unrelated:?}"
    );
}

#[test]
fn mixin_rules_agree_with_ksm_v2_11() {
    if !support::tool_available("prometheus", "evaluating the mixin rules") {
        return;
    }
    let rules = load_rule_files();
    let started = Instant::now();
    let ours = support::recorded_lists_exposition();
    eprintln!(
        "our /metrics for the recorded lists in {:.1?}",
        started.elapsed()
    );
    let results = evaluate(
        &rules,
        vec![("ours", ours), ("KSM v2.11", ksm_exposition())],
    );
    let [ours, ksm] = &results[..] else {
        panic!("two result sets");
    };
    let comparison = compare(&rules.rules, "ours", ours, "KSM", ksm);

    let prefixes = served_prefixes();
    let unserved = |rule: &RuleSpec| -> Vec<String> {
        names_read(rule, &rules.rules)
            .into_iter()
            .filter(|name| name.starts_with("kube_") && !name.starts_with("kube_state_"))
            .filter(|name| !prefixes.iter().any(|p| name.starts_with(p.as_str())))
            .collect()
    };
    let known: BTreeMap<&str, &str> = KNOWN_DIFFERENCES.iter().copied().collect();
    let differing: BTreeMap<&str, &str> = comparison
        .differing
        .iter()
        .map(|(id, description)| (id.as_str(), description.as_str()))
        .collect();
    let mut failures = Vec::new();
    for rule in &rules.rules {
        let id = rule.id.as_str();
        match (differing.get(id), known.get(id)) {
            (Some(_), Some(reason)) => eprintln!("  known   {id}: {reason}"),
            (Some(description), None) => {
                let missing = unserved(rule);
                let note = if missing.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (reads families no metrics file serves yet: {})",
                        missing.join(", ")
                    )
                };
                eprintln!("  DIFFERS {id}{note}");
                failures.push(format!("{id}{note}:\n{description}"));
            }
            (None, Some(_)) => failures.push(format!(
                "{id}: listed as a known difference but now equal; remove it from the list"
            )),
            (None, None) => eprintln!("  equal   {id}"),
        }
    }
    let line = summary(&rules, "mixin rules, ours vs KSM v2.11", &comparison);
    eprintln!("{line}");
    assert!(!rules.rules.is_empty(), "no rules found");
    assert_eq!(
        comparison.compared,
        rules.rules.len(),
        "every rule compared"
    );
    assert!(
        comparison.unhealthy.is_empty(),
        "rules that did not evaluate cleanly:\n{}",
        comparison.unhealthy.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{line}\n{} rules differ from KSM's (or are listed in KNOWN_DIFFERENCES but equal):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
