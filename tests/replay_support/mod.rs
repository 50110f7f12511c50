//! Shared by the replay and client tests: the recorded fixture, a map-backed sink
//! with the Init/InitDone swap, fast reflector options and bounded waiting.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use kube_state_exporter::api::{Object, ResourceType};
use kube_state_exporter::client::{ApiClient, ListOptions, WatchOptions};
use kube_state_exporter::reflector::{BackoffOptions, Event, ReflectorOptions, Sink};
use kube_state_exporter::replay::Recording;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings/real-1.28-demo")
}

pub fn recording() -> Recording {
    Recording::load(&fixture_dir()).expect("the fixture recording loads")
}

/// A store stand-in: per resource, uid → resourceVersion, with a relist built aside
/// and swapped in at InitDone.
#[derive(Default)]
pub struct MapSink {
    inner: Mutex<HashMap<&'static str, Store>>,
}

#[derive(Default, Clone)]
struct Store {
    live: HashMap<String, String>,
    building: Option<HashMap<String, String>>,
    inits: u32,
}

fn identity(object: &Object) -> (String, String) {
    let meta = object.metadata().cloned().unwrap_or_default();
    (meta.uid.unwrap_or_default(), meta.resource_version.unwrap_or_default())
}

impl Sink for MapSink {
    fn handle(&self, resource: &'static ResourceType, event: Event) {
        let mut stores = self.inner.lock().unwrap();
        let store = stores.entry(resource.plural).or_default();
        match event {
            Event::Init => {
                assert!(store.building.is_none(), "Init twice without InitDone for {}", resource.plural);
                store.building = Some(HashMap::new());
            }
            Event::InitApply(object) => {
                let (uid, rv) = identity(&object);
                store.building.as_mut().expect("InitApply outside Init/InitDone").insert(uid, rv);
            }
            Event::InitDone => {
                store.live = store.building.take().expect("InitDone without Init");
                store.inits += 1;
            }
            Event::Apply(object) => {
                let (uid, rv) = identity(&object);
                store.live.insert(uid, rv);
            }
            Event::Delete(object) => {
                let (uid, _) = identity(&object);
                store.live.remove(&uid);
            }
        }
    }
}

impl MapSink {
    /// (uid, rv) pairs currently visible, sorted.
    pub fn snapshot(&self, plural: &str) -> Vec<(String, String)> {
        let stores = self.inner.lock().unwrap();
        let mut out: Vec<_> = stores
            .get(plural)
            .map(|s| s.live.iter().map(|(u, r)| (u.clone(), r.clone())).collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    pub fn inits(&self, plural: &str) -> u32 {
        self.inner.lock().unwrap().get(plural).map_or(0, |s| s.inits)
    }
}

/// Reflector options that make a test run in seconds: short backoff and watches.
pub fn fast_options() -> ReflectorOptions {
    ReflectorOptions {
        list: ListOptions { limit: 3, ..ListOptions::default() },
        watch: WatchOptions {
            timeout: Duration::from_secs(2),
            slack: Duration::from_secs(1),
            ..WatchOptions::default()
        },
        backoff: BackoffOptions {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(1500),
            reset_after: Duration::from_secs(60),
            jitter: 0.2,
        },
        ..ReflectorOptions::default()
    }
}

/// A client for a plain-HTTP replay server, without auth.
pub fn plain_client(addr: SocketAddr) -> ApiClient {
    let url: http::Uri = format!("http://{addr}").parse().unwrap();
    let mut config = kube::Config::new(url);
    config.default_retry = false;
    ApiClient::new(kube::Client::try_from(config).unwrap())
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
pub async fn eventually<F: FnMut() -> bool>(limit: Duration, mut condition: F) -> bool {
    let waited = tokio::time::timeout(limit, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    waited.is_ok()
}

/// Runs `future` with a deadline so a hung test fails instead of hanging.
pub async fn bounded<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future).await.expect("test step timed out")
}
