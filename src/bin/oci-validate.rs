//! `oci-validate [--quiet] LAYOUT`: checks an OCI image layout from
//! `oci-layout` and `index.json` down through every blob (see
//! `doi::oci::validate` for the rules). Exits 0 only if all of it holds;
//! otherwise prints one line naming the file, the descriptor path and what
//! is wrong.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use doi::cli::Bin;

/// The allocator every binary uses, and why: see the file.
#[path = "shared/allocator.rs"]
mod allocator;

const BIN: Bin = Bin::new("oci-validate");

#[derive(Parser)]
#[command(about = "Validates an OCI image layout, every blob and layer included")]
struct Arguments {
    /// Print nothing on success (otherwise one line per object checked).
    #[arg(long, short)]
    quiet: bool,
    /// The layout directory.
    layout: PathBuf,
}

fn main() -> ExitCode {
    let arguments: Arguments = match BIN.parse() {
        Ok(arguments) => arguments,
        Err(status) => return status,
    };
    let stdout = std::io::stdout();
    let mut output = std::io::BufWriter::new(stdout.lock());
    let mut output_closed = false;
    let mut report = |checked: &doi::oci::Checked| {
        if !arguments.quiet && !output_closed && writeln!(output, "{checked}").is_err() {
            output_closed = true;
        }
    };
    let result = doi::oci::validate_layout(&arguments.layout, &mut report);
    let _ = output.flush();
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => BIN.fail(format_args!("{}: {error}", arguments.layout.display())),
    }
}
