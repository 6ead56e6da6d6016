//! `deploy [--plan] [--arch ARCH] [--dry-run] [--parallel|--jobs N] [--stats]`
//!
//! Reads builds metadata (planned first, as `--plan` prints it) or deploy
//! objects from stdin and makes every ref point at exactly those bytes.
//! Everything but argument handling lives in `doi::deploy`.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use doi::cli::Bin;
use doi::deploy::execute;
use doi::deploy::input::{self, StdinKind};
use doi::deploy::report::{format_stats, Reporter};
use doi::registry::push::Pusher;
use doi::registry::Client;

/// See `doi::cli` for why the binaries use mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BIN: Bin = Bin::new("deploy");

/// Workers for `--parallel`: pushing is network-bound, and the client's
/// per-registry rate limit, not the pool, bounds what a registry sees.
const PARALLEL_JOBS: usize = 8;

#[derive(Parser)]
#[command(
    name = "deploy",
    about = "Push deploy objects (or the plan of builds metadata) from stdin to registries",
    after_help = doi::registry::limits::HELP
)]
struct Arguments {
    /// Print the plan of the builds metadata on stdin and stop.
    #[arg(long)]
    plan: bool,
    /// Plan the architecture-specific repositories of ARCH (amd64/..., arm64v8/...).
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// Ask the registry (HEAD only) and print what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Push independent objects concurrently (same as --jobs 8).
    #[arg(long, conflicts_with = "jobs")]
    parallel: bool,
    /// Objects pushed at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: Option<u64>,
    /// Print the requests sent, by kind, and the retries.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    limits: doi::registry::Limits,
}

fn main() -> ExitCode {
    let arguments: Arguments = match BIN.parse() {
        Ok(arguments) => arguments,
        Err(status) => return status,
    };
    match run(&arguments) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => BIN.fail(message),
    }
}

fn run(arguments: &Arguments) -> Result<bool, String> {
    // Builds metadata can be many megabytes: when stdin is a file, reserve
    // its size up front instead of growing (and transiently doubling) the
    // buffer.
    let size = std::fs::metadata("/dev/stdin")
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map_or(0, |metadata| metadata.len());
    let mut stdin = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    std::io::stdin()
        .read_to_end(&mut stdin)
        .map_err(|error| format!("reading stdin: {error}"))?;
    // --plan takes builds metadata only: the planner parses it once and
    // names what is wrong with it; `{}` (no builds) plans nothing.
    if arguments.plan {
        let plan = doi::deploy::plan_builds(&stdin, arguments.arch.as_deref())?;
        return write_stdout(&plan).map(|()| true);
    }
    // Builds metadata goes straight to the planner (which parses it once);
    // only deploy objects, or input the quick look cannot tell, are parsed
    // here.
    let quick_look = doi::deploy::plan::plan_native::looks_like_builds_text(&stdin);
    let kind = match quick_look {
        Some(true) => StdinKind::Builds,
        _ => input::classify(&stdin).map_err(|error| error.to_string())?,
    };
    let values = match kind {
        StdinKind::Builds => {
            let plan = doi::deploy::plan_builds(&stdin, arguments.arch.as_deref())?;
            match input::classify(&plan).map_err(|error| error.to_string())? {
                StdinKind::DeployObjects(values) => values,
                StdinKind::Builds => return Err("the plan is not deploy objects".to_string()),
            }
        }
        StdinKind::DeployObjects(values) => {
            if arguments.arch.is_some() {
                return Err("--arch needs builds metadata on stdin, not deploy objects".to_string());
            }
            values
        }
    };
    let objects = match input::normalize_values(values) {
        Ok(objects) => objects,
        Err(errors) => {
            for error in &errors.0 {
                BIN.error(error);
            }
            return Err(format!(
                "{} invalid deploy object(s); nothing was pushed",
                errors.0.len()
            ));
        }
    };
    let jobs = match (arguments.parallel, arguments.jobs) {
        (_, Some(jobs)) => usize::try_from(jobs).unwrap_or(1),
        (true, None) => PARALLEL_JOBS,
        (false, None) => 1,
    };
    let client = arguments
        .limits
        .client_config()
        .map(Client::new)
        .map_err(|error| error.to_string())?;
    let pusher = Pusher::new(client.clone());
    let started = Instant::now();

    if arguments.dry_run {
        let result = execute::dry_run(&objects, &pusher, jobs);
        if arguments.stats {
            eprintln!(
                "deploy: {}",
                format_stats(&client.stats(), started.elapsed())
            );
        }
        return match result {
            Ok(output) => write_stdout(&output).map(|()| true),
            Err(errors) => {
                for error in &errors {
                    BIN.error(error);
                }
                Err(format!("{} ref(s) could not be checked", errors.len()))
            }
        };
    }

    let stop = BIN.stop_on_interrupt("pushes in flight");
    let total_refs = objects.iter().map(|object| object.refs.len()).sum();
    let counting_client = client.clone();
    let reporter = Reporter::new(
        Box::new(std::io::stderr()),
        std::io::stderr().is_terminal(),
        total_refs,
        move || counting_client.stats().registry_requests(),
    );
    let summary = execute::deploy(&objects, &pusher, jobs, &stop, &reporter);
    reporter.line(&summary.to_string());
    // The request counts are part of every summary; --stats only adds them
    // to dry runs, which have no summary.
    reporter.line(&format!(
        "deploy: {}",
        format_stats(&client.stats(), started.elapsed())
    ));
    Ok(summary.is_success())
}

fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|error| format!("writing stdout: {error}"))
}
