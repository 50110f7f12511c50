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
        Some(Command::Render(args)) => render(args),
    }
}

fn render(args: kube_state_exporter::cli::RenderArgs) -> ExitCode {
    use kube_state_exporter::commands::render::{run, RenderOptions};
    let options = RenderOptions {
        resources: args.resources,
        metric_allowlist: args.metric_allowlist,
        metric_denylist: args.metric_denylist,
        metric_opt_in_list: args.metric_opt_in_list,
        labels_allowlist: args.metric_labels_allowlist,
        annotations_allowlist: args.metric_annotations_allowlist,
        openmetrics: args.openmetrics,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match run(&options, &args.inputs, &mut out).and_then(|()| {
        std::io::Write::flush(&mut out).map_err(kube_state_exporter::commands::render::RenderError::Write)
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("render: {error}");
            ExitCode::from(if error.is_usage() { 2 } else { 1 })
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
