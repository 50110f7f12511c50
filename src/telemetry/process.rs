//! `process_*` metrics. The prometheus crate's process collector divides the CPU ticks of
//! `/proc/<pid>/stat` by the tick rate in integers, so `process_cpu_seconds_total` only
//! moves in whole seconds (0 for a mostly idle exporter, and `rate()` of it is useless).
//! This collector keeps every other family of the crate's collector and serves the CPU
//! time with its fractional part, as client_golang (procfs) does for KSM: ticks / 100
//! (USER_HZ, the unit of `/proc/<pid>/stat`, 100 on every Linux architecture).

use prometheus::core::{Collector, Desc};
use prometheus::process_collector::ProcessCollector;
use prometheus::proto::MetricFamily;
use prometheus::{Counter, Opts};

const CPU_SECONDS: &str = "process_cpu_seconds_total";
/// Ticks per second of the utime/stime fields.
const USER_HZ: f64 = 100.0;

pub struct ProcessMetrics {
    inner: ProcessCollector,
    cpu: Counter,
    stat_path: std::path::PathBuf,
}

impl ProcessMetrics {
    pub fn for_self() -> ProcessMetrics {
        let cpu = Counter::with_opts(Opts::new(
            CPU_SECONDS,
            "Total user and system CPU time spent in seconds.",
        ))
        .unwrap_or_else(|error| unreachable!("static counter options rejected: {error}"));
        ProcessMetrics {
            inner: ProcessCollector::for_self(),
            cpu,
            stat_path: "/proc/self/stat".into(),
        }
    }
}

/// User + system CPU seconds from the text of `/proc/<pid>/stat`. The command name (field
/// 2) is in parentheses and may itself hold spaces and parentheses: fields are counted
/// after its last `)`.
pub fn cpu_seconds_from_stat(stat: &str) -> Option<f64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name: state(3) ppid(4) ... utime(14) stime(15).
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // Ticks stay far below 2^53: exact as f64.
    Some((utime + stime) as f64 / USER_HZ)
}

impl Collector for ProcessMetrics {
    fn desc(&self) -> Vec<&Desc> {
        // The crate's collector describes process_cpu_seconds_total too, with the same
        // name and help: one description for the family served here.
        self.inner.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut families: Vec<MetricFamily> = self
            .inner
            .collect()
            .into_iter()
            .filter(|family| family.name() != CPU_SECONDS)
            .collect();
        let seconds = std::fs::read_to_string(&self.stat_path)
            .ok()
            .and_then(|stat| cpu_seconds_from_stat(&stat));
        if let Some(seconds) = seconds {
            // Concurrent scrapes may both add: only ever move forward to the reading.
            let behind = seconds - self.cpu.get();
            if behind > 0.0 {
                self.cpu.inc_by(behind);
            }
            families.splice(0..0, self.cpu.collect());
        }
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        // utime 123 and stime 45 ticks; the name holds a space and a parenthesis.
        let stat = "4242 (kube (state) x) S 1 4242 4242 0 -1 4194560 2513 0 0 0 123 45 0 0 20 0 9 0 1000 1000000 500 18446744073709551615";
        assert_eq!(cpu_seconds_from_stat(stat), Some(1.68));
        assert_eq!(cpu_seconds_from_stat("4242 (truncated) S 1"), None);
    }

    #[test]
    fn cpu_seconds_keep_their_fraction() {
        let metrics = ProcessMetrics::for_self();
        // Burn CPU until the kernel has accounted at least 0.05 s to this process.
        let read = || {
            std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|stat| cpu_seconds_from_stat(&stat))
                .expect("/proc/self/stat readable")
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut spin: u64 = 0;
        while read() < 0.05 && std::time::Instant::now() < deadline {
            spin = std::hint::black_box(spin.wrapping_mul(31).wrapping_add(7));
        }
        let families = metrics.collect();
        let cpu = families
            .iter()
            .find(|family| family.name() == CPU_SECONDS)
            .expect("process_cpu_seconds_total collected");
        let value = cpu.get_metric()[0].get_counter().get_value();
        let now = read();
        assert!(value >= 0.05, "{value} s: whole seconds only?");
        assert!(value <= now, "{value} s collected, {now} s read after");
        assert_eq!(
            families
                .iter()
                .filter(|family| family.name() == CPU_SECONDS)
                .count(),
            1,
            "one CPU family, not the crate's too"
        );
        assert!(families
            .iter()
            .any(|family| family.name() == "process_resident_memory_bytes"));
    }
}
