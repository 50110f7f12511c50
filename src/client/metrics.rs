//! Self-metrics of the client and reflectors, registered into the registry the
//! telemetry server exposes.

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Counters and gauges, labelled by resource (plural name).
#[derive(Debug, Clone)]
pub struct ClientMetrics {
    /// `kube_state_metrics_list_total{resource,result}` (KSM's name): result is success|error.
    pub list_total: IntCounterVec,
    /// `kube_state_metrics_watch_total{resource,result}` (KSM's name), counted when a watch
    /// starts: success once its stream is open, error when it cannot be opened; a watch
    /// that opened and then failed (cut, decode failure, in-band ERROR) counts once more
    /// as error.
    pub watch_total: IntCounterVec,
    pub relists_total: IntCounterVec,
    /// `{resource,mode}`: completed (re)lists by how they were made: `watch_list` (a
    /// streaming list, `sendInitialEvents=true`) or `list` (paged list requests).
    pub lists_total: IntCounterVec,
    pub bookmarks_total: IntCounterVec,
    /// `{resource,format}`: bodies or frames that did not decode.
    pub decode_errors_total: IntCounterVec,
    /// Resources switched from protobuf to JSON after a schema mismatch.
    pub json_fallbacks_total: IntCounterVec,
    /// `{resource,field_path,field_number,wire_type}`: 1 for each disagreement the
    /// drift diagnosis found; removed when the resource decodes cleanly again. What
    /// deploy/rules alert on (a counter says "something failed", this says where).
    pub schema_drift: IntGaugeVec,
    /// `{resource}`: 1 while the resource is read as JSON after a schema mismatch.
    pub json_fallback: IntGaugeVec,
    /// `{resource,type}`: ADDED/MODIFIED/DELETED events applied.
    pub watch_events_total: IntCounterVec,
    pub objects: IntGaugeVec,
    /// Unix time of the last completed list or watch event for the resource.
    pub last_sync_timestamp_seconds: GaugeVec,
}

const PREFIX: &str = "kube_state_exporter_";
/// Name (after the prefix) of the drift gauge; the shipped alert rules query it.
pub const SCHEMA_DRIFT: &str = "schema_drift";
pub const JSON_FALLBACK: &str = "json_fallback";

impl ClientMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub fn register(registry: &Registry) -> Result<ClientMetrics, prometheus::Error> {
        let counter =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let metric =
                    IntCounterVec::new(Opts::new(format!("{PREFIX}{name}"), help), labels)?;
                registry.register(Box::new(metric.clone()))?;
                Ok(metric)
            };
        // These two keep kube-state-metrics' own names: the KSM alerting rules users
        // already run (kubernetes-mixin: KubeStateMetricsListErrors/WatchErrors) query them.
        let ksm_counter = |name: &str, help: &str| -> Result<IntCounterVec, prometheus::Error> {
            let metric = IntCounterVec::new(Opts::new(name, help), &["resource", "result"])?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let objects = IntGaugeVec::new(
            Opts::new(
                format!("{PREFIX}objects"),
                "Objects currently known per resource.",
            ),
            &["resource"],
        )?;
        registry.register(Box::new(objects.clone()))?;
        let last_sync = GaugeVec::new(
            Opts::new(
                format!("{PREFIX}last_sync_timestamp_seconds"),
                "Unix time of the last successful list or watch event per resource.",
            ),
            &["resource"],
        )?;
        registry.register(Box::new(last_sync.clone()))?;
        let gauge =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, prometheus::Error> {
                let metric = IntGaugeVec::new(Opts::new(format!("{PREFIX}{name}"), help), labels)?;
                registry.register(Box::new(metric.clone()))?;
                Ok(metric)
            };
        Ok(ClientMetrics {
            list_total: ksm_counter(
                "kube_state_metrics_list_total",
                "List requests by resource and result.",
            )?,
            watch_total: ksm_counter(
                "kube_state_metrics_watch_total",
                "Watch requests by resource: success when the stream opened, error when it could not be opened or failed later.",
            )?,
            relists_total: counter(
                "relists_total",
                "Relists after the first list (expired watch, errors).",
                &["resource"],
            )?,
            lists_total: counter(
                "lists_total",
                "Completed lists by how they were made (watch_list: streaming list; list: list requests).",
                &["resource", "mode"],
            )?,
            bookmarks_total: counter(
                "watch_bookmarks_total",
                "Watch bookmarks received.",
                &["resource"],
            )?,
            decode_errors_total: counter(
                "decode_errors_total",
                "Responses or watch frames that failed to decode.",
                &["resource", "format"],
            )?,
            json_fallbacks_total: counter(
                "json_fallbacks_total",
                "Switches from protobuf to JSON after a schema mismatch.",
                &["resource"],
            )?,
            schema_drift: gauge(
                SCHEMA_DRIFT,
                "1 for each field where the apiserver's protobuf objects disagree with the schema of this build (see docs/schema-drift.md).",
                &["resource", "field_path", "field_number", "wire_type"],
            )?,
            json_fallback: gauge(
                JSON_FALLBACK,
                "1 while the resource is read as JSON because its protobuf objects do not match the schema of this build.",
                &["resource"],
            )?,
            watch_events_total: counter(
                "watch_events_total",
                "Watch events applied, by type.",
                &["resource", "type"],
            )?,
            objects,
            last_sync_timestamp_seconds: last_sync,
        })
    }

    /// Descriptions of every family, for docs/metrics.md.
    pub fn descriptions(&self) -> Vec<prometheus::core::Desc> {
        use prometheus::core::Collector;
        let collectors: [&dyn Collector; 11] = [
            &self.list_total,
            &self.watch_total,
            &self.relists_total,
            &self.bookmarks_total,
            &self.decode_errors_total,
            &self.json_fallbacks_total,
            &self.schema_drift,
            &self.json_fallback,
            &self.watch_events_total,
            &self.objects,
            &self.last_sync_timestamp_seconds,
        ];
        collectors
            .iter()
            .flat_map(|collector| collector.desc().into_iter().cloned())
            .collect()
    }

    /// Metrics registered into a private registry (tests, tools).
    pub fn unregistered() -> ClientMetrics {
        match ClientMetrics::register(&Registry::new()) {
            Ok(metrics) => metrics,
            // Only a duplicate name could fail, and a fresh registry has none.
            Err(error) => unreachable!("fresh registry rejected client metrics: {error}"),
        }
    }

    pub fn mark_synced(&self, resource: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        self.last_sync_timestamp_seconds
            .with_label_values(&[resource])
            .set(now);
    }
}
