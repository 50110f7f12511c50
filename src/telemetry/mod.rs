//! Self-metrics served on the telemetry port: build information, scrape duration and size of
//! `/metrics`, process metrics, and whatever other parts register (the client registers its
//! list/watch counters into the same [`prometheus::Registry`]).

use prometheus::{Histogram, HistogramOpts, IntGauge, Opts, Registry};

use crate::api::schema;

/// Name of the build-information gauge (always 1).
pub const BUILD_INFO: &str = "kube_state_exporter_build_info";
pub const SCRAPE_DURATION: &str = "kube_state_exporter_scrape_duration_seconds";
pub const SCRAPE_SIZE: &str = "kube_state_exporter_scrape_response_size_bytes";

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
}

impl Telemetry {
    /// A registry with build info, scrape metrics and (on Linux) process metrics.
    pub fn new() -> Result<Self, TelemetryError> {
        let registry = Registry::new();
        register(&registry, BUILD_INFO, Box::new(build_info()?))?;
        let scrape = ScrapeMetrics::new()?;
        register(
            &registry,
            SCRAPE_DURATION,
            Box::new(scrape.duration.clone()),
        )?;
        register(&registry, SCRAPE_SIZE, Box::new(scrape.size.clone()))?;
        #[cfg(target_os = "linux")]
        register(
            &registry,
            "process_*",
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        )?;
        Ok(Telemetry { registry, scrape })
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
        Ok(ScrapeMetrics { duration, size })
    }

    pub fn observe(&self, seconds: f64, bytes: u64) {
        self.duration.observe(seconds);
        // Precision loss above 2^53 bytes is irrelevant for a histogram.
        self.size.observe(bytes as f64);
    }
}
