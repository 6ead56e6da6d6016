//! The bare git repository that caches every source we build from.
//!
//! bashbrew keeps one bare repository, `$BASHBREW_CACHE/git` (default
//! `${XDG_CACHE_HOME:-$HOME/.cache}/bashbrew/git`), with the objects of
//! every repository it has fetched; a commit already there is never
//! fetched again, which is what lets imports run offline. We drive the
//! `git` program: its object store and transports are what bashbrew
//! shares the cache with. Every call is non-interactive (no credential
//! prompt can hang a build) and passes repositories after `--`, so a
//! `GitRepo` starting with `-` is a repository name, not an option.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The environment variable naming bashbrew's cache directory.
pub const CACHE_VAR: &str = "BASHBREW_CACHE";

/// bashbrew's git object cache.
#[derive(Clone, Debug)]
pub struct GitCache {
    directory: PathBuf,
}

impl GitCache {
    pub fn at(directory: PathBuf) -> GitCache {
        GitCache { directory }
    }

    /// Where bashbrew keeps it, from the environment; `None` when neither
    /// `BASHBREW_CACHE`, `XDG_CACHE_HOME` nor `HOME` is set.
    pub fn from_env() -> Option<GitCache> {
        let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let cache = non_empty(CACHE_VAR).map(PathBuf::from).or_else(|| {
            non_empty("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".cache")))
                .map(|base| base.join("bashbrew"))
        })?;
        Some(GitCache::at(cache.join("git")))
    }

    pub fn directory(&self) -> &Path {
        &self.directory
    }

    fn git(&self) -> Command {
        let mut command = Command::new("git");
        command
            .arg("--git-dir")
            .arg(&self.directory)
            .args(["-c", "protocol.ext.allow=never"])
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, arguments: &[&OsStr]) -> Result<Vec<u8>, String> {
        let output = self
            .git()
            .args(arguments)
            .output()
            .map_err(|error| format!("cannot run git: {error}"))?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message = stderr.lines().last().unwrap_or("").trim().to_string();
            Err(format!("git {} failed: {message}", describe(arguments)))
        }
    }

    /// Creates the bare repository when it is not there yet.
    pub fn ensure(&self) -> Result<(), String> {
        if self.directory.join("objects").is_dir() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.directory)
            .map_err(|error| format!("{}: {error}", self.directory.display()))?;
        self.run(&[
            OsStr::new("init"),
            OsStr::new("--quiet"),
            OsStr::new("--bare"),
        ])
        .map(|_| ())
    }

    /// Whether the object `name` (e.g. `COMMIT^{commit}`) is in the cache.
    pub fn has(&self, name: &str) -> bool {
        self.git()
            .args(["cat-file", "-e", "--", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|status| status.success())
            .unwrap_or(false)
    }

    /// The type of object `name` (`tree`, `blob`, ...), if it exists.
    pub fn object_type(&self, name: &str) -> Option<String> {
        let output = self
            .git()
            .args(["cat-file", "-t", "--", name])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Fetches `refspec` from `repository` into the cache.
    pub fn fetch(&self, repository: &str, refspec: &str) -> Result<(), String> {
        self.run(&[
            OsStr::new("fetch"),
            OsStr::new("--quiet"),
            OsStr::new("--no-tags"),
            OsStr::new("--"),
            OsStr::new(repository),
            OsStr::new(refspec),
        ])
        .map(|_| ())
    }

    /// `git archive` of a tree, as a tar stream on the child's stdout.
    pub fn archive(&self, tree: &str) -> io::Result<Child> {
        self.git()
            .args(["archive", "--format=tar", tree])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }
}

fn describe(arguments: &[&OsStr]) -> String {
    arguments
        .iter()
        .map(|argument| argument.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}
