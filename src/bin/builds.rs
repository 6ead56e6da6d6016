//! `builds [--cache FILE] [--offline] SOURCES.json`: sources metadata to
//! builds metadata.
//!
//! Prints buildId -> build as `jq --tab` does; notes about builds left out
//! go to stderr. The staging image name comes from
//! `BASHBREW_STAGING_TEMPLATE` (for example `oisupport/staging-ARCH:BUILD`).
//! Everything but argument handling lives in `doi::builds`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use doi::builds::{self, BuildsOptions, LookupCache, StagingTemplate};
use doi::cli::{self, Bin};
use doi::registry::Client;

/// The allocator every binary uses, and why: see the file.
#[path = "shared/allocator.rs"]
mod allocator;

const BIN: Bin = Bin::new("builds");

#[derive(Parser)]
#[command(
    about = "Sources metadata to builds metadata",
    after_help = format!(
        "The staging image of each build is named by BASHBREW_STAGING_TEMPLATE \
         (for example oisupport/staging-ARCH:BUILD). Problems are reported in the \
         order you gave things: SOURCES, then --cache FILE, then the environment.\n\n{}",
        doi::registry::limits::HELP
    )
)]
struct Arguments {
    /// Lookup cache, created when missing. Its entries answer before the
    /// registry is asked. After a successful run it holds what that run
    /// looked up that cannot change: images by digest and the staging images
    /// that exist, not parents by tag (tags move) nor entries the run did not
    /// need. With --offline it keeps every entry it had.
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
    BIN.main(run)
}

fn run(arguments: &Arguments) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let sources = builds::read_sources(&arguments.sources)?;
    let cache = match &arguments.cache {
        Some(path) => LookupCache::load(path)?,
        None => LookupCache::new(),
    };
    let template = StagingTemplate::from_environment()?;
    // The registry behind the cache: the client configured from the
    // environment (`DOCKERHUB_PUBLIC_PROXY`, Docker's credentials, the
    // `DOI_*` limits) and the limit flags.
    let client = match arguments.offline {
        true => None,
        false => Some(Client::new(arguments.limits.client_config()?)),
    };
    let options = BuildsOptions {
        origin: arguments.sources.display().to_string(),
        jobs: arguments.jobs,
    };
    let registry = client.as_ref().map(|client| client as _);
    let result = builds::run(&sources, &template, &cache, registry, &options)?;
    for note in &result.notes {
        BIN.note(note);
    }
    if let Some(path) = &arguments.cache {
        result.cache.save(path)?;
    }
    cli::write_stdout(&result.to_bytes())?;
    Ok(ExitCode::SUCCESS)
}
