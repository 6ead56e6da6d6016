//! Running one of our binaries with a deadline, for tests whose promise is
//! "this ends": a run past the deadline is killed and fails the test as a
//! hang (the deadline is generous, so it never measures speed). The
//! variables the binaries read are cleared first, so only what a test
//! passes in `env` is seen.

use std::io::{Read, Write as _};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Variables our binaries read; none leaks in from the test's environment.
const READ_BY_OUR_BINARIES: [&str; 8] = [
    "BASHBREW_META_SCRIPTS",
    "DOCKER_CONFIG",
    "DOCKERHUB_PUBLIC_PROXY",
    "DOI_TIMEOUT",
    "DOI_RETRY_MAX_WAIT",
    "DOI_RETRY_BUDGET",
    "LOOKUP_STATS",
    "BASHBREW_STAGING_TEMPLATE",
];

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
/// `deadline` (and then panicking: it hung).
pub fn run_bounded(
    binary: &str,
    arguments: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
    deadline: Duration,
) -> Finished {
    let mut command = Command::new(binary);
    command
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in READ_BY_OUR_BINARIES {
        command.env_remove(name);
    }
    // No Docker config of the machine's either.
    command.env("HOME", std::env::temp_dir());
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {binary}: {error}"));
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin);
    }
    // Drained as the child writes, so a full pipe cannot look like a hang.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = stderr.join().unwrap_or_default();
                panic!(
                    "{binary} {arguments:?} hung: still running after {deadline:?}; stderr: {}",
                    String::from_utf8_lossy(&stderr)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("waiting for {binary}: {error}"),
        }
    };
    let took = started.elapsed();
    let output = Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    Finished { output, took }
}
