//! Shared helpers for the OCI layout tests: the busybox fixtures (seeded
//! into a temporary git cache from the bundle, offline), and layouts built
//! from a [`Recipe`] whose edits are re-chained upward, so a test breaks a
//! layout in exactly one way.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use doi::spec::media_type::{OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST};

pub const FIXTURES: &str = "../shared/fixtures/busybox-oci";
pub const FIXTURE_NAMES: [&str; 3] = [
    "latest-glibc-amd64",
    "latest-musl-amd64",
    "latest-uclibc-amd64",
];
/// The commit of the bundle, and each fixture's directory in it.
pub const FIXTURE_COMMIT: &str = "3f4ed6ff7b334805d63c1d040b83a98ea7d8ca62";

pub fn fixture_directory(name: &str) -> &'static str {
    match name {
        "latest-glibc-amd64" => "latest/glibc/amd64",
        "latest-musl-amd64" => "latest/musl/amd64",
        _ => "latest/uclibc/amd64",
    }
}

/// The fixtures folder, or `None` when absent (see
/// [`crate::support::unavailable`]: under CI a failure).
pub fn fixtures() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES);
    if path.join("busybox.bundle").is_file() {
        return Some(path);
    }
    crate::support::unavailable(&format!(
        "{} is absent (it lives outside the crate)",
        path.display()
    ));
    None
}

/// [`fixtures`] and a git cache seeded from them ([`seeded_cache`]).
pub fn seeded_fixtures() -> Option<(PathBuf, tempfile::TempDir)> {
    let fixtures = fixtures()?;
    let cache = seeded_cache(&fixtures);
    Some((fixtures, cache))
}

/// `git ARGUMENTS` (never prompting), which must succeed: its stdout.
pub fn git(arguments: &[&str]) -> Vec<u8> {
    crate::support::tool_output(
        Command::new("git")
            .args(arguments)
            .env("GIT_TERMINAL_PROMPT", "0"),
        b"",
    )
    .unwrap_or_else(|error| panic!("git {arguments:?}: {error}"))
}

/// A temporary `BASHBREW_CACHE` whose `git` holds the busybox bundle.
pub fn seeded_cache(fixtures: &Path) -> tempfile::TempDir {
    let cache = tempfile::tempdir().unwrap();
    let git_dir = cache.path().join("git");
    let git_dir = git_dir.to_str().unwrap();
    git(&["init", "--quiet", "--bare", git_dir]);
    let bundle = fixtures.join("busybox.bundle");
    git(&[
        "-C",
        git_dir,
        "fetch",
        "--quiet",
        bundle.to_str().unwrap(),
        "refs/heads/*:refs/heads/*",
    ]);
    cache
}

/// Runs `oci-import TARGET` with the build on stdin and `cache` as
/// `BASHBREW_CACHE`.
pub fn oci_import(cache: &Path, target: &Path, build: &[u8]) -> Output {
    crate::plan_util::run(
        env!("CARGO_BIN_EXE_oci-import"),
        &[target.as_os_str()],
        build,
        &[("BASHBREW_CACHE", cache.as_os_str())],
    )
}

/// Fixture `name` imported (offline, from `cache`) into `parent/name`, as
/// the pipeline does before pushing; returns that layout.
pub fn import_fixture(fixtures: &Path, cache: &Path, name: &str, parent: &Path) -> PathBuf {
    let target = parent.join(name);
    let build = std::fs::read(fixtures.join(format!("{name}.build.json"))).unwrap();
    let output = oci_import(cache, &target, &build);
    assert!(
        output.status.success(),
        "oci-import {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    target
}

/// A fixture's layout as committed (symlinked blobs), extracted into `into`.
pub fn extract_fixture(cache: &Path, name: &str, into: &Path) {
    let git_dir = cache.join("git");
    let tree = format!("{FIXTURE_COMMIT}:{}/", fixture_directory(name));
    let archive = git(&["-C", git_dir.to_str().unwrap(), "archive", &tree]);
    std::fs::create_dir_all(into).unwrap();
    let mut tar = Command::new("tar")
        .args(["-x", "-C", into.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tar.stdin.take().unwrap().write_all(&archive).unwrap();
    assert!(tar.wait().unwrap().success());
}

/// Every file under `root` as the fixtures' `NAME.tree` lists them.
pub fn tree_listing(root: &Path) -> String {
    let mut lines = Vec::new();
    let mut pending = vec![PathBuf::from(".")];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(root.join(&directory)).unwrap() {
            let entry = entry.unwrap();
            let relative = directory.join(entry.file_name());
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(relative);
            } else if kind.is_symlink() {
                let target = std::fs::read_link(root.join(&relative)).unwrap();
                lines.push(format!("{} -> {}", relative.display(), target.display()));
            } else {
                let bytes = std::fs::read(root.join(&relative)).unwrap();
                let digest = doi::registry::Digest::sha256_of(&bytes);
                lines.push(format!("{} {}", relative.display(), digest.hex()));
            }
        }
    }
    lines.sort();
    lines.iter().map(|line| format!("{line}\n")).collect()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A tar stream of `files` (regular files, mode 0644).
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn sha256(bytes: &[u8]) -> String {
    doi::registry::Digest::sha256_of(bytes).to_string()
}

pub fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256(bytes), "size": bytes.len()})
}

type Edit<T> = Box<dyn Fn(&mut T)>;

/// A one-image layout, built bottom-up: each edit runs at its level, and
/// every level above is made from the edited bytes, so the only defect is
/// the one the edit made.
pub struct Recipe {
    pub layer_tar: Vec<u8>,
    pub layer_media_type: String,
    /// Compresses the tar as the media type says.
    pub compress: fn(&[u8]) -> Vec<u8>,
    pub layer_blob: Edit<Vec<u8>>,
    pub config: Edit<Value>,
    pub config_bytes: Edit<Vec<u8>>,
    pub manifest: Edit<Value>,
    pub manifest_bytes: Edit<Vec<u8>>,
    pub index: Edit<Value>,
    pub index_bytes: Edit<Vec<u8>>,
    /// Writes blobs as symlinks to files beside index.json (as the busybox
    /// layouts do) instead of regular files.
    pub symlinked_blobs: bool,
}

impl Default for Recipe {
    fn default() -> Recipe {
        Recipe {
            layer_tar: tar_of(&[("etc/hostname", b"busybox\n"), ("bin/sh", &[0x7f; 3000])]),
            layer_media_type: OCI_LAYER_GZIP.to_string(),
            compress: gzip,
            layer_blob: Box::new(|_| {}),
            config: Box::new(|_| {}),
            config_bytes: Box::new(|_| {}),
            manifest: Box::new(|_| {}),
            manifest_bytes: Box::new(|_| {}),
            index: Box::new(|_| {}),
            index_bytes: Box::new(|_| {}),
            symlinked_blobs: false,
        }
    }
}

/// What a built layout holds.
pub struct Built {
    pub directory: tempfile::TempDir,
    pub layer: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
}

impl Built {
    pub fn path(&self) -> &Path {
        self.directory.path()
    }
}

pub fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap();
    bytes.push(b'\n');
    bytes
}

/// A document with its recipe's edits: `edit` on the value, then
/// `edit_bytes` on its pretty-printed bytes.
fn edited(mut document: Value, edit: &Edit<Value>, edit_bytes: &Edit<Vec<u8>>) -> Vec<u8> {
    edit(&mut document);
    let mut bytes = pretty(&document);
    edit_bytes(&mut bytes);
    bytes
}

impl Recipe {
    /// The default recipe with one of its edits (`field`: the config,
    /// the manifest, the index or their bytes) set to `edit`.
    pub fn editing<T>(
        field: impl FnOnce(&mut Recipe) -> &mut Edit<T>,
        edit: impl Fn(&mut T) + 'static,
    ) -> Recipe {
        let mut recipe = Recipe::default();
        *field(&mut recipe) = Box::new(edit);
        recipe
    }

    pub fn build(self) -> Built {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path();
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(
            root.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        let mut layer = (self.compress)(&self.layer_tar);
        (self.layer_blob)(&mut layer);
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256(&self.layer_tar)]},
        });
        let config_bytes = edited(config, &self.config, &self.config_bytes);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, &config_bytes),
            "layers": [descriptor(&self.layer_media_type, &layer)],
        });
        let manifest_bytes = edited(manifest, &self.manifest, &self.manifest_bytes);
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{
                "mediaType": OCI_MANIFEST,
                "digest": sha256(&manifest_bytes),
                "size": manifest_bytes.len(),
                "platform": {"architecture": "amd64", "os": "linux"},
            }],
        });
        let index_bytes = edited(index, &self.index, &self.index_bytes);
        std::fs::write(root.join("index.json"), &index_bytes).unwrap();
        for (name, bytes) in [
            ("rootfs.tar.gz", &layer),
            ("image-config.json", &config_bytes),
            ("image-manifest.json", &manifest_bytes),
        ] {
            let blob = root.join("blobs/sha256").join(&sha256(bytes)[7..]);
            if self.symlinked_blobs {
                std::fs::write(root.join(name), bytes).unwrap();
                std::os::unix::fs::symlink(Path::new("../..").join(name), blob).unwrap();
            } else {
                std::fs::write(blob, bytes).unwrap();
            }
        }
        Built {
            directory,
            layer,
            config: config_bytes,
            manifest: manifest_bytes,
        }
    }
}

/// Writes `bytes` as a blob of the layout; returns its descriptor.
pub fn add_blob(root: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let digest = sha256(bytes);
    std::fs::write(root.join("blobs/sha256").join(&digest[7..]), bytes).unwrap();
    descriptor(media_type, bytes)
}

/// Runs `oci-validate ARGS...`.
pub fn oci_validate(arguments: &[&str]) -> Output {
    crate::support::run_binary(env!("CARGO_BIN_EXE_oci-validate"), arguments, b"")
}

/// Runs `oci-validate --quiet LAYOUT` and returns its one error line
/// (asserting exit 1, one line, nothing on stdout).
pub fn refusal(layout: &Path) -> String {
    let output = oci_validate(&["--quiet", layout.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "expected a refusal, got: {stderr}"
    );
    assert!(output.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("oci-validate: error: "), "{stderr}");
    stderr.trim_end().to_string()
}

/// Asserts `oci-validate --quiet LAYOUT` accepts the layout silently.
pub fn assert_valid(layout: &Path) {
    let output = oci_validate(&["--quiet", layout.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}
