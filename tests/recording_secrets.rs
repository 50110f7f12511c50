//! No recording in the repository holds a Secret's values: every body of every
//! recording under tests/fixtures/recordings (the demo one is embedded in the binary
//! for `--demo`) is searched, protobuf and JSON, lists and watch streams.
//!
//! `SCRUB_RECORDINGS=1 cargo test --test recording_secrets` rewrites the recordings
//! with the values removed (replay::scrub) before checking them.

use std::path::Path;

use kube_state_exporter::replay::scrub::{scrub_secret_values, secret_findings};
use kube_state_exporter::replay::Recording;

#[test]
fn no_recording_holds_secret_values() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings");
    let scrub = std::env::var_os("SCRUB_RECORDINGS").is_some();
    let mut checked = 0;
    let mut findings = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/fixtures/recordings")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.join("manifest.json").exists())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut recording = Recording::load(&dir).expect("the recording loads");
        if scrub {
            let report = scrub_secret_values(&mut recording).expect("scrubs");
            if report.bodies > 0 {
                recording.save(&dir).expect("saved");
                eprintln!(
                    "{}: {} bodies rewritten, {} values removed",
                    dir.display(),
                    report.bodies,
                    report.removed.len()
                );
            }
        }
        findings.extend(
            secret_findings(&recording)
                .into_iter()
                .map(|finding| format!("{}: {finding}", dir.display())),
        );
        checked += 1;
    }
    assert!(checked >= 2, "expected the demo and the 1.35 recordings");
    assert!(
        findings.is_empty(),
        "Secret values in recordings (run SCRUB_RECORDINGS=1 cargo test --test recording_secrets):\n{}",
        findings.join("\n")
    );
}
