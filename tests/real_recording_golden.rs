//! Every resource of a real kube-apiserver 1.35 (`tests/fixtures/recordings/real-1.35-all`:
//! objects of all 39 kinds, made by its `make.sh`) read through the exporter binary, as a
//! user runs it, and compared with `tests/golden/real-1.35-all.prom`. Every resource and
//! every opt-in family is enabled, and every label and annotation allowlisted, so the
//! golden file shows each family the recording has data for. After an intended change,
//! `UPDATE_GOLDEN=1 cargo test --test real_recording_golden` rewrites the golden file;
//! review its diff.

mod support;

use std::path::Path;

use kube_state_exporter::metrics::resources;

fn every_family_and_resource() -> Vec<String> {
    let plurals: Vec<&str> = resources::all().iter().map(|r| r.plural()).collect();
    let opt_in: Vec<&str> = resources::all()
        .iter()
        .flat_map(|r| r.families())
        .filter(|f| f.opt_in)
        .map(|f| f.name)
        .collect();
    vec![
        format!("--resources={}", plurals.join(",")),
        format!("--metric-opt-in-list={}", opt_in.join(",")),
        "--metric-labels-allowlist=*=[*]".to_string(),
        "--metric-annotations-allowlist=*=[*]".to_string(),
    ]
}

#[test]
fn every_resource_of_the_real_recording_matches_the_golden_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let _apiserver = support::start_list_only_replay(
        &root.join("tests/fixtures/recordings/real-1.35-all"),
        &runtime,
        &kubeconfig,
    );
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let mut args = vec!["--kubeconfig".to_string(), kubeconfig];
    args.extend(every_family_and_resource());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_exporter, port) = support::start(&args);
    let got = support::metrics(port);

    // Every resource has samples: the recording holds objects of every kind.
    for resource in resources::all() {
        let has_samples = resource.families().iter().any(|family| {
            got.lines()
                .any(|line| !line.starts_with('#') && line.starts_with(family.name))
        });
        assert!(has_samples, "no samples of {}", resource.plural());
    }
    assert!(!got.contains("ZmFrZQ=="), "a secret value reached /metrics");
    support::promtool_check(&got);

    let path = root.join("tests/golden/real-1.35-all.prom");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).expect("golden file written");
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if got != want {
        let (got_lines, want_lines): (Vec<&str>, Vec<&str>) =
            (got.lines().collect(), want.lines().collect());
        let missing: Vec<&&str> = want_lines
            .iter()
            .filter(|l| !got_lines.contains(l))
            .take(20)
            .collect();
        let extra: Vec<&&str> = got_lines
            .iter()
            .filter(|l| !want_lines.contains(l))
            .take(20)
            .collect();
        panic!(
            "/metrics differs from {}:\n missing {missing:#?}\n unexpected {extra:#?}\n(UPDATE_GOLDEN=1 rewrites it after an intended change)",
            path.display()
        );
    }
}
