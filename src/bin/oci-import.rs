//! `oci-import TARGET < build.json`: imports the OCI image layout of one
//! `Builder: oci-import` build from the git cache into TARGET (which must
//! not exist), validated, with a new `index.json` that names the one
//! canonical index to push (see `doi::oci::import`).

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use doi::cli::Bin;
use doi::jq::ModuleSearch;
use doi::oci::git::GitCache;
use doi::oci::import::{self, ImportBuild, ImportOptions};

/// The allocator every binary uses, and why: see the file.
#[path = "shared/allocator.rs"]
mod allocator;

const BIN: Bin = Bin::new("oci-import");

#[derive(Parser)]
#[command(about = "Imports the OCI image layout of an oci-import build (builds metadata on stdin)")]
struct Arguments {
    /// Print the validation's progress, one line per object checked, on
    /// stderr.
    #[arg(long, short)]
    verbose: bool,
    /// The directory to create.
    target: PathBuf,
}

fn main() -> ExitCode {
    let arguments: Arguments = match BIN.parse() {
        Ok(arguments) => arguments,
        Err(status) => return status,
    };
    let mut input = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut input) {
        return BIN.fail(format_args!("cannot read stdin: {error}"));
    }
    let value = match doi::oci::json::parse_strict(&input) {
        Ok(value) => value,
        Err(error) => return BIN.fail(format_args!("stdin: {error}")),
    };
    let build = match ImportBuild::from_value(value) {
        Ok(build) => build,
        Err(error) => return BIN.fail(error),
    };
    let Some(cache) = GitCache::from_env() else {
        return BIN.fail("no git cache: set BASHBREW_CACHE (or XDG_CACHE_HOME or HOME)");
    };
    let options = ImportOptions {
        cache,
        modules: ModuleSearch::from_env(Vec::new()),
    };
    let verbose = arguments.verbose;
    let mut report = |checked: &doi::oci::Checked| {
        if verbose {
            eprintln!("{checked}");
        }
    };
    match import::import(&build, &arguments.target, &options, &mut report) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => BIN.fail(error),
    }
}
