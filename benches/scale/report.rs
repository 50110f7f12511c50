//! The printed report: one table, this exporter beside the baseline, and the budget
//! of issue 5 checked line by line (printed, not asserted).

use crate::inprocess::{Apply, Decode, Render};
use crate::ProcessFigures;

#[derive(Default)]
pub struct Report {
    machine: String,
    pub cluster: String,
    notes: Vec<String>,
    pub decode_protobuf: Option<Decode>,
    pub decode_json: Option<Decode>,
    pub decode_openapi: Option<Decode>,
    /// (seconds, pods, compact heap bytes of the pods)
    pub ingest: Option<(f64, u64, u64)>,
    pub render: Option<Render>,
    pub apply: Option<Apply>,
    pub baseline_apply: Option<Apply>,
    pub exporter: Option<ProcessFigures>,
    pub baseline: Option<ProcessFigures>,
}

const MIB: f64 = 1024.0 * 1024.0;
const GIB: u64 = 1024 * 1024 * 1024;

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / MIB)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn secs(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
}

fn rate(per_second: f64, unit: &str) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M{unit}/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.1} k{unit}/s", per_second / 1e3)
    } else {
        format!("{per_second:.0} {unit}/s")
    }
}

/// How many times better we are: `better_when_lower` for costs (time, bytes).
fn advantage(ours: f64, baseline: f64, better_when_lower: bool) -> String {
    if ours <= 0.0 || baseline <= 0.0 {
        return String::new();
    }
    let ratio = if better_when_lower {
        baseline / ours
    } else {
        ours / baseline
    };
    format!("{ratio:.1}x")
}

struct Table(Vec<[String; 4]>);

impl Table {
    fn row(&mut self, figure: &str, ours: String, baseline: String, ratio: String) {
        self.0.push([figure.to_string(), ours, baseline, ratio]);
    }

    fn print(&self) {
        let widths: Vec<usize> = (0..4)
            .map(|c| {
                self.0
                    .iter()
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.0 {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            println!("  {}", cells.join("  ").trim_end());
        }
    }
}

impl Report {
    pub fn new(machine: String) -> Report {
        Report {
            machine,
            ..Report::default()
        }
    }

    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    pub fn print(&self, pods: u64) {
        println!();
        println!("kube-state-exporter scale benchmark");
        println!("machine: {}", self.machine);
        println!("cluster: {}", self.cluster);
        for note in &self.notes {
            println!("note:    {note}");
        }
        println!();
        let mut table = Table(Vec::new());
        table.row(
            "figure",
            "this exporter".into(),
            "baseline (kube-runtime + k8s-openapi JSON)".into(),
            "advantage".into(),
        );
        let none = String::new;
        if let Some(pb) = self.decode_protobuf {
            table.row(
                "decode pod list, protobuf",
                format!(
                    "{}, {}",
                    rate(pb.megabytes_per_second(), "MB"),
                    rate(pb.objects_per_second(), "pods")
                ),
                none(),
                none(),
            );
        }
        if let Some(json) = self.decode_json {
            table.row(
                "decode pod list, JSON",
                format!(
                    "{}, {}",
                    rate(json.megabytes_per_second(), "MB"),
                    rate(json.objects_per_second(), "pods")
                ),
                self.decode_openapi
                    .map(|o| {
                        format!(
                            "{}, {}",
                            rate(o.megabytes_per_second(), "MB"),
                            rate(o.objects_per_second(), "pods")
                        )
                    })
                    .unwrap_or_default(),
                self.decode_openapi
                    .map(|o| advantage(json.objects_per_second(), o.objects_per_second(), false))
                    .unwrap_or_default(),
            );
        }
        let initial_decode = match (self.decode_protobuf, self.decode_openapi) {
            (Some(pb), Some(o)) => Some(pb.objects_per_second() / o.objects_per_second()),
            _ => None,
        };
        if let (Some(pb), Some(o)) = (self.decode_protobuf, self.decode_openapi) {
            table.row(
                "initial decode (our protobuf vs its JSON)",
                rate(pb.objects_per_second(), "pods"),
                rate(o.objects_per_second(), "pods"),
                advantage(pb.objects_per_second(), o.objects_per_second(), false),
            );
        }
        if let Some((seconds, count, heap)) = self.ingest {
            table.row(
                "store ingest (generate + compact)",
                format!(
                    "{} ({})",
                    secs(seconds),
                    rate(count as f64 / seconds, "pods")
                ),
                none(),
                none(),
            );
            table.row(
                "store bytes per pod (compact metrics)",
                format!("{} B", heap / count.max(1)),
                none(),
                none(),
            );
        }
        let ours = self.exporter.as_ref();
        let base = self.baseline.as_ref();
        let both = |pick: fn(&ProcessFigures) -> f64, show: fn(f64) -> String, lower: bool| {
            let o = ours.map(pick);
            let b = base.map(pick);
            (
                o.map(show).unwrap_or_default(),
                b.map(show).unwrap_or_default(),
                match (o, b) {
                    (Some(o), Some(b)) => advantage(o, b, lower),
                    _ => String::new(),
                },
            )
        };
        let row3 = |table: &mut Table, name: &str, (a, b, c): (String, String, String)| {
            table.row(name, a, b, c)
        };
        row3(
            &mut table,
            "initial sync to ready (process start included)",
            both(|p| p.sync_seconds, secs, true),
        );
        row3(
            &mut table,
            "peak RSS during start-up",
            both(|p| p.startup_peak as f64, |v| mib(v as u64), true),
        );
        row3(
            &mut table,
            "steady RSS after sync",
            both(|p| p.steady as f64, |v| mib(v as u64), true),
        );
        row3(
            &mut table,
            "start-up spike (peak / steady)",
            (
                ours.map(|p| format!("{:.2}x", spike(p)))
                    .unwrap_or_default(),
                base.map(|p| format!("{:.2}x", spike(p)))
                    .unwrap_or_default(),
                String::new(),
            ),
        );
        row3(
            &mut table,
            "steady RSS per pod",
            (
                ours.map(|p| format!("{} B", p.steady / pods.max(1)))
                    .unwrap_or_default(),
                base.map(|p| format!("{} B", p.steady / pods.max(1)))
                    .unwrap_or_default(),
                String::new(),
            ),
        );
        if let Some(render) = self.render {
            table.row(
                "/metrics render in-process, plain",
                format!("{}, {}", secs(render.seconds), mb(render.bytes)),
                base.and_then(|b| b.render)
                    .map(|(s, bytes)| format!("{}, {} (convert + render)", secs(s), mb(bytes)))
                    .unwrap_or_default(),
                base.and_then(|b| b.render)
                    .map(|(s, _)| advantage(render.seconds, s, true))
                    .unwrap_or_default(),
            );
            table.row(
                "/metrics render in-process, gzip",
                format!("{}, {}", secs(render.gzip_seconds), mb(render.gzip_bytes)),
                none(),
                none(),
            );
        }
        if let Some(p) = ours {
            if let Some(s) = p.scrape {
                table.row(
                    "GET /metrics over loopback, plain",
                    format!("{}, {}", secs(s.seconds), mb(s.body_bytes)),
                    none(),
                    none(),
                );
            }
            if let Some(s) = p.scrape_gzip {
                table.row(
                    "GET /metrics over loopback, gzip",
                    format!("{}, {}", secs(s.seconds), mb(s.body_bytes)),
                    none(),
                    none(),
                );
            }
            row3(
                &mut table,
                "peak RSS including scrapes",
                (
                    mib(p.peak_after_scrapes),
                    base.map(|b| mib(b.peak_after_scrapes)).unwrap_or_default(),
                    String::new(),
                ),
            );
        }
        if let Some(apply) = self.apply {
            table.row(
                "watch events decoded + applied",
                format!(
                    "{} ({} events)",
                    rate(apply.per_second(), "events"),
                    apply.events
                ),
                self.baseline_apply
                    .map(|b| format!("{} ({} events)", rate(b.per_second(), "events"), b.events))
                    .unwrap_or_default(),
                self.baseline_apply
                    .map(|b| advantage(apply.per_second(), b.per_second(), false))
                    .unwrap_or_default(),
            );
        }
        table.print();

        println!();
        println!("budget (issue 5; checked here, asserted nowhere):");
        let check = |name: &str, holds: Option<bool>, detail: String| {
            let verdict = match holds {
                Some(true) => "meets ",
                Some(false) => "MISSES",
                None => "n/a   ",
            };
            println!("  {verdict} {name}: {detail}");
        };
        check(
            "peak RSS <= 1 GiB",
            ours.map(|p| p.startup_peak.max(p.peak_after_scrapes) <= GIB),
            ours.map(|p| mib(p.startup_peak.max(p.peak_after_scrapes)))
                .unwrap_or_default(),
        );
        check(
            "start-up spike <= 1.5x steady",
            ours.map(|p| spike(p) <= 1.5),
            ours.map(|p| format!("{:.2}x", spike(p)))
                .unwrap_or_default(),
        );
        let scrape = ours.and_then(|p| p.scrape).map(|s| s.seconds);
        check(
            "full /metrics <= 1.5 s uncompressed (over loopback)",
            scrape.map(|s| s <= 1.5),
            scrape.map(secs).unwrap_or_default(),
        );
        check(
            "initial decode >= 5x faster than the baseline",
            initial_decode.map(|r| r >= 5.0),
            initial_decode
                .map(|r| format!("{r:.1}x"))
                .unwrap_or_default(),
        );
        let memory = match (ours, base) {
            (Some(o), Some(b)) => Some(b.startup_peak as f64 / o.startup_peak as f64),
            _ => None,
        };
        check(
            "start-up memory <= 1/4 of the baseline",
            memory.map(|r| r >= 4.0),
            memory.map(|r| format!("1/{r:.1}")).unwrap_or_default(),
        );
    }
}

fn spike(p: &ProcessFigures) -> f64 {
    p.startup_peak as f64 / p.steady.max(1) as f64
}
