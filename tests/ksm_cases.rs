//! kube-state-metrics' own metric-generation test cases (`../shared/ksm-reference/cases`,
//! copied to `tests/fixtures/ksm-cases`) and ours in the same format for the resources
//! KSM has no unit tests for (`tests/fixtures/cases`), discovered from the folders and
//! run through the store and renderer with the comparison rule of the cases' README:
//! TYPE lines and samples, HELP lines excluded, label order and line order normalised.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kube_state_exporter::api::envelope::Body;
use kube_state_exporter::api::json;
use kube_state_exporter::metrics::filter::MetricFilter;
use kube_state_exporter::metrics::labelmap::{AllowList, AllowListFlag};
use kube_state_exporter::metrics::{resources, ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::reflector::Event;
use kube_state_exporter::store::{Store, StoreOptions};
use serde_json::Value;

struct Case {
    name: String,
    resource: String,
    object: Value,
    metric_names: Option<Vec<String>>,
    labels: Option<Vec<String>>,
    annotations: Option<Vec<String>>,
    want: String,
}

/// KSM's own cases (a copy of `../shared/ksm-reference/cases`), then ours for the
/// resources KSM has no unit tests for; both in the cases' README format.
const CASE_DIRS: [&str; 2] = ["tests/fixtures/ksm-cases", "tests/fixtures/cases"];

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Every `<resource>.jsonl` of the case folders, as (folder, resource, path).
fn case_files() -> Vec<(&'static str, String, PathBuf)> {
    let mut files = Vec::new();
    for dir in CASE_DIRS {
        let Ok(entries) = std::fs::read_dir(repo_path(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                files.push((dir, stem.into_owned(), path));
            }
        }
    }
    files.sort();
    files
}

fn load(path: &Path) -> Vec<Case> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}: {e}"));
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            Case {
                name: format!("{stem}:{}", v["case"].as_str().unwrap_or("?")),
                resource: v["resource"].as_str().unwrap_or("").to_string(),
                object: v["object"].clone(),
                metric_names: strings(&v["metric_names"]),
                labels: strings(&v["labels_allowlist"]),
                annotations: strings(&v["annotations_allowlist"]),
                want: v["want"].as_str().unwrap_or("").to_string(),
            }
        })
        .collect()
}

fn non_empty_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

/// Renders one case's object with every family enabled (opt-in ones included, as
/// KSM's tests call the generators directly).
fn render(case: &Case) -> Result<String, String> {
    let body = serde_json::to_vec(&case.object).map_err(|e| e.to_string())?;
    let object = match json::decode(&body).map_err(|e| e.to_string())? {
        Body::Object(object) => object,
        _ => return Err("not a single object".into()),
    };
    let mut options = StoreOptions {
        filter: MetricFilter::everything(),
        ..StoreOptions::default()
    };
    let flag = |list: &Option<Vec<String>>, target: &mut AllowListFlag| {
        if let Some(entries) = list {
            target.insert(&case.resource, AllowList::new(entries.iter().cloned()));
        }
    };
    flag(&case.labels, &mut options.labels_allowlist);
    flag(&case.annotations, &mut options.annotations_allowlist);
    let store = Store::new(&[case.resource.as_str()], &options).map_err(|e| e.to_string())?;
    store.apply(&case.resource, Event::Apply(object));
    let request = RenderRequest::all(ExpositionFormat::Text);
    let mut out = Vec::new();
    store
        .write_exposition(&request, &mut out)
        .map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// Step 3 of the rule: keep lines matching any entry as an unanchored regex.
fn filter(text: &str, names: &Option<Vec<String>>) -> String {
    let Some(names) = names else {
        return text.to_string();
    };
    let patterns: Vec<regex::Regex> = names
        .iter()
        .filter_map(|n| regex::Regex::new(n).ok())
        .collect();
    text.lines()
        .filter(|line| patterns.iter().any(|p| p.is_match(line)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Step 4: trim, drop empty and HELP lines, sort labels within a sample, sort lines.
fn normalise(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_start_matches([' ', '\t']))
        .filter(|l| !l.is_empty() && !l.starts_with("# HELP"))
        .map(|line| {
            if line.starts_with('#') {
                return line.to_string();
            }
            match (line.find('{'), line.rfind('}')) {
                (Some(open), Some(close)) if open < close => {
                    let mut labels: Vec<&str> = line[open + 1..close].split(',').collect();
                    labels.sort_unstable();
                    format!(
                        "{}{{{}}}{}",
                        &line[..open],
                        labels.join(","),
                        &line[close + 1..]
                    )
                }
                _ => line.to_string(),
            }
        })
        .collect();
    lines.sort_unstable();
    lines
}

fn check(case: &Case) -> Result<(), String> {
    let got = normalise(&filter(&render(case)?, &case.metric_names));
    let want = normalise(&case.want);
    if got == want {
        return Ok(());
    }
    let missing: Vec<&String> = want.iter().filter(|l| !got.contains(l)).collect();
    let extra: Vec<&String> = got.iter().filter(|l| !want.contains(l)).collect();
    Err(format!("missing {missing:#?}\nunexpected {extra:#?}"))
}

#[test]
fn every_case_of_every_resource_passes() {
    let files = case_files();
    let mut cases = Vec::new();
    let mut expected = 0;
    for (_, resource, path) in &files {
        expected += non_empty_lines(path);
        for case in load(path) {
            assert_eq!(
                &case.resource, resource,
                "{}: case of another resource",
                case.name
            );
            cases.push(case);
        }
    }
    assert_eq!(
        cases.len(),
        expected,
        "every line of every case file is a case"
    );
    let failures: Vec<(String, String)> = cases
        .iter()
        .filter_map(|case| check(case).err().map(|why| (case.name.clone(), why)))
        .collect();
    for (name, why) in &failures {
        eprintln!("FAIL {name}\n{why}\n");
    }
    eprintln!(
        "cases: {} of {} pass ({} files)",
        cases.len() - failures.len(),
        cases.len(),
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases fail: {:?}",
        failures.len(),
        cases.len(),
        failures.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
}

#[test]
fn every_resource_with_metrics_has_cases_and_every_case_file_a_resource() {
    let served: BTreeSet<&str> = resources::all().iter().map(|r| r.plural()).collect();
    let with_cases: BTreeSet<&str> = case_files()
        .iter()
        .map(|(_, resource, _)| resource.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|r| {
            served
                .get(r)
                .copied()
                .unwrap_or_else(|| panic!("case file {r}.jsonl: no such resource has metrics"))
        })
        .collect();
    let without: Vec<&&str> = served.difference(&with_cases).collect();
    assert!(
        without.is_empty(),
        "resources with metrics but no case file in {CASE_DIRS:?}: {without:?}"
    );
}

/// The repository keeps a copy of KSM's cases so the tests run without `../shared`;
/// where `../shared` is present the copy must be exact.
#[test]
fn the_ksm_cases_are_an_exact_copy_of_the_reference() {
    let reference = repo_path("../shared/ksm-reference/cases");
    let Ok(entries) = std::fs::read_dir(&reference) else {
        eprintln!("skipped: {} is absent", reference.display());
        return;
    };
    let mut compared = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let theirs = std::fs::read(entry.path()).unwrap_or_default();
        let ours_path = repo_path(CASE_DIRS[0]).join(&name);
        let ours = std::fs::read(&ours_path).unwrap_or_else(|e| {
            panic!("{}: {e} (copy it from the reference)", ours_path.display())
        });
        assert!(
            ours == theirs,
            "{} differs from the reference",
            ours_path.display()
        );
        compared += 1;
    }
    assert!(compared > 0, "the reference folder holds no cases");
}

#[test]
fn the_comparison_can_fail() {
    let cases = load(&repo_path(CASE_DIRS[0]).join("nodes.jsonl"));
    let mut broken = Case {
        want: cases[0].want.replace("} 1", "} 2"),
        ..clone_case(&cases[0])
    };
    assert!(check(&broken).is_err());
    broken.want = cases[0].want.clone();
    assert!(check(&broken).is_ok());
}

fn clone_case(case: &Case) -> Case {
    Case {
        name: case.name.clone(),
        resource: case.resource.clone(),
        object: case.object.clone(),
        metric_names: case.metric_names.clone(),
        labels: case.labels.clone(),
        annotations: case.annotations.clone(),
        want: case.want.clone(),
    }
}
