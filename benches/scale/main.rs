//! The scale benchmark: `cargo bench --bench scale -- --nodes 5000 --pods-per-node 30`.
//!
//! One run, one synthetic cluster, two implementations:
//! - **this exporter**: the real binary, pointed by kubeconfig at a replay apiserver
//!   serving the recording, plus in-process figures from the library;
//! - **the baseline**: kube-runtime's watcher/reflector over k8s-openapi JSON types
//!   (a child process of this bench), rendering the same families.
//!
//! Memory is read from `/proc/PID/status` of each child (the replay apiserver lives in
//! this process and is not counted). Figures are printed, never asserted: under
//! `cargo test` (no `--bench` argument) a small cluster runs as a smoke test.
//! See docs/performance.md.

// The exporter binary's allocator, for the in-process figures and the baseline child
// alike (the baseline's JSON decode measured the same with glibc's allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod baseline;
mod exporter;
mod inprocess;
mod ksm;
mod measure;
mod report;
mod sharding;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use kube_state_exporter::replay::{Faults, Recording, ReplayServer};
use kube_state_exporter::synth::{self, SynthOptions};

use exporter::Running;
use measure::{get, memory_of, wait_for_200, Memory};
use report::Report;

const USAGE: &str = "\
usage: cargo bench --bench scale -- [--nodes N] [--pods-per-node M] [--seed S]
                                    [--recording DIR] [--out DIR] [--skip-baseline]
                                    [--one-response] [--serve-watch-list] [--exporter-only]
                                    [--serve-only SECONDS]
  --nodes, --pods-per-node  cluster size to synthesize [bench: 500 x 30; test: 10 x 10]
  --seed                    synth seed [1]
  --recording DIR           use this synth recording (made with --json) instead of a new one
  --out DIR                 synthesize into DIR and keep it (default: a temporary directory)
  --skip-baseline           measure this exporter only
  --in-process-only         skip the process figures (sync, RSS, scrapes over HTTP)
  --shards N                only memory per shard: unsharded, then each shard of N
  --one-response            serve every list in one response, ignoring limit, as the
                            apiserver's watch cache does for resourceVersion=0
  --serve-watch-list        serve streaming lists (sendInitialEvents), as 1.34+ does;
                            without it they are refused (422), as 1.28 does
  --exporter-only           skip the in-process figures and the baseline: the exporter
                            process only (start-up, RSS, scrapes, the KSM table)
  --serve-only SECONDS      measure nothing: serve the recording for SECONDS and print a
                            kubeconfig for it (for profiling the exporter by hand)";

#[derive(Debug)]
struct Args {
    nodes: u32,
    pods_per_node: u32,
    seed: u64,
    recording: Option<PathBuf>,
    out: Option<PathBuf>,
    skip_baseline: bool,
    in_process_only: bool,
    one_response: bool,
    serve_watch_list: bool,
    exporter_only: bool,
    /// `--bench` is what `cargo bench` passes; without it this is a smoke run.
    bench: bool,
    /// Internal: run as the baseline child against this apiserver.
    baseline_child: Option<String>,
    /// `--shards N`: only the memory-per-shard figures (benches/scale/sharding.rs).
    shards: Option<u32>,
    /// `--serve-only SECONDS`: only the replay apiserver, for that long.
    serve_only: Option<u64>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut raw: Vec<String> = std::env::args().skip(1).collect();
    let bench = raw.iter().any(|a| a == "--bench");
    raw.retain(|a| a != "--bench");
    let mut args = Args {
        nodes: if bench { 500 } else { 10 },
        pods_per_node: if bench { 30 } else { 10 },
        seed: 1,
        recording: None,
        out: None,
        skip_baseline: false,
        in_process_only: false,
        one_response: false,
        serve_watch_list: false,
        exporter_only: false,
        bench,
        baseline_child: None,
        shards: None,
        serve_only: None,
    };
    let mut it = raw.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--nodes" => args.nodes = value()?.parse().context("--nodes")?,
            "--pods-per-node" => {
                args.pods_per_node = value()?.parse().context("--pods-per-node")?
            }
            "--seed" => args.seed = value()?.parse().context("--seed")?,
            "--recording" => args.recording = Some(value()?.into()),
            "--out" => args.out = Some(value()?.into()),
            "--skip-baseline" => args.skip_baseline = true,
            "--in-process-only" => args.in_process_only = true,
            "--one-response" => args.one_response = true,
            "--serve-watch-list" => args.serve_watch_list = true,
            "--exporter-only" => {
                args.exporter_only = true;
                args.skip_baseline = true;
            }
            "--baseline-child" => args.baseline_child = Some(value()?),
            "--shards" => args.shards = Some(value()?.parse().context("--shards")?),
            "--serve-only" => {
                args.serve_only = Some(value()?.parse().context("--serve-only")?);
                args.exporter_only = true;
                args.skip_baseline = true;
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            // cargo test may pass libtest flags (--nocapture, a filter); they mean nothing here.
            other if !bench => eprintln!("scale: ignoring {other:?}"),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if let Some(apiserver) = &args.baseline_child {
        return baseline::run_child(apiserver);
    }
    let mut report = Report::new(measure::machine());
    let scratch = tempfile::tempdir()?;
    let dir = recording_dir(&args, scratch.path(), &mut report)?;
    if let Some(total) = args.shards {
        return shards(&dir, scratch.path(), &args, total, &report.cluster);
    }

    if !args.exporter_only {
        eprintln!("scale: in-process figures");
        in_process(&dir, &args, &mut report)?;
    }
    // From the recording itself (it may not be the size of --nodes/--pods-per-node).
    let expected_pods = report.ingest.map_or(0, |(_, pods, _)| pods);
    if args.in_process_only {
        report.print(expected_pods);
        return Ok(());
    }

    eprintln!("scale: loading the replay apiserver");
    let started = Instant::now();
    let recording = Recording::load(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let faults = Faults {
        ignore_limit: args.one_response,
        streaming_list: args.serve_watch_list,
        ..Faults::default()
    };
    let (addr, _apiserver) = runtime.block_on(ReplayServer::start(&recording, faults))?;
    drop(recording);
    report.note(format!(
        "replay apiserver on {addr}, loaded in {:.1} s (its memory is not counted)",
        started.elapsed().as_secs_f64()
    ));
    let settle = if args.bench {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(1)
    };

    let kubeconfig = scratch.path().join("kubeconfig");
    write_kubeconfig(&kubeconfig, &format!("http://{addr}"))?;
    if let Some(seconds) = args.serve_only {
        println!("{}", std::fs::read_to_string(&kubeconfig)?);
        eprintln!("scale: serving {addr} for {seconds} s (kubeconfig above)");
        std::thread::sleep(Duration::from_secs(seconds));
        return Ok(());
    }
    eprintln!("scale: this exporter against the replay apiserver");
    report.exporter = Some(run_exporter(&kubeconfig, settle)?);

    if !args.skip_baseline {
        eprintln!("scale: the kube-runtime baseline against the replay apiserver");
        report.baseline = Some(run_baseline(&format!("http://{addr}"), settle)?);
    }
    // Without the in-process figures, the pods the exporter itself says it holds.
    let expected_pods = match (&report.exporter, expected_pods) {
        (Some(exporter), 0) => exporter.pods.unwrap_or(0),
        _ => expected_pods,
    };
    report.print(expected_pods);
    if let Some(exporter) = &report.exporter {
        let mode = match (args.serve_watch_list, args.one_response) {
            (true, _) => "as a streaming list (WatchList)",
            (false, true) => "in one response (watch-cache read)",
            (false, false) => "paged (limit 500)",
        };
        let pods = exporter.pods.unwrap_or(expected_pods);
        ksm::print(exporter, pods, mode);
    }
    Ok(())
}

/// `--shards N`: the memory-per-shard figures only.
fn shards(
    dir: &Path,
    scratch: &Path,
    args: &Args,
    total: u32,
    cluster: &str,
) -> anyhow::Result<()> {
    let recording = Recording::load(dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (addr, _apiserver) =
        runtime.block_on(ReplayServer::start(&recording, Faults::default()))?;
    drop(recording);
    let kubeconfig = scratch.join("kubeconfig");
    write_kubeconfig(&kubeconfig, &format!("http://{addr}"))?;
    let settle = Duration::from_secs(if args.bench { 5 } else { 1 });
    let runs = sharding::measure(&kubeconfig, settle, total)?;
    sharding::print(cluster, &runs);
    Ok(())
}

/// The recording to measure: given, or synthesized (with its JSON twin) now.
fn recording_dir(args: &Args, scratch: &Path, report: &mut Report) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.recording {
        report.cluster = format!("recording {}", dir.display());
        return Ok(dir.clone());
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| scratch.join("recording"));
    eprintln!(
        "scale: synthesizing {} nodes x {} pods per node into {}",
        args.nodes,
        args.pods_per_node,
        dir.display()
    );
    let started = Instant::now();
    let summary = synth::generate(
        SynthOptions {
            nodes: args.nodes,
            pods_per_node: args.pods_per_node,
            seed: args.seed,
            churn_per_mille: 20,
            json: true,
        },
        &dir,
    )?;
    report.cluster = format!(
        "{} nodes, {} pods (seed {}), {} watch events; recording {:.0} MB incl. JSON twin, synthesized in {:.1} s",
        summary.count("nodes"),
        summary.count("pods"),
        args.seed,
        summary.churn.pod_events + summary.churn.node_events,
        summary.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(dir)
}

fn in_process(dir: &Path, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let bodies = inprocess::Bodies::read(dir)?;
    let pages = inprocess::Pages::cut(&bodies)?;
    report.decode_protobuf = Some(inprocess::decode_protobuf(&pages)?);
    report.decode_json = Some(inprocess::decode_json(&pages)?);
    if !args.skip_baseline {
        report.decode_openapi = Some(inprocess::decode_openapi(&pages)?);
    }
    drop(pages);
    let ingest = inprocess::ingest(&bodies)?;
    report.ingest = Some((ingest.seconds, ingest.pods, ingest.pod_heap_bytes));
    report.render = Some(inprocess::render(&ingest.store)?);
    if args.bench {
        inprocess::compression_levels(&ingest.store)?;
    }
    report.apply = Some(inprocess::apply_watch(
        &ingest.store,
        &bodies.pods_watch_protobuf,
    )?);
    drop(ingest);
    if !args.skip_baseline {
        let mut writer = inprocess::baseline_store(&bodies.pods_json)?;
        report.baseline_apply = Some(inprocess::baseline_apply_watch(
            &mut writer,
            &bodies.pods_watch_json,
        )?);
    }
    Ok(())
}

fn write_kubeconfig(path: &Path, server: &str) -> std::io::Result<()> {
    std::fs::write(
        path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: replay\n  cluster:\n    server: {server}\n\
             users:\n- name: bench\n  user: {{}}\ncontexts:\n- name: replay\n  context:\n    cluster: replay\n    user: bench\n\
             current-context: replay\n"
        ),
    )
}

/// Kills the child when the measurement ends, however it ends.
/// What one implementation's process showed.
#[derive(Debug, Clone, Default)]
pub struct ProcessFigures {
    /// Spawn to ready (store synced / reflector stores ready).
    pub sync_seconds: f64,
    /// High-water mark once the start-up settled, before any scrape.
    pub startup_peak: u64,
    /// RSS after settling.
    pub steady: u64,
    /// High-water mark after the scrapes.
    pub peak_after_scrapes: u64,
    pub scrape: Option<measure::Fetched>,
    pub scrape_gzip: Option<measure::Fetched>,
    /// The baseline renders in its own process: (seconds, bytes).
    pub render: Option<(f64, u64)>,
    /// The exporter's own account (telemetry): pods held, and how pods were listed.
    pub pods: Option<u64>,
    pub pods_listed_by: Option<String>,
}

/// Lets the start-up finish (the recorded watches replay), then reads the memory.
fn settled_memory(pid: u32, settle: Duration) -> Memory {
    std::thread::sleep(settle);
    memory_of(pid)
}

fn run_exporter(kubeconfig: &Path, settle: Duration) -> anyhow::Result<ProcessFigures> {
    let started = Instant::now();
    let exporter = exporter::spawn(kubeconfig, &["--enable-gzip-encoding"])?;
    let (port, telemetry_port, pid) = (exporter.port, exporter.telemetry_port, exporter.pid());
    wait_for_200(telemetry_port, "/readyz", Duration::from_secs(1800))?;
    let sync_seconds = started.elapsed().as_secs_f64();
    let settled = settled_memory(pid, settle);
    let telemetry =
        measure::get_text(telemetry_port, "/metrics", Duration::from_secs(30)).unwrap_or_default();
    let sample = |prefix: &str| -> Option<f64> {
        telemetry
            .lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
    };
    let pods = sample("kube_state_exporter_objects{resource=\"pods\"}").map(|v| v as u64);
    let pods_listed_by = ["watch_list", "list"]
        .into_iter()
        .filter(|mode| {
            sample(&format!(
                "kube_state_exporter_lists_total{{mode=\"{mode}\",resource=\"pods\"}}"
            ))
            .is_some_and(|count| count > 0.0)
        })
        .map(str::to_string)
        .next();
    let timeout = Duration::from_secs(600);
    let scrape = get(port, "/metrics", false, timeout)?;
    let scrape_gzip = get(port, "/metrics", true, timeout)?;
    if scrape.status != 200 || scrape_gzip.status != 200 {
        bail!(
            "/metrics answered {} and {} (gzip)",
            scrape.status,
            scrape_gzip.status
        );
    }
    let after = memory_of(pid);
    let figures = ProcessFigures {
        sync_seconds,
        startup_peak: settled.peak,
        steady: settled.rss,
        peak_after_scrapes: after.peak,
        scrape: Some(scrape),
        scrape_gzip: Some(scrape_gzip),
        render: None,
        pods,
        pods_listed_by,
    };
    Ok(figures)
}

fn run_baseline(apiserver: &str, settle: Duration) -> anyhow::Result<ProcessFigures> {
    let started = Instant::now();
    let child = Command::new(std::env::current_exe()?)
        .args(["--baseline-child", apiserver])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the baseline child")?;
    let mut baseline = Running(child);
    let pid = baseline.0.id();
    let mut stdin: ChildStdin = baseline.0.stdin.take().context("piped stdin")?;
    let stdout: ChildStdout = baseline.0.stdout.take().context("piped stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = || -> anyhow::Result<String> {
        lines
            .next()
            .context("the baseline child ended early")?
            .context("reading the baseline child")
    };
    let ready = next_line()?;
    if ready != "ready" {
        bail!("the baseline child said {ready:?}");
    }
    let sync_seconds = started.elapsed().as_secs_f64();
    let settled = settled_memory(pid, settle);
    writeln!(stdin, "render")?;
    let rendered = next_line()?;
    let mut words = rendered.split_whitespace().skip(1);
    let seconds: f64 = words.next().unwrap_or("").parse().context("render time")?;
    let bytes: u64 = words.next().unwrap_or("").parse().context("render size")?;
    let after = memory_of(pid);
    drop(stdin);
    Ok(ProcessFigures {
        sync_seconds,
        startup_peak: settled.peak,
        steady: settled.rss,
        peak_after_scrapes: after.peak,
        scrape: None,
        scrape_gzip: None,
        render: Some((seconds, bytes)),
        pods: None,
        pods_listed_by: None,
    })
}
