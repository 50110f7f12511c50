//! kube-state-metrics' own figures beside ours, in one table with the ratios.
//!
//! The figures are those of `../shared/ksm-reference/baseline.md` (kube-state-metrics
//! v2.11.0, default flags, against a real kube-apiserver 1.28.7 on a 2-vCPU machine of
//! the same kind; 503 nodes, 15,026 pods). They are kept here as constants, each with
//! the line of that file it comes from; when the file is beside the repository, the
//! run checks that every figure still reads the same there and says so if not.

use crate::ProcessFigures;

const BASELINE: &str = "../shared/ksm-reference/baseline.md";

/// One KSM figure: what it is, its value (MiB or seconds), and the text of
/// baseline.md it is read from.
struct KsmFigure {
    figure: &'static str,
    value: f64,
    cited: &'static str,
}

const STEADY_MIB: KsmFigure = KsmFigure {
    figure: "steady RSS",
    value: 602.0,
    cited: "602 MiB (steady at 60 s: the same",
};
const PEAK_MIB: KsmFigure = KsmFigure {
    figure: "peak RSS (VmHWM)",
    value: 602.0,
    cited: "| peak RSS (VmHWM) | 602 MiB",
};
const PLAIN_SECONDS: KsmFigure = KsmFigure {
    figure: "/metrics plain",
    value: 0.31,
    cited: "| /metrics time, plain (curl time_total) | 0.31 s",
};
const GZIP_SECONDS: KsmFigure = KsmFigure {
    figure: "/metrics gzip",
    value: 1.52,
    cited: "(`--enable-gzip-encoding`) | 1.52 s",
};
/// "2.3–2.6 s after start": the better end, so our ratio is not flattered.
const STARTUP_SECONDS: KsmFigure = KsmFigure {
    figure: "start-up (all pods served)",
    value: 2.3,
    cited: "| 2.3–2.6 s after start",
};

/// Checks the constants against baseline.md when it is there; a note per mismatch.
fn check_citations() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BASELINE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return vec![format!(
            "{BASELINE} is absent: KSM figures are the constants cited in benches/scale/ksm.rs"
        )];
    };
    [
        &STEADY_MIB,
        &PEAK_MIB,
        &PLAIN_SECONDS,
        &GZIP_SECONDS,
        &STARTUP_SECONDS,
    ]
    .iter()
    .filter(|f| !text.contains(f.cited))
    .map(|f| {
        format!(
            "{BASELINE} no longer reads {:?} for {}: check the constant",
            f.cited, f.figure
        )
    })
    .collect()
}

const MIB: f64 = 1024.0 * 1024.0;

/// Prints the table: figure, kube-state-metrics, this exporter, KSM ÷ ours.
pub fn print(ours: &ProcessFigures, pods: u64, mode: &str) {
    println!();
    println!(
        "against kube-state-metrics v2.11 ({BASELINE}: 503 nodes, 15,026 pods; ours: {pods} pods, lists {mode})"
    );
    if let Some(listed_by) = &ours.pods_listed_by {
        println!("note:    the exporter's telemetry: pods listed by {listed_by} (kube_state_exporter_lists_total)");
    }
    for note in check_citations() {
        println!("note:    {note}");
    }
    let mut rows: Vec<[String; 4]> = vec![[
        "figure".into(),
        "kube-state-metrics".into(),
        "this exporter".into(),
        "KSM / ours".into(),
    ]];
    let mut row = |ksm: &KsmFigure, ours: Option<f64>, unit: &str| {
        let format = |v: f64| {
            if unit == "MiB" {
                format!("{v:.0} MiB")
            } else {
                format!("{v:.2} s")
            }
        };
        let (ours_text, ratio) = match ours {
            Some(v) if v > 0.0 => (format(v), format!("{:.1}x", ksm.value / v)),
            _ => ("-".to_string(), String::new()),
        };
        rows.push([ksm.figure.to_string(), format(ksm.value), ours_text, ratio]);
    };
    row(&STEADY_MIB, Some(ours.steady as f64 / MIB), "MiB");
    row(&PEAK_MIB, Some(ours.startup_peak as f64 / MIB), "MiB");
    row(&PLAIN_SECONDS, ours.scrape.as_ref().map(|f| f.seconds), "s");
    row(
        &GZIP_SECONDS,
        ours.scrape_gzip.as_ref().map(|f| f.seconds),
        "s",
    );
    row(&STARTUP_SECONDS, Some(ours.sync_seconds), "s");
    let widths: Vec<usize> = (0..4)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("  {}", cells.join("  ").trim_end());
    }
    if ours.steady > 0 {
        let ratio = ours.startup_peak as f64 / ours.steady as f64;
        println!(
            "  start-up peak / steady: {ratio:.2} (goal: at most 1.3); peak / KSM's 602 MiB: 1/{:.1} (goal: at least 1/8)",
            PEAK_MIB.value * MIB / ours.startup_peak.max(1) as f64
        );
    }
}
