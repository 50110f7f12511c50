//! A bounded mutation run of the fuzz targets (`fuzz/harness.rs`), for CI: the
//! coverage-guided runs (`scripts/fuzz.sh`, cargo-fuzz) need their own toolchain
//! flags and a separate build of everything; this reuses the test build. Seeds are
//! real bodies (tests/fixtures, the demo recording, ../shared/k8s-api-testdata when
//! present); each round mutates one (bit flips, insertions, deletions, splices,
//! boundary length prefixes) and runs it through every target. Inputs that once
//! crashed a target live in `fuzz/regressions/<target>/` and run first.
//!
//! Time per target: `FUZZ_SMOKE_SECS` (default 6). A panic saves the input to
//! `target/fuzz-smoke-<target>.bin` (replay: `cargo fuzz run <target> <file>`).

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn files(dir: &Path, extensions: &[&str], max_len: u64) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.to_string_lossy();
            extensions.iter().any(|ext| name.ends_with(ext))
                && p.metadata()
                    .is_ok_and(|m| m.is_file() && m.len() <= max_len)
        })
        .collect();
    found.sort();
    found
}

fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = files(
        &root.join("tests/fixtures/consumers"),
        &[".pb", ".json"],
        64 * 1024,
    );
    paths.extend(files(
        &root.join("../shared/k8s-api-testdata/v1.35.0"),
        &[".pb", ".json"],
        64 * 1024,
    ));
    paths.extend(files(
        &root.join("tests/fixtures/recordings/real-1.28-demo"),
        &[".body"],
        64 * 1024,
    ));
    let seeds: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(seeds.len() >= 10, "too few seed bodies: {}", seeds.len());
    seeds
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One to four mutations of `input` (another seed for splices).
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let at = rng.below(len);
                input[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                input[at] = rng.next() as u8;
            }
            2 => {
                let at = rng.below(len + 1);
                let count = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..count).map(|_| rng.next() as u8).collect();
                input.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(64)).min(len);
                input.drain(at..end);
            }
            4 => input.truncate(rng.below(len + 1)),
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(256)).min(other.len());
                let at = rng.below(len + 1);
                input.splice(at..at, other[from..end].iter().copied());
            }
            6 if len >= 4 => {
                // A boundary value where a length or varint may be.
                let at = rng.below(len - 3);
                let value: [u8; 4] = match rng.below(4) {
                    0 => [0, 0, 0, 0],
                    1 => [0xff, 0xff, 0xff, 0xff],
                    2 => [0x7f, 0xff, 0xff, 0xff],
                    _ => [0x80, 0x80, 0x80, 0x80],
                };
                input[at..at + 4].copy_from_slice(&value);
            }
            _ if len > 1 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(32)).min(len);
                let copy = input[at..end].to_vec();
                let to = rng.below(len + 1);
                input.splice(to..to, copy);
            }
            _ => input.push(rng.next() as u8),
        }
    }
}

fn run_one(name: &str, target: fn(&[u8]), input: &[u8]) {
    let result = std::panic::catch_unwind(|| target(input));
    if let Err(panic) = result {
        let saved = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(format!("fuzz-smoke-{name}.bin"));
        let _ = std::fs::create_dir_all(saved.parent().expect("a parent"));
        let _ = std::fs::write(&saved, input);
        std::panic::resume_unwind(Box::new(format!(
            "{name} panicked on a {} byte input saved to {}: {panic:?}",
            input.len(),
            saved.display()
        )));
    }
}

#[test]
fn regressions_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut ran = 0;
    for (name, target) in harness::TARGETS {
        for path in files(&dir.join(name), &[""], u64::MAX) {
            let input = std::fs::read(&path).expect("a regression input");
            run_one(name, *target, &input);
            ran += 1;
        }
    }
    eprintln!("{ran} regression inputs ran");
}

#[test]
fn mutated_bodies_never_crash_a_decoder() {
    let seconds: u64 = std::env::var("FUZZ_SMOKE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seeds = seeds();
    for (name, target) in harness::TARGETS {
        // The same start for every run: a failure reproduces with the same seed.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut executions = 0u64;
        for seed in &seeds {
            run_one(name, *target, &prefixed(name, seed, &mut rng));
            executions += 1;
        }
        while Instant::now() < deadline {
            let seed = &seeds[rng.below(seeds.len())];
            let other = &seeds[rng.below(seeds.len())];
            let mut input = prefixed(name, seed, &mut rng);
            mutate(&mut rng, &mut input, other);
            run_one(name, *target, &input);
            executions += 1;
        }
        eprintln!("FIGURE fuzz smoke {name}: {executions} executions in {seconds}s, 0 crashes");
    }
}

/// Targets whose first bytes are parameters get random ones before the body.
fn prefixed(name: &str, seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let parameters = match name {
        "envelope" => 1,
        "watch_frames" => 3,
        _ => 0,
    };
    let mut input: Vec<u8> = (0..parameters).map(|_| rng.next() as u8).collect();
    input.extend_from_slice(seed);
    input
}
