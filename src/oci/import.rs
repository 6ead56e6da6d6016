//! Importing an `oci-import` build: the layout committed to git becomes a
//! layout whose `index.json` points at one canonical image index, the one
//! that gets pushed.
//!
//! The steps and their order are the reference importer's (the fixtures in
//! `../shared/fixtures/busybox-oci/` hold its byte-exact results): the
//! commit comes from the git cache (fetched only when absent), `Directory`
//! of it is extracted, the layout is validated, `File` is read (an index
//! with exactly one manifest, or one manifest), that manifest loses its
//! `urls`, `data` and annotations, takes the build's platform and the
//! build's annotations, and is written, normalized, as an index blob that a
//! new `index.json` names alone.
//!
//! Two rules come from our jq modules rather than being written again here:
//! the annotations are `meta`'s `build_annotations` and the document is put
//! in order by `oci`'s `normalize_manifest`, run by our engine (so a module
//! given in `BASHBREW_META_SCRIPTS` wins here as everywhere).
//!
//! Where the reference trusts its input we do not: `Directory` and `File`
//! must stay inside the commit's tree, no symlink may point outside the
//! layout, only files, directories and symlinks are extracted, and the
//! work happens in a temporary sibling of TARGET that is renamed into
//! place only when everything succeeded, so a failed import leaves nothing.

use std::fmt;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Component, Path, PathBuf};

use serde_json::{json, Value};

use crate::jq::print::{self, PrintOptions};
use crate::jq::{CompileOptions, ModuleSearch, Program};
use crate::registry::Digest;
use crate::spec::media_type::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};

use super::blob::blob_path;
use super::git::GitCache;
use super::json::parse_strict;
use super::path::{PathError, Root};
use super::tar::{EntryKind, TarReader};
use super::validate::{self, Checked, DescriptorPath};

/// The jq program that makes the canonical index from `{build, manifest}`.
const CANONICAL_INDEX: &str = r#"
include "meta";
include "oci";
.build as $build
| .manifest
| del(.urls, .data, .annotations)
| .platform = $build.source.arches[$build.build.arch].platform
| .annotations = ($build | build_annotations)
| {schemaVersion: 2, mediaType: media_type_oci_index, manifests: [.]}
| normalize_manifest
"#;

/// Why an import failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ImportError {
    /// The build object is not an `oci-import` build we can use.
    Build(String),
    /// TARGET cannot be created.
    Target(String),
    /// The git cache could not provide the commit or its tree.
    Git(String),
    /// The commit's directory is not a tree we extract.
    Extract(String),
    /// The layout broke a rule.
    Layout(validate::LayoutError),
    /// `File` is not a usable index or manifest.
    File(String),
    /// The jq modules failed.
    Filter(String),
    Io(String),
}

impl fmt::Display for ImportError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Build(message)
            | ImportError::Target(message)
            | ImportError::Git(message)
            | ImportError::Extract(message)
            | ImportError::File(message)
            | ImportError::Filter(message)
            | ImportError::Io(message) => formatter.write_str(message),
            ImportError::Layout(error) => write!(formatter, "invalid layout: {error}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// The fields of the build that the import uses, checked.
#[derive(Debug, Clone)]
pub struct ImportBuild {
    pub id: String,
    pub repository: String,
    pub commit: String,
    pub fetch: Option<String>,
    /// `Directory`, as path components inside the commit's tree.
    pub directory: Vec<String>,
    /// `File`, as path components inside the layout.
    pub file: Vec<String>,
    /// The whole build object, for the jq modules.
    pub value: Value,
}

/// Splits a relative path into its components, refusing anything that
/// could leave the tree it is relative to.
fn inside_components(text: &str, what: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Err(format!("{what} is empty"));
    }
    let path = Path::new(text);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!("{what} {text:?} leaves the commit's tree"))
            }
        }
    }
    if text.contains('\0') {
        return Err(format!("{what} {text:?} contains a NUL byte"));
    }
    Ok(parts)
}

impl ImportBuild {
    /// Reads the fields of a builds-metadata object whose first source
    /// entry has `Builder: oci-import`.
    pub fn from_value(value: Value) -> Result<ImportBuild, ImportError> {
        let id = match &value["buildId"] {
            Value::String(id) => id.clone(),
            Value::Null => "(no buildId)".to_string(),
            other => other.to_string(),
        };
        let fail = |message: String| ImportError::Build(format!("build {id}: {message}"));
        if !value.is_object() {
            return Err(ImportError::Build(
                "the input must be one builds-metadata object".to_string(),
            ));
        }
        let entry = &value["source"]["entries"][0];
        if !entry.is_object() {
            return Err(fail(
                "source.entries[0]: missing (expected a source entry object)".to_string(),
            ));
        }
        match entry["Builder"].as_str() {
            Some("oci-import") => {}
            _ => {
                return Err(fail(format!(
                    "source.entries[0].Builder is {}, not \"oci-import\"",
                    entry["Builder"]
                )))
            }
        }
        let string = |key: &str| -> Result<String, ImportError> {
            match entry[key].as_str() {
                Some(text) if !text.is_empty() => Ok(text.to_string()),
                _ => Err(fail(format!(
                    "source.entries[0].{key}: {} (expected a non-empty string)",
                    entry[key]
                ))),
            }
        };
        let repository = string("GitRepo")?;
        let commit = string("GitCommit")?;
        if commit.len() != 40 || !commit.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(fail(format!(
                "source.entries[0].GitCommit: {commit:?} (expected a full 40-digit commit id)"
            )));
        }
        let fetch = entry["GitFetch"]
            .as_str()
            .filter(|text| !text.is_empty())
            .map(str::to_string);
        let directory_text = entry["Directory"].as_str().unwrap_or(".");
        let directory = if directory_text.is_empty() {
            Vec::new()
        } else {
            inside_components(directory_text, "source.entries[0].Directory").map_err(fail)?
        };
        let file = inside_components(&string("File")?, "source.entries[0].File").map_err(fail)?;
        if file.is_empty() {
            return Err(fail(
                "source.entries[0].File names the layout directory itself, not a file".to_string(),
            ));
        }
        let arch = value["build"]["arch"].as_str().unwrap_or_default();
        if !value["source"]["arches"][arch]["platform"].is_object() {
            return Err(fail(format!(
                "source.arches[{arch:?}].platform: missing (expected the build's platform object)"
            )));
        }
        Ok(ImportBuild {
            id,
            repository,
            commit: commit.to_ascii_lowercase(),
            fetch,
            directory,
            file,
            value,
        })
    }
}

/// What the import needs besides the build.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub cache: GitCache,
    pub modules: ModuleSearch,
}

/// What an import made.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The canonical index: its digest, and its exact bytes.
    pub index_digest: Digest,
    pub index_bytes: Vec<u8>,
}

/// Imports `build` into `target`, which must not exist; `report` sees each
/// object the validation checked.
pub fn import(
    build: &ImportBuild,
    target: &Path,
    options: &ImportOptions,
    report: &mut dyn FnMut(&Checked),
) -> Result<Imported, ImportError> {
    let context = |message: String| format!("build {}: {message}", build.id);
    if fs::symlink_metadata(target).is_ok() {
        return Err(ImportError::Target(context(format!(
            "target {} already exists",
            target.display()
        ))));
    }
    // Compile first: a broken module should not cost a fetch.
    let program = Program::compile(
        CANONICAL_INDEX,
        &CompileOptions {
            search: options.modules.clone(),
            ..CompileOptions::default()
        },
    )
    .map_err(|error| ImportError::Filter(context(format!("jq modules: {error}"))))?;
    let tree = commit_tree(build, &options.cache)?;
    let staging = Staging::create(target).map_err(|error| ImportError::Target(context(error)))?;
    extract(&options.cache, &tree, staging.path()).map_err(|error| match error {
        ImportError::Extract(message) => ImportError::Extract(context(message)),
        other => other,
    })?;
    check_symlinks(staging.path()).map_err(|message| ImportError::Extract(context(message)))?;
    let layout = validate::validate_layout(staging.path(), report).map_err(ImportError::Layout)?;
    let manifest = read_file(build, &layout.root, report)?;
    let input = json!({"build": build.value, "manifest": manifest});
    let outputs = program
        .run_collect(print::from_serde(&input))
        .map_err(|error| ImportError::Filter(context(format!("jq modules: {error}"))))?;
    let [canonical] = outputs.as_slice() else {
        return Err(ImportError::Filter(context(format!(
            "jq modules: {} outputs where one index was expected",
            outputs.len()
        ))));
    };
    let mut index_bytes = print::to_vec(canonical, &PrintOptions::tab());
    index_bytes.push(b'\n');
    let index_digest = Digest::sha256_of(&index_bytes);
    let new_index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": OCI_INDEX,
            "digest": index_digest.as_str(),
            "size": index_bytes.len(),
        }],
    });
    let mut index_json = print::serde_to_vec(&new_index, &PrintOptions::tab());
    index_json.push(b'\n');
    let io_error = |error: io::Error| ImportError::Io(context(error.to_string()));
    let blob_file = layout.root.path().join(blob_path(&index_digest));
    if let Some(blob_directory) = blob_file.parent() {
        fs::create_dir_all(blob_directory).map_err(io_error)?;
    }
    replace_file(&blob_file, &index_bytes).map_err(io_error)?;
    replace_file(&layout.root.path().join("index.json"), &index_json).map_err(io_error)?;
    staging
        .commit(target)
        .map_err(|error| ImportError::Target(context(error)))?;
    Ok(Imported {
        index_digest,
        index_bytes,
    })
}

/// Makes sure the commit is in the cache (fetching it by id, then by
/// `GitFetch`, only when absent) and names the tree of `Directory`.
fn commit_tree(build: &ImportBuild, cache: &GitCache) -> Result<String, ImportError> {
    let context = |message: String| ImportError::Git(format!("build {}: {message}", build.id));
    cache.ensure().map_err(context)?;
    let commit_object = format!("{}^{{commit}}", build.commit);
    if !cache.has(&commit_object) {
        let mut failures = Vec::new();
        if let Err(error) = cache.fetch(&build.repository, &build.commit) {
            failures.push(error);
        }
        if !cache.has(&commit_object) {
            if let Some(fetch) = &build.fetch {
                if let Err(error) = cache.fetch(&build.repository, fetch) {
                    failures.push(error);
                }
            }
        }
        if !cache.has(&commit_object) {
            return Err(context(format!(
                "commit {} is not in {} and could not be fetched from {}{}",
                build.commit,
                cache.directory().display(),
                build.repository,
                if failures.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", failures.join("; "))
                }
            )));
        }
    }
    let tree = if build.directory.is_empty() {
        format!("{}^{{tree}}", build.commit)
    } else {
        format!("{}:{}", build.commit, build.directory.join("/"))
    };
    match cache.object_type(&tree).as_deref() {
        Some("tree") => Ok(tree),
        Some(other) => Err(context(format!(
            "Directory {:?} is a {other} in commit {}, not a directory",
            build.directory.join("/"),
            build.commit
        ))),
        None => Err(context(format!(
            "Directory {:?} does not exist in commit {}",
            build.directory.join("/"),
            build.commit
        ))),
    }
}

/// A temporary sibling of TARGET that is removed unless committed.
struct Staging {
    path: PathBuf,
    committed: bool,
}

impl Staging {
    fn create(target: &Path) -> Result<Staging, String> {
        let name = target
            .file_name()
            .ok_or_else(|| format!("target {} has no file name", target.display()))?;
        let parent = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        for attempt in 0..100 {
            let path = parent.join(format!(
                ".{}.oci-import-{}-{attempt}",
                name.to_string_lossy(),
                std::process::id()
            ));
            match fs::create_dir(&path) {
                Ok(()) => {
                    return Ok(Staging {
                        path,
                        committed: false,
                    })
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(format!("cannot create {}: {error}", path.display())),
            }
        }
        Err(format!(
            "cannot create a temporary directory beside {}",
            target.display()
        ))
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn commit(mut self, target: &Path) -> Result<(), String> {
        // rename(2) would replace an empty directory created meanwhile.
        if fs::symlink_metadata(target).is_ok() {
            return Err(format!(
                "target {} appeared during the import",
                target.display()
            ));
        }
        fs::rename(&self.path, target)
            .map_err(|error| format!("cannot rename into {}: {error}", target.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Extracts `git archive TREE` into `destination`: directories, regular
/// files (mode 0644 or 0755, as git stores them) and symlinks only, every
/// path inside, none through a symlink.
fn extract(cache: &GitCache, tree: &str, destination: &Path) -> Result<(), ImportError> {
    let mut child = cache
        .archive(tree)
        .map_err(|error| ImportError::Git(format!("cannot run git archive: {error}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| ImportError::Git("git archive has no output".to_string()))?;
    let result = extract_stream(stdout, destination);
    if result.is_err() {
        let _ = child.kill();
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let status = child
        .wait()
        .map_err(|error| ImportError::Git(format!("git archive: {error}")))?;
    result?;
    if !status.success() {
        return Err(ImportError::Git(format!(
            "git archive {tree} failed: {}",
            stderr.lines().last().unwrap_or("").trim()
        )));
    }
    Ok(())
}

fn extract_stream(stream: impl io::Read, destination: &Path) -> Result<(), ImportError> {
    let fail = |message: String| ImportError::Extract(message);
    let mut tar = TarReader::new(io::BufReader::with_capacity(256 * 1024, stream));
    let mut symlinks: Vec<PathBuf> = Vec::new();
    while let Some(entry) = tar
        .next_entry()
        .map_err(|error| fail(format!("git archive: {error}")))?
    {
        let name = String::from_utf8_lossy(&entry.path).into_owned();
        let parts = inside_components(&name, "archive entry").map_err(fail)?;
        if parts.is_empty() {
            continue;
        }
        let relative: PathBuf = parts.iter().collect();
        if let Some(link) = symlinks
            .iter()
            .find(|link| relative.starts_with(link) && relative != **link)
        {
            return Err(fail(format!(
                "archive entry {name:?} is inside symlink {}",
                link.display()
            )));
        }
        let path = destination.join(&relative);
        let io_error = |error: io::Error| fail(format!("{}: {error}", relative.display()));
        match entry.kind {
            EntryKind::Directory => fs::create_dir_all(&path).map_err(io_error)?,
            EntryKind::File => {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(io_error)?;
                }
                let mode = if entry.mode & 0o111 != 0 {
                    0o755
                } else {
                    0o644
                };
                let mut file = open_new(&path, mode).map_err(io_error)?;
                tar.copy_data(&mut file)
                    .map_err(|error| fail(format!("git archive: {error}")))?;
                file.flush().map_err(io_error)?;
                let modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(entry.mtime);
                let _ = file.set_modified(modified);
            }
            EntryKind::Symlink => {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(io_error)?;
                }
                let target = PathBuf::from(String::from_utf8_lossy(&entry.link).into_owned());
                if target.is_absolute() {
                    return Err(fail(format!(
                        "symlink {} -> {}: absolute targets are refused (the layout must be relocatable)",
                        relative.display(),
                        target.display()
                    )));
                }
                std::os::unix::fs::symlink(&target, &path).map_err(io_error)?;
                symlinks.push(relative);
            }
            EntryKind::HardLink | EntryKind::Other(_) => {
                return Err(fail(format!(
                    "archive entry {name:?} is neither a file, a directory nor a symlink"
                )))
            }
        }
    }
    Ok(())
}

fn open_new(path: &Path, mode: u32) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

/// Writes `bytes` as a new regular file at `path`, replacing whatever was
/// there (a symlink is removed, not written through).
fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let mut file = open_new(path, 0o644)?;
    file.write_all(bytes)?;
    file.flush()
}

/// Every symlink of the extracted tree must resolve inside it (a dangling
/// one is left for validation to judge if it is ever used).
fn check_symlinks(root_path: &Path) -> Result<(), String> {
    let root = Root::new(root_path).map_err(|error| error.to_string())?;
    let mut pending = vec![PathBuf::new()];
    while let Some(directory) = pending.pop() {
        let entries = fs::read_dir(root.path().join(&directory))
            .map_err(|error| format!("{}: {error}", directory.display()))?;
        for entry in entries {
            let entry = entry.map_err(|error| format!("{}: {error}", directory.display()))?;
            let relative = directory.join(entry.file_name());
            let kind = entry
                .file_type()
                .map_err(|error| format!("{}: {error}", relative.display()))?;
            if kind.is_dir() {
                pending.push(relative);
            } else if kind.is_symlink() {
                match root.resolve(&relative) {
                    Ok(_) | Err(PathError::NotFound { .. }) => {}
                    Err(error) => return Err(error.to_string()),
                }
            }
        }
    }
    Ok(())
}

/// Reads `File`: an index with exactly one manifest, or one manifest (an
/// index of one); returns that manifest's descriptor.
fn read_file(
    build: &ImportBuild,
    root: &Root,
    report: &mut dyn FnMut(&Checked),
) -> Result<Value, ImportError> {
    let name = build.file.join("/");
    let fail = |message: String| {
        ImportError::File(format!("build {}: File {name:?}: {message}", build.id))
    };
    let (mut handle, size) = root
        .open_file(Path::new(&name))
        .map_err(|error| fail(error.to_string()))?;
    if size > super::json::MAX_DOCUMENT_SIZE {
        return Err(fail(format!("{size} bytes: too large for a JSON document")));
    }
    let mut bytes = Vec::new();
    handle
        .read_to_end(&mut bytes)
        .map_err(|error| fail(error.to_string()))?;
    let document = parse_strict(&bytes).map_err(|error| fail(error.to_string()))?;
    let media_type = document["mediaType"].as_str().unwrap_or_default();
    let is_manifest = media_type == OCI_MANIFEST
        || media_type == DOCKER_MANIFEST
        || (media_type.is_empty() && document.get("config").is_some());
    let at = DescriptorPath::root(&name);
    if is_manifest {
        let descriptor = json!({
            "mediaType": if media_type.is_empty() { OCI_MANIFEST } else { media_type },
            "digest": Digest::sha256_of(&bytes).as_str(),
            "size": bytes.len(),
        });
        validate::validate_descriptor(root, &descriptor, &at, report)
            .map_err(ImportError::Layout)?;
        return Ok(descriptor);
    }
    let Some(manifests) = document["manifests"].as_array() else {
        return Err(fail(
            "neither an image index nor an image manifest".to_string(),
        ));
    };
    if manifests.len() != 1 {
        return Err(fail(format!(
            "lists {} manifests; an oci-import layout must have exactly one",
            manifests.len()
        )));
    }
    if name != "index.json" {
        // index.json was validated with the layout; another index is
        // checked here, descriptor by descriptor.
        let options = super::rules::DocumentOptions {
            media_types: &[OCI_INDEX],
            require_media_type: false,
        };
        super::rules::index(&document, &options)
            .map_err(|violation| fail(violation.to_string()))?;
        let child = at.child("manifests[0]".to_string(), &manifests[0]);
        validate::validate_descriptor(root, &manifests[0], &child, report)
            .map_err(ImportError::Layout)?;
    }
    Ok(manifests[0].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_must_stay_inside() {
        assert_eq!(
            inside_components("latest/./glibc/amd64/", "Directory").unwrap(),
            vec!["latest", "glibc", "amd64"]
        );
        for bad in ["../x", "a/../../b", "/etc", "a/.."] {
            let error = inside_components(bad, "Directory").unwrap_err();
            assert!(error.contains("leaves the commit's tree"), "{bad}: {error}");
        }
    }

    #[test]
    fn builds_that_are_not_oci_import_are_refused() {
        let build = json!({
            "buildId": "b1",
            "source": {"entries": [{"Builder": "buildkit"}]},
        });
        let error = ImportBuild::from_value(build).unwrap_err();
        assert_eq!(
            error.to_string(),
            "build b1: source.entries[0].Builder is \"buildkit\", not \"oci-import\""
        );
    }
}
