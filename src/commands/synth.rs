//! `kube-state-exporter synth`: writes a synthetic cluster as a recording and prints
//! what it wrote.

use std::io::Write;
use std::time::Instant;

use crate::cli::SynthArgs;
use crate::synth::{self, SynthError, SynthOptions};

#[derive(Debug, thiserror::Error)]
pub enum SynthCommandError {
    #[error("--churn must be between 0 and 100 (percent), got {0}")]
    Churn(f64),
    #[error(transparent)]
    Synth(#[from] SynthError),
}

/// The options the flags describe.
pub fn options(args: &SynthArgs) -> Result<SynthOptions, SynthCommandError> {
    if !(0.0..=100.0).contains(&args.churn) {
        return Err(SynthCommandError::Churn(args.churn));
    }
    Ok(SynthOptions {
        nodes: args.nodes,
        pods_per_node: args.pods_per_node,
        seed: args.seed,
        churn_per_mille: (args.churn * 10.0).round() as u32,
        json: args.json,
    })
}

pub fn run(args: &SynthArgs) -> Result<(), SynthCommandError> {
    let options = options(args)?;
    let started = Instant::now();
    let summary = synth::generate(options, &args.out)?;
    let seconds = started.elapsed().as_secs_f64();
    // Printing is best effort: a closed stdout (`| head`) must not fail the command.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "wrote {} ({} bodies, {} bytes) in {seconds:.2} s",
        args.out.display(),
        summary.bodies,
        summary.bytes
    );
    for (plural, count) in &summary.objects {
        let _ = writeln!(out, "  {plural:<14} {count}");
    }
    let churn = summary.churn;
    let _ = writeln!(
        out,
        "  watch: {} pod events ({} added, {} deleted), {} node events, resourceVersion {} → {}",
        churn.pod_events,
        churn.pods_added,
        churn.pods_deleted,
        churn.node_events,
        summary.list_resource_version,
        churn.last_resource_version
    );
    Ok(())
}
