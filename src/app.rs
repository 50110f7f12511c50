//! The exporter at run time: connect (or start the demo apiserver), one reflector per
//! resource feeding the store, and the two HTTP servers reading from it.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;

use crate::api::ResourceType;
use crate::client::{connect, ApiClient, ClientMetrics};
use crate::config::Options;
use crate::reflector::{self, ReflectorOptions, Sink};
use crate::replay::{Faults, Recording, ReplayHandle, ReplayServer};
use crate::server::{self, LivenessProbe, MetricsServer, ProbeFuture, Readiness, TelemetryServer};
use crate::store::{PartitionSink, Store};
use crate::telemetry::Telemetry;

/// The recording `--demo` replays: a small real cluster (kube-apiserver 1.28), embedded
/// at build time from `tests/fixtures/recordings/real-1.28-demo`.
mod demo_recording {
    include!(concat!(env!("OUT_DIR"), "/demo_recording.rs"));
}

/// Runs until SIGTERM/Ctrl-C.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let telemetry = Telemetry::new()?;
    let client_metrics = ClientMetrics::register(telemetry.registry())
        .context("registering the client's self-metrics")?;

    // Keep the demo apiserver alive as long as the exporter runs.
    let (client, _demo) = if options.demo {
        let (client, handle) = start_demo().await?;
        (client, Some(handle))
    } else {
        let kube_client = connect(&options.connect_options())
            .await
            .context("connecting to the apiserver")?;
        (ApiClient::new(kube_client), None)
    };

    let store = Arc::new(Store::with_available(
        &options
            .resources
            .iter()
            .map(|r| r.plural)
            .collect::<Vec<_>>(),
        &options.store_options(),
    ));
    let served: Vec<&'static ResourceType> = options
        .resources
        .iter()
        .copied()
        .filter(|r| store.resources().contains(&r.plural))
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

    let targets = reflector::exclude_namespaces(
        reflector::plan(&served, &options.namespaces),
        &options.namespaces_denylist,
    );
    let _reflectors = reflector::spawn_all(
        &client,
        targets,
        |target| -> Arc<dyn Sink> {
            Arc::new(PartitionSink::new(
                store.clone(),
                target.namespace.as_deref(),
            ))
        },
        &client_metrics,
        &reflector_options(&options),
    );

    let metrics_listener = server::bind(&options.host, options.port).await?;
    let telemetry_listener = server::bind(&options.telemetry_host, options.telemetry_port).await?;
    tracing::info!(
        metrics = %metrics_listener.local_addr()?,
        telemetry = %telemetry_listener.local_addr()?,
        resources = %served.iter().map(|r| r.plural).collect::<Vec<_>>().join(","),
        demo = options.demo,
        "serving"
    );

    let mut metrics = MetricsServer::new(store.clone(), Arc::new(ApiserverLiveness(client)));
    metrics.enable_gzip = options.enable_gzip_encoding;
    metrics.timeouts = options.server_timeouts;
    metrics.scrape_metrics = Some(telemetry.scrape_metrics());
    let mut telemetry_server = TelemetryServer::new(
        telemetry.registry().clone(),
        Arc::new(StoreSynced(store.clone())),
    );
    telemetry_server.timeouts = options.telemetry_timeouts;

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

/// `/livez`: the apiserver answers `/version`.
struct ApiserverLiveness(ApiClient);

impl LivenessProbe for ApiserverLiveness {
    fn check(&self) -> ProbeFuture {
        let client = self.0.clone();
        Box::pin(async move {
            client
                .get("/version", "application/json")
                .await
                .map(|_| ())
                .map_err(|error| format!("apiserver unreachable: {error}"))
        })
    }
}

/// `/readyz`: every served resource has completed its first list.
struct StoreSynced(Arc<Store>);

impl Readiness for StoreSynced {
    fn is_ready(&self) -> bool {
        self.0
            .resources()
            .iter()
            .all(|plural| self.0.is_synced(plural))
    }
}
