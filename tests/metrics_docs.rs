//! `docs/metrics.md` is the metric reference generated from the family tables
//! (`kube_state_exporter::metrics::reference::markdown`): it must equal what the code
//! generates, so a family added, renamed or re-labelled shows up in review.
//! `UPDATE_GOLDEN=1 cargo test --test metrics_docs` rewrites it.

use std::path::Path;

use kube_state_exporter::metrics::reference;

#[test]
fn docs_metrics_md_matches_the_family_tables() {
    // An overlay build adds its own families: the page documents the stock build.
    if !kube_state_exporter::api::schema::OVERLAYS.is_empty() {
        eprintln!(
            "skipped: overlay build ({})",
            kube_state_exporter::api::schema::OVERLAYS
        );
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md");
    let expected = reference::markdown();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != expected {
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &expected).expect("writing docs/metrics.md");
        } else {
            panic!("docs/metrics.md is out of date; run: UPDATE_GOLDEN=1 cargo test --test metrics_docs");
        }
    }
}

/// Every family of every resource is on the page, with its type and help, and the
/// KSM-named self-metrics users' alerts read.
#[test]
fn the_reference_lists_every_family() {
    let page = reference::markdown();
    let mut families = 0;
    for resource in kube_state_exporter::metrics::resources::all() {
        assert!(page.contains(&format!("\n## {}\n", resource.plural())));
        for family in resource.families() {
            families += 1;
            let row = page
                .lines()
                .find(|line| line.starts_with(&format!("| `{}` |", family.name)))
                .unwrap_or_else(|| panic!("{} missing", family.name));
            assert!(row.contains(&family.help.replace('|', "\\|")), "{row}");
        }
    }
    assert!(families > 250, "{families} families");
    for name in [
        "kube_state_metrics_list_total",
        "kube_state_metrics_watch_total",
        "http_request_duration_seconds",
        "process_cpu_seconds_total",
        "kube_state_exporter_resource_synced",
        "kube_pod_lifecycle_creations_total",
    ] {
        assert!(page.contains(&format!("| `{name}` |")), "{name} missing");
    }
}
