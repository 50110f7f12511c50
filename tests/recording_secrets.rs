//! No recorded apiserver body in the repository holds a Secret's values: every body of
//! every recording under tests/fixtures (a `manifest.json`: the demo recording, which
//! is embedded in the binary for `--demo`, and the 1.35 one; an `index.json`: the
//! copies tests/drift.rs reads) is searched, protobuf and JSON, lists and watch streams.
//!
//! `SCRUB_RECORDINGS=1 cargo test --test recording_secrets` first rewrites them with the
//! values removed (`replay::scrub`), updating only the changed bodies and their sizes.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use kube_state_exporter::replay::scrub::{scrub_secret_values, secret_findings};
use kube_state_exporter::replay::{Capture, Manifest, Recording};

fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            find(&path, out);
        } else if matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("manifest.json" | "index.json")
        ) {
            out.push(path);
        }
    }
}

/// A recording from a manifest, or from an index (capture entries without sizes).
fn load(listing: &Path) -> Recording {
    let dir = listing.parent().expect("folder");
    if listing.ends_with("manifest.json") {
        return Recording::load(dir).expect("the recording loads");
    }
    let entries: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(listing).expect("index")).expect("index JSON");
    let mut recording = Recording {
        manifest: Manifest::default(),
        bodies: Default::default(),
    };
    for entry in entries {
        let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
        let body = std::fs::read(dir.join(text("body"))).expect("body");
        recording.manifest.captures.push(Capture {
            body: text("body"),
            method: "GET".into(),
            path: text("path"),
            accept: text("content_type"),
            status: entry["status"].as_u64().unwrap_or(200) as u16,
            content_type: text("content_type"),
            bytes: body.len() as u64,
            seconds: 0.0,
            note: text("note"),
        });
        recording.bodies.insert(text("body"), Bytes::from(body));
    }
    recording
}

/// Writes the rewritten bodies and, in a manifest, their new sizes (only those numbers
/// change, so the file keeps its layout).
fn save_scrubbed(listing: &Path, before: &Recording, after: &Recording) {
    let dir = listing.parent().expect("folder");
    let mut manifest = std::fs::read_to_string(listing).expect("listing");
    for capture in &after.manifest.captures {
        if before.bodies.get(&capture.body) == after.bodies.get(&capture.body) {
            continue;
        }
        std::fs::write(dir.join(&capture.body), &after.bodies[&capture.body]).expect("body");
        if listing.ends_with("manifest.json") {
            let at = manifest
                .find(&format!("\"body\": \"{}\"", capture.body))
                .expect("capture in manifest");
            let bytes_at = at + manifest[at..].find("\"bytes\": ").expect("bytes") + 9;
            let end = bytes_at
                + manifest[bytes_at..]
                    .find(|c: char| !c.is_ascii_digit())
                    .expect("number end");
            manifest.replace_range(bytes_at..end, &capture.bytes.to_string());
        }
    }
    std::fs::write(listing, manifest).expect("listing");
}

#[test]
fn no_recording_holds_secret_values() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let scrub = std::env::var_os("SCRUB_RECORDINGS").is_some();
    let mut listings = Vec::new();
    find(&root, &mut listings);
    listings.sort();
    let mut findings = Vec::new();
    for listing in &listings {
        let mut recording = load(listing);
        if scrub {
            let before = recording.clone();
            let report = scrub_secret_values(&mut recording).expect("scrubs");
            if report.bodies > 0 {
                save_scrubbed(listing, &before, &recording);
                eprintln!(
                    "{}: {} bodies rewritten, {} values removed",
                    listing.display(),
                    report.bodies,
                    report.removed.len()
                );
                recording = load(listing);
            }
        }
        findings.extend(
            secret_findings(&recording)
                .into_iter()
                .map(|finding| format!("{}: {finding}", listing.display())),
        );
    }
    assert!(
        listings.len() >= 3,
        "expected the demo and 1.35 recordings and the drift copy: {listings:?}"
    );
    assert!(
        findings.is_empty(),
        "Secret values in recordings (run SCRUB_RECORDINGS=1 cargo test --test recording_secrets):\n{}",
        findings.join("\n")
    );
}
