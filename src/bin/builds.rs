//! `builds [--cache FILE] SOURCES.json`: sources metadata to builds metadata.
//!
//! Prints buildId -> build as `jq --tab` does; notes about builds left out
//! go to stderr. The staging image name comes from
//! `BASHBREW_STAGING_TEMPLATE` (for example `oisupport/staging-ARCH:BUILD`).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use doi::builds::{self, BuildsOptions, CacheOnly, IndexLookup, LookupCache, StagingTemplate};
use doi::cli::Bin;
use doi::registry::Client;

/// See `doi::cli` for why the binaries use mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BIN: Bin = Bin::new("builds");

#[derive(Parser)]
#[command(
    name = "builds",
    about = "Sources metadata to builds metadata",
    after_help = doi::registry::limits::HELP
)]
struct Arguments {
    /// Lookup cache: its entries are used instead of asking the registry,
    /// and it is rewritten after a successful run (created when missing).
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Lookups in flight at once.
    #[arg(long, value_name = "N", default_value_t = builds::DEFAULT_JOBS)]
    jobs: usize,
    /// Never ask a registry: whatever the cache lacks is an error.
    #[arg(long)]
    offline: bool,
    /// Sources metadata (bashbrew's sources JSON); `-` reads stdin.
    sources: PathBuf,
    #[command(flatten)]
    limits: doi::registry::Limits,
}

fn main() -> ExitCode {
    let arguments: Arguments = match BIN.parse() {
        Ok(arguments) => arguments,
        Err(status) => return status,
    };
    match run(&arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => BIN.fail(message),
    }
}

fn run(arguments: &Arguments) -> Result<(), String> {
    let template = StagingTemplate::from_environment().map_err(|error| error.to_string())?;
    let origin = arguments.sources.display().to_string();
    let bytes = read_sources(arguments)?;
    let sources: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|error| format!("{origin}: not JSON: {error}"))?;
    let cache = match &arguments.cache {
        Some(path) => LookupCache::load(path).map_err(|error| error.to_string())?,
        None => LookupCache::new(),
    };
    let registry = registry_lookup(arguments)?;
    let options = BuildsOptions {
        origin,
        jobs: arguments.jobs,
    };
    let result = builds::run(&sources, &template, &cache, registry.as_ref(), &options)
        .map_err(|error| error.to_string())?;
    for note in &result.notes {
        BIN.note(note);
    }
    if let Some(path) = &arguments.cache {
        result.cache.save(path).map_err(|error| error.to_string())?;
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&result.to_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| format!("writing the output: {error}"))
}

fn read_sources(arguments: &Arguments) -> Result<Vec<u8>, String> {
    let origin = arguments.sources.display();
    if arguments.sources.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|error| format!("reading sources from stdin: {error}"))?;
        return Ok(bytes);
    }
    std::fs::read(&arguments.sources).map_err(|error| format!("cannot read {origin}: {error}"))
}

/// The registry behind the cache: the client configured from the
/// environment (`DOCKERHUB_PUBLIC_PROXY`, Docker's credentials, the
/// `DOI_*` limits) and the limit flags.
fn registry_lookup(arguments: &Arguments) -> Result<Box<dyn IndexLookup>, String> {
    if arguments.offline {
        return Ok(Box::new(CacheOnly));
    }
    let config = arguments
        .limits
        .client_config()
        .map_err(|error| error.to_string())?;
    Ok(Box::new(Client::new(config)))
}
