//! `kube_state_exporter_resource_synced{resource}`: 1 once a resource has completed its
//! first list, 0 before. `/readyz` answers the same question for all resources at once;
//! this says which one holds readiness back (the NotReady alert of deploy/rules reads it).

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGaugeVec, Opts};

pub const RESOURCE_SYNCED: &str = "kube_state_exporter_resource_synced";

/// Every served resource and whether it has synced, read at each scrape.
pub type SyncState = Box<dyn Fn() -> Vec<(&'static str, bool)> + Send + Sync>;

pub struct SyncedCollector {
    gauge: IntGaugeVec,
    state: SyncState,
}

impl SyncedCollector {
    pub fn new(state: SyncState) -> Result<Self, prometheus::Error> {
        let gauge = IntGaugeVec::new(
            Opts::new(
                RESOURCE_SYNCED,
                "1 once the resource has completed its first list (what /readyz waits for), 0 before.",
            ),
            &["resource"],
        )?;
        Ok(SyncedCollector { gauge, state })
    }
}

impl Collector for SyncedCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.gauge.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        for (resource, synced) in (self.state)() {
            self.gauge
                .with_label_values(&[resource])
                .set(i64::from(synced));
        }
        self.gauge.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn follows_the_store_at_each_scrape() {
        let pods = Arc::new(AtomicBool::new(false));
        let state = Arc::clone(&pods);
        let collector = SyncedCollector::new(Box::new(move || {
            vec![("nodes", true), ("pods", state.load(Ordering::Relaxed))]
        }))
        .expect("collector");
        let values = |collector: &SyncedCollector| -> Vec<(String, f64)> {
            let mut values: Vec<(String, f64)> = collector.collect()[0]
                .get_metric()
                .iter()
                .map(|metric| {
                    (
                        metric.get_label()[0].value().to_string(),
                        metric.get_gauge().get_value(),
                    )
                })
                .collect();
            values.sort_by(|a, b| a.0.cmp(&b.0));
            values
        };
        assert_eq!(
            values(&collector),
            [("nodes".to_string(), 1.0), ("pods".to_string(), 0.0)]
        );
        pods.store(true, Ordering::Relaxed);
        assert_eq!(
            values(&collector),
            [("nodes".to_string(), 1.0), ("pods".to_string(), 1.0)]
        );
    }
}
