//! Sharding against the real kube-apiserver of `../shared/realk8s`, exporter binaries
//! as users run them:
//! - static: N = 1, 2, 3 instances with `--shard`/`--total-shards` together serve
//!   exactly the series of one unsharded instance (sorted union equal, no duplicate);
//! - DaemonSet style: one `--node` instance per node plus one `--track-unscheduled-pods`
//!   instance serve exactly the pods of an unsharded `--resources=pods` instance;
//! - automatic: instances with `--pod`/`--pod-namespace` of a StatefulSet (object and
//!   pods created here: no controller runs) follow `spec.replicas` from 2 to 3, and
//!   the union stays exact.
//!
//! Every family is per object except ours that aggregate over pods (the lifecycle
//! counters, by namespace and owner): those are compared by summing each series over
//! the instances, which must give the unsharded value (pods created and deleted after
//! start make the sums non-zero).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::realk8s::{kubectl_available, RealK8s};
use support::ExporterProcess;

const DEADLINE: Duration = Duration::from_secs(60);
const NS: &str = "sharded";
const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];

/// An exporter started here (stderr in the realk8s run directory), stopped by PID on
/// drop.
struct Instance {
    process: ExporterProcess,
    name: String,
}

impl Instance {
    /// Without `--resources` in `args`: KSM's defaults but the two alpha
    /// `mutatingadmissionpolicies` kinds, which realk8s does not serve (404: never
    /// listed, never ready).
    fn start(k8s: &RealK8s, name: &str, args: &[&str]) -> Instance {
        let resources = format!(
            "--resources={}",
            kube_state_exporter::config::DEFAULT_RESOURCES
                .iter()
                .filter(|r| !r.starts_with("mutatingadmissionpolic"))
                .copied()
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut all_args: Vec<&str> = args.to_vec();
        if !args.iter().any(|a| a.starts_with("--resources")) {
            all_args.push(&resources);
        }
        let log_name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let process = ExporterProcess::start(
            &k8s.kubeconfig(),
            &all_args,
            k8s.run_dir()
                .join(format!("exporter-sharding-{log_name}.log")),
        );
        Instance {
            process,
            name: name.to_string(),
        }
    }

    fn wait_ready(&mut self) {
        self.process.wait_ready();
    }

    fn metrics(&self) -> String {
        match self.process.try_get("/metrics") {
            Ok((200, body)) => body,
            Ok((status, body)) => panic!("{}: /metrics answered {status}: {body}", self.name),
            Err(error) => panic!(
                "{}: /metrics did not answer ({error}); log:\n{}",
                self.name,
                self.process.log_text()
            ),
        }
    }

    fn telemetry(&self) -> String {
        self.process
            .get_telemetry("/metrics")
            .map(|(_, body)| body)
            .unwrap_or_default()
    }
}

/// Per-object series lines, and the summed aggregated (lifecycle) series.
#[derive(Debug, PartialEq)]
struct Exposition {
    lines: Vec<String>,
    aggregated: BTreeMap<String, f64>,
}

fn is_aggregated(line: &str) -> bool {
    line.starts_with("kube_pod_lifecycle_")
}

/// The union of several instances' series; `Err` names duplicates.
fn union(texts: &[String]) -> Result<Exposition, String> {
    let mut lines = Vec::new();
    let mut aggregated = BTreeMap::new();
    for text in texts {
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            if is_aggregated(line) {
                let (series, value) = line.rsplit_once(' ').expect("series value");
                let value: f64 = value.parse().expect("a number");
                *aggregated.entry(series.to_string()).or_insert(0.0) += value;
            } else {
                lines.push(line.to_string());
            }
        }
    }
    lines.sort();
    let total = lines.len();
    let mut duplicates: Vec<String> = lines
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0].clone())
        .collect();
    lines.dedup();
    if total != lines.len() {
        duplicates.truncate(5);
        return Err(format!(
            "{} duplicate series, e.g. {duplicates:#?}",
            total - lines.len()
        ));
    }
    Ok(Exposition { lines, aggregated })
}

/// The first difference between two expositions, for the failure message.
fn difference(want: &Exposition, got: &Exposition) -> String {
    let missing: Vec<&String> = want
        .lines
        .iter()
        .filter(|l| got.lines.binary_search(l).is_err())
        .take(5)
        .collect();
    let extra: Vec<&String> = got
        .lines
        .iter()
        .filter(|l| want.lines.binary_search(l).is_err())
        .take(5)
        .collect();
    let aggregated: Vec<(&String, f64, Option<&f64>)> = want
        .aggregated
        .iter()
        .filter(|(k, v)| got.aggregated.get(*k) != Some(v))
        .map(|(k, v)| (k, *v, got.aggregated.get(k)))
        .take(5)
        .collect();
    format!(
        "{} vs {} lines; missing {missing:#?}; extra {extra:#?}; aggregated differing {aggregated:#?}",
        want.lines.len(),
        got.lines.len()
    )
}

/// Polls (bounded) until the shards' union equals the unsharded exposition.
fn assert_union_converges(what: &str, unsharded: &Instance, shards: &[&Instance]) -> usize {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let want = union(&[unsharded.metrics()]).expect("one instance has no duplicates");
        let got = union(&shards.iter().map(|s| s.metrics()).collect::<Vec<_>>());
        let verdict = match &got {
            Ok(got) if *got == want => return want.lines.len(),
            Ok(got) => difference(&want, got),
            Err(duplicates) => duplicates.clone(),
        };
        assert!(
            Instant::now() < deadline,
            "{what}: the shards' union never equalled the unsharded instance: {verdict}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pod(name: &str, node: Option<&str>, owner: Option<(&str, &str, &str)>) -> String {
    let node = node.map_or(String::new(), |n| format!(",\"nodeName\":\"{n}\""));
    let owner = owner.map_or(String::new(), |(kind, name, uid)| {
        format!(
            ",\"ownerReferences\":[{{\"apiVersion\":\"apps/v1\",\"kind\":\"{kind}\",\"name\":\"{name}\",\
             \"uid\":\"{uid}\",\"controller\":true}}]"
        )
    });
    format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"{NS}\",\
         \"labels\":{{\"app\":\"web\"}}{owner}}},\
         \"spec\":{{\"containers\":[{{\"name\":\"app\",\"image\":\"busybox\"}}]{node}}}}}"
    )
}

const REPLICASET: (&str, &str, &str) = (
    "ReplicaSet",
    "web-7d9",
    "00000000-0000-0000-0000-00000000abcd",
);

/// A namespace with nodes, pods on each node and unscheduled, configmaps, services.
fn populate(k8s: &RealK8s) {
    let mut items = vec![format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{{\"name\":\"{NS}\"}}}}"
    )];
    for node in NODES {
        items.push(format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{{\"name\":\"{node}\",\"labels\":{{\"zone\":\"z1\"}}}}}}"
        ));
    }
    for n in 0..60 {
        let node = (n % 4 != 3).then(|| NODES[n % 4]);
        let owner = (n % 2 == 0).then_some(REPLICASET);
        items.push(pod(&format!("web-{n}"), node, owner));
    }
    for n in 0..20 {
        items.push(format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"config-{n}\",\"namespace\":\"{NS}\"}},\"data\":{{\"k\":\"v\"}}}}"
        ));
    }
    for n in 0..5 {
        items.push(format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{{\"name\":\"svc-{n}\",\"namespace\":\"{NS}\"}},\
             \"spec\":{{\"ports\":[{{\"port\":80}}],\"selector\":{{\"app\":\"web\"}}}}}}"
        ));
    }
    let list = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{}]}}",
        items.join(",")
    );
    k8s.kubectl(&["create", "-f", "-"], Some(&list));
}

/// Churn after the instances started, so the lifecycle counters are not all zero.
fn churn(k8s: &RealK8s) {
    let items: Vec<String> = (60..75)
        .map(|n| pod(&format!("web-{n}"), Some(NODES[n % 3]), Some(REPLICASET)))
        .collect();
    let list = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{}]}}",
        items.join(",")
    );
    k8s.kubectl(&["create", "-f", "-"], Some(&list));
    // Unbound pods (web-3, web-7) go at once; bound ones need a zero grace period.
    k8s.kubectl(
        &[
            "delete",
            "pod",
            "-n",
            NS,
            "web-3",
            "web-7",
            "web-0",
            "web-2",
            "--grace-period=0",
            "--force",
        ],
        None,
    );
}

fn setup() -> Option<RealK8s> {
    if !kubectl_available() {
        return None;
    }
    let k8s = RealK8s::start()?;
    populate(&k8s);
    Some(k8s)
}

#[test]
fn static_and_node_shards_together_serve_exactly_the_unsharded_series() {
    let Some(k8s) = setup() else {
        return;
    };
    let mut unsharded = Instance::start(&k8s, "unsharded", &[]);
    let mut fleets: Vec<(u32, Vec<Instance>)> = Vec::new();
    for total in 1..=3u32 {
        let instances = (0..total)
            .map(|shard| {
                Instance::start(
                    &k8s,
                    &format!("shard {shard} of {total}"),
                    &[
                        &format!("--shard={shard}"),
                        &format!("--total-shards={total}"),
                    ],
                )
            })
            .collect();
        fleets.push((total, instances));
    }
    let mut pods_only = Instance::start(&k8s, "pods unsharded", &["--resources=pods"]);
    let mut per_node: Vec<Instance> = NODES
        .iter()
        .map(|node| Instance::start(&k8s, node, &["--resources=pods", &format!("--node={node}")]))
        .collect();
    per_node.push(Instance::start(
        &k8s,
        "unscheduled",
        &["--resources=pods", "--track-unscheduled-pods"],
    ));
    for instance in std::iter::once(&mut unsharded)
        .chain(fleets.iter_mut().flat_map(|(_, f)| f))
        .chain(std::iter::once(&mut pods_only))
        .chain(&mut per_node)
    {
        instance.wait_ready();
    }
    churn(&k8s);

    for (total, fleet) in &fleets {
        let shards: Vec<&Instance> = fleet.iter().collect();
        let lines = assert_union_converges(&format!("{total} shards"), &unsharded, &shards);
        assert!(lines > 500, "too little to compare: {lines} lines");
        for (shard, instance) in fleet.iter().enumerate() {
            let telemetry = instance.telemetry();
            assert!(
                telemetry.contains(&format!(
                    "kube_state_metrics_shard_ordinal{{shard_ordinal=\"{shard}\"}} {shard}\n"
                )) && telemetry.contains(&format!("kube_state_metrics_total_shards {total}\n")),
                "{}: {telemetry}",
                instance.name
            );
        }
        if *total > 1 {
            // Each shard holds a share, not everything.
            for instance in fleet {
                let own = union(&[instance.metrics()])
                    .expect("no duplicates")
                    .lines
                    .len();
                assert!(own < lines, "{} serves all {lines} lines", instance.name);
            }
        }
    }
    let nodes: Vec<&Instance> = per_node.iter().collect();
    assert_union_converges("per node + unscheduled", &pods_only, &nodes);
    // The field selector reached the server: a node's instance has only its pods.
    let node_a = per_node[0].metrics();
    let pod_infos: Vec<&str> = node_a
        .lines()
        .filter(|l| l.starts_with("kube_pod_info{"))
        .collect();
    assert!(!pod_infos.is_empty());
    assert!(
        pod_infos.iter().all(|l| l.contains("node=\"node-a\"")),
        "{pod_infos:#?}"
    );
    // The lifecycle counters saw the churn, and their per-shard sums matched above.
    assert!(
        union(&[unsharded.metrics()])
            .expect("no duplicates")
            .aggregated
            .iter()
            .any(
                |(series, value)| series.starts_with("kube_pod_lifecycle_creations_total")
                    && *value >= 15.0
            ),
        "no creations counted"
    );
}

#[test]
fn auto_sharding_follows_the_statefulset_from_two_to_three_replicas() {
    let Some(k8s) = setup() else {
        return;
    };
    let sts = format!(
        "{{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{{\"name\":\"kse\",\"namespace\":\"{NS}\"}},\
         \"spec\":{{\"replicas\":2,\"serviceName\":\"kse\",\"selector\":{{\"matchLabels\":{{\"app\":\"kse\"}}}},\
         \"template\":{{\"metadata\":{{\"labels\":{{\"app\":\"kse\"}}}},\
         \"spec\":{{\"containers\":[{{\"name\":\"kse\",\"image\":\"kse\"}}]}}}}}}}}"
    );
    k8s.kubectl(&["create", "-f", "-"], Some(&sts));
    let uid_output = k8s.kubectl(
        &[
            "get",
            "statefulset",
            "-n",
            NS,
            "kse",
            "-o",
            "jsonpath={.metadata.uid}",
        ],
        None,
    );
    let uid = String::from_utf8(uid_output.stdout).expect("UTF-8");
    // The pods the controller would create; the third exists before the scale-up here,
    // which changes nothing: its exporter starts only after it.
    let pods: Vec<String> = (0..3)
        .map(|n| {
            pod(
                &format!("kse-{n}"),
                None,
                Some(("StatefulSet", "kse", uid.trim())),
            )
        })
        .collect();
    k8s.kubectl(
        &["create", "-f", "-"],
        Some(&format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{}]}}",
            pods.join(",")
        )),
    );
    let seat = |n: u32| {
        Instance::start(
            &k8s,
            &format!("kse-{n}"),
            &[&format!("--pod=kse-{n}"), &format!("--pod-namespace={NS}")],
        )
    };
    let mut unsharded = Instance::start(&k8s, "unsharded", &[]);
    let (mut first, mut second) = (seat(0), seat(1));
    for instance in [&mut unsharded, &mut first, &mut second] {
        instance.wait_ready();
    }
    let before = assert_union_converges("2 replicas", &unsharded, &[&first, &second]);
    assert!(first
        .telemetry()
        .contains("kube_state_metrics_total_shards 2\n"));

    k8s.kubectl(
        &["scale", "statefulset", "-n", NS, "kse", "--replicas=3"],
        None,
    );
    let mut third = seat(2);
    third.wait_ready();
    // The two running instances re-shard without a restart (same PIDs, same ports).
    let deadline = Instant::now() + DEADLINE;
    for instance in [&first, &second, &third] {
        while !instance
            .telemetry()
            .contains("kube_state_metrics_total_shards 3\n")
        {
            assert!(
                Instant::now() < deadline,
                "{} never saw 3 replicas: {}",
                instance.name,
                instance.telemetry()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let after = assert_union_converges("3 replicas", &unsharded, &[&first, &second, &third]);
    // The scale changed kube_statefulset_replicas only; the rest moved between shards.
    assert_eq!(before, after);
    let share = |instance: &Instance| {
        union(&[instance.metrics()])
            .expect("no duplicates")
            .lines
            .len()
    };
    assert!(share(&first) < before && share(&third) > 0);
}
