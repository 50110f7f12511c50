//! The exporter at run time: connect (or start the demo apiserver), one reflector per
//! resource feeding the store, and the two HTTP servers reading from it.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;

use crate::api::ResourceType;
use crate::client::{connect, ApiClient, ClientError, ClientMetrics};
use crate::config::Options;
use crate::reflector::{self, ReflectorOptions};
use crate::replay::{Faults, Recording, ReplayHandle, ReplayServer};
use crate::server::{self, LivenessProbe, MetricsServer, ProbeFuture, Readiness, TelemetryServer};
use crate::sharding::auto::{self, ReplicasWatch};
use crate::sharding::metrics::ShardMetrics;
use crate::sharding::serve::{self as shard_serve, Generation, Pipeline, ServedStore};
use crate::sharding::{ShardAssignment, Sharding};
use crate::store::Store;
use crate::telemetry::Telemetry;

/// The recording `--demo` replays: a small real cluster (kube-apiserver 1.28), embedded
/// at build time from `tests/fixtures/recordings/real-1.28-demo`.
mod demo_recording {
    include!(concat!(env!("OUT_DIR"), "/demo_recording.rs"));
}

/// Runs until SIGTERM/Ctrl-C.
pub async fn run(options: Options) -> anyhow::Result<()> {
    // Ports first: a port in use fails the start at once, before any list is made, and
    // the addresses (port 0: chosen by the system) are known from the first log lines.
    let metrics_listener = server::bind(&options.host, options.port).await?;
    let telemetry_listener = server::bind(&options.telemetry_host, options.telemetry_port).await?;
    tracing::info!(
        metrics = %metrics_listener.local_addr()?,
        telemetry = %telemetry_listener.local_addr()?,
        "listening"
    );
    let telemetry = Telemetry::new()?;
    let client_metrics = ClientMetrics::register(telemetry.registry())
        .context("registering the client's self-metrics")?;

    // Keep the demo apiserver alive as long as the exporter runs.
    let (client, _demo, auth_filter) = if options.demo {
        let (client, handle) = start_demo().await?;
        (client, Some(handle), None)
    } else {
        let kube_client = connect(&options.connect_options())
            .await
            .context("connecting to the apiserver")?;
        let auth_filter = options
            .auth_filter
            .then(|| Arc::new(server::AuthFilter::new(kube_client.clone())));
        (ApiClient::new(kube_client), None, auth_filter)
    };
    let security = security(&options, auth_filter)?;

    let store_options = options.store_options();
    let available = Store::with_available(
        &options
            .resources
            .iter()
            .map(|r| r.plural)
            .collect::<Vec<_>>(),
        &store_options,
    )
    .resources();
    let served: Vec<&'static ResourceType> = options
        .resources
        .iter()
        .copied()
        .filter(|r| available.contains(&r.plural))
        .collect();
    let unserved: Vec<&str> = options
        .resources
        .iter()
        .filter(|r| !served.contains(r))
        .map(|r| r.plural)
        .collect();
    if !unserved.is_empty() {
        tracing::info!(resources = %unserved.join(","), "no metric families for these resources yet; not watching them");
    }

    let auth_failures = reflector::AuthFailures::new();
    let mut targets = reflector::exclude_namespaces(
        reflector::plan(&served, &options.namespaces),
        &options.namespaces_denylist,
    );
    if let Some(node_filter) = &options.node_filter {
        targets = node_filter.restrict(targets);
    }
    let shard_metrics = ShardMetrics::register(telemetry.registry())
        .context("registering the sharding self-metrics")?;
    let pipeline = Pipeline {
        client: client.clone(),
        targets,
        resources: available,
        store_options,
        client_metrics: client_metrics.clone(),
        reflector_options: ReflectorOptions {
            auth_failures: auth_failures.clone(),
            ..reflector_options(&options)
        },
    };
    let (store, _generation) =
        start_sharded(pipeline, &options.sharding, &client, &shard_metrics).await?;

    tracing::info!(
        resources = %served.iter().map(|r| r.plural).collect::<Vec<_>>().join(","),
        demo = options.demo,
        tls = security.web.as_ref().is_some_and(|web| web.serves_tls()),
        auth_filter = security.auth_filter.is_some(),
        "serving"
    );

    let liveness = ApiserverLiveness {
        client,
        auth_failures: auth_failures.clone(),
    };
    let mut metrics = MetricsServer::new(store.clone(), Arc::new(liveness));
    metrics.enable_gzip = options.enable_gzip_encoding;
    metrics.timeouts = options.server_timeouts;
    metrics.max_concurrent_scrapes = options.max_concurrent_scrapes;
    metrics.stall_timeout = options.scrape_stall_timeout;
    metrics.scrape_metrics = Some(telemetry.scrape_metrics());
    metrics.security = security.clone();
    let synced_store = store.clone();
    telemetry.register_sync_state(Box::new(move || {
        // The current generation: auto-sharding may have swapped the store.
        let store = synced_store.current();
        store
            .resources()
            .iter()
            .map(|plural| (*plural, store.is_synced(plural)))
            .collect()
    }))?;
    let mut telemetry_server = TelemetryServer::new(
        telemetry.registry().clone(),
        Arc::new(StoreSynced {
            store: store.clone(),
            auth_failures,
        }),
    );
    telemetry_server.timeouts = options.telemetry_timeouts;
    telemetry_server.security = security;

    let (stop, _) = tokio::sync::watch::channel(false);
    let stopped = |mut receiver: tokio::sync::watch::Receiver<bool>| async move {
        let _ = receiver.wait_for(|stop| *stop).await;
    };
    let metrics_task = server::serve_metrics(metrics_listener, metrics, stopped(stop.subscribe()));
    let telemetry_task = server::serve_telemetry(
        telemetry_listener,
        telemetry_server,
        stopped(stop.subscribe()),
    );
    let signal = async {
        server::shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    };
    let ((), metrics_result, telemetry_result) = tokio::join!(signal, metrics_task, telemetry_task);
    metrics_result.context("metrics server")?;
    telemetry_result.context("telemetry server")?;
    Ok(())
}

/// `--tls-config` and `--auth-filter`, shared by both servers.
fn security(
    options: &Options,
    auth_filter: Option<Arc<server::AuthFilter>>,
) -> anyhow::Result<server::Security> {
    let web = match &options.tls_config {
        Some(path) => {
            let source = server::WebConfigSource::load(path.clone()).context("--tls-config")?;
            Some(Arc::new(source))
        }
        None => None,
    };
    Ok(server::Security { web, auth_filter })
}

/// Starts the replay apiserver on the embedded recording and a client for it.
async fn start_demo() -> anyhow::Result<(ApiClient, ReplayHandle)> {
    let mut manifest = None;
    let mut bodies = HashMap::new();
    for (name, bytes) in demo_recording::FILES {
        if *name == "manifest.json" {
            manifest = Some(Recording::parse_manifest(bytes)?);
        } else {
            bodies.insert(name.to_string(), Bytes::from_static(bytes));
        }
    }
    let manifest = manifest.context("the embedded demo recording has no manifest.json")?;
    let recording = Recording::from_parts(manifest, bodies)?;
    let (addr, handle) = ReplayServer::start(&recording, Faults::default())
        .await
        .context("starting the demo apiserver")?;
    tracing::info!(%addr, "demo: replaying a recorded kube-apiserver 1.28 cluster on loopback");
    let url = format!("http://{addr}")
        .parse()
        .context("demo apiserver address")?;
    let kube_client = kube::Client::try_from(kube::Config::new(url))?;
    Ok((ApiClient::new(kube_client), handle))
}

fn reflector_options(options: &Options) -> ReflectorOptions {
    let mut reflector = ReflectorOptions {
        content_type: options.content_type,
        watch_list: options.watch_list,
        ..Default::default()
    };
    reflector.list.use_apiserver_cache = options.use_apiserver_cache;
    reflector.list.stall_timeout = options.apiserver_stall_timeout;
    reflector
}

/// `/livez`: the apiserver answers `/version`. The 503 body says what failed: the
/// connection, our credentials (401, with the resources refused and what to check),
/// or the apiserver's own answer.
struct ApiserverLiveness {
    client: ApiClient,
    auth_failures: reflector::AuthFailures,
}

impl LivenessProbe for ApiserverLiveness {
    fn check(&self) -> ProbeFuture {
        let client = self.client.clone();
        let auth_failures = self.auth_failures.clone();
        Box::pin(async move {
            let error = match client.get("/version", "application/json").await {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let refused = auth_failures.summary();
            Err(match error {
                ClientError::Api(api) if api.code == 401 => match refused {
                    Some(summary) => summary,
                    None => format!(
                        "apiserver refused our credentials (HTTP 401 on /version): {}",
                        reflector::auth::CREDENTIALS_HINT
                    ),
                },
                ClientError::Api(api) => format!("apiserver answered /version with {api}"),
                other => format!("apiserver unreachable: {other}"),
            })
        })
    }
}

/// `/readyz`: every served resource has completed its first list.
struct StoreSynced {
    store: Arc<ServedStore>,
    auth_failures: reflector::AuthFailures,
}

impl StoreSynced {
    fn unsynced(&self) -> Vec<&'static str> {
        // The current generation: auto-sharding may have swapped the store.
        let store = self.store.current();
        store
            .resources()
            .iter()
            .copied()
            .filter(|plural| !store.is_synced(plural))
            // A resource the apiserver does not serve (404) can never sync.
            .filter(|plural| !self.auth_failures.is_not_served(plural))
            .collect()
    }
}

impl Readiness for StoreSynced {
    fn is_ready(&self) -> bool {
        self.unsynced().is_empty()
    }

    fn not_ready_reason(&self) -> String {
        let unsynced = self.unsynced();
        let mut reason = format!(
            "{} of {} resources not synced yet ({})",
            unsynced.len(),
            self.store.current().resources().len(),
            unsynced.join(", ")
        );
        if let Some(refused) = self.auth_failures.summary() {
            reason.push_str("; ");
            reason.push_str(&refused);
        }
        reason
    }
}

/// How long auto-sharding waits for its pod and its StatefulSet at start.
const AUTO_SHARDING_START_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// Starts the first generation of stores and reflectors. With auto-sharding, finds our
/// StatefulSet first, and leaves a task following its `spec.replicas`. The generation
/// returned (static sharding) must live as long as the process.
async fn start_sharded(
    pipeline: Pipeline,
    sharding: &Sharding,
    client: &ApiClient,
    shard_metrics: &ShardMetrics,
) -> anyhow::Result<(Arc<ServedStore>, Option<Generation>)> {
    match sharding {
        Sharding::Static(assignment) => {
            let generation = pipeline.start(*assignment);
            shard_metrics.set(*assignment);
            if !assignment.is_all() {
                tracing::info!(shard = %assignment, "sharding by object UID");
            }
            let served = Arc::new(ServedStore::new(generation.store.clone()));
            Ok((served, Some(generation)))
        }
        Sharding::Auto { pod, namespace } => {
            let seat = auto::discover(client, namespace, pod, AUTO_SHARDING_START_DEADLINE)
                .await
                .context("auto-sharding")?;
            let mut watch = ReplicasWatch::start(client, &seat, &pipeline.reflector_options)
                .context("auto-sharding")?;
            let replicas = watch
                .first(&seat, AUTO_SHARDING_START_DEADLINE)
                .await
                .context("auto-sharding")?;
            let assignment: ShardAssignment = shard_serve::assignment_for(&seat, replicas)
                .map_err(anyhow::Error::msg)
                .context("auto-sharding")?;
            tracing::info!(statefulset = %seat.statefulset, shard = %assignment, "auto-sharding");
            let generation = pipeline.start(assignment);
            shard_metrics.set(assignment);
            let served = Arc::new(ServedStore::new(generation.store.clone()));
            tokio::spawn(shard_serve::follow_replicas(
                pipeline,
                served.clone(),
                shard_metrics.clone(),
                generation,
                watch,
                seat,
            ));
            Ok((served, None))
        }
    }
}
