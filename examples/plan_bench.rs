//! Benchmark of deploy planning: our `deploy --plan` against jq 1.7.1 (the
//! peer in `../shared/peers/jq-1.7.1/jq`, the version our output matches)
//! running the same modules on the same large builds input.
//!
//! `cargo run --release --example plan_bench [-- REPOSITORIES]`
//!
//! Generates, deterministically, builds metadata shaped like the real
//! thing (every official image's builds is a multi-megabyte file): many
//! repositories, each with versions and variants over up to ten Linux
//! architectures (each image with its attestation, listed before it as
//! registries may), some with Windows servercore/nanoserver builds on
//! several os.versions (Docker v2 manifests), and a few unresolved builds.
//! Sizes stay far below 2^53, where every jq prints numbers alike.
//!
//! Then plans it with `target/release/deploy --plan` (best of 5) and with
//! `jq --tab -L filters '...'` (best of 3), checks the outputs are byte
//! identical, and prints both times, the ratio and our peak memory (the
//! child's maximum resident set, from GNU time's `%M`, which reads the
//! kernel's rusage of the waited-for child).
//!
//! When a target is missed (or `PLAN_BENCH_PHASES=1`), it also times the
//! phases in this process with the library the binary uses (parse, shape
//! check, module compilation, filter stages, printing) with this process's
//! memory after each. `PLAN_BENCH_KEEP_INPUT=PATH` keeps a copy of the
//! generated input, e.g. for `valgrind --tool=callgrind`.
//!
//! Defaults to 70 repositories (about 1,600 builds, 7 MB); give another
//! count as the argument.

#[path = "../tests/support/generate.rs"]
mod generate;

use generate::{Lcg, ARCHES};
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use doi::spec::annotation::{
    ATTESTATION_MANIFEST, BASHBREW_ARCH, REFERENCE_DIGEST, REFERENCE_TYPE, REF_NAME,
};
use doi::spec::media_type::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The binaries' allocator, so in-process figures match theirs.
#[path = "../src/bin/shared/allocator.rs"]
mod allocator;

/// What `deploy --plan` computes, spelled as the conformance README does.
use doi::deploy::plan::ALL_TAGS_FILTER as JQ_FILTER;

/// The peer, relative to the crate root.
const JQ_PEER: &str = "../shared/peers/jq-1.7.1/jq";

/// How many times faster than the peer we must be (issue 10 keeps at
/// least 30x against jq 1.7.1).
const TARGET_RATIO: f64 = 30.0;

const OURS_RUNS: usize = 5;
const JQ_RUNS: usize = 3;

const WORDS: [&str; 24] = [
    "alder", "birch", "cedar", "dune", "ember", "fjord", "glade", "heath", "iris", "juniper",
    "kelp", "lichen", "maple", "nettle", "oak", "pine", "quartz", "reed", "sage", "thistle",
    "umber", "vale", "willow", "yarrow",
];

fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

fn digest(parts: &[&str]) -> String {
    format!("sha256:{}", sha256_hex(parts))
}

/// One build to generate.
struct BuildPlan<'a> {
    repository: &'a str,
    directory: String,
    arch: &'a str,
    namespace: &'a str,
    platform: Value,
    tags: Vec<String>,
    windows: bool,
    resolved: bool,
    attestation: bool,
}

fn build_json(plan: &BuildPlan, random: &mut Lcg) -> (String, Value) {
    let source_id = sha256_hex(&["source", plan.repository, &plan.directory]);
    let build_id = sha256_hex(&["build", &source_id, plan.arch]);
    let revision = sha256_hex(&["revision", plan.repository, &plan.directory]);
    let revision = &revision[..40];
    let img = format!("example/staging-{}:{build_id}", plan.arch);
    let image_digest = digest(&["image", &build_id]);
    let version = plan.tags[0]
        .split_once(':')
        .map_or("", |(_, tag)| tag)
        .to_string();
    let media_type = if plan.windows {
        DOCKER_MANIFEST
    } else {
        OCI_MANIFEST
    };
    let image = json!({
        "mediaType": media_type,
        "digest": image_digest,
        "size": 400 + random.below(3000),
        "annotations": {
            BASHBREW_ARCH: plan.arch,
            REF_NAME: format!("{img}@{image_digest}"),
            "org.opencontainers.image.revision": revision,
            "org.opencontainers.image.source": format!("https://example.org/{}.git#{revision}:{}", plan.repository, plan.directory),
            "org.opencontainers.image.url": format!("https://example.org/_/{}", plan.repository),
            "org.opencontainers.image.version": version,
        },
        "platform": plan.platform,
    });
    let mut manifests = Vec::new();
    if plan.attestation {
        let attestation_digest = digest(&["attestation", &build_id]);
        manifests.push(json!({
            "mediaType": OCI_MANIFEST,
            "digest": attestation_digest,
            "size": 500 + random.below(900),
            "annotations": {
                BASHBREW_ARCH: plan.arch,
                REF_NAME: format!("{img}@{attestation_digest}"),
                REFERENCE_DIGEST: image_digest,
                REFERENCE_TYPE: ATTESTATION_MANIFEST,
            },
            "platform": {"architecture": "unknown", "os": "unknown"},
        }));
    }
    manifests.push(image);
    let parent = if plan.windows {
        "mcr.microsoft.com/windows/servercore:ltsc2022".to_string()
    } else {
        format!("{}:{}", WORDS[random.below(WORDS.len())], "stable")
    };
    let parent_digest = digest(&["parent", &parent, plan.arch]);
    let resolved = if plan.resolved {
        json!({
            "schemaVersion": 2,
            "mediaType": if plan.windows { DOCKER_MANIFEST_LIST } else { OCI_INDEX },
            "manifests": manifests,
            "annotations": {
                REF_NAME: format!("{img}@{}", digest(&["index", &build_id])),
            },
        })
    } else {
        Value::Null
    };
    let arch_tags: Vec<String> = plan
        .tags
        .iter()
        .map(|tag| format!("{}/{tag}", plan.namespace))
        .collect();
    let mut platform = plan.platform.clone();
    if let Value::Object(fields) = &mut platform {
        fields.remove("os.version");
    }
    let platform_string = format!(
        "{}/{}",
        platform["os"].as_str().unwrap_or_default(),
        platform["architecture"].as_str().unwrap_or_default()
    );
    let build = json!({
        "buildId": build_id,
        "build": {
            "img": img,
            "resolved": resolved,
            "sourceId": source_id,
            "arch": plan.arch,
            "parents": {parent.clone(): parent_digest},
            "resolvedParents": {
                parent.clone(): {
                    "schemaVersion": 2,
                    "mediaType": DOCKER_MANIFEST_LIST,
                    "manifests": [{
                        "mediaType": DOCKER_MANIFEST,
                        "digest": parent_digest,
                        "size": 528,
                        "annotations": {
                            BASHBREW_ARCH: plan.arch,
                            REF_NAME: format!("{parent}@{parent_digest}"),
                        },
                        "platform": platform,
                    }],
                },
            },
        },
        "source": {
            "sourceId": source_id,
            "reproducibleGitChecksum": sha256_hex(&["checksum", &source_id]),
            "entries": [{
                "GitRepo": format!("https://example.org/{}.git", plan.repository),
                "GitFetch": "refs/heads/main",
                "GitCommit": revision,
                "Directory": plan.directory,
                "File": "Dockerfile",
                "Builder": if plan.windows { "classic" } else { "buildkit" },
                "SOURCE_DATE_EPOCH": 1_767_225_600 + random.below(10_000_000),
            }],
            "arches": {
                plan.arch: {
                    "tags": plan.tags,
                    "archTags": arch_tags,
                    "froms": [parent.clone()],
                    "lastStageFrom": parent.clone(),
                    "platformString": platform_string,
                    "platform": platform,
                    "parents": {parent: {"sourceId": null, "pin": parent_digest}},
                },
            },
        },
    });
    (build_id, build)
}

/// Tags of one version and variant: `1.2.3-alpine`, `1.2-alpine`,
/// `1-alpine`, and `alpine` for the newest version; the default variant
/// also gets the bare versions and `latest`.
fn version_tags(repository: &str, version: &str, variant: &str, newest: bool) -> Vec<String> {
    let parts: Vec<&str> = version.split('.').collect();
    let mut versions = vec![version.to_string()];
    if parts.len() == 3 {
        versions.push(format!("{}.{}", parts[0], parts[1]));
    }
    versions.push(parts[0].to_string());
    let mut tags = Vec::new();
    if !variant.is_empty() {
        for version in &versions {
            tags.push(format!("{repository}:{version}-{variant}"));
        }
        if newest {
            tags.push(format!("{repository}:{variant}"));
        }
    } else {
        for version in &versions {
            tags.push(format!("{repository}:{version}"));
        }
        if newest {
            tags.push(format!("{repository}:latest"));
        }
    }
    tags
}

/// The builds metadata (text) and its number of builds.
fn generate(repositories: usize) -> (String, usize) {
    let mut random = Lcg(0x00d0_c0de);
    let mut builds = Map::new();
    let windows_versions = [("ltsc2022", "10.0.20348.2762"), ("1809", "10.0.17763.6414")];
    for number in 0..repositories {
        let repository = format!(
            "{}-{}{number}",
            WORDS[number % WORDS.len()],
            WORDS[(number * 7 + 3) % WORDS.len()]
        );
        let major = 1 + random.below(20);
        let versions: Vec<String> = (0..1 + random.below(3))
            .map(|step| format!("{}.{}.{}", major + step, random.below(10), random.below(30)))
            .collect();
        let variants: &[&str] = match random.below(3) {
            0 => &[""],
            1 => &["", "alpine"],
            _ => &["", "alpine", "slim"],
        };
        let arch_count = 2 + random.below(9);
        let with_windows = random.chance(15);
        for (position, version) in versions.iter().enumerate() {
            let newest = position + 1 == versions.len();
            for variant in variants {
                let tags = version_tags(&repository, version, variant, newest);
                let directory = format!(
                    "{version}/{}",
                    if variant.is_empty() {
                        "default"
                    } else {
                        variant
                    }
                );
                let linux = ARCHES.iter().filter(|(_, os, ..)| *os == "linux");
                for &(arch, os, architecture, platform_variant) in linux.take(arch_count) {
                    // The archTags namespace is the arch's own name.
                    let namespace = arch;
                    let mut platform = json!({"architecture": architecture, "os": os});
                    if let Some(platform_variant) = platform_variant {
                        platform["variant"] = json!(platform_variant);
                    }
                    let plan = BuildPlan {
                        repository: &repository,
                        directory: directory.clone(),
                        arch,
                        namespace,
                        platform,
                        tags: tags.clone(),
                        windows: false,
                        resolved: !random.chance(2),
                        attestation: random.chance(95),
                    };
                    let (id, build) = build_json(&plan, &mut random);
                    builds.insert(id, build);
                }
                if with_windows && variant.is_empty() {
                    for flavour in ["windowsservercore", "nanoserver"] {
                        for (release, os_version) in windows_versions {
                            let mut tags = version_tags(
                                &repository,
                                version,
                                &format!("{flavour}-{release}"),
                                newest,
                            );
                            // The shared tags every Windows release claims.
                            tags.extend(version_tags(&repository, version, flavour, newest));
                            tags.extend(version_tags(&repository, version, "", newest));
                            let plan = BuildPlan {
                                repository: &repository,
                                directory: format!("{version}/windows/{flavour}-{release}"),
                                arch: "windows-amd64",
                                namespace: "winamd64",
                                platform: json!({"architecture": "amd64", "os": "windows", "os.version": os_version}),
                                tags,
                                windows: true,
                                resolved: !random.chance(2),
                                attestation: false,
                            };
                            let (id, build) = build_json(&plan, &mut random);
                            builds.insert(id, build);
                        }
                    }
                }
            }
        }
    }
    let count = builds.len();
    let pretty = serde_json::to_string_pretty(&Value::Object(builds))
        .unwrap_or_else(|error| panic!("serializing the generated builds: {error}"));
    // Tab-indented, as jq --tab wrote the real builds metadata.
    let mut text = String::with_capacity(pretty.len());
    for line in pretty.lines() {
        let content = line.trim_start_matches(' ');
        for _ in 0..(line.len() - content.len()) / 2 {
            text.push('\t');
        }
        text.push_str(content);
        text.push('\n');
    }
    (text, count)
}

/// Runs `command` with stdin from `input` and stdout to `output`; the wall
/// time, or why it failed.
fn timed(command: &mut Command, input: &Path, output: &Path) -> Result<Duration, String> {
    let stdin = File::open(input).map_err(|error| format!("{}: {error}", input.display()))?;
    let stdout = File::create(output).map_err(|error| format!("{}: {error}", output.display()))?;
    let started = Instant::now();
    let result = command
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    let elapsed = started.elapsed();
    if !result.status.success() {
        return Err(format!(
            "{command:?} failed ({}): {}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim_end()
        ));
    }
    Ok(elapsed)
}

fn best_of(
    runs: usize,
    mut run: impl FnMut() -> Result<Duration, String>,
) -> Result<Duration, String> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        best = best.min(run()?);
    }
    Ok(best)
}

/// The peak resident memory of `deploy --plan`, in KiB: GNU time's `%M`
/// is the kernel's `ru_maxrss` of the child it waited for, so the peak
/// cannot be missed between two samples. Without GNU time, the child's
/// `VmHWM` (also a high-water mark) is sampled from /proc until it exits:
/// exact unless the peak falls in the last sampling interval.
fn peak_memory_kib(
    deploy: &Path,
    input: &Path,
    output: &Path,
) -> Result<(u64, &'static str), String> {
    let gnu_time = Path::new("/usr/bin/time");
    if gnu_time.exists() {
        let report = output.with_extension("time");
        let mut command = Command::new(gnu_time);
        command
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&report)
            .arg(deploy)
            .arg("--plan");
        timed(&mut command, input, output)?;
        let text = std::fs::read_to_string(&report)
            .map_err(|error| format!("{}: {error}", report.display()))?;
        let kib = text
            .lines()
            .last()
            .and_then(|line| line.trim().parse().ok())
            .ok_or_else(|| format!("GNU time printed {text:?}, not a number"))?;
        return Ok((kib, "GNU time %M (ru_maxrss)"));
    }
    let stdin = File::open(input).map_err(|error| error.to_string())?;
    let stdout = File::create(output).map_err(|error| error.to_string())?;
    let mut child = Command::new(deploy)
        .arg("--plan")
        .stdin(stdin)
        .stdout(stdout)
        .spawn()
        .map_err(|error| error.to_string())?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            {
                peak = peak.max(kib);
            }
        }
        if child
            .try_wait()
            .map_err(|error| error.to_string())?
            .is_some()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok((peak, "VmHWM sampled from /proc every millisecond"))
}

/// Where the first difference of two outputs is, for the failure message.
fn first_difference(ours: &[u8], theirs: &[u8]) -> String {
    let position = ours
        .iter()
        .zip(theirs)
        .position(|(left, right)| left != right)
        .unwrap_or(ours.len().min(theirs.len()));
    let line = ours[..position]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1;
    let context = |bytes: &[u8]| {
        let start = position.saturating_sub(80);
        let end = (position + 80).min(bytes.len());
        String::from_utf8_lossy(&bytes[start.min(end)..end]).into_owned()
    };
    format!(
        "first difference at byte {position} (line {line}); ours {} bytes, jq {} bytes\n--- ours:\n{}\n--- jq:\n{}",
        ours.len(),
        theirs.len(),
        context(ours),
        context(theirs)
    )
}

/// The resident memory of this process now and at its peak, in MiB.
fn own_memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kib| kib / 1024.0)
    };
    format!(
        "RSS {:.0} MiB, peak {:.0} MiB",
        field("VmRSS:"),
        field("VmHWM:")
    )
}

/// Where the time of one plan goes, measured in this process with the
/// library the binary uses: the binary's own stdin classification (a full
/// parse), the planner's parse, the shape check, compiling the modules,
/// each stage of the filter, and printing.
fn phases(input: &Path) -> Result<(), String> {
    use doi::deploy::plan::{check_builds, parse_builds, Planner};
    use doi::jq::print::{self, PrintOptions};
    use doi::jq::{CompileOptions, ModuleSearch, Program};

    let time = |name: &str, started: Instant| {
        println!(
            "  {name:<44} {:>8.3} s   ({})",
            started.elapsed().as_secs_f64(),
            own_memory()
        );
    };
    println!("phases (in process, embedded modules):");
    let started = Instant::now();
    let bytes = std::fs::read(input).map_err(|error| error.to_string())?;
    time("read", started);

    let started = Instant::now();
    let kind = doi::deploy::input::classify(&bytes).map_err(|error| error.to_string())?;
    drop(kind);
    time("deploy's stdin classification (parses all)", started);

    let started = Instant::now();
    let value = parse_builds(&bytes).map_err(|error| error.to_string())?;
    time("parse_builds", started);

    let started = Instant::now();
    check_builds(&value).map_err(|error| error.to_string())?;
    time("check_builds", started);

    let started = Instant::now();
    let planner = Planner::with_search(None, ModuleSearch::embedded_only(Vec::new()))
        .map_err(|error| error.to_string())?;
    time("compile the planning modules", started);

    let stages = [
        ("tagged_manifests", "length"),
        (
            "tagged_manifests | deploy_objects",
            "deploy_objects | length",
        ),
        (
            "tagged_manifests | tojson of each list",
            "[.[] | tojson] | length",
        ),
    ];
    for (name, tail) in stages {
        let options = CompileOptions {
            search: ModuleSearch::embedded_only(Vec::new()),
            ..CompileOptions::default()
        };
        // The plan filter with its last stage replaced.
        let code = JQ_FILTER.replace("deploy_objects[]", tail);
        let program = Program::compile(&code, &options).map_err(|error| error.message)?;
        let started = Instant::now();
        let outputs = program
            .run_collect(value.clone())
            .map_err(|error| error.message())?;
        drop(outputs);
        time(&format!("run {name}"), started);
    }

    let options = CompileOptions {
        search: ModuleSearch::embedded_only(Vec::new()),
        ..CompileOptions::default()
    };
    let program = Program::compile(JQ_FILTER, &options).map_err(|error| error.message)?;
    let started = Instant::now();
    let objects = program
        .run_collect(value.clone())
        .map_err(|error| error.message())?;
    time("run the whole filter (collect)", started);

    let started = Instant::now();
    let mut out = Vec::new();
    for object in &objects {
        print::write(&mut out, object, &PrintOptions::tab());
        out.push(b'\n');
    }
    time("print --tab", started);

    let started = Instant::now();
    let planned = planner.plan(&bytes).map_err(|error| error.to_string())?;
    time("Planner::plan (parse, check, run, print)", started);
    if planned != out {
        return Err("Planner::plan and the phases printed different plans".to_string());
    }
    Ok(())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    format!("{cpus} CPUs, {model}")
}

/// `target/release/deploy`, next to the directory of this example
/// (`target/release/examples/plan_bench`), built first when run by cargo.
fn deploy_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|error| format!("where am I: {error}"))?;
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in target/PROFILE/examples", exe.display()))?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        // Cheap when up to date; a stale binary would measure old code.
        let status = Command::new(cargo)
            .args(["build", "--release", "--bins", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .map_err(|error| format!("cargo build --release --bins: {error}"))?;
        if !status.success() {
            return Err(format!("cargo build --release --bins failed ({status})"));
        }
    }
    let deploy = profile.join("deploy");
    if !deploy.exists() {
        return Err(format!(
            "{} is missing: run `cargo build --release --bins` first",
            deploy.display()
        ));
    }
    if !profile.ends_with("release") {
        eprintln!("warning: {} is not a release build", deploy.display());
    }
    Ok(deploy)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("plan_bench: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let repositories: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .map_err(|error| format!("REPOSITORIES {text:?}: {error}"))?,
        None => 70,
    };
    let deploy = deploy_binary()?;
    let jq = Path::new(env!("CARGO_MANIFEST_DIR")).join(JQ_PEER);
    if !jq.is_file() {
        return Err(format!(
            "{} is missing: the peer jq 1.7.1 lives outside the crate",
            jq.display()
        ));
    }
    let filters = Path::new(env!("CARGO_MANIFEST_DIR")).join("filters");
    let directory = tempfile::tempdir().map_err(|error| format!("temp dir: {error}"))?;
    let input = directory.path().join("builds.json");
    let ours_output = directory.path().join("ours.out");
    let jq_output = directory.path().join("jq.out");

    let started = Instant::now();
    let (text, builds) = generate(repositories);
    std::fs::write(&input, &text).map_err(|error| format!("{}: {error}", input.display()))?;
    // For profiling the same input by hand (valgrind, jq variants).
    if let Some(keep) = std::env::var_os("PLAN_BENCH_KEEP_INPUT") {
        std::fs::write(&keep, &text).map_err(|error| format!("{keep:?}: {error}"))?;
    }
    let generated_in = started.elapsed();

    let ours = best_of(OURS_RUNS, || {
        timed(Command::new(&deploy).arg("--plan"), &input, &ours_output)
    })?;
    let theirs = best_of(JQ_RUNS, || {
        timed(
            Command::new(&jq)
                .arg("--tab")
                .arg("-L")
                .arg(&filters)
                .arg(JQ_FILTER),
            &input,
            &jq_output,
        )
    })?;
    let (peak_kib, peak_how) = peak_memory_kib(&deploy, &input, &ours_output)?;

    let ours_bytes = std::fs::read(&ours_output).map_err(|error| error.to_string())?;
    let jq_bytes = std::fs::read(&jq_output).map_err(|error| error.to_string())?;
    let identical = ours_bytes == jq_bytes;
    let objects = ours_bytes
        .split(|&byte| byte == b'\n')
        .filter(|line| line == b"{")
        .count();
    let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
    let peak_mib = peak_kib as f64 / 1024.0;

    println!("machine:         {}", machine());
    println!(
        "input:           {:.2} MB ({} bytes), {builds} builds, {repositories} repositories (generated in {:.2?})",
        text.len() as f64 / 1e6,
        text.len(),
        generated_in
    );
    println!(
        "objects planned: {objects} ({} bytes of plan)",
        ours_bytes.len()
    );
    println!(
        "ours:            {:.3} s (best of {OURS_RUNS}, {})",
        ours.as_secs_f64(),
        deploy.display()
    );
    println!(
        "jq 1.7.1:        {:.3} s (best of {JQ_RUNS}, {JQ_PEER})",
        theirs.as_secs_f64()
    );
    println!("ratio:           {ratio:.1}x faster than jq 1.7.1 (target: {TARGET_RATIO}x)");
    println!("peak memory:     {peak_mib:.1} MiB ({peak_how}; target: under 64 MiB)");
    println!(
        "outputs:         {}",
        if identical {
            "byte-identical"
        } else {
            "DIFFERENT"
        }
    );
    if !identical {
        eprintln!("{}", first_difference(&ours_bytes, &jq_bytes));
        return Ok(false);
    }
    if builds < 1500 || text.len() < 4_000_000 {
        eprintln!("warning: the input is smaller than the benchmark's brief (1,500 builds, 4 MB)");
    }
    let met = ratio >= TARGET_RATIO && peak_mib < 64.0;
    println!("targets:         {}", if met { "met" } else { "MISSED" });
    if !met || std::env::var_os("PLAN_BENCH_PHASES").is_some() {
        phases(&input)?;
    }
    Ok(true)
}
