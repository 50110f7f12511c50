//! Self-metrics served on the telemetry port: build information, scrape duration and size of
//! `/metrics`, KSM's `http_request_duration_seconds`, process metrics, and whatever other
//! parts register (the client registers its list/watch counters into the same
//! [`prometheus::Registry`]).

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntGauge, Opts, Registry};

#[cfg(target_os = "linux")]
mod process;
mod request_duration;
mod synced;

pub use request_duration::TimedBody;
pub use synced::{SyncState, RESOURCE_SYNCED};

use crate::api::schema;

/// Name of the build-information gauge (always 1).
pub const BUILD_INFO: &str = "kube_state_exporter_build_info";
pub const SCRAPE_DURATION: &str = "kube_state_exporter_scrape_duration_seconds";
pub const SCRAPE_SIZE: &str = "kube_state_exporter_scrape_response_size_bytes";
/// KSM's name (client_golang's `InstrumentHandlerDuration` around its `/metrics`).
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";

#[derive(Debug, thiserror::Error)]
#[error("registering self-metric {name}: {source}")]
pub struct TelemetryError {
    name: &'static str,
    #[source]
    source: prometheus::Error,
}

/// The self-metrics registry and the handles the metrics server records into.
#[derive(Clone)]
pub struct Telemetry {
    registry: Registry,
    scrape: ScrapeMetrics,
    /// What [`Telemetry::new`] registered, for docs/metrics.md.
    descs: Vec<prometheus::core::Desc>,
}

impl Telemetry {
    /// A registry with build info, scrape metrics and (on Linux) process metrics.
    pub fn new() -> Result<Self, TelemetryError> {
        let registry = Registry::new();
        let scrape = ScrapeMetrics::new()?;
        let mut collectors: Vec<(&'static str, Box<dyn prometheus::core::Collector>)> = vec![
            (BUILD_INFO, Box::new(build_info()?)),
            (SCRAPE_DURATION, Box::new(scrape.duration.clone())),
            (SCRAPE_SIZE, Box::new(scrape.size.clone())),
            (
                HTTP_REQUEST_DURATION,
                Box::new(scrape.request_duration.clone()),
            ),
        ];
        #[cfg(target_os = "linux")]
        collectors.push(("process_*", Box::new(process::ProcessMetrics::for_self())));
        let mut descs = Vec::new();
        for (name, collector) in collectors {
            descs.extend(collector.desc().into_iter().cloned());
            register(&registry, name, collector)?;
        }
        Ok(Telemetry {
            registry,
            scrape,
            descs,
        })
    }

    /// Descriptions of the families registered by [`Telemetry::new`]
    /// and of `kube_state_exporter_resource_synced` ([`Telemetry::register_sync_state`]).
    pub fn descriptions(&self) -> Vec<prometheus::core::Desc> {
        use prometheus::core::Collector;
        let mut descs = self.descs.clone();
        if let Ok(synced) = synced::SyncedCollector::new(Box::new(Vec::new)) {
            descs.extend(synced.desc().into_iter().cloned());
        }
        descs
    }

    /// Serves `kube_state_exporter_resource_synced{resource}` from `state`, read at each
    /// scrape.
    pub fn register_sync_state(&self, state: SyncState) -> Result<(), TelemetryError> {
        let collector = synced::SyncedCollector::new(state).map_err(|source| TelemetryError {
            name: RESOURCE_SYNCED,
            source,
        })?;
        register(&self.registry, RESOURCE_SYNCED, Box::new(collector))
    }

    /// Register further collectors here (e.g. the client's counters).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Handles for the `/metrics` handler.
    pub fn scrape_metrics(&self) -> ScrapeMetrics {
        self.scrape.clone()
    }
}

fn register(
    registry: &Registry,
    name: &'static str,
    collector: Box<dyn prometheus::core::Collector>,
) -> Result<(), TelemetryError> {
    registry
        .register(collector)
        .map_err(|source| TelemetryError { name, source })
}

/// `kube_state_exporter_build_info{version, kubernetes_version, overlays, schema_hash} 1`.
fn build_info() -> Result<IntGauge, TelemetryError> {
    let opts = Opts::new(
        BUILD_INFO,
        "Build information: exporter version, upstream Kubernetes version of the compiled schema, schema overlays and schema hash.",
    )
    .const_label("version", env!("CARGO_PKG_VERSION"))
    .const_label("kubernetes_version", schema::UPSTREAM_KUBERNETES)
    .const_label("overlays", schema::OVERLAYS)
    .const_label("schema_hash", schema::SCHEMA_HASH);
    let gauge = IntGauge::with_opts(opts).map_err(|source| TelemetryError {
        name: BUILD_INFO,
        source,
    })?;
    gauge.set(1);
    Ok(gauge)
}

/// Duration and size of each `/metrics` response, observed when its body ends.
#[derive(Clone)]
pub struct ScrapeMetrics {
    duration: Histogram,
    size: Histogram,
    /// `http_request_duration_seconds{handler="metrics",method}`, KSM's buckets and labels.
    request_duration: HistogramVec,
}

impl ScrapeMetrics {
    fn new() -> Result<Self, TelemetryError> {
        let duration = Histogram::with_opts(HistogramOpts::new(
            SCRAPE_DURATION,
            "Time from a /metrics request to the end of its response body.",
        ))
        .map_err(|source| TelemetryError {
            name: SCRAPE_DURATION,
            source,
        })?;
        // 1 KiB … 256 MiB in steps of 4.
        let size_buckets =
            prometheus::exponential_buckets(1024.0, 4.0, 10).map_err(|source| TelemetryError {
                name: SCRAPE_SIZE,
                source,
            })?;
        let size = Histogram::with_opts(
            HistogramOpts::new(
                SCRAPE_SIZE,
                "Bytes sent in a /metrics response body (after compression).",
            )
            .buckets(size_buckets),
        )
        .map_err(|source| TelemetryError {
            name: SCRAPE_SIZE,
            source,
        })?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                HTTP_REQUEST_DURATION,
                "A histogram of requests for kube-state-metrics metrics handler.",
            )
            .const_label("handler", "metrics")
            .buckets(prometheus::DEFAULT_BUCKETS.to_vec()),
            &["method"],
        )
        .map_err(|source| TelemetryError {
            name: HTTP_REQUEST_DURATION,
            source,
        })?;
        Ok(ScrapeMetrics {
            duration,
            size,
            request_duration,
        })
    }

    /// Wraps a `/metrics` response body so that `http_request_duration_seconds` observes the
    /// time from `started` until the body is done (or dropped), as client_golang's
    /// `InstrumentHandlerDuration` observes KSM's handler until it has written the body.
    pub fn time_request<B>(
        &self,
        method: &http::Method,
        started: std::time::Instant,
        body: B,
    ) -> TimedBody<B> {
        let observer = self
            .request_duration
            .with_label_values(&[request_duration::method_label(method)]);
        TimedBody::new(body, started, observer)
    }

    pub fn observe(&self, seconds: f64, bytes: u64) {
        self.duration.observe(seconds);
        // Precision loss above 2^53 bytes is irrelevant for a histogram.
        self.size.observe(bytes as f64);
    }
}
