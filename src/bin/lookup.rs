//! `lookup [--parallel] [[--type manifest|blob] [--head] REF]...`: prints
//! one tab-indented JSON document per REF, in order (see
//! `doi::registry::lookup_command` for the rules).

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use doi::cli::Bin;
use doi::jq::print::{serde_to_vec, PrintOptions};
use doi::registry::lookup_command::{self, RunOutcome};
use doi::registry::Client;

/// The allocator every binary uses, and why: see the file.
#[path = "shared/allocator.rs"]
mod allocator;

const BIN: Bin = Bin::new("lookup");

/// What each REF prints, after the options in `lookup --help`.
const OUTPUT_HELP: &str = "\
Prints one tab-indented JSON document per REF, in the order given (null when
it does not exist):
  REF                    the image index synthesized for REF: every manifest
                         with its platform and bashbrew arch annotation
  --type manifest REF    the manifest as the registry stores it
  --type blob REF@DIGEST the blob's bytes as a base64 JSON string (decode
                         with: lookup --type blob REF | jq -r . | base64 -d)
  --head REF             the descriptor only (mediaType, digest, size), of a
                         manifest, or of a blob after --type blob";

#[derive(Parser)]
#[command(
    about = "Looks up images, manifests and blobs in registries",
    override_usage = "lookup [--parallel] [--jobs N] [--timeout SECONDS] [--retry-max-wait SECONDS] [--retry-budget SECONDS] [[--type manifest|blob] [--head] REF]...",
    after_help = format!("{OUTPUT_HELP}\n\n{}", doi::registry::limits::HELP)
)]
struct Arguments {
    /// Options and references, in order: `--type manifest|blob` and
    /// `--head` apply to the REF after them; `--parallel` (or `--jobs N`)
    /// runs the lookups concurrently, still printing in order;
    /// `--timeout`, `--retry-max-wait`, `--retry-budget` (seconds) apply to
    /// every REF.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGUMENTS"
    )]
    arguments: Vec<String>,
}

fn main() -> ExitCode {
    let arguments: Arguments = match BIN.parse() {
        Ok(arguments) => arguments,
        Err(status) => return status,
    };
    let parsed = match lookup_command::parse_arguments(&arguments.arguments) {
        Ok(parsed) => parsed,
        Err(message) => return BIN.usage_error(message),
    };
    if parsed.items.is_empty() {
        return BIN.usage_error("no reference given (lookup REF...; see lookup --help)");
    }
    let client = match parsed.limits.client_config().map(Client::new) {
        Ok(client) => client,
        Err(error) => return BIN.fail(error),
    };
    let options = PrintOptions::tab();
    let print = |value: &serde_json::Value| serde_to_vec(value, &options);
    let stdout = std::io::stdout();
    let mut output = std::io::BufWriter::new(stdout.lock());
    let mut errors = std::io::stderr();
    let outcome = lookup_command::run(&client, &parsed, &mut output, &mut errors, &print);
    if std::env::var_os("LOOKUP_STATS").is_some() {
        let _ = writeln!(errors, "lookup: {}", client.stats());
    }
    match outcome {
        RunOutcome::Success | RunOutcome::OutputClosed => ExitCode::SUCCESS,
        RunOutcome::Failed => ExitCode::FAILURE,
    }
}
