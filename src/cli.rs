//! The habits every binary shares: `--version`, one error style
//! (`BIN: error: ...` on stderr), and exit statuses scripts can rely on.
//!
//! Scripts call our binaries by name and check their status, and people
//! read their stderr in CI logs; a binary that prints clap's `error: ...`
//! where the others print `lookup: error: ...`, or exits 0 on a command
//! line it could not run, costs both. Each binary names itself once
//! (`const BIN: Bin = Bin::new("deploy")`) and goes through [`Bin`].
//!
//! The global allocator is also the binaries' business, not the library's
//! (a program linking `doi` chooses its own). Each binary includes
//! `src/bin/shared/allocator.rs` (`#[path = "shared/allocator.rs"] mod
//! allocator;`), which says which one and why.

use std::error::Error;
use std::ffi::OsString;
use std::fmt::Display;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};

/// The crate's version, which every binary reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The status of a command line that cannot be run (an unknown flag, a
/// missing argument): 2, as clap, jq and most Unix tools use it, so a
/// script can tell "you called me wrong" from "the work failed" (1).
pub const EXIT_USAGE: u8 = 2;

/// One binary's name, for its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bin {
    name: &'static str,
}

impl Bin {
    pub const fn new(name: &'static str) -> Self {
        Self { name }
    }

    pub fn name(self) -> &'static str {
        self.name
    }

    /// `BIN VERSION`, what `--version` prints.
    pub fn version_line(self) -> String {
        format!("{} {VERSION}", self.name)
    }

    /// A binary's whole `main`: parse the arguments, `run`, and print a
    /// failure with its causes (status 1).
    pub fn main<T>(self, run: impl FnOnce(&T) -> Result<ExitCode, Box<dyn Error>>) -> ExitCode
    where
        T: CommandFactory + FromArgMatches,
    {
        let arguments: T = match self.parse() {
            Ok(arguments) => arguments,
            Err(status) => return status,
        };
        run(&arguments).unwrap_or_else(|error| self.fail_with(error.as_ref()))
    }

    /// Parses the process's arguments; see [`Bin::parse_from`].
    pub fn parse<T: CommandFactory + FromArgMatches>(self) -> Result<T, ExitCode> {
        self.parse_from(std::env::args_os())
    }

    /// Parses `arguments` (the first is the program) with `--version`
    /// added. `Err` is the status to exit with, after what the user asked
    /// for was printed: `--help` and `--version` on stdout with status 0, a
    /// bad command line as one line, `BIN: error: ...`, with status
    /// [`EXIT_USAGE`].
    pub fn parse_from<T, I, A>(self, arguments: I) -> Result<T, ExitCode>
    where
        T: CommandFactory + FromArgMatches,
        I: IntoIterator<Item = A>,
        A: Into<OsString> + Clone,
    {
        let command = T::command().name(self.name).version(VERSION);
        let parsed = command
            .try_get_matches_from(arguments)
            .and_then(|matches| T::from_arg_matches(&matches));
        parsed.map_err(|error| self.clap_error(&error))
    }

    fn clap_error(self, error: &clap::Error) -> ExitCode {
        use clap::error::ErrorKind;
        if matches!(
            error.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        ) {
            // On stdout, as clap prints them; a closed stdout is no error.
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        self.error(usage_message(&error.render().to_string()));
        ExitCode::from(EXIT_USAGE)
    }

    /// Prints `BIN: error: ERROR`.
    pub fn error(self, error: impl Display) {
        eprintln!("{}: error: {error}", self.name);
    }

    /// Prints `BIN: warning: MESSAGE`.
    pub fn warning(self, message: impl Display) {
        eprintln!("{}: warning: {message}", self.name);
    }

    /// Prints `BIN: note: MESSAGE`.
    pub fn note(self, message: impl Display) {
        eprintln!("{}: note: {message}", self.name);
    }

    /// Prints the error; the status for work that failed (1).
    pub fn fail(self, error: impl Display) -> ExitCode {
        self.error(error);
        ExitCode::FAILURE
    }

    /// Prints an error with its causes ([`chain`]); the status for work that
    /// failed (1).
    pub fn fail_with(self, error: &dyn Error) -> ExitCode {
        self.fail(chain(error))
    }

    /// Takes Ctrl-C the way a long run should: the first sets the
    /// returned flag (the run starts nothing new, lets `in_flight` finish,
    /// then prints its summary) and says so; a second exits at once (130,
    /// a shell's status for SIGINT) for the impatient.
    pub fn stop_on_interrupt(self, in_flight: &'static str) -> Arc<AtomicBool> {
        let stop = Arc::new(AtomicBool::new(false));
        let handler_stop = Arc::clone(&stop);
        let name = self.name;
        if let Err(error) = ctrlc::set_handler(move || {
            if handler_stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\n{name}: interrupted; finishing {in_flight} (Ctrl-C again to quit now)");
        }) {
            self.warning(format!("Ctrl-C will stop at once: {error}"));
        }
        stop
    }

    /// Prints the error; the status for a command line that cannot be run
    /// ([`EXIT_USAGE`]).
    pub fn usage_error(self, error: impl Display) -> ExitCode {
        self.error(error);
        ExitCode::from(EXIT_USAGE)
    }
}

/// An I/O error of a binary's own (stdin, stdout), with what it was doing.
#[derive(Debug)]
pub struct IoError {
    doing: &'static str,
    source: std::io::Error,
}

impl IoError {
    pub fn new(doing: &'static str, source: std::io::Error) -> Self {
        Self { doing, source }
    }

    /// Whether the reader of our output went away (`| head`), which is no
    /// failure of ours.
    pub fn is_broken_pipe(&self) -> bool {
        self.source.kind() == std::io::ErrorKind::BrokenPipe
    }
}

impl Display for IoError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.doing)
    }
}

impl Error for IoError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// Writes all of `bytes` to stdout and flushes it.
pub fn write_stdout(bytes: &[u8]) -> Result<(), IoError> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|error| IoError::new("writing stdout", error))
}

/// An error and its causes on one line, `context: cause: cause`, as our
/// error types say their context and leave the cause to `source()`.
pub fn chain(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        line.push_str(": ");
        line.push_str(&error.to_string());
        cause = error.source();
    }
    line
}

/// The one line of a clap usage error that says what is wrong (clap adds
/// the usage and a pointer to `--help`; every error of ours is one line).
/// Where clap lists what the line is about on the lines below it (the
/// missing required arguments), the list joins the line, so the message
/// names them.
fn usage_message(rendered: &str) -> String {
    let mut lines = rendered.lines();
    let line = lines
        .by_ref()
        .find(|line| line.starts_with("error: "))
        .or_else(|| rendered.lines().find(|line| !line.trim().is_empty()))
        .unwrap_or("invalid arguments");
    let mut message = line
        .strip_prefix("error: ")
        .unwrap_or(line)
        .trim_end()
        .to_string();
    if message.ends_with(':') {
        let listed: Vec<&str> = lines
            .take_while(|line| line.starts_with(' ') && !line.trim().is_empty())
            .map(str::trim)
            .collect();
        if !listed.is_empty() {
            message.push(' ');
            message.push_str(&listed.join(", "));
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Arguments {
        #[arg(long)]
        flag: bool,
    }

    #[derive(Parser, Debug)]
    struct Required {
        #[arg(long)]
        name: String,
        path: String,
    }

    const BIN: Bin = Bin::new("example");

    #[test]
    fn arguments_parse_and_version_is_added() {
        let parsed: Arguments = BIN.parse_from(["example", "--flag"]).expect("parses");
        assert!(parsed.flag);
        let version = Arguments::command().name("example").version(VERSION);
        let rendered = version.render_version();
        assert_eq!(rendered.trim(), BIN.version_line());
        assert!(BIN
            .parse_from::<Arguments, _, _>(["example", "--version"])
            .is_err());
    }

    #[test]
    fn usage_errors_are_one_line_of_ours() {
        let error = Arguments::command()
            .name("example")
            .try_get_matches_from(["example", "--nope"])
            .expect_err("unknown flag");
        assert_eq!(
            usage_message(&error.render().to_string()),
            "unexpected argument '--nope' found"
        );
    }

    #[test]
    fn a_missing_required_argument_is_named_on_the_error_line() {
        let error = Required::command()
            .name("example")
            .try_get_matches_from(["example"])
            .expect_err("missing arguments");
        assert_eq!(
            usage_message(&error.render().to_string()),
            "the following required arguments were not provided: --name <NAME>, <PATH>"
        );
    }
}
