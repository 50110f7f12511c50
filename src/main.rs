use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kube_state_exporter::api::schema;
use kube_state_exporter::cli::{Cli, Command, ExporterArgs, RecordArgs};
use kube_state_exporter::config::{self, Options};
use kube_state_exporter::logging::{self, LogFormat};

/// mimalloc: an initial list decodes hundreds of thousands of small strings; with
/// glibc's allocator the protobuf decode ran at about half the speed
/// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for usage and configuration errors (clap's convention).
const USAGE_ERROR: u8 = 2;

use kube_state_exporter::commands::decode;

/// Purges the pages mimalloc keeps for reuse, whatever their purge delay.
fn release_freed_memory() {
    // SAFETY: mi_collect only walks the allocator's own bookkeeping; it may run on any
    // thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// No transparent huge pages for this process. mimalloc asks for them on its arenas, and
/// a 2 MiB page stays resident as long as one small object lives in it: at 15,000 pods the
/// steady RSS was 90 MiB with them and 66 MiB without; scrapes were about 6 % slower
/// (docs/performance.md, issue 12).
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    kube_state_exporter::memory::set_release_hook(release_freed_memory);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    match cli.command {
        Some(Command::Version) => {
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
        Some(Command::Synth(args)) => match kube_state_exporter::commands::synth::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("synth: {error}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Record(args)) => match config::connect_options(&args.connect) {
            Err(error) => config_error(&error),
            Ok(connect_options) => match run_record(args, &connect_options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("record: {error:#}");
                    ExitCode::FAILURE
                }
            },
        },
        Some(Command::Render(args)) => render(args),
        None => run_exporter(&cli.exporter),
    }
}

/// Prints clap's error as one line (plus its tip, if any) and exits with 2.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    // clap prints the error, hints (tips, possible values), a usage line and a pointer to
    // --help on separate lines; keep the error and its hints on one line.
    let rendered = error.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .collect();
    let message = if message.is_empty() {
        "error: invalid command line".to_string()
    } else {
        message.join(" ")
    };
    eprintln!("{message}");
    ExitCode::from(USAGE_ERROR)
}

fn run_exporter(args: &ExporterArgs) -> ExitCode {
    let options = match Options::resolve(args) {
        Ok(options) => options,
        Err(error) => return config_error(&error),
    };
    if options.validate_only {
        for warning in &options.warnings {
            eprintln!("warning: {warning}");
        }
        print!("{}", options.summary());
        return ExitCode::SUCCESS;
    }
    logging::init(options.log_level, options.log_format);
    for warning in &options.warnings {
        tracing::warn!("{warning}");
    }
    match serve(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A bad flag or config-file value: one line, exit code 2.
fn config_error(error: &config::ConfigError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(USAGE_ERROR)
}

fn serve(options: Options) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(kube_state_exporter::app::run(options))
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

fn run_record(
    args: RecordArgs,
    connect_options: &kube_state_exporter::client::ConnectOptions,
) -> anyhow::Result<()> {
    use kube_state_exporter::api::{ResourceType, RESOURCES};
    use kube_state_exporter::client::{connect, ApiClient};
    use kube_state_exporter::replay::record::{record, RecordOptions};

    logging::init(None, LogFormat::Text);
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
        let client = ApiClient::new(connect(connect_options).await?);
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

fn render(args: kube_state_exporter::cli::RenderArgs) -> ExitCode {
    use kube_state_exporter::commands::render::{run, RenderOptions};
    let selection = match config::Selection::from_render_flags(&args.selection) {
        Ok(selection) => selection,
        Err(error) => return config_error(&error),
    };
    let options = RenderOptions {
        resources: if selection.resources_given {
            selection
                .resource_names()
                .iter()
                .map(|name| name.to_string())
                .collect()
        } else {
            Vec::new()
        },
        store: selection.store_options(),
        openmetrics: args.openmetrics,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match run(&options, &args.inputs, &mut out).and_then(|()| {
        std::io::Write::flush(&mut out)
            .map_err(kube_state_exporter::commands::render::RenderError::Write)
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("render: {error}");
            ExitCode::from(if error.is_usage() { USAGE_ERROR } else { 1 })
        }
    }
}
