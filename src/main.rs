use std::process::ExitCode;

use clap::Parser;
use kube_state_exporter::api::schema;
use kube_state_exporter::cli::{Cli, Command, RecordArgs};

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
        Some(Command::Record(args)) => match run_record(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("record: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run_record(args: RecordArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    use kube_state_exporter::api::{ResourceType, RESOURCES};
    use kube_state_exporter::client::{connect, ApiClient};
    use kube_state_exporter::replay::record::{record, RecordOptions};

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let resources = if args.resources.is_empty() {
        RESOURCES.iter().collect()
    } else {
        args.resources
            .iter()
            .map(|plural| {
                ResourceType::by_plural(plural)
                    .with_context(|| format!("unknown resource {plural:?}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = ApiClient::new(connect(&args.connect.options()).await?);
        let recording = record(
            &client,
            &RecordOptions {
                resources,
                duration: args.duration,
            },
        )
        .await?;
        recording
            .save(&args.out)
            .with_context(|| format!("writing the recording to {}", args.out.display()))?;
        eprintln!(
            "recorded {} responses into {}",
            recording.manifest.captures.len(),
            args.out.display()
        );
        Ok(())
    })
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
