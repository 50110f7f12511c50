//! `docs/cli.md` documents every flag: its reference block is the binary's `--help`.

use std::path::Path;
use std::process::Command;

const BEGIN: &str = "<!-- BEGIN GENERATED HELP -->\n";
const END: &str = "<!-- END GENERATED HELP -->";

fn help_text() -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .arg("--help")
        .output()
        .expect("running --help");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("UTF-8 help")
}

#[test]
fn cli_reference_matches_help() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    let doc = std::fs::read_to_string(&path).expect("docs/cli.md");
    let start = doc.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = doc.find(END).expect("end marker");
    let expected = format!("```text\n{}```\n", help_text());
    if doc[start..end] != expected {
        if std::env::var_os("UPDATE_CLI_DOCS").is_some() {
            let updated = format!("{}{expected}{}", &doc[..start], &doc[end..]);
            std::fs::write(&path, updated).expect("rewriting docs/cli.md");
        } else {
            panic!("docs/cli.md is out of date with --help; run: UPDATE_CLI_DOCS=1 cargo test --test cli_docs");
        }
    }
}

#[test]
fn every_flag_has_a_config_key_in_the_docs() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md"))
        .expect("docs/cli.md");
    let table = &doc[doc.find("| Key | Flag |").expect("config key table")..];
    let table = &table[..table.find("\n\n").unwrap_or(table.len())];
    let help = help_text();
    let flags = help
        .lines()
        .filter_map(|line| line.trim().strip_prefix("--"))
        .map(|rest| rest.split([' ', '=']).next().unwrap_or(""));
    let mut checked = 0;
    for flag in
        flags.filter(|flag| !["config", "validate-config", "help", "version"].contains(flag))
    {
        assert!(
            table.contains(&format!("`{flag}`")),
            "config key {flag} missing from the table in docs/cli.md"
        );
        checked += 1;
    }
    assert!(checked >= 23, "only {checked} flags found in --help");
}
