//! `oci-import`: the three busybox fixtures imported offline (from the
//! bundle, through a temporary git cache) are byte-identical to the
//! reference's results, every file; and every hostile or broken build is
//! refused with one line, leaving no TARGET behind.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::oci_util::{self, git, oci_import, Recipe};

/// The one error line of a refused import; TARGET and any temporary
/// sibling must be gone.
fn refused(cache: &Path, build: &Value) -> String {
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("temp");
    let output = oci_import(cache, &target, build.to_string().as_bytes());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("oci-import: error: "), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(parent.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    stderr.trim_end().to_string()
}

fn fixture_build(fixtures: &Path, name: &str) -> Value {
    let bytes = std::fs::read(fixtures.join(format!("{name}.build.json"))).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn the_three_fixtures_import_byte_identical_to_the_reference() {
    let Some((fixtures, cache)) = oci_util::seeded_fixtures() else {
        return;
    };
    for name in oci_util::FIXTURE_NAMES {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("temp");
        let build = std::fs::read(fixtures.join(format!("{name}.build.json"))).unwrap();
        let output = oci_import(cache.path(), &target, &build);
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty() && output.stderr.is_empty());
        let expected = std::fs::read_to_string(fixtures.join(format!("{name}.tree"))).unwrap();
        assert_eq!(oci_util::tree_listing(&target), expected, "{name}");
        let index = std::fs::read(target.join("index.json")).unwrap();
        assert_eq!(
            index,
            std::fs::read(fixtures.join(format!("{name}.index.json"))).unwrap()
        );
        let canonical =
            std::fs::read(fixtures.join(format!("{name}.canonical-index.json"))).unwrap();
        let digest = oci_util::sha256(&canonical);
        assert_eq!(
            std::fs::read(target.join("blobs/sha256").join(&digest[7..])).unwrap(),
            canonical
        );
        // Only TARGET was created beside it.
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 1);
        oci_util::assert_valid(&target);
    }
}

#[test]
fn a_target_that_exists_is_left_alone() {
    let Some((fixtures, cache)) = oci_util::seeded_fixtures() else {
        return;
    };
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("temp");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("mine"), b"keep").unwrap();
    let build = fixture_build(&fixtures, "latest-glibc-amd64");
    let output = oci_import(cache.path(), &target, build.to_string().as_bytes());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr
            .trim_end()
            .ends_with(&format!("target {} already exists", target.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::read(target.join("mine")).unwrap(), b"keep");
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 1);
}

#[test]
fn builds_that_are_not_usable_oci_imports_are_refused() {
    let Some((fixtures, cache)) = oci_util::seeded_fixtures() else {
        return;
    };
    let build = fixture_build(&fixtures, "latest-glibc-amd64");
    let entry = |key: &str, value: Value| {
        let mut changed = build.clone();
        changed["source"]["entries"][0][key] = value;
        changed
    };
    let cases = [
        (
            entry("Builder", json!("buildkit")),
            "source.entries[0].Builder is \"buildkit\", not \"oci-import\"",
        ),
        (
            entry("Builder", Value::Null),
            "source.entries[0].Builder is null, not \"oci-import\"",
        ),
        (
            entry("Directory", json!("../../etc")),
            "Directory \"../../etc\" leaves the commit's tree",
        ),
        (
            entry("Directory", json!("/latest/glibc/amd64")),
            "leaves the commit's tree",
        ),
        (
            entry("Directory", json!("latest/nothing")),
            "Directory \"latest/nothing\" does not exist in commit",
        ),
        (
            entry("Directory", json!("latest/glibc/amd64/oci-layout")),
            "is a blob in commit",
        ),
        (
            entry("File", json!("../../../etc/passwd")),
            "File \"../../../etc/passwd\" leaves the commit's tree",
        ),
        (
            entry("File", json!("missing.json")),
            "File \"missing.json\": missing.json: no such file",
        ),
        (
            entry("File", json!("rootfs.tar.gz")),
            "File \"rootfs.tar.gz\": not strict JSON",
        ),
        (
            entry("GitCommit", json!("3f4ed6ff")),
            "expected a full 40-digit commit id",
        ),
        (
            json!([build.clone()]),
            "the input must be one builds-metadata object",
        ),
    ];
    for (changed, expected) in cases {
        let line = refused(cache.path(), &changed);
        assert!(line.contains(expected), "expected {expected:?} in: {line}");
    }
    let parent = tempfile::tempdir().unwrap();
    let output = oci_import(cache.path(), &parent.path().join("t"), b"{\"a\":1,\"a\":2}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("duplicate key"));
    let usage = crate::plan_util::run(env!("CARGO_BIN_EXE_oci-import"), &[], b"", &[]);
    assert_eq!(usage.status.code(), Some(2));
}

/// A work repository whose commit holds `layout` at `directory`, fetched
/// into a fresh cache; returns the cache, the commit and the work
/// repository (which `GitRepo` may name to test fetching).
fn commit_layout(layout: &Path, directory: &str) -> (tempfile::TempDir, String, WorkRepository) {
    let work = tempfile::tempdir().unwrap();
    let repository = work.path().join("repo");
    let repo = repository.to_str().unwrap();
    git(&["init", "--quiet", "--initial-branch=main", repo]);
    let destination = repository.join(directory);
    std::fs::create_dir_all(destination.parent().unwrap()).unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(layout)
        .arg(&destination)
        .status()
        .unwrap();
    assert!(copied.success());
    git(&["-C", repo, "add", "-A"]);
    git(&[
        "-C",
        repo,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "--quiet",
        "-m",
        "layout",
    ]);
    let commit = String::from_utf8(git(&["-C", repo, "rev-parse", "HEAD"]))
        .unwrap()
        .trim()
        .to_string();
    let cache = tempfile::tempdir().unwrap();
    let git_dir = cache.path().join("git");
    git(&["init", "--quiet", "--bare", git_dir.to_str().unwrap()]);
    git(&[
        "-C",
        git_dir.to_str().unwrap(),
        "fetch",
        "--quiet",
        repo,
        "main",
    ]);
    (
        cache,
        commit,
        WorkRepository {
            _directory: work,
            path: repository,
        },
    )
}

struct WorkRepository {
    _directory: tempfile::TempDir,
    path: PathBuf,
}

impl WorkRepository {
    fn to_str(&self) -> Option<&str> {
        self.path.to_str()
    }
}

fn build_for(commit: &str, repository: &str, directory: &str, file: &str) -> Value {
    json!({
        "buildId": "test-build",
        "build": {"img": "oisupport/staging-amd64:test-build", "resolved": null, "arch": "amd64", "parents": {}},
        "source": {
            "entries": [{
                "GitRepo": repository, "GitFetch": "refs/heads/main", "GitCommit": commit,
                "Directory": directory, "File": file, "Builder": "oci-import", "SOURCE_DATE_EPOCH": 1700000000,
            }],
            "arches": {"amd64": {
                "tags": ["test:1.0"], "archTags": [], "froms": ["scratch"], "lastStageFrom": "scratch",
                "platform": {"architecture": "amd64", "os": "linux"},
            }},
        },
    })
}

#[test]
fn symlinks_out_of_the_tree_and_broken_layouts_leave_nothing() {
    let built = Recipe::default().build();
    let outside = built.path().join("escape");
    std::os::unix::fs::symlink("../../../../../etc/passwd", &outside).unwrap();
    let (cache, commit, repository) = commit_layout(built.path(), "layout");
    let build = build_for(
        &commit,
        repository.to_str().unwrap(),
        "layout",
        "index.json",
    );
    let line = refused(cache.path(), &build);
    crate::support::assert_contains(
        &line,
        "symlink escape -> ../../../../../etc/passwd resolves outside the layout",
    );

    let broken = Recipe::editing(
        |recipe| &mut recipe.config,
        |config| config["rootfs"]["diff_ids"] = json!([oci_util::sha256(b"x")]),
    )
    .build();
    let (cache, commit, repository) = commit_layout(broken.path(), "a/b");
    let build = build_for(&commit, repository.to_str().unwrap(), "a/b", "index.json");
    let line = refused(cache.path(), &build);
    crate::support::assert_contains(&line, "invalid layout: blobs/sha256/");
    crate::support::assert_contains(&line, "but the config's diff_id is");
}

#[test]
fn file_may_name_one_manifest_and_an_index_must_list_exactly_one() {
    let built = Recipe::default().build();
    let root = built.path();
    std::fs::write(root.join("image-manifest.json"), &built.manifest).unwrap();
    let mut two: Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let first = two["manifests"][0].clone();
    two["manifests"] = json!([first.clone(), first]);
    std::fs::write(root.join("two.json"), oci_util::pretty(&two)).unwrap();
    let (cache, commit, repository) = commit_layout(root, "layout");
    let repository = repository.to_str().unwrap().to_string();

    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("out");
    let build = build_for(&commit, &repository, "layout", "image-manifest.json");
    let output = oci_import(cache.path(), &target, build.to_string().as_bytes());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let index: Value =
        serde_json::from_slice(&std::fs::read(target.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let canonical = std::fs::read(target.join("blobs/sha256").join(&digest[7..])).unwrap();
    let canonical: Value = serde_json::from_slice(&canonical).unwrap();
    let manifest = &canonical["manifests"][0];
    assert_eq!(manifest["digest"], json!(oci_util::sha256(&built.manifest)));
    assert_eq!(
        manifest["platform"],
        json!({"os": "linux", "architecture": "amd64"})
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.created"],
        json!("2023-11-14T22:13:20Z")
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.version"],
        json!("1.0")
    );
    oci_util::assert_valid(&target);

    let build = build_for(&commit, &repository, "layout", "two.json");
    let line = refused(cache.path(), &build);
    assert!(
        line.ends_with(
            "File \"two.json\": lists 2 manifests; an oci-import layout must have exactly one"
        ),
        "{line}"
    );
}

#[test]
fn a_commit_missing_from_the_cache_is_fetched_by_id_then_by_git_fetch() {
    let built = Recipe::default().build();
    let (_cache, commit, repository) = commit_layout(built.path(), "layout");
    let empty = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let build = build_for(
        &commit,
        repository.to_str().unwrap(),
        "layout",
        "index.json",
    );
    let output = oci_import(
        empty.path(),
        &parent.path().join("out"),
        build.to_string().as_bytes(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(empty.path().join("git/objects").is_dir());

    let unreachable = build_for(
        &"0".repeat(40),
        "/nonexistent/repository.git",
        "layout",
        "index.json",
    );
    let line = refused(empty.path(), &unreachable);
    crate::support::assert_contains(&line, "is not in");
    crate::support::assert_contains(
        &line,
        "could not be fetched from /nonexistent/repository.git",
    );
}

/// The pipeline as it runs: the build command our `meta` module generates
/// for an oci-import build (`"$BASHBREW_META_SCRIPTS/helpers/oci-import.sh"
/// <<<"$build" temp`, as in the reference's oci-import.out.sh), run by
/// bash with `BASHBREW_META_SCRIPTS` at our filters/, imports through our
/// helper and binary, byte-identical to the reference.
#[test]
fn the_generated_build_command_runs_our_importer_through_the_helper() {
    let Some(fixtures) = oci_util::fixtures() else {
        return;
    };
    if !crate::support::require_tools(&["bash"]) {
        return;
    }
    let name = "latest-musl-amd64";
    let build = std::fs::read(fixtures.join(format!("{name}.build.json"))).unwrap();
    let program = doi::jq::Program::compile(
        r#"include "meta"; build_command"#,
        &doi::jq::CompileOptions {
            search: doi::jq::ModuleSearch::embedded_only(Vec::new()),
            ..doi::jq::CompileOptions::default()
        },
    )
    .unwrap();
    let input = doi::jq::read::parse_single(&build).unwrap();
    let outputs = program.run_collect(input).unwrap();
    let command = doi::jq::print::to_serde(&outputs[0]);
    let command = command.as_str().unwrap();
    // The SBOM step belongs to another helper.
    let command = command.split("\n# SBOM").next().unwrap();
    assert!(
        command.ends_with("\n\"$BASHBREW_META_SCRIPTS/helpers/oci-import.sh\" <<<\"$build\" temp"),
        "{command}"
    );
    let cache = oci_util::seeded_cache(&fixtures);
    let work = tempfile::tempdir().unwrap();
    let binaries = Path::new(env!("CARGO_BIN_EXE_oci-import"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        binaries.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let filters = Path::new(env!("CARGO_MANIFEST_DIR")).join("filters");
    let output = std::process::Command::new("bash")
        .args(["-Eeuo", "pipefail", "-c", command])
        .current_dir(work.path())
        .env("PATH", path)
        .env("BASHBREW_META_SCRIPTS", &filters)
        .env("BASHBREW_CACHE", cache.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = std::fs::read_to_string(fixtures.join(format!("{name}.tree"))).unwrap();
    assert_eq!(oci_util::tree_listing(&work.path().join("temp")), expected);
    // And the validation helper beside it.
    let validate = std::process::Command::new(filters.join("helpers/oci-validate.sh"))
        .args(["--quiet", "temp"])
        .current_dir(work.path())
        .env("PATH", format!("{}:/usr/bin:/bin", binaries.display()))
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
}
