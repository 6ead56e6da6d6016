//! `deploy [--plan] [--arch ARCH] [--dry-run] [--parallel|--jobs N] [--stats]`
//!
//! Reads builds metadata (planned first, as `--plan` prints it) or deploy
//! objects from stdin and makes every ref point at exactly those bytes.
//! Everything but argument handling lives in `doi::deploy`.

use std::error::Error;
use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use doi::cli::{self, Bin, IoError};
use doi::deploy::execute;
use doi::deploy::input::{self, StdinKind};
use doi::deploy::report::{format_stats, Reporter};
use doi::registry::push::Pusher;
use doi::registry::Client;

/// The allocator every binary uses, and why: see the file.
#[path = "shared/allocator.rs"]
mod allocator;

const BIN: Bin = Bin::new("deploy");

/// Workers for `--parallel`: pushing is network-bound, and the client's
/// per-registry rate limit, not the pool, bounds what a registry sees.
const PARALLEL_JOBS: usize = 8;

/// What `deploy --help` says about the input, after the options.
const INPUT_HELP: &str = r#"Input (stdin): builds metadata, which is planned first (as --plan prints it),
or deploy objects, as a stream of JSON objects or arrays of them:

  {"type": "manifest",                   or "blob"
   "refs": ["HOST/REPO:TAG", ...],       where to push; blobs by digest only
   "lookup": {"sha256:...": "HOST/REPO", where children and copies are found;
              "": "HOST/REPO"},          "" is the fallback for any other digest
   "data": {...}}                        JSON: pushed as jq --tab prints it, plus
                                         a newline; a string: base64 of the bytes

Without data the object is a copy, read from the lookup entry for its digest,
else the single lookup entry, else the "" fallback. Every object is checked
before anything is pushed. README.md ("Deploy objects") has the details and
an example."#;

#[derive(Parser)]
#[command(
    about = "Push deploy objects (or the plan of builds metadata) from stdin to registries",
    after_help = format!("{INPUT_HELP}\n\n{}", doi::registry::limits::HELP)
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
    /// Break the request count after the summary down by kind (HEAD, GET,
    /// PUT, POST, mount, PATCH, token) with the retries; a dry run prints
    /// its requests only with it.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    limits: doi::registry::Limits,
}

fn main() -> ExitCode {
    BIN.main(|arguments| match run(arguments)? {
        true => Ok(ExitCode::SUCCESS),
        false => Ok(ExitCode::FAILURE),
    })
}

fn run(arguments: &Arguments) -> Result<bool, Box<dyn Error>> {
    let stdin = read_stdin()?;
    // --plan takes builds metadata only: the planner parses it once and
    // names what is wrong with it; `{}` (no builds) plans nothing.
    if arguments.plan {
        let plan = doi::deploy::plan_builds(&stdin, arguments.arch.as_deref())?;
        cli::write_stdout(&plan)?;
        return Ok(true);
    }
    // Nothing at all is a mistake upstream (a producer that failed before
    // printing), not an empty deploy: exit 1, so a pipeline notices. `[]`
    // still deploys nothing, successfully.
    if stdin.iter().all(u8::is_ascii_whitespace) {
        return Err(
            "stdin is empty; expected builds metadata or deploy objects (see deploy --help)".into(),
        );
    }
    let values = deploy_values(&stdin, arguments.arch.as_deref())?;
    let objects = match input::normalize_values(values) {
        Ok(objects) => objects,
        Err(errors) => {
            for error in &errors.0 {
                BIN.error(error);
            }
            return Err(format!(
                "{} invalid deploy object(s); nothing was pushed",
                errors.0.len()
            )
            .into());
        }
    };
    let jobs = match (arguments.parallel, arguments.jobs) {
        (_, Some(jobs)) => usize::try_from(jobs).unwrap_or(1),
        (true, None) => PARALLEL_JOBS,
        (false, None) => 1,
    };
    let client = Client::new(arguments.limits.client_config()?);
    let pusher = Pusher::new(client.clone());
    let started = Instant::now();

    if arguments.dry_run {
        let result = execute::dry_run(&objects, &pusher, jobs);
        if arguments.stats {
            let stats = format_stats(&client.stats(), started.elapsed(), true);
            eprintln!("deploy: {stats}");
        }
        return match result {
            Ok(output) => {
                cli::write_stdout(&output)?;
                Ok(true)
            }
            Err(errors) => {
                for error in &errors {
                    BIN.error(error);
                }
                Err(format!("{} ref(s) could not be checked", errors.len()).into())
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
    let stats = format_stats(&client.stats(), started.elapsed(), arguments.stats);
    reporter.line(&format!("deploy: {stats}"));
    Ok(summary.is_success())
}

/// All of stdin. Builds metadata can be many megabytes: when stdin is a
/// file, its size is reserved up front instead of growing (and transiently
/// doubling) the buffer.
fn read_stdin() -> Result<Vec<u8>, IoError> {
    let size = std::fs::metadata("/dev/stdin")
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map_or(0, |metadata| metadata.len());
    let mut stdin = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    std::io::stdin()
        .read_to_end(&mut stdin)
        .map_err(|error| IoError::new("reading stdin", error))?;
    Ok(stdin)
}

/// The deploy objects stdin holds, planning it first when it is builds
/// metadata (which goes straight to the planner, which parses it once; only
/// deploy objects, or input the quick look cannot tell, are parsed here).
fn deploy_values(stdin: &[u8], arch: Option<&str>) -> Result<Vec<doi::jq::Val>, Box<dyn Error>> {
    let kind = match doi::deploy::plan::is_builds_text(stdin) {
        Some(true) => StdinKind::Builds,
        _ => input::classify(stdin)?,
    };
    match kind {
        StdinKind::Builds => {
            let plan = doi::deploy::plan_builds(stdin, arch)?;
            match input::classify(&plan)? {
                StdinKind::DeployObjects(values) => Ok(values),
                StdinKind::Builds => Err("the plan is not deploy objects".into()),
            }
        }
        StdinKind::DeployObjects(_) if arch.is_some() => {
            Err("--arch needs builds metadata on stdin, not deploy objects".into())
        }
        StdinKind::DeployObjects(values) => Ok(values),
    }
}
