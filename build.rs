//! Assembles the Kubernetes schema this binary is compiled against and generates
//! the Rust API types from it:
//!
//! 1. upstream protos of the pinned version (`proto/upstream.toml`), read from the
//!    registry package cargo resolved (or `UPSTREAM_PROTO_DIR`);
//! 2. vendor overlays selected with `SCHEMA_OVERLAYS=overlays/a[,overlays/b]`,
//!    merged at descriptor level and validated;
//! 3. prost types plus quote-generated glue (`api-codegen`);
//! 4. both descriptor sets embedded for run-time drift diagnosis.
//!
//! The work lives in the two workspace crates; this file only wires paths and env.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use prost::Message;
use schema_overlay::{Overlay, Pin, UpstreamTree};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nerror: {message}\n");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env("OUT_DIR")?);
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-env-changed=SCHEMA_OVERLAYS");
    println!("cargo:rerun-if-env-changed=UPSTREAM_PROTO_DIR");

    let pin = Pin::load(&manifest_dir.join("proto/upstream.toml")).map_err(|e| e.to_string())?;
    let tree = match std::env::var_os("UPSTREAM_PROTO_DIR") {
        Some(dir) => UpstreamTree::from_dir(Path::new(&dir), &pin),
        None => UpstreamTree::from_pin(&locate_package(&manifest_dir, &pin.source.package)?, &pin),
    };
    let upstream = schema_overlay::load_upstream(&tree, &pin).map_err(|e| e.to_string())?;

    let overlays = selected_overlays(&manifest_dir)?;
    for overlay in &overlays {
        println!("cargo:rerun-if-changed={}", overlay.dir().display());
    }
    for warning in overlays
        .iter()
        .filter_map(|o| o.version_warning(&pin.kubernetes))
    {
        println!("cargo:warning={warning}");
    }
    let merged =
        schema_overlay::merge_with_warnings(&upstream, &overlays).map_err(|e| e.to_string())?;
    for warning in &merged.warnings {
        println!("cargo:warning={warning}");
    }
    let merged = merged.descriptors;

    let table = api_codegen::ResourceTable::load(&manifest_dir.join("proto/resources.toml"))
        .map_err(|e| e.to_string())?;
    api_codegen::generate(&merged, &pin, &table, &out_dir).map_err(|e| e.to_string())?;
    let families = overlay_families(&manifest_dir, &merged, &pin, &table, &overlays)?;
    api_codegen::generate_overlay_families(&families, &pin, &table, &out_dir)
        .map_err(|e| e.to_string())?;
    overlay_cfgs(&manifest_dir, &overlays);

    write(&out_dir.join("upstream.fds"), &upstream.encode_to_vec())?;
    write(&out_dir.join("merged.fds"), &merged.encode_to_vec())?;
    let overlay_names: Vec<&str> = overlays.iter().map(|o| o.name()).collect();
    embed_demo_recording(&manifest_dir, &out_dir)?;
    println!("cargo:rustc-env=KSE_UPSTREAM_KUBERNETES={}", pin.kubernetes);
    println!(
        "cargo:rustc-env=KSE_SCHEMA_OVERLAYS={}",
        overlay_names.join(",")
    );
    println!(
        "cargo:rustc-env=KSE_SCHEMA_HASH={}",
        schema_overlay::schema_hash(&merged)
    );
    Ok(())
}

/// The metric families the overlays declare, checked against the merged schema and
/// against the names of the built-in (KSM) families.
fn overlay_families(
    manifest_dir: &Path,
    merged: &prost_types::FileDescriptorSet,
    pin: &schema_overlay::Pin,
    table: &api_codegen::ResourceTable,
    overlays: &[Overlay],
) -> Result<Vec<schema_overlay::CheckedFamily>, String> {
    if overlays.iter().all(|o| o.families().is_empty()) {
        return Ok(Vec::new());
    }
    let resources: Vec<schema_overlay::ResourceRef> = table
        .resources
        .iter()
        .filter_map(|spec| {
            let package = pin.package_for(&spec.api_version)?;
            Some(schema_overlay::ResourceRef {
                plural: spec.plural.clone(),
                message: format!("{package}.{}", spec.kind),
            })
        })
        .collect();
    let existing = builtin_family_names(manifest_dir)?;
    schema_overlay::check_families(merged, overlays, &resources, &existing)
        .map_err(|e| e.to_string())
}

/// Every `"kube_…"` string literal of `src/metrics/resources/*.rs`: the built-in
/// family names (each resource table spells its names out), read from the source
/// because the build script cannot run the crate it builds.
fn builtin_family_names(manifest_dir: &Path) -> Result<Vec<String>, String> {
    let dir = manifest_dir.join("src/metrics/resources");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names = Vec::new();
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for literal in text.split('"').skip(1).step_by(2) {
            let is_name = literal.starts_with("kube_")
                && literal
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if is_name {
                names.push(literal.to_string());
            }
        }
    }
    Ok(names)
}

/// `cfg(overlay_<name>)` for each selected overlay, so tests that need an overlay
/// build (tests/overlay_families.rs) compile only in one. Every overlay under
/// `overlays/` is declared, so the stock build does not warn about the cfg.
fn overlay_cfgs(manifest_dir: &Path, selected: &[Overlay]) {
    let cfg = |name: &str| format!("overlay_{}", name.replace(['-', '.'], "_"));
    let mut known: Vec<String> = std::fs::read_dir(manifest_dir.join("overlays"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    known.extend(selected.iter().map(|o| o.name().to_string()));
    for name in known {
        println!("cargo::rustc-check-cfg=cfg({})", cfg(&name));
    }
    for overlay in selected {
        println!("cargo::rustc-cfg={}", cfg(overlay.name()));
    }
}

/// The recording `--demo` replays, embedded so the binary needs no files: a generated
/// `FILES` table of (file name, bytes) over the fixture directory.
fn embed_demo_recording(manifest_dir: &Path, out_dir: &Path) -> Result<(), String> {
    let dir = manifest_dir.join("tests/fixtures/recordings/real-1.28-demo");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read the demo recording {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name == "manifest.json" || name.ends_with(".body"))
        .collect();
    names.sort();
    let entries: String = names
        .iter()
        .map(|name| format!("    ({name:?}, include_bytes!({:?})),\n", dir.join(name)))
        .collect();
    let code = format!("pub static FILES: &[(&str, &[u8])] = &[\n{entries}];\n");
    write(&out_dir.join("demo_recording.rs"), code.as_bytes())
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (build.rs runs under cargo)"))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `SCHEMA_OVERLAYS=overlays/deviceinfo,overlays/other`, relative to this crate.
fn selected_overlays(manifest_dir: &Path) -> Result<Vec<Overlay>, String> {
    let Ok(list) = std::env::var("SCHEMA_OVERLAYS") else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let dir = manifest_dir.join(entry);
            Overlay::load(&dir).map_err(|e| format!("SCHEMA_OVERLAYS entry {entry:?}: {e}"))
        })
        .collect()
}

/// Finds the source directory of the registry package that carries the protos, as
/// cargo resolved it. First `cargo metadata` (`--filter-platform` keeps it from wanting
/// crates of other targets); when that cannot run offline (it also wants the sources
/// of dev-dependencies a plain build never downloaded), the locked version in
/// `Cargo.lock` under cargo's unpacked registry sources, which must be there because
/// cargo just compiled the package as our build-dependency.
fn locate_package(manifest_dir: &Path, package: &str) -> Result<PathBuf, String> {
    let from_metadata = locate_with_metadata(manifest_dir, package);
    match from_metadata {
        Ok(dir) => Ok(dir),
        Err(metadata_error) => {
            locate_in_registry(manifest_dir, package).map_err(|registry_error| {
                format!("cannot locate package {package}: {metadata_error}; {registry_error}")
            })
        }
    }
}

fn locate_with_metadata(manifest_dir: &Path, package: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = env("TARGET")?;
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--offline",
            "--format-version",
            "1",
            "--filter-platform",
        ])
        .arg(&target)
        .arg("--manifest-path")
        .arg(manifest_dir.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "cargo metadata failed: {}",
            stderr.lines().next().unwrap_or("")
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed invalid JSON: {e}"))?;
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == package)
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or_else(|| {
            format!("{package} is not in the dependency graph; it must be a build-dependency")
        })?;
    Path::new(manifest)
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("odd manifest path {manifest}"))
}

fn locate_in_registry(manifest_dir: &Path, package: &str) -> Result<PathBuf, String> {
    let lock_path = manifest_dir.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .map_err(|e| format!("cannot read {}: {e}", lock_path.display()))?;
    let version =
        locked_version(&lock, package).ok_or_else(|| format!("{package} is not in Cargo.lock"))?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let registry_src = cargo_home.join("registry/src");
    let wanted = format!("{package}-{version}");
    let registries = std::fs::read_dir(&registry_src)
        .map_err(|e| format!("cannot read {}: {e}", registry_src.display()))?;
    registries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join(&wanted))
        .find(|candidate| candidate.join("Cargo.toml").is_file())
        .ok_or_else(|| format!("{wanted} is not unpacked under {}", registry_src.display()))
}

/// The version of `package` in a Cargo.lock (first match).
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    lines.find(|line| line.trim() == name_line)?;
    let version_line = lines.next()?.trim();
    version_line
        .strip_prefix("version = \"")?
        .strip_suffix('"')
        .map(str::to_string)
}
