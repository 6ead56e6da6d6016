//! One way to run our binaries in tests, as a user runs them but with an
//! environment the test controls:
//!
//! ```ignore
//! let output = support::bin::deploy().args(["--plan"]).stdin(builds).output();
//! let output = support::bin::lookup().run(&["--head", &reference], b"");
//! ```
//!
//! Every run starts with the variables our binaries read removed
//! ([`CLEARED`]) and `DOCKER_CONFIG` pointing at an empty directory, so a
//! developer's modules, engine choice, Docker Hub mirror, HTTP proxy or
//! Docker credentials can never change what a test sees. A test sets what
//! it needs with [`BinaryRun::env`] or [`BinaryRun::docker_config`].
//!
//! `plan_util::run` and [`super::run_binary`] are shorthands over this.

use std::ffi::OsStr;
use std::io::{Read, Write as _};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The variables our binaries (and ureq under them) read, removed from
/// every run.
pub const CLEARED: &[&str] = &[
    "BASHBREW_META_SCRIPTS",
    "BASHBREW_STAGING_TEMPLATE",
    "BASHBREW_CACHE",
    "XDG_CACHE_HOME",
    "DOCKER_CONFIG",
    "DOCKERHUB_PUBLIC_PROXY",
    "DOI_PLAN_ENGINE",
    "DOI_TIMEOUT",
    "DOI_RETRY_MAX_WAIT",
    "DOI_RETRY_BUDGET",
    "LOOKUP_STATS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

/// A run of one of our binaries being set up.
pub struct BinaryRun {
    program: String,
    command: Command,
    stdin: Vec<u8>,
    /// The empty Docker config directory, alive until the run ends.
    _docker_config: tempfile::TempDir,
}

/// `deploy`.
pub fn deploy() -> BinaryRun {
    ours(option_env!("CARGO_BIN_EXE_deploy"))
}

/// `lookup`.
pub fn lookup() -> BinaryRun {
    ours(option_env!("CARGO_BIN_EXE_lookup"))
}

/// `builds`.
pub fn builds() -> BinaryRun {
    ours(option_env!("CARGO_BIN_EXE_builds"))
}

/// `doi-jq`.
pub fn doi_jq() -> BinaryRun {
    ours(option_env!("CARGO_BIN_EXE_doi-jq"))
}

/// Cargo names our binaries' paths only to integration tests; benchmarks
/// that include this harness have none.
fn ours(program: Option<&'static str>) -> BinaryRun {
    BinaryRun::new(program.expect("our binaries are built for integration tests only"))
}

impl BinaryRun {
    /// Any program (one of ours, by its `CARGO_BIN_EXE_*` path).
    pub fn new(program: &str) -> Self {
        let docker_config = tempfile::tempdir().expect("a temporary DOCKER_CONFIG");
        let mut command = Command::new(program);
        for name in CLEARED {
            command.env_remove(name);
        }
        command.env("DOCKER_CONFIG", docker_config.path());
        Self {
            program: program.to_string(),
            command,
            stdin: Vec::new(),
            _docker_config: docker_config,
        }
    }

    pub fn arg(mut self, argument: impl AsRef<OsStr>) -> Self {
        self.command.arg(argument);
        self
    }

    pub fn args<I, A>(mut self, arguments: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        self.command.args(arguments);
        self
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    /// Docker credentials from `directory/config.json`.
    pub fn docker_config(self, directory: &Path) -> Self {
        self.env("DOCKER_CONFIG", directory)
    }

    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.stdin = bytes.as_ref().to_vec();
        self
    }

    /// Runs it to the end: what it printed and how it exited. Stdin is
    /// written from another thread, so a program that prints while it
    /// reads cannot block on a full pipe.
    pub fn output(mut self) -> Output {
        let mut child = self.start();
        let input = std::mem::take(&mut self.stdin);
        let writer = child.stdin.take().map(|mut pipe| {
            // A program that exits before reading all of stdin may close it
            // first; its exit status and stderr then tell the story.
            std::thread::spawn(move || drop(pipe.write_all(&input)))
        });
        let output = child
            .wait_with_output()
            .unwrap_or_else(|error| panic!("{} did not finish: {error}", self.program));
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        output
    }

    /// [`BinaryRun::output`] for tests whose promise is "this ends": a run
    /// still going after `deadline` is killed and fails the test as a hang
    /// (deadlines are generous: this never measures speed). Also returns
    /// how long it took.
    pub fn output_within(mut self, deadline: Duration) -> (Output, Duration) {
        let started = Instant::now();
        let mut child = self.start();
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(&self.stdin);
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
        let stdout = drain(child.stdout.take().map(|pipe| Box::new(pipe) as _));
        let stderr = drain(child.stderr.take().map(|pipe| Box::new(pipe) as _));
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr = stderr.join().unwrap_or_default();
                    panic!(
                        "{} hung: still running after {deadline:?}; stderr: {}",
                        self.program,
                        String::from_utf8_lossy(&stderr)
                    );
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(error) => panic!("waiting for {}: {error}", self.program),
            }
        };
        let output = Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        };
        (output, started.elapsed())
    }

    /// `args(arguments).stdin(stdin).output()`.
    pub fn run(self, arguments: &[&str], stdin: impl AsRef<[u8]>) -> Output {
        self.args(arguments).stdin(stdin).output()
    }

    /// [`BinaryRun::run`] with variables set first.
    pub fn run_with(
        mut self,
        arguments: &[&str],
        stdin: impl AsRef<[u8]>,
        environment: &[(&str, &OsStr)],
    ) -> Output {
        for (name, value) in environment {
            self = self.env(name, value);
        }
        self.run(arguments, stdin)
    }

    /// Starts it with stdin written and closed, stdout and stderr piped,
    /// for tests that act on the running process (signals). Keep the
    /// returned directory alive until the child ends.
    pub fn spawn(mut self) -> (Child, tempfile::TempDir) {
        let mut child = self.start();
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(&self.stdin);
        }
        (child, self._docker_config)
    }

    fn start(&mut self) -> Child {
        self.command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", self.program))
    }
}
