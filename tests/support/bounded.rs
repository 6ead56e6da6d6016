//! Running one of our binaries with a deadline, for tests whose promise is
//! "this ends": a shorthand over [`super::bin`] (which clears the variables
//! the binaries read, so only what a test passes in `env` is seen).

use std::process::Output;
use std::time::Duration;

use super::bin::BinaryRun;

/// How a bounded run ended.
pub struct Finished {
    pub output: Output,
    pub took: Duration,
}

impl Finished {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// The exit code; panics (with stderr) when a signal ended the run,
    /// which is never acceptable.
    pub fn code(&self) -> i32 {
        match self.output.status.code() {
            Some(code) => code,
            None => panic!(
                "ended by a signal: {:?}\n{}",
                self.output.status,
                self.stderr()
            ),
        }
    }
}

/// Runs `binary` with `arguments`, `stdin` and `env`, killing it after
/// `deadline` (and then panicking: it hung); see
/// [`BinaryRun::output_within`].
pub fn run_bounded(
    binary: &str,
    arguments: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
    deadline: Duration,
) -> Finished {
    let mut run = BinaryRun::new(binary).args(arguments).stdin(stdin);
    for (name, value) in env {
        run = run.env(name, value);
    }
    let (output, took) = run.output_within(deadline);
    Finished { output, took }
}
