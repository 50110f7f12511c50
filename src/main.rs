use std::process::ExitCode;

use clap::Parser;
use kube_state_exporter::api::schema;
use kube_state_exporter::cli::{Cli, Command};
use kube_state_exporter::commands::decode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Version) | None => {
            print_version();
            ExitCode::SUCCESS
        }
        Some(Command::Decode(args)) => {
            let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
            match decode::run(&args, &mut stdout, &mut stderr) {
                Ok(code) => code,
                // stdout closed (e.g. piped into `head`): nothing left to report to.
                Err(_) => ExitCode::FAILURE,
            }
        }
    }
}

fn print_version() {
    let overlays = schema::overlays();
    println!("kube-state-exporter {}", env!("CARGO_PKG_VERSION"));
    println!("kubernetes (upstream protos): {}", schema::UPSTREAM_KUBERNETES);
    println!(
        "overlays: {}",
        if overlays.is_empty() { "none (stock schema)".to_string() } else { overlays.join(", ") }
    );
    println!("schema hash: {}", schema::SCHEMA_HASH);
}
