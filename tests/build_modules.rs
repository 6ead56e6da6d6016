//! The build-side modules (`meta`, `jenkins`, `doi`, `provenance`; issue 12)
//! through `doi-jq` with the embedded modules, against the reference's
//! conformance outputs, against jq 1.7.1 and Debian's jq 1.6 on every build
//! we have, and against the rules those outputs pin down, re-derived here
//! independently for every build of `builds.json` and of our own
//! `testdata/meta/builds.json` (every builder and arch, Windows parents,
//! with and without an SBOM, with and without a last-stage parent digest),
//! and for Jenkins queues at other times and arches.
//!
//! `tests/filters_jq.sh` checks the same conformance files and many small
//! cases on every jq with `-L filters`; this file adds the embedded modules
//! and the whole-corpus checks. Data outside the crate (`../shared`) is a
//! skip with a message on a developer's machine and a failure under CI.

use crate::plan_util::{crate_root, success};
use crate::support::unavailable;
use serde_json::{json, Map, Value};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CONFORMANCE: &str = "../shared/conformance/meta-scripts";
const JQ17: &str = "../shared/peers/jq-1.7.1/jq";

/// The SOURCE_DATE_EPOCH of the whole-corpus runs, and how `created` shows it.
const EPOCH: &str = "1700000000";
const EPOCH_TEXT: &str = "2023-11-14T22:13:20Z";

/// `PATH` (relative to the crate root) when it exists; otherwise a skip,
/// which is a failure under CI.
fn shared(path: &str) -> Option<PathBuf> {
    let full = crate_root().join(path);
    if full.exists() {
        return Some(full);
    }
    unavailable(&format!(
        "{} is absent (it lives outside the crate)",
        full.display()
    ));
    None
}

fn conformance(name: &str) -> Option<PathBuf> {
    shared(&format!("{CONFORMANCE}/{name}"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A jq to compare with.
enum Engine {
    /// `doi-jq` with the modules built into it (no `-L`).
    Ours,
    /// Another jq, given `-L filters`.
    Jq(PathBuf),
}

impl Engine {
    fn name(&self) -> String {
        match self {
            Self::Ours => "doi-jq".to_string(),
            Self::Jq(path) => path.display().to_string(),
        }
    }
}

/// jq 1.7.1 from `../shared/peers`, when it is there and runs (it needs
/// libonig5).
fn jq17() -> Option<Engine> {
    let path = shared(JQ17)?;
    let runs = Command::new(&path)
        .args(["-n", "1"])
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    if !runs {
        unavailable(&format!(
            "{} does not run (it needs libonig5; .ci/install-test-deps.sh installs it)",
            path.display()
        ));
        return None;
    }
    Some(Engine::Jq(path))
}

/// Debian's jq 1.6 on PATH.
fn jq16() -> Option<Engine> {
    crate::support::require_tools(&["jq"]).then(|| Engine::Jq(PathBuf::from("jq")))
}

/// Runs `engine` with `arguments` (paths relative to the crate root) and
/// exactly the `environment` given of the variables the modules read.
fn run(engine: &Engine, arguments: &[&str], environment: &[(&str, &str)]) -> Output {
    let mut command = match engine {
        Engine::Ours => Command::new(env!("CARGO_BIN_EXE_doi-jq")),
        Engine::Jq(path) => {
            let mut command = Command::new(path);
            command.arg("-L").arg(crate_root().join("filters"));
            command
        }
    };
    command
        .args(arguments.iter().map(OsStr::new))
        .current_dir(crate_root())
        .env_remove("BASHBREW_META_SCRIPTS")
        .env_remove("BASHBREW_ARCH")
        .env_remove("SOURCE_DATE_EPOCH");
    for (name, value) in environment {
        command.env(name, value);
    }
    command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", engine.name()))
}

fn stdout(engine: &Engine, arguments: &[&str], environment: &[(&str, &str)]) -> String {
    let what = format!("{} {}", engine.name(), arguments.join(" "));
    success(&what, &run(engine, arguments, environment))
}

/// A temporary file holding `value` as JSON, for inputs made here.
fn json_file(value: &Value) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temporary file");
    serde_json::to_writer(&mut file, value).expect("write JSON");
    file
}

fn path_text(file: &tempfile::NamedTempFile) -> String {
    file.path().display().to_string()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

// --- the conformance files, through the embedded modules ---

/// One conformance file and the program of testdata/meta/conformance/
/// that makes it, as the conformance README describes it.
struct Case {
    expected: &'static str,
    format: &'static str,
    program: &'static str,
    input: &'static str,
    environment: &'static [(&'static str, &'static str)],
}

const CASES: [Case; 4] = [
    Case {
        expected: "meta-commands.out.sh",
        format: "-r",
        program: "meta-commands.jq",
        input: "builds.json",
        environment: &[("SOURCE_DATE_EPOCH", "0")],
    },
    Case {
        expected: "oci-import.out.sh",
        format: "-r",
        program: "oci-import.jq",
        input: "builds.json",
        environment: &[],
    },
    Case {
        expected: "meta-queue.out.json",
        format: "--tab",
        program: "meta-queue.jq",
        input: "meta-queue.in.json",
        environment: &[],
    },
    Case {
        expected: "provenance.out.json",
        format: "--tab",
        program: "provenance.jq",
        input: "builds.json",
        environment: &[],
    },
];

#[test]
fn conformance_outputs_through_the_embedded_modules() {
    for Case {
        expected,
        format,
        program,
        input,
        environment,
    } in CASES
    {
        let (Some(expected_path), Some(input)) = (conformance(expected), conformance(input)) else {
            return;
        };
        let program = format!("testdata/meta/conformance/{program}");
        let input = input.display().to_string();
        let got = stdout(
            &Engine::Ours,
            &[format, "-f", &program, &input],
            environment,
        );
        crate::eqnice!(read(&expected_path), got, expected);
    }
}

/// `oci-import` builds run the OCI helper through the path the jobs set up:
/// BASHBREW_META_SCRIPTS, the directory of our modules (and their helpers).
#[test]
fn oci_import_names_the_helper_under_bashbrew_meta_scripts() {
    let Some(expected) = conformance("oci-import.out.sh") else {
        return;
    };
    assert!(read(&expected)
        .contains("\n\"$BASHBREW_META_SCRIPTS/helpers/oci-import.sh\" <<<\"$build\" temp\n"));
}

// --- every build: the same bytes on every jq ---

/// The builds files of the whole-corpus checks: the reference's and ours.
fn builds_files() -> Option<Vec<PathBuf>> {
    Some(vec![
        conformance("builds.json")?,
        crate_root().join("testdata/meta/builds.json"),
    ])
}

fn every_build(engine: &Engine, builds: &Path) -> String {
    let input = builds.display().to_string();
    stdout(
        engine,
        &["-c", "-f", "testdata/meta/every-build.jq", &input],
        &[("SOURCE_DATE_EPOCH", EPOCH)],
    )
}

#[test]
fn every_build_prints_the_same_bytes_on_jq_1_7_and_jq_1_6() {
    let Some(files) = builds_files() else {
        return;
    };
    let others: Vec<Engine> = [jq17(), jq16()].into_iter().flatten().collect();
    for builds in &files {
        let ours = every_build(&Engine::Ours, builds);
        for other in &others {
            let theirs = every_build(other, builds);
            crate::eqnice!(
                theirs,
                ours,
                format!("every-build.jq on {} by {}", builds.display(), other.name())
            );
        }
    }
}

// --- every build: the rules, derived independently ---

/// jq's @sh for one string.
fn sh(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn string<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// %FT%TZ of seconds since 1970 (the harness's RFC 3339 formatter; the
/// modules only accept non-negative times).
fn utc(seconds: i64) -> String {
    let seconds = u64::try_from(seconds).expect("a time after 1970");
    crate::support::token::rfc3339(seconds)
}

/// What the rules say about one build.
struct Build<'a> {
    value: &'a Value,
    arch: &'a str,
    entry: &'a Value,
    arch_entry: &'a Value,
}

impl<'a> Build<'a> {
    fn new(value: &'a Value) -> Self {
        let arch = string(value, "/build/arch").expect("build.arch");
        Build {
            value,
            arch,
            entry: value.pointer("/source/entries/0").expect("a source entry"),
            arch_entry: &value["source"]["arches"][arch],
        }
    }

    fn id(&self) -> &str {
        string(self.value, "/buildId").expect("buildId")
    }

    /// Builder, or by arch when empty.
    fn builder(&self) -> &str {
        match self.entry["Builder"].as_str() {
            Some(builder) if !builder.is_empty() => builder,
            _ if self.arch.starts_with("windows-") => "classic",
            _ => "buildkit",
        }
    }

    fn git_url(&self) -> String {
        format!(
            "{}#{}:{}",
            self.entry["GitRepo"].as_str().unwrap(),
            self.entry["GitCommit"].as_str().unwrap(),
            self.entry["Directory"].as_str().unwrap()
        )
    }

    fn tags(&self) -> Vec<String> {
        strings(self.arch_entry.get("tags"))
    }

    fn arch_tags(&self) -> Vec<String> {
        strings(self.arch_entry.get("archTags"))
    }

    fn first_tag(&self) -> Option<String> {
        self.tags()
            .into_iter()
            .next()
            .or_else(|| self.arch_tags().into_iter().next())
    }

    /// Tags, archTags, then the staging image.
    fn image_names(&self) -> Vec<String> {
        let mut names = self.tags();
        names.extend(self.arch_tags());
        names.push(string(self.value, "/build/img").unwrap().to_string());
        names
    }

    fn repositories(&self) -> Vec<String> {
        let tags = self.tags().into_iter();
        let arch_tags = self.arch_tags().into_iter().map(|tag| {
            tag.split_once('/')
                .map(|(_, rest)| rest.to_string())
                .unwrap_or(tag)
        });
        tags.chain(arch_tags).map(|tag| split_tag(&tag).0).collect()
    }

    fn should_sbom(&self, repositories: &[String]) -> bool {
        const ARCHES: [&str; 8] = [
            "amd64", "arm32v5", "arm32v7", "arm64v8", "i386", "ppc64le", "riscv64", "s390x",
        ];
        ARCHES.contains(&self.arch)
            && self
                .repositories()
                .iter()
                .any(|repository| repositories.contains(repository))
    }

    fn last_stage(&self) -> Option<&str> {
        self.arch_entry["lastStageFrom"].as_str()
    }

    fn parent_digest(&self, from: &str) -> Option<&str> {
        self.value["build"]["parents"][from].as_str()
    }

    /// (FROM name, where the pinned manifest is pulled from), FROM order.
    fn parents(&self) -> Vec<(String, String)> {
        let Some(parents) = self.value["build"]["parents"].as_object() else {
            return Vec::new();
        };
        parents
            .iter()
            .filter_map(|(from, digest)| Some((from, digest.as_str()?)))
            .map(|(from, digest)| {
                let found = self.value["build"]["resolvedParents"][from]["manifests"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|manifest| manifest["digest"] == digest)
                    .and_then(|manifest| {
                        manifest["annotations"]["org.opencontainers.image.ref.name"].as_str()
                    });
                let reference = match found {
                    Some(reference) => reference.to_string(),
                    None => format!("{}@{digest}", split_tag(from.split('@').next().unwrap()).0),
                };
                (from.clone(), normalize_ref(&reference))
            })
            .collect()
    }

    fn created(&self) -> String {
        match self.entry["SOURCE_DATE_EPOCH"].as_i64() {
            Some(seconds) if self.builder() == "oci-import" => utc(seconds),
            _ => EPOCH_TEXT.to_string(),
        }
    }

    fn annotations(&self) -> Value {
        let (repository, version) = match self.first_tag() {
            Some(tag) => split_tag(&tag),
            None => (String::new(), None),
        };
        let source = if self.builder() == "oci-import" {
            self.entry["GitRepo"].as_str().unwrap().to_string()
        } else {
            self.git_url()
        };
        let pairs = [
            ("org.opencontainers.image.source", Some(source)),
            (
                "org.opencontainers.image.revision",
                self.entry["GitCommit"].as_str().map(str::to_string),
            ),
            ("org.opencontainers.image.created", Some(self.created())),
            ("org.opencontainers.image.version", version),
            ("org.opencontainers.image.url", hub_url(&repository)),
            (
                "com.docker.official-images.bashbrew.arch",
                Some(self.arch.to_string()),
            ),
            (
                "org.opencontainers.image.base.name",
                self.last_stage().map(str::to_string),
            ),
            (
                "org.opencontainers.image.base.digest",
                self.last_stage()
                    .and_then(|from| self.parent_digest(from))
                    .map(str::to_string),
            ),
        ];
        let mut annotations = Map::new();
        for (key, value) in pairs {
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                annotations.insert(key.to_string(), Value::from(value));
            }
        }
        Value::Object(annotations)
    }

    fn windows_version(&self) -> Option<String> {
        let mut parents: Vec<(&String, &Value)> = self.value["build"]["parents"]
            .as_object()
            .map(|parents| parents.iter().collect())
            .unwrap_or_default();
        parents.sort_by_key(|(from, _)| Some(from.as_str()) != self.last_stage());
        let version = parents.iter().find_map(|(from, digest)| {
            self.value["build"]["resolvedParents"][from.as_str()]["manifests"]
                .as_array()?
                .iter()
                .find(|manifest| &&manifest["digest"] == digest)?["platform"]["os.version"]
                .as_str()
        })?;
        let build = version.strip_prefix("10.0.")?.split('.').next()?;
        let release = match build {
            "14393" => "2016",
            "17763" => "2019",
            "20348" => "2022",
            "26100" => "2025",
            _ => return None,
        };
        Some(release.to_string())
    }
}

/// "repo:tag" -> (repo, tag); a port is no tag.
fn split_tag(reference: &str) -> (String, Option<String>) {
    match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => {
            (repository.to_string(), Some(tag.to_string()))
        }
        _ => (reference.to_string(), None),
    }
}

fn hub_url(repository: &str) -> Option<String> {
    if repository.is_empty() {
        return None;
    }
    match repository.split_once('/') {
        None => Some(format!("https://hub.docker.com/_/{repository}")),
        Some((namespace, name))
            if !name.contains('/')
                && !namespace.contains(['.', ':'])
                && namespace != "localhost" =>
        {
            Some(format!("https://hub.docker.com/r/{repository}"))
        }
        Some(_) => None,
    }
}

/// Docker Hub names short; no tag beside a digest.
fn normalize_ref(reference: &str) -> String {
    let mut name = reference;
    for host in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] {
        name = name.strip_prefix(host).unwrap_or(name);
    }
    let mut name = match name.strip_prefix("library/") {
        Some(rest) if !rest.contains('/') => rest.to_string(),
        _ => name.to_string(),
    };
    if let Some((named, digest)) = name.clone().split_once('@') {
        name = format!("{}@{digest}", split_tag(named).0);
    }
    name
}

/// Constant parts of the commands, taken from the reference's own output
/// so they are not copied here: what follows buildkit's build command, and
/// oci-import's SBOM step.
struct Tails {
    buildkit: String,
    sbom: String,
}

fn tails(meta_commands: &str) -> Tails {
    let between = |start: &str, end: &str| -> String {
        let from = meta_commands.find(start).expect("start marker");
        let to = from + meta_commands[from..].find(end).expect("end marker");
        meta_commands[from..to].to_string()
    };
    Tails {
        buildkit: between("\nmkdir temp\n", "\n# </build>"),
        sbom: between("\n# SBOM\n", "\n# </build>"),
    }
}

fn expected_build_command(build: &Build, sbom: bool, tails: &Tails) -> String {
    let tags = build
        .image_names()
        .into_iter()
        .map(|name| format!("--tag {}", sh(&name)));
    let platform = format!(
        "--platform {}",
        sh(build.arch_entry["platformString"].as_str().unwrap())
    );
    let file = format!("--file {}", sh(build.entry["File"].as_str().unwrap()));
    match build.builder() {
        "buildkit" => {
            let mut lines = vec![
                "docker buildx build --progress=plain".to_string(),
                "--provenance=mode=max,builder-id='https://github.com/docker-library'".to_string(),
            ];
            if sbom {
                lines.push("--sbom=generator=\"$BASHBREW_BUILDKIT_SBOM_GENERATOR\"".to_string());
            }
            lines.push("--output '\"type=oci\",\"dest=temp.tar\"'".to_string());
            let annotations = build.annotations();
            for (key, value) in annotations.as_object().unwrap() {
                lines.push(format!(
                    "--annotation {}",
                    sh(&format!(
                        "manifest,manifest-descriptor:{key}={}",
                        value.as_str().unwrap()
                    ))
                ));
            }
            lines.extend(tags);
            lines.push(platform);
            for (from, reference) in build.parents() {
                lines.push(format!(
                    "--build-context {}",
                    sh(&format!("{from}=docker-image://{reference}"))
                ));
            }
            lines.push("--build-arg BUILDKIT_SYNTAX=\"$BASHBREW_BUILDKIT_SYNTAX\"".to_string());
            lines.push("--build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all".to_string());
            lines.push(file);
            lines.push(sh(&build.git_url()));
            lines.join(" \\\n\t") + &tails.buildkit
        }
        "classic" => {
            let mut lines = vec!["DOCKER_BUILDKIT=0".to_string(), "docker build".to_string()];
            lines.extend(tags);
            lines.push(platform);
            lines.push(file);
            lines.push(sh(&build.git_url()));
            lines.join(" \\\n\t")
        }
        "oci-import" => {
            let json = serde_json::to_string(build.value).unwrap();
            let mut text = format!(
                "build={}\n\"$BASHBREW_META_SCRIPTS/helpers/oci-import.sh\" <<<\"$build\" temp",
                sh(&json)
            );
            if sbom {
                text.push_str(&tails.sbom);
            }
            text
        }
        other => panic!("build {}: builder {other}", build.id()),
    }
}

fn expected_pull(build: &Build) -> String {
    if build.builder() != "classic" {
        return String::new();
    }
    let mut lines = Vec::new();
    for (from, reference) in build.parents() {
        lines.push(format!("docker pull {}", sh(&reference)));
        if !from.contains('@') {
            lines.push(format!("docker tag {} {}", sh(&reference), sh(&from)));
        }
    }
    lines.join("\n")
}

fn expected_push(build: &Build) -> String {
    let image = sh(string(build.value, "/build/img").unwrap());
    if build.builder() == "classic" {
        format!("docker push {image}")
    } else {
        format!("crane push temp {image}\nrm -rf temp")
    }
}

fn expected_gha_payload(build: &Build) -> Value {
    let mut inputs = json!({
        "buildId": build.id(),
        "bashbrewArch": build.arch,
        "firstTag": build.first_tag(),
    });
    if build.arch.starts_with("windows-") {
        inputs["windowsVersion"] = Value::from(build.windows_version().expect("a Windows version"));
    }
    json!({"ref": "main", "inputs": inputs})
}

/// Checks one line of every-build.jq's output against the rules.
fn check_build(build: &Build, line: &Value, repositories: &[String], tails: &Tails) {
    let id = build.id();
    let sbom = build.should_sbom(repositories);
    let field = |name: &str| line.get(name).unwrap_or_else(|| panic!("{id}: no {name}"));
    let expect = |name: &str, expected: Value| expect_value(id, name, field(name), &expected);
    expect(
        "needs_build",
        Value::from(build.value["build"]["resolved"].is_null()),
    );
    expect("normalized_builder", Value::from(build.builder()));
    expect("git_build_url", Value::from(build.git_url()));
    expect("build_should_sbom", Value::from(sbom));
    expect("build_should_sign", Value::from(sbom));
    expect("build_annotations", build.annotations());
    expect(
        "commands",
        json!({
            "pull": expected_pull(build),
            "build": expected_build_command(build, sbom, tails),
            "push": expected_push(build),
        }),
    );
    expect("gha_payload", expected_gha_payload(build));

    let provenance = field("provenance");
    if let Some(reference) = string(
        build.value,
        "/build/resolved/annotations/org.opencontainers.image.ref.name",
    ) {
        let (algorithm, encoded) = reference
            .split_once('@')
            .unwrap()
            .1
            .split_once(':')
            .unwrap();
        let platform = build.arch_entry["platformString"]
            .as_str()
            .unwrap()
            .replace('/', "%2F");
        let subjects: Vec<Value> = build
            .image_names()
            .iter()
            .map(|name| json!({"name": format!("pkg:docker/{name}?platform={platform}"), "digest": {algorithm: encoded}}))
            .collect();
        expect_value(
            id,
            "provenance subject",
            &provenance["subject"],
            &Value::from(subjects),
        );
        expect_value(
            id,
            "provenance inputs",
            &provenance["predicate"]["buildDefinition"]["externalParameters"]["inputs"],
            &expected_gha_payload(build)["inputs"],
        );
    } else {
        assert!(provenance.is_null(), "build {id}: no image, no provenance");
    }

    // every command is shell text bash accepts
    for (name, command) in field("commands").as_object().unwrap() {
        let checked = crate::support::tool_output(
            Command::new("bash").args(["-n", "-c", command.as_str().unwrap()]),
            b"",
        );
        if let Err(error) = checked {
            panic!("build {id}: {name} is no valid bash: {error}");
        }
    }
}

/// Equal as printed (key order included), not just as JSON values.
fn expect_value(id: &str, what: &str, got: &Value, expected: &Value) {
    assert_eq!(
        serde_json::to_string(got).unwrap(),
        serde_json::to_string(expected).unwrap(),
        "build {id}: {what}"
    );
}

#[test]
fn every_build_follows_the_rules() {
    let (Some(files), Some(subset), Some(meta_commands)) = (
        builds_files(),
        conformance("sbom-subset.txt"),
        conformance("meta-commands.out.sh"),
    ) else {
        return;
    };
    let repositories: Vec<String> = read(&subset).lines().map(str::to_string).collect();
    let tails = tails(&read(&meta_commands));
    let mut seen_builders = std::collections::BTreeSet::new();
    let mut seen = [false; 6];
    for builds in &files {
        let input = parse(&read(builds));
        let output = every_build(&Engine::Ours, builds);
        let lines: Vec<Value> = output.lines().map(parse).collect();
        let builds: Vec<&Value> = input.as_object().unwrap().values().collect();
        assert_eq!(lines.len(), builds.len());
        for (value, line) in builds.into_iter().zip(&lines) {
            let build = Build::new(value);
            check_build(&build, line, &repositories, &tails);
            seen_builders.insert(format!("{} {}", build.builder(), build.arch));
            let last_digest = build
                .last_stage()
                .and_then(|from| build.parent_digest(from));
            seen = [
                seen[0] || build.should_sbom(&repositories),
                seen[1] || !build.should_sbom(&repositories),
                seen[2] || last_digest.is_some(),
                seen[3] || last_digest.is_none(),
                seen[4] || build.arch.starts_with("windows-"),
                seen[5] || build.parents().len() > 1,
            ];
        }
    }
    assert_eq!(
        seen, [true; 6],
        "the corpus covers SBOM/no SBOM, base digest/none, Windows, several parents"
    );
    for expected in [
        "buildkit amd64",
        "classic windows-amd64",
        "classic amd64",
        "oci-import amd64",
        "oci-import mips64le",
    ] {
        assert!(
            seen_builders.contains(expected),
            "{expected} in {seen_builders:?}"
        );
    }
}

#[test]
fn created_is_now_without_source_date_epoch() {
    let program = r#"include "meta"; .["buildkit-scratch-sbom"] | build_annotations["org.opencontainers.image.created"]"#;
    let seconds = |text: &str| -> i64 {
        // "YYYY-MM-DDTHH:MM:SSZ" back to seconds, through utc() itself
        let target = parse(text).as_str().expect("a string").to_string();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        (now - 120..=now + 1)
            .find(|&candidate| utc(candidate) == target)
            .unwrap_or_else(|| panic!("{target} is not within two minutes before now"))
    };
    let output = stdout(&Engine::Ours, &[program, "testdata/meta/builds.json"], &[]);
    seconds(output.trim());
}

// --- queues at other times and arches ---

/// The retry rule of `jobs_record`: 0, 0, 1, 2, 4, 8, 16, then 32 hours.
fn retry_delay(count: i64) -> i64 {
    [0, 0, 1, 2, 4, 8, 16, 32][count.clamp(0, 7) as usize] * 3600
}

fn expected_queue(builds: &Value, arch: &str) -> Vec<Value> {
    builds
        .as_object()
        .unwrap()
        .values()
        .filter(|build| build["build"]["arch"] == arch && build["build"]["resolved"].is_null())
        .map(|build| {
            let arch_entry = &build["source"]["arches"][arch];
            let identifier = strings(arch_entry.get("tags"))
                .into_iter()
                .chain(strings(arch_entry.get("archTags")))
                .next()
                .unwrap_or_else(|| build["buildId"].as_str().unwrap().to_string());
            let mut build = build.clone();
            build["identifier"] = Value::from(identifier);
            build
        })
        .collect()
}

fn expected_jobs(queue: &[Value], past: &Value, now: i64) -> Value {
    let mut jobs = Map::new();
    for build in queue {
        let id = build["buildId"].as_str().unwrap();
        let mut job = past
            .get(id)
            .cloned()
            .unwrap_or_else(|| json!({"count": 0, "lastTime": null}));
        let count = job["count"].as_i64().unwrap();
        let skip = job["lastTime"]
            .as_i64()
            .is_some_and(|last| now < last + retry_delay(count));
        job["count"] = Value::from(if skip { count } else { count + 1 });
        job["identifier"] = build["identifier"].clone();
        job["skip"] = Value::from(skip);
        jobs.insert(id.to_string(), job);
    }
    Value::Object(jobs)
}

fn check_queues(input: &Value, arches: &[&str], nows: &[i64]) {
    let file = json_file(input);
    let arches_json = serde_json::to_string(arches).unwrap();
    let nows_json = serde_json::to_string(nows).unwrap();
    let arguments = [
        "-c",
        "--argjson",
        "arches",
        &arches_json,
        "--argjson",
        "nows",
        &nows_json,
        "-f",
        "testdata/meta/queues.jq",
        &path_text(&file),
    ];
    let ours = stdout(&Engine::Ours, &arguments, &[]);
    if let Some(jq17) = jq17() {
        crate::eqnice!(
            stdout(&jq17, &arguments, &[]),
            ours,
            "queues.jq by jq 1.7.1"
        );
    }
    let mut lines = ours.lines();
    for arch in arches {
        let queue = expected_queue(&input["builds"], arch);
        for &now in nows {
            let line = parse(lines.next().expect("a line per arch and time"));
            let jobs = expected_jobs(&queue, &input["pastJobs"], now);
            let filtered: Vec<&Value> = queue
                .iter()
                .filter(|build| jobs[build["buildId"].as_str().unwrap()]["skip"] != true)
                .collect();
            let expected = json!({"arch": arch, "now": now, "queue": queue, "jobs": jobs, "filtered": filtered});
            assert_eq!(
                serde_json::to_string(&line).unwrap(),
                serde_json::to_string(&expected).unwrap(),
                "queue of {arch} at {now}"
            );
        }
    }
    assert!(lines.next().is_none());
}

#[test]
fn queues_at_other_times_follow_the_retry_rule() {
    let Some(path) = conformance("meta-queue.in.json") else {
        return;
    };
    let input = parse(&read(&path));
    check_queues(
        &input,
        &["amd64", "arm32v7", "s390x"],
        &[
            -200_000,
            -115_200,
            -57_600,
            -3600,
            -1,
            0,
            1,
            3599,
            3600,
            7200,
            14_400,
            115_200,
            1_700_000_000,
        ],
    );
}

#[test]
fn queues_of_every_arch_of_builds_json_follow_the_retry_rule() {
    let Some(path) = conformance("builds.json") else {
        return;
    };
    let mut builds = parse(&read(&path));
    let mut past = Map::new();
    let mut arches = std::collections::BTreeSet::new();
    for (index, build) in builds.as_object_mut().unwrap().values_mut().enumerate() {
        arches.insert(build["build"]["arch"].as_str().unwrap().to_string());
        if index % 3 != 0 {
            build["build"]["resolved"] = Value::Null;
        }
        if index % 2 == 0 {
            let last_time = if index % 4 == 0 {
                Value::Null
            } else {
                Value::from(1_700_000_000 - index as i64 * 1800)
            };
            past.insert(
                build["buildId"].as_str().unwrap().to_string(),
                json!({"count": index % 10, "lastTime": last_time}),
            );
        }
    }
    let arches: Vec<&str> = arches.iter().map(String::as_str).chain(["sparc"]).collect();
    let nows: Vec<i64> = [-1, 0, 1, 2, 8, 40]
        .iter()
        .map(|hours| 1_700_000_000 + hours * 3600)
        .collect();
    check_queues(&json!({"pastJobs": past, "builds": builds}), &arches, &nows);
}

// --- arch-specific deploys ---

#[test]
fn crane_deploy_commands_for_every_arch_of_builds_json() {
    let Some(path) = conformance("builds.json") else {
        return;
    };
    let builds = parse(&read(&path));
    let input = path.display().to_string();
    let jq17 = jq17();
    let mut arches: Vec<&str> = builds
        .as_object()
        .unwrap()
        .values()
        .map(|build| build["build"]["arch"].as_str().unwrap())
        .collect();
    arches.sort_unstable();
    arches.dedup();
    for arch in arches {
        let mut sources: Vec<(String, Vec<String>)> = Vec::new();
        for build in builds.as_object().unwrap().values() {
            if build["build"]["arch"] != arch || build["build"]["resolved"].is_null() {
                continue;
            }
            let source = string(
                build,
                "/build/resolved/annotations/org.opencontainers.image.ref.name",
            )
            .unwrap();
            for tag in strings(build["source"]["arches"][arch].get("archTags")) {
                match sources.iter_mut().find(|(known, _)| *known == tag) {
                    Some((_, list)) if list.iter().any(|known| known == source) => {}
                    Some((_, list)) => list.push(source.to_string()),
                    None => sources.push((tag, vec![source.to_string()])),
                }
            }
        }
        let expected: String = sources
            .iter()
            .map(|(tag, list)| match list.as_slice() {
                [one] => format!("crane copy {} {}\n", sh(one), sh(tag)),
                many => format!(
                    "crane index append --tag {} {} --flatten\n",
                    sh(tag),
                    many.iter()
                        .map(|source| format!("--manifest {}", sh(source)))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            })
            .collect();
        let arguments = ["-r", r#"include "jenkins"; crane_deploy_commands"#, &input];
        let environment = [("BASHBREW_ARCH", arch)];
        let ours = stdout(&Engine::Ours, &arguments, &environment);
        crate::eqnice!(expected, ours, format!("crane_deploy_commands for {arch}"));
        if let Some(jq17) = &jq17 {
            crate::eqnice!(
                stdout(jq17, &arguments, &environment),
                ours,
                format!("jq 1.7.1 for {arch}")
            );
        }
    }
}

// --- snapshots of our own builds ---

#[test]
fn commands_of_our_varied_builds() {
    let output = stdout(
        &Engine::Ours,
        &[
            "-c",
            "-f",
            "testdata/meta/commands.jq",
            "testdata/meta/builds.json",
        ],
        &[("SOURCE_DATE_EPOCH", "0")],
    );
    for line in output.lines() {
        let line = parse(line);
        let id = line["buildId"].as_str().unwrap().to_string();
        let mut settings = insta::Settings::clone_current();
        settings.set_description(format!(
            "SOURCE_DATE_EPOCH=0 doi-jq -f testdata/meta/commands.jq testdata/meta/builds.json: {id}"
        ));
        settings.set_omit_expression(true);
        settings.bind(|| {
            insta::assert_snapshot!(format!("commands-{id}"), line["text"].as_str().unwrap())
        });
    }
}

// --- bad input ---

/// Bad builds stop with one line naming what is wrong, never a panic.
#[test]
fn bad_input_is_one_clear_error() {
    let build = r#"{"buildId":"b","build":{"arch":"amd64","img":"s:b"},"source":{"entries":[{"GitRepo":"r","GitCommit":"c","Directory":"d","File":"f"}],"arches":{"amd64":{"platformString":"linux/amd64"}}}}"#;
    let cases: [(&str, &str, &str); 11] = [
        (
            r#"include "meta"; commands"#,
            "null",
            "invalid value at []: null (expected a build object)",
        ),
        (
            r#"include "meta"; commands"#,
            r#""x""#,
            "invalid value at []",
        ),
        (
            r#"include "meta"; commands"#,
            r#"{"build":5}"#,
            r#"invalid value at ["build"]: 5"#,
        ),
        (
            r#"include "meta"; commands"#,
            r#"{"buildId":"b","build":{"arch":"amd64"},"source":{"entries":"x"}}"#,
            r#"invalid value at ["source","entries"]: "x" (expected a non-empty array of source entries, in build b)"#,
        ),
        (
            r#"include "meta"; del(.build.img) | push_command"#,
            build,
            r#"invalid value at ["build","img"]: null (expected the staging image name, in build b)"#,
        ),
        (
            r#"include "meta"; del(.source.arches.amd64.platformString) | build_command"#,
            build,
            r#"invalid value at ["source","arches","amd64","platformString"]: null"#,
        ),
        (
            r#"include "meta"; .source.arches.amd64.tags = "x:1" | commands"#,
            build,
            r#"invalid value at ["source","arches","amd64","tags"]: "x:1" (expected an array of tags, in build b)"#,
        ),
        (
            r#"include "jenkins"; get_arch_queue("amd64")"#,
            "[1]",
            "invalid value at [0]: 1 (expected a build with a build.arch)",
        ),
        (
            r#"include "jenkins"; jobs_record({"b": "x"}; 0)"#,
            r#"[{"buildId":"b"}]"#,
            r#"invalid value at []: "x" (expected the past job of build b: an object)"#,
        ),
        (
            r#"include "jenkins"; jobs_record({}; "now")"#,
            "[]",
            r#"invalid value at []: "now" (expected the time now: seconds since 1970)"#,
        ),
        (
            r#"include "provenance"; github_actions_provenance(null; null; null)"#,
            build,
            "invalid value at []: null (expected the workflow's github context: an object)",
        ),
    ];
    for (program, input, expected) in cases {
        let file = json_file(&parse(input));
        let output = run(&Engine::Ours, &[program, &path_text(&file)], &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.code().is_some_and(|code| code != 0),
            "{program} on {input}: must exit non-zero, not {}",
            output.status
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "{program} on {input}: one line: {stderr}"
        );
        assert!(stderr.contains(expected), "{program} on {input}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
