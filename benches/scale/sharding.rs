//! Memory per shard (`--shards N`): the exporter binary against the replay apiserver,
//! once unsharded and once as each shard of N (`--shard=i --total-shards=N`), one
//! process at a time so the figures do not share the machine. A shard filters before
//! the store, so its memory is the store's share plus what every shard pays anyway
//! (the process, decode buffers of whole list pages: like KSM, every shard receives
//! and decodes every object).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::measure::{memory_of, wait_for_200};

/// One run of the exporter.
pub struct ShardRun {
    pub label: String,
    pub sync_seconds: f64,
    pub steady_rss: u64,
    pub startup_peak: u64,
}

fn run_one(
    kubeconfig: &Path,
    settle: Duration,
    label: String,
    extra: &[String],
) -> anyhow::Result<ShardRun> {
    let started = Instant::now();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let exporter = crate::exporter::spawn(kubeconfig, &extra)?;
    let telemetry_port = exporter.telemetry_port;
    wait_for_200(telemetry_port, "/readyz", Duration::from_secs(1800))?;
    let sync_seconds = started.elapsed().as_secs_f64();
    std::thread::sleep(settle);
    let memory = memory_of(exporter.pid());
    Ok(ShardRun {
        label,
        sync_seconds,
        steady_rss: memory.rss,
        startup_peak: memory.peak,
    })
}

/// Unsharded, then each shard of `total`.
pub fn measure(kubeconfig: &Path, settle: Duration, total: u32) -> anyhow::Result<Vec<ShardRun>> {
    let mut runs = vec![run_one(kubeconfig, settle, "unsharded".to_string(), &[])?];
    for shard in 0..total {
        runs.push(run_one(
            kubeconfig,
            settle,
            format!("shard {shard} of {total}"),
            &[
                format!("--shard={shard}"),
                format!("--total-shards={total}"),
            ],
        )?);
    }
    Ok(runs)
}

pub fn print(cluster: &str, runs: &[ShardRun]) {
    let mib = |bytes: u64| format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0));
    println!("memory per shard — {cluster}");
    println!(
        "  {:<16} {:>10} {:>16} {:>16}",
        "instance", "sync", "steady RSS", "start-up peak"
    );
    for run in runs {
        println!(
            "  {:<16} {:>9.2}s {:>16} {:>16}",
            run.label,
            run.sync_seconds,
            mib(run.steady_rss),
            mib(run.startup_peak)
        );
    }
    if let Some((unsharded, shards)) = runs.split_first() {
        let mean =
            shards.iter().map(|r| r.steady_rss as f64).sum::<f64>() / shards.len().max(1) as f64;
        println!(
            "  mean shard steady RSS {:.0} MiB = {:.0} % of unsharded",
            mean / (1024.0 * 1024.0),
            100.0 * mean / unsharded.steady_rss.max(1) as f64
        );
    }
}
