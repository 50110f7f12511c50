//! KSM's sharding self-metrics on the telemetry port, same names, labels and types:
//! `kube_state_metrics_shard_ordinal{shard_ordinal="<n>"} <n>` and
//! `kube_state_metrics_total_shards <total>` (unsharded: 0 and 1, as KSM). The shipped
//! alerts (`deploy/rules/sharding.rules.yaml`) compare them across instances.

use prometheus::{IntGauge, IntGaugeVec, Opts, Registry};

use super::ShardAssignment;

pub const SHARD_ORDINAL: &str = "kube_state_metrics_shard_ordinal";
pub const TOTAL_SHARDS: &str = "kube_state_metrics_total_shards";

/// Handles on the two gauges; cheap to clone.
#[derive(Clone)]
pub struct ShardMetrics {
    ordinal: IntGaugeVec,
    total: IntGauge,
}

impl ShardMetrics {
    pub fn register(registry: &Registry) -> Result<ShardMetrics, prometheus::Error> {
        let ordinal = IntGaugeVec::new(
            Opts::new(
                SHARD_ORDINAL,
                "Current sharding ordinal/index of this instance",
            ),
            &["shard_ordinal"],
        )?;
        let total = IntGauge::new(
            TOTAL_SHARDS,
            "Number of total shards this instance is aware of",
        )?;
        registry.register(Box::new(ordinal.clone()))?;
        registry.register(Box::new(total.clone()))?;
        Ok(ShardMetrics { ordinal, total })
    }

    /// Publishes `assignment`, replacing the previous ordinal series (auto-sharding
    /// may change it).
    pub fn set(&self, assignment: ShardAssignment) {
        self.ordinal.reset();
        let shard = assignment.shard();
        self.ordinal
            .with_label_values(&[&shard.to_string()])
            .set(i64::from(shard));
        self.total.set(i64::from(assignment.total()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{Encoder, TextEncoder};

    fn exposition(registry: &Registry) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .expect("encodes");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn the_ordinal_series_follows_the_assignment() {
        let registry = Registry::new();
        let metrics = ShardMetrics::register(&registry).expect("registers");
        metrics.set(ShardAssignment::ALL);
        let text = exposition(&registry);
        assert!(text.contains("kube_state_metrics_shard_ordinal{shard_ordinal=\"0\"} 0\n"));
        assert!(text.contains("kube_state_metrics_total_shards 1\n"));
        assert!(text.contains("# TYPE kube_state_metrics_shard_ordinal gauge"));
        metrics.set(ShardAssignment::new(2, 3).expect("valid"));
        let text = exposition(&registry);
        assert!(text.contains("kube_state_metrics_shard_ordinal{shard_ordinal=\"2\"} 2\n"));
        assert!(!text.contains("shard_ordinal=\"0\""), "{text}");
        assert!(text.contains("kube_state_metrics_total_shards 3\n"));
    }
}
