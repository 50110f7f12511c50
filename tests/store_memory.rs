//! Measures what the store keeps per pod, and per object of every kind (printed, not
//! asserted: figures, not pass/fail).
//! Run: `cargo test --release --test store_memory -- --nocapture --test-threads=1`.
//!
//! Pods are shaped like the baseline cluster's (`../shared/ksm-reference/baseline.md`):
//! 1–2 containers with resources, 7 labels, 2 annotations, owner reference,
//! conditions, mostly Running.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicIsize, Ordering};

use kube_state_exporter::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStatus, Pod, PodCondition, PodIp,
    PodSpec, PodStatus, ResourceRequirements, Toleration,
};
use kube_state_exporter::api::meta::v1::{ObjectMeta, OwnerReference, Time};
use kube_state_exporter::api::resource::Quantity;
use kube_state_exporter::api::Object;
use kube_state_exporter::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::reflector::Event;
use kube_state_exporter::store::{Store, StoreOptions};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn q(text: &str) -> Quantity {
    Quantity {
        string: Some(text.to_string()),
    }
}

fn strings(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn time(seconds: i64) -> Option<Time> {
    Some(Time {
        seconds: Some(seconds),
        nanos: None,
    })
}

fn container(name: &str) -> Container {
    let resources = strings(&[("cpu", "100m".into()), ("memory", "128Mi".into())]);
    let quantities: BTreeMap<String, Quantity> =
        resources.iter().map(|(k, v)| (k.clone(), q(v))).collect();
    Container {
        name: Some(name.into()),
        image: Some(format!("registry.example.com/team/{name}:1.2.3")),
        resources: Some(ResourceRequirements {
            requests: quantities.clone(),
            limits: quantities,
            claims: vec![],
        }),
        ..Container::default()
    }
}

fn status(name: &str, index: usize) -> ContainerStatus {
    ContainerStatus {
        name: Some(name.into()),
        ready: Some(true),
        restart_count: Some((index % 3) as i32),
        image: Some(format!("registry.example.com/team/{name}:1.2.3")),
        image_id: Some(format!(
            "registry.example.com/team/{name}@sha256:{:064x}",
            index
        )),
        container_id: Some(format!("containerd://{:064x}", index * 7 + 1)),
        state: Some(ContainerState {
            running: Some(ContainerStateRunning {
                started_at: time(1_700_000_000 + index as i64),
            }),
            ..ContainerState::default()
        }),
        ..ContainerStatus::default()
    }
}

fn pod(index: usize) -> Object {
    let namespace = format!("team-{}", index % 26);
    let app = format!("app-{}", index % 103);
    let names: &[&str] = if index % 2 == 0 {
        &["main"]
    } else {
        &["main", "sidecar"]
    };
    let condition = |kind: &str| PodCondition {
        r#type: Some(kind.into()),
        status: Some("True".into()),
        last_transition_time: time(1_700_000_100),
        ..PodCondition::default()
    };
    Object::Pod(Box::new(Pod {
        metadata: Some(ObjectMeta {
            name: Some(format!("{app}-7d9f8b6c5-{index:05}")),
            namespace: Some(namespace),
            uid: Some(format!("{:08x}-1111-2222-3333-{:012x}", index, index)),
            creation_timestamp: time(1_700_000_000),
            labels: strings(&[
                ("app", app.clone()),
                ("app.kubernetes.io/name", app.clone()),
                ("app.kubernetes.io/part-of", "shop".into()),
                ("pod-template-hash", "7d9f8b6c5".into()),
                ("team", format!("t{}", index % 9)),
                ("tier", "backend".into()),
                ("version", "1.2.3".into()),
            ]),
            annotations: strings(&[
                ("prometheus.io/scrape", "true".into()),
                ("owner", "someone@example.com".into()),
            ]),
            owner_references: vec![OwnerReference {
                kind: Some("ReplicaSet".into()),
                name: Some(format!("{app}-7d9f8b6c5")),
                controller: Some(true),
                ..OwnerReference::default()
            }],
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            containers: names.iter().map(|n| container(n)).collect(),
            node_name: Some(format!("node-{}", index % 503)),
            restart_policy: Some("Always".into()),
            scheduler_name: Some("default-scheduler".into()),
            service_account_name: Some("default".into()),
            tolerations: [
                "node.kubernetes.io/not-ready",
                "node.kubernetes.io/unreachable",
            ]
            .iter()
            .map(|key| Toleration {
                key: Some(key.to_string()),
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                toleration_seconds: Some(300),
                ..Toleration::default()
            })
            .collect(),
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            qos_class: Some("Guaranteed".into()),
            host_ip: Some(format!("10.0.{}.{}", index / 250 % 250, index % 250)),
            pod_ip: Some(format!("10.244.{}.{}", index / 250 % 250, index % 250)),
            pod_i_ps: vec![PodIp {
                ip: Some(format!("10.244.{}.{}", index / 250 % 250, index % 250)),
            }],
            start_time: time(1_700_000_000),
            conditions: ["Initialized", "Ready", "ContainersReady", "PodScheduled"]
                .iter()
                .map(|k| condition(k))
                .collect(),
            container_statuses: names.iter().map(|n| status(n, index)).collect(),
            ..PodStatus::default()
        }),
    }))
}

#[test]
fn bytes_per_pod() {
    const PODS: usize = 5000;
    let _one_at_a_time = MEASURING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let store = Store::new(&["pods"], &StoreOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    // Objects are built after the first reading and consumed by the store, so the
    // difference is what the store keeps.
    let before = LIVE.load(Ordering::Relaxed);
    let objects: Vec<Object> = (0..PODS).map(pod).collect();
    for object in objects {
        store.apply("pods", Event::Apply(object));
    }
    let after = LIVE.load(Ordering::Relaxed);
    let per_pod = (after - before) as f64 / PODS as f64;

    let request = RenderRequest::all(ExpositionFormat::Text);
    let mut text = Vec::new();
    let started = std::time::Instant::now();
    store
        .write_exposition(&request, &mut text)
        .unwrap_or_else(|e| panic!("{e}"));
    let scrape = started.elapsed();
    println!(
        "scrape: {:.1} ms for {PODS} pods ({} bytes)",
        scrape.as_secs_f64() * 1000.0,
        text.len()
    );
    let samples = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'#')
        .count();
    let text_per_pod = text.len() as f64 / PODS as f64;

    println!(
        "store: {PODS} pods, {:.0} bytes per pod in total (map, keys, compact metrics)",
        per_pod
    );
    println!(
        "store: {:.0} bytes per pod of compact metrics alone",
        store.heap_bytes("pods") as f64 / PODS as f64
    );
    println!(
        "exposition: {:.0} bytes and {:.1} samples per pod (what a KSM-style store keeps as text)",
        text_per_pod,
        samples as f64 / PODS as f64
    );
    assert!(samples > PODS, "the measurement rendered real pods");
}

/// The measurements share one allocation counter: one at a time.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The objects of every kind in the real-apiserver recording, decoded as the
/// exporter decodes them (secrets from their Table).
fn recorded_objects() -> Vec<(&'static str, Vec<Object>)> {
    use kube_state_exporter::api::ResourceType;
    use kube_state_exporter::client::decode::{decode_body, page_from_body};
    use kube_state_exporter::replay::Recording;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/recordings/real-1.35-all");
    let recording = Recording::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut kinds: BTreeMap<&'static str, Vec<Object>> = BTreeMap::new();
    for capture in &recording.manifest.captures {
        let mut words = capture.note.split(' ');
        let (Some("list"), Some(plural)) = (words.next(), words.next()) else {
            continue;
        };
        let Some(resource) = ResourceType::by_plural(plural) else {
            continue;
        };
        if kinds.contains_key(resource.plural) {
            continue;
        }
        let body = recording.bodies[&capture.body].clone();
        let page = decode_body(&capture.content_type, body)
            .and_then(|body| page_from_body(resource, body))
            .unwrap_or_else(|e| panic!("{}: {e}", capture.body));
        kinds.insert(resource.plural, page.objects);
    }
    kinds.into_iter().collect()
}

/// `template` as a new object: its JSON with another name and uid.
fn copy_of(template: &Object, index: usize) -> Object {
    let mut value = template.to_json_value().unwrap_or_else(|e| panic!("{e}"));
    let name = value["metadata"]["name"]
        .as_str()
        .unwrap_or("x")
        .to_string();
    value["metadata"]["name"] = format!("{name}-{index}").into();
    value["metadata"]["uid"] = format!("{index:08x}-0000-4000-8000-{index:012x}").into();
    let resource = template.resource();
    let bytes = serde_json::to_vec(&value).unwrap_or_else(|e| panic!("{e}"));
    Object::from_json(resource.api_version, resource.kind, &bytes)
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("{} does not decode back", resource.kind))
}

/// What the store keeps per object of each kind, default flags: the recording's
/// objects of that kind, copied under new names until there are `COPIES`. The
/// figures behind `docs/sizing.md`.
#[test]
fn bytes_per_object_of_every_kind() {
    const COPIES: usize = 1000;
    let _one_at_a_time = MEASURING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let kinds = recorded_objects();
    assert_eq!(kinds.len(), 39, "the recording has every kind");
    println!(
        "{:<36} {:>8} {:>14} {:>14}",
        "resource", "objects", "bytes/object", "of it samples"
    );
    for (plural, templates) in kinds {
        assert!(!templates.is_empty(), "no {plural} in the recording");
        let store =
            Store::new(&[plural], &StoreOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        // The copies are built after the first reading and consumed by the store,
        // so the difference is what the store keeps.
        let before = LIVE.load(Ordering::Relaxed);
        let copies: Vec<Object> = (0..COPIES)
            .map(|i| copy_of(&templates[i % templates.len()], i))
            .collect();
        for object in copies {
            store.apply(plural, Event::Apply(object));
        }
        let after = LIVE.load(Ordering::Relaxed);
        let per_object = (after - before) as f64 / COPIES as f64;
        let compact = store.heap_bytes(plural) as f64 / COPIES as f64;
        println!("{plural:<36} {COPIES:>8} {per_object:>14.0} {compact:>14.0}");
        assert!(per_object > 0.0, "{plural}: the store kept nothing");
    }
}
