//! `oci-push [--dry-run] [--stats] [--verbose] LAYOUT REF...`: validates
//! an OCI image layout and pushes its one top-level manifest (an index or
//! an image), with everything it references, to each REF, as `deploy`
//! pushes (see `doi::oci::push`). Nothing is sent when the layout or a REF
//! is bad.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use clap::Parser;
use doi::cli::Bin;
use doi::deploy::execute::one_line;
use doi::deploy::report::{format_stats, RefOutcome, Reporter};
use doi::oci::push::{self, LayoutContent};
use doi::registry::push::{Pushed, Pusher};
use doi::registry::{Client, Reference};

/// The allocator every binary uses, and why: see the file.
#[path = "shared/allocator.rs"]
mod allocator;

const BIN: Bin = Bin::new("oci-push");

#[derive(Parser)]
#[command(
    about = "Validates an OCI image layout and pushes its manifest, with all it references, to each REF",
    after_help = doi::registry::limits::HELP
)]
struct Arguments {
    /// Ask the registry (HEAD only) and print each REF that would change;
    /// write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Break the request count after the summary down by kind, with the
    /// retries; a dry run prints its requests only with it.
    #[arg(long)]
    stats: bool,
    /// Print the validation's progress, one line per object checked, on
    /// stderr.
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    limits: doi::registry::Limits,
    /// The layout directory (its index.json lists exactly one manifest, as
    /// oci-import writes it).
    layout: PathBuf,
    /// Where to push: [HOST/]NAME[:TAG][@DIGEST]; without a tag, by digest
    /// only.
    #[arg(required = true, value_name = "REF")]
    refs: Vec<Reference>,
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
    let client = arguments
        .limits
        .client_config()
        .map(Client::new)
        .map_err(|error| error.to_string())?;
    let verbose = arguments.verbose;
    let mut report = |checked: &doi::oci::Checked| {
        if verbose {
            eprintln!("{checked}");
        }
    };
    let layout = push::load(&arguments.layout, &mut report)
        .map_err(|error| format!("{}: {error}", arguments.layout.display()))?;
    let destinations = layout
        .destinations(&arguments.refs)
        .map_err(|error| error.to_string())?;
    let pusher = Pusher::new(client.clone());
    let started = Instant::now();
    if arguments.dry_run {
        let result = dry_run(&layout, &pusher, &destinations);
        if arguments.stats {
            eprintln!(
                "oci-push: {}",
                format_stats(&client.stats(), started.elapsed(), true)
            );
        }
        return result;
    }

    // Ctrl-C: no new REF is started.
    let stop = BIN.stop_on_interrupt("the push in flight");
    let counting_client = client.clone();
    let reporter = Reporter::new(
        Box::new(std::io::stderr()),
        std::io::stderr().is_terminal(),
        destinations.len(),
        move || counting_client.stats().registry_requests(),
    );
    // One REF after another: the first in a repository makes the layout's
    // objects present there, and later ones mount from it.
    for destination in &destinations {
        if stop.load(Ordering::SeqCst) {
            reporter.not_started(destination);
            continue;
        }
        reporter.started(destination);
        let outcome = match layout.push(&pusher, destination) {
            Ok(Pushed::Written) => RefOutcome::Pushed,
            Ok(Pushed::AlreadyThere) => RefOutcome::AlreadyThere,
            Err(error) => RefOutcome::Failed(one_line(&error.to_string())),
        };
        reporter.finished(destination, &outcome);
    }
    let summary = reporter.finish();
    reporter.line(&summary.titled("oci-push").to_string());
    reporter.line(&format!(
        "oci-push: {}",
        format_stats(&client.stats(), started.elapsed(), arguments.stats)
    ));
    Ok(summary.is_success())
}

/// Prints each REF that would change, in order; HEAD requests only.
fn dry_run(
    layout: &LayoutContent,
    pusher: &Pusher,
    destinations: &[Reference],
) -> Result<bool, String> {
    let mut output = String::new();
    let mut failed = 0;
    for destination in destinations {
        match layout.is_current(pusher, destination) {
            Ok(true) => {}
            Ok(false) => output.push_str(&format!("{destination}\n")),
            Err(error) => {
                failed += 1;
                BIN.error(format_args!(
                    "{destination}: {}",
                    one_line(&error.to_string())
                ));
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| format!("writing stdout: {error}"))?;
    if failed > 0 {
        return Err(format!("{failed} ref(s) could not be checked"));
    }
    Ok(true)
}
