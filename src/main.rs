use std::process::ExitCode;

use clap::Parser;
use kube_state_exporter::api::schema;
use kube_state_exporter::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Version) | None => {
            print_version();
            ExitCode::SUCCESS
        }
        Some(Command::Decode(_args)) => {
            eprintln!("decode: not built yet");
            ExitCode::FAILURE
        }
    }
}

fn print_version() {
    let overlays = schema::overlays();
    println!("kube-state-exporter {}", env!("CARGO_PKG_VERSION"));
    println!(
        "kubernetes (upstream protos): {}",
        schema::UPSTREAM_KUBERNETES
    );
    println!(
        "overlays: {}",
        if overlays.is_empty() {
            "none (stock schema)".to_string()
        } else {
            overlays.join(", ")
        }
    );
    println!("schema hash: {}", schema::SCHEMA_HASH);
}
