//! `docs/cli.md` documents every flag: its flag reference is generated from the flag
//! table (`kube_state_exporter::config::flags`) and its `--help` block is the binary's
//! `--help`. `UPDATE_GOLDEN=1 cargo test --test cli_docs` rewrites both blocks.

use std::path::{Path, PathBuf};
use std::process::Command;

use kube_state_exporter::config::flags;

fn help_text() -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .arg("--help")
        .output()
        .expect("running --help");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("UTF-8 help")
}

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md")
}

/// Compares the text between two markers with `expected`; rewrites it when asked.
fn check_block(name: &str, expected: &str) {
    let begin = format!("<!-- BEGIN GENERATED {name} -->\n");
    let end = format!("<!-- END GENERATED {name} -->");
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).expect("docs/cli.md");
    let start = doc.find(&begin).expect("begin marker") + begin.len();
    let stop = doc.find(&end).expect("end marker");
    if doc[start..stop] != *expected {
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            let updated = format!("{}{expected}{}", &doc[..start], &doc[stop..]);
            std::fs::write(&path, updated).expect("rewriting docs/cli.md");
        } else {
            panic!("docs/cli.md ({name}) is out of date; run: UPDATE_GOLDEN=1 cargo test --test cli_docs");
        }
    }
}

#[test]
fn cli_reference_matches_help() {
    check_block("HELP", &format!("```text\n{}```\n", help_text()));
}

#[test]
fn flag_reference_matches_the_flag_table() {
    check_block("FLAGS", &flags::markdown_reference());
}

#[test]
fn every_flag_in_help_is_in_the_flag_reference() {
    let reference = flags::markdown_reference();
    let help = help_text();
    let listed = help
        .lines()
        .filter_map(|line| line.trim().strip_prefix("--"))
        .map(|rest| rest.split([' ', '=', '[']).next().unwrap_or(""))
        .filter(|flag| !["help", "version"].contains(flag));
    let mut checked = 0;
    for flag in listed {
        assert!(
            reference.contains(&format!("`--{flag}`")),
            "--{flag} missing from the flag reference"
        );
        checked += 1;
    }
    assert!(checked >= 38, "only {checked} flags found in --help");
    // Every config-file key of the table is in the reference too.
    for flag in flags::EXPORTER {
        for key in flag.file_keys() {
            assert!(reference.contains(&format!("`{key}`")), "config key {key}");
        }
    }
}
