//! Benchmark of the filter engine: `doi-jq` against jq 1.7.1 and jaq on
//! jaq's own benchmark programs and on large-document workloads.
//!
//! `cargo run --release --example jq_bench [-- OPTIONS]`
//!
//! Options: `--runs N` (best of N per tool, default 3), `--only A,B` (run
//! the named workloads only), `--timeout SECONDS` (per run, default 60),
//! `--size MB` (the generated document, default 50), `--keep DIR` (write
//! the generated documents and every tool's output there and keep them).
//!
//! The workloads:
//! - every line `{name, n}` of `../shared/peers/jaq-benches/benches.json`:
//!   `TOOL "$(cat benches/NAME.jq)"` with `n` on stdin, as jaq's own
//!   benchmark script runs them, plus its Brainfuck interpreter
//!   (`TOOL -sRrf bf.jq fib.bf`);
//! - large-document workloads on a generated array of records (`--size`
//!   MB of deterministic JSON shaped like registry metadata: nested
//!   objects, arrays of strings, integers, decimals, escapes, non-ASCII):
//!   pretty printing, `to_entries`, `tostream`, `walk`, `del`, `paths`,
//!   `group_by`, `tojson`, `-s` on the same records as NDJSON, and the two
//!   accumulation idioms users write (`.[$k] += [$x]` in `reduce`, and
//!   `.[$k] |= (if . then .refs += [$r] else {...} end)`).
//!
//! Each run's stdout goes to a file; doi-jq's must be byte-identical to
//! jq 1.7.1's (jaq prints numbers its own way, so its output is not
//! compared). The figures are the CPU time (user + system, from the
//! kernel's rusage of the waited-for child, which contention from other
//! processes disturbs far less than wall time) of the best of `--runs`
//! runs, and that run's peak resident memory (`ru_maxrss`).
//!
//! The peers: jq 1.7.1 is `$JQ` or `../shared/peers/jq-1.7.1/jq`; jaq is
//! `$JAQ` or the first `jaq` on `PATH` (`cargo install --locked jaq
//! --root DIR` and put `DIR/bin` on `PATH`); without jaq, its column is
//! skipped with a message. doi-jq is `target/release/doi-jq`, built first
//! when run by cargo.
//!
//! The targets it checks (and prints as PASS/MISS): no workload slower
//! than jq 1.7.1, the geometric mean of doi-jq / jq 1.7.1 at most 0.6,
//! none slower than jaq by more than 1.5x, and peak memory at most jq
//! 1.7.1's + 10%.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

const TARGET_GEOMEAN: f64 = 0.6;
const TARGET_VS_JAQ: f64 = 1.5;
const TARGET_MEMORY: f64 = 1.1;

struct Settings {
    runs: usize,
    only: Option<Vec<String>>,
    timeout: Duration,
    size_mb: usize,
    keep: Option<PathBuf>,
}

fn parse_settings() -> Result<Settings, String> {
    let mut settings = Settings {
        runs: 3,
        only: None,
        timeout: Duration::from_secs(60),
        size_mb: 50,
        keep: None,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut value = || {
            arguments
                .next()
                .ok_or_else(|| format!("{argument} takes a value"))
        };
        match argument.as_str() {
            "--runs" => settings.runs = number(&value()?)?.max(1),
            "--only" => {
                settings.only = Some(value()?.split(',').map(str::to_string).collect());
            }
            "--timeout" => settings.timeout = Duration::from_secs(number(&value()?)? as u64),
            "--size" => settings.size_mb = number(&value()?)?.max(1),
            "--keep" => settings.keep = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other:?} (see the doc comment)")),
        }
    }
    Ok(settings)
}

fn number(text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a whole number"))
}

/// One tool's command line and input for one workload.
struct Workload {
    name: String,
    arguments: Vec<String>,
    /// A file for stdin, or none (`/dev/null`).
    stdin: Option<PathBuf>,
}

/// One tool under test.
struct Tool {
    label: &'static str,
    path: PathBuf,
}

/// What one run cost.
#[derive(Clone, Copy)]
struct Cost {
    cpu: Duration,
    peak_kib: u64,
}

enum Outcome {
    Done(Cost),
    TimedOut,
    Failed(String),
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("jq_bench: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let settings = parse_settings()?;
    let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let peers = crate_root.join("../shared/peers");
    let benches = peers.join("jaq-benches");
    if !benches.is_dir() {
        return Err(format!("{} is missing", benches.display()));
    }
    let doi = doi_jq()?;
    let jq = std::env::var_os("JQ")
        .map(PathBuf::from)
        .unwrap_or_else(|| peers.join("jq-1.7.1/jq"));
    if !jq.exists() {
        return Err(format!("jq 1.7.1 is missing at {}", jq.display()));
    }
    let jaq = find_jaq();
    if jaq.is_none() {
        println!(
            "jaq not found ($JAQ or PATH): its column is skipped \
             (cargo install --locked jaq --root DIR, then DIR/bin on PATH)"
        );
    }
    let mut tools = vec![
        Tool {
            label: "doi-jq",
            path: doi,
        },
        Tool {
            label: "jq 1.7.1",
            path: jq,
        },
    ];
    if let Some(path) = jaq {
        tools.push(Tool { label: "jaq", path });
    }

    let scratch = match &settings.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
            Scratch::Kept(dir.clone())
        }
        None => Scratch::Temporary(tempfile::tempdir().map_err(|error| error.to_string())?),
    };
    let workloads = {
        let mut all = jaq_workloads(&benches, scratch.path())?;
        let selected = |name: &str| {
            settings
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|o| o == name))
        };
        let wants_documents = all_document_names().iter().any(|name| selected(name));
        if wants_documents {
            all.extend(document_workloads(scratch.path(), settings.size_mb)?);
        }
        all.retain(|workload| selected(&workload.name));
        all
    };
    if workloads.is_empty() {
        return Err("no workload matches --only".to_string());
    }

    println!(
        "CPU seconds (user+sys), best of {}; peak RSS in MiB; timeout {} s",
        settings.runs,
        settings.timeout.as_secs()
    );
    let mut header = format!("{:<18}", "workload");
    for tool in &tools {
        let _ = write!(header, " {:>9}", tool.label);
    }
    let _ = write!(header, " {:>7}", "doi/jq");
    if tools.len() > 2 {
        let _ = write!(header, " {:>7}", "doi/jaq");
    }
    for tool in &tools {
        let _ = write!(header, " {:>9}", format!("MiB {}", short(tool.label)));
    }
    let _ = write!(header, "  output");
    println!("{header}");

    let mut summary = Summary::default();
    for workload in &workloads {
        let mut outcomes = Vec::new();
        for (index, tool) in tools.iter().enumerate() {
            let output = scratch
                .path()
                .join(format!("{}.{}.out", workload.name, index));
            outcomes.push(best_run(tool, workload, &output, &settings)?);
        }
        let same = compare_outputs(
            &scratch.path().join(format!("{}.0.out", workload.name)),
            &scratch.path().join(format!("{}.1.out", workload.name)),
        );
        let line = summary.record(workload, &outcomes, &same, settings.timeout);
        println!("{line}");
        if settings.keep.is_none() {
            for index in 0..tools.len() {
                let _ = std::fs::remove_file(
                    scratch
                        .path()
                        .join(format!("{}.{}.out", workload.name, index)),
                );
            }
        }
    }
    Ok(summary.report(tools.len() > 2))
}

fn short(label: &str) -> &str {
    label.split(' ').next().unwrap_or(label)
}

enum Scratch {
    Kept(PathBuf),
    Temporary(tempfile::TempDir),
}

impl Scratch {
    fn path(&self) -> &Path {
        match self {
            Self::Kept(path) => path,
            Self::Temporary(dir) => dir.path(),
        }
    }
}

/// `target/release/doi-jq`, next to this example's directory
/// (`target/release/examples/jq_bench`), built first when run by cargo.
fn doi_jq() -> Result<PathBuf, String> {
    let examples = std::env::current_exe().map_err(|error| error.to_string())?;
    let profile = examples
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the target directory")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let status = Command::new(cargo)
            .args(["build", "--release", "--bin", "doi-jq", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .map_err(|error| format!("cargo build --release --bin doi-jq: {error}"))?;
        if !status.success() {
            return Err(format!(
                "cargo build --release --bin doi-jq failed ({status})"
            ));
        }
    }
    let doi = profile.join("doi-jq");
    if !doi.exists() {
        return Err(format!(
            "{} is missing: run `cargo build --release --bin doi-jq` first",
            doi.display()
        ));
    }
    if !profile.ends_with("release") {
        eprintln!("warning: {} is not a release build", doi.display());
    }
    Ok(doi)
}

fn find_jaq() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("JAQ") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("jaq"))
        .find(|candidate| candidate.is_file())
}

/// jaq's benchmark programs, each with its `n` on stdin.
fn jaq_workloads(benches: &Path, scratch: &Path) -> Result<Vec<Workload>, String> {
    let list = benches.join("benches.json");
    let text =
        std::fs::read_to_string(&list).map_err(|error| format!("{}: {error}", list.display()))?;
    let mut workloads = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line)
            .map_err(|error| format!("{}: {line:?}: {error}", list.display()))?;
        let (Some(name), Some(n)) = (entry["name"].as_str(), entry["n"].as_u64()) else {
            return Err(format!("{}: {line:?} lacks name or n", list.display()));
        };
        let file = benches.join("benches").join(format!("{name}.jq"));
        let program = std::fs::read_to_string(&file)
            .map_err(|error| format!("{}: {error}", file.display()))?;
        let stdin = scratch.join(format!("{name}.in"));
        std::fs::write(&stdin, format!("{n}\n")).map_err(|error| error.to_string())?;
        workloads.push(Workload {
            name: name.to_string(),
            arguments: vec![program],
            stdin: Some(stdin),
        });
    }
    workloads.push(Workload {
        name: "bf-fib".to_string(),
        arguments: vec![
            "-sRrf".to_string(),
            benches.join("bf.jq").display().to_string(),
            benches.join("fib.bf").display().to_string(),
        ],
        stdin: None,
    });
    Ok(workloads)
}

/// The large-document workloads: name, arguments, and whether they read
/// the NDJSON form of the document.
const DOCUMENT_WORKLOADS: &[(&str, &[&str], bool)] = &[
    ("doc-pretty", &["."], false),
    ("doc-compact", &["-c", "."], false),
    ("doc-to_entries", &["-c", "map(to_entries)"], false),
    ("doc-tostream", &["-c", "tostream"], false),
    (
        "doc-walk",
        &[
            "-c",
            "walk(if type == \"number\" then . + 1 elif type == \"string\" then ascii_downcase else . end)",
        ],
        false,
    ),
    ("doc-del", &["-c", "map(del(.arches, .tags[0], .meta.note))"], false),
    ("doc-paths", &["[paths] | length"], false),
    (
        "doc-group_by",
        &["-c", "group_by(.category) | map({category: .[0].category, count: length, size: (map(.size) | add)})"],
        false,
    ),
    ("doc-tojson", &["tojson | length"], false),
    ("doc-tojson-print", &["tojson"], false),
    ("doc-slurp", &["-c", "-s", "map(.id) | add"], true),
    (
        "doc-reduce-append",
        &["-c", "reduce .[] as $r ({}; .[$r.category] += [$r.name]) | map_values(length)"],
        false,
    ),
    (
        "doc-update-refs",
        &[
            "-c",
            "reduce .[] as $r ({}; .[$r.version] |= (if . then .refs += [$r.name] else {version: $r.version, refs: [$r.name]} end)) | map_values(.refs | length)",
        ],
        false,
    ),
];

fn all_document_names() -> Vec<&'static str> {
    DOCUMENT_WORKLOADS
        .iter()
        .map(|(name, _, _)| *name)
        .collect()
}

fn document_workloads(scratch: &Path, size_mb: usize) -> Result<Vec<Workload>, String> {
    let document = scratch.join("document.json");
    let lines = scratch.join("document.ndjson");
    let started = Instant::now();
    let records = write_documents(&document, &lines, size_mb << 20)?;
    let bytes = std::fs::metadata(&document)
        .map_err(|error| error.to_string())?
        .len();
    println!(
        "generated {records} records, {:.1} MB of JSON (and as NDJSON) in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(DOCUMENT_WORKLOADS
        .iter()
        .map(|(name, arguments, ndjson)| Workload {
            name: name.to_string(),
            arguments: arguments.iter().map(|a| a.to_string()).collect(),
            stdin: Some(if *ndjson {
                lines.clone()
            } else {
                document.clone()
            }),
        })
        .collect())
}

/// A small deterministic generator (an LCG), so every run and every
/// machine benchmarks the same bytes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, limit: u64) -> u64 {
        self.next() % limit
    }
}

const ARCHES: [&str; 8] = [
    "amd64", "arm32v6", "arm32v7", "arm64v8", "i386", "ppc64le", "riscv64", "s390x",
];
const WORDS: [&str; 12] = [
    "alpine",
    "bookworm",
    "Slim",
    "noble",
    "jammy",
    "windowsservercore",
    "nanoserver",
    "ltsc2022",
    "café",
    "naïve",
    "tab\there",
    "quote\"d",
];

fn record(random: &mut Lcg, id: u64) -> Value {
    let name = format!(
        "repo-{}/{}",
        random.below(400),
        WORDS[random.below(12) as usize]
    );
    let mut arches = Map::new();
    for arch in ARCHES {
        if random.below(3) == 0 {
            continue;
        }
        let digest: String = (0..4).map(|_| format!("{:016x}", random.next())).collect();
        arches.insert(
            arch.to_string(),
            json!({
                "digest": format!("sha256:{digest}"),
                "size": random.below(1 << 40),
                "platform": {"os": "linux", "architecture": arch, "variant": null},
                "layers": (0..random.below(4)).map(|_| random.below(1 << 30)).collect::<Vec<_>>(),
            }),
        );
    }
    let tags: Vec<String> = (0..1 + random.below(6))
        .map(|_| {
            format!(
                "{}.{}-{}",
                random.below(20),
                random.below(10),
                WORDS[random.below(12) as usize]
            )
        })
        .collect();
    json!({
        "id": id,
        "name": name,
        "version": format!("{}.{}", random.below(30), random.below(10)),
        "category": format!("category-{}", random.below(50)),
        "score": (random.below(1_000_000) as f64) / 1000.0 + 0.5,
        "ratio": format!("1.{:03}e-{}", random.below(1000), random.below(9)).parse::<f64>().unwrap_or(0.5),
        "stable": random.below(2) == 0,
        "size": random.below(1 << 45),
        "tags": tags,
        "arches": arches,
        "meta": {
            "note": WORDS[random.below(12) as usize],
            "maintainers": ["one <one@example.com>", "two \u{1F433} <two@example.com>"],
            "build": {"id": random.below(1 << 20), "when": null},
        },
    })
}

/// Writes the document (one pretty-ish JSON array) and its NDJSON form
/// until the document holds `target` bytes; returns the record count.
fn write_documents(document: &Path, lines: &Path, target: usize) -> Result<u64, String> {
    let open = |path: &Path| {
        File::create(path)
            .map(|file| BufWriter::with_capacity(1 << 20, file))
            .map_err(|error| format!("{}: {error}", path.display()))
    };
    let (mut doc, mut ndjson) = (open(document)?, open(lines)?);
    let mut random = Lcg(0x5eed);
    let mut written = 0;
    let mut id = 0;
    let io = |error: std::io::Error| error.to_string();
    doc.write_all(b"[").map_err(io)?;
    while written < target {
        let text = serde_json::to_string(&record(&mut random, id)).map_err(|e| e.to_string())?;
        if id > 0 {
            doc.write_all(b",\n").map_err(io)?;
        }
        doc.write_all(text.as_bytes()).map_err(io)?;
        ndjson.write_all(text.as_bytes()).map_err(io)?;
        ndjson.write_all(b"\n").map_err(io)?;
        written += text.len() + 2;
        id += 1;
    }
    doc.write_all(b"]\n").map_err(io)?;
    doc.flush().map_err(io)?;
    ndjson.flush().map_err(io)?;
    Ok(id)
}

/// The best (least CPU) of `settings.runs` runs; the output of the last
/// run is left in `output`.
fn best_run(
    tool: &Tool,
    workload: &Workload,
    output: &Path,
    settings: &Settings,
) -> Result<Outcome, String> {
    let mut best: Option<Cost> = None;
    for _ in 0..settings.runs {
        match run_once(tool, workload, output, settings.timeout)? {
            Outcome::Done(cost) => {
                if best.is_none_or(|best| cost.cpu < best.cpu) {
                    best = Some(cost);
                }
            }
            // A run past the timeout or failing is not repeated.
            other => return Ok(other),
        }
    }
    Ok(best.map_or(Outcome::Failed("no run".to_string()), Outcome::Done))
}

fn run_once(
    tool: &Tool,
    workload: &Workload,
    output: &Path,
    timeout: Duration,
) -> Result<Outcome, String> {
    let stdin = match &workload.stdin {
        Some(path) => {
            Stdio::from(File::open(path).map_err(|error| format!("{}: {error}", path.display()))?)
        }
        None => Stdio::null(),
    };
    let stdout = File::create(output).map_err(|error| format!("{}: {error}", output.display()))?;
    let errors = output.with_extension("err");
    let stderr = File::create(&errors).map_err(|error| format!("{}: {error}", errors.display()))?;
    let child = Command::new(&tool.path)
        .args(&workload.arguments)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", tool.path.display()))?;
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let (status, usage) = loop {
        let flags = if timed_out { 0 } else { libc::WNOHANG };
        let (reaped, status, usage) = wait4(pid, flags)?;
        if reaped == pid {
            break (status, usage);
        }
        if Instant::now() >= deadline && !timed_out {
            // SAFETY: `pid` is our child, not yet reaped, so the number
            // cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            timed_out = true;
            continue;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if timed_out {
        return Ok(Outcome::TimedOut);
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let mut message = String::new();
        let _ = File::open(&errors).and_then(|mut file| file.read_to_string(&mut message));
        let first = message.lines().next().unwrap_or("").to_string();
        return Ok(Outcome::Failed(format!("status {status:#x}: {first}")));
    }
    let _ = std::fs::remove_file(&errors);
    let seconds = |time: libc::timeval| {
        Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64)
    };
    Ok(Outcome::Done(Cost {
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        peak_kib: usage.ru_maxrss as u64,
    }))
}

/// `wait4(2)`: the reaped pid (0 while still running), its status and the
/// kernel's resource usage of that child alone.
fn wait4(
    pid: libc::pid_t,
    flags: libc::c_int,
) -> Result<(libc::pid_t, libc::c_int, libc::rusage), String> {
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for a reaped child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to a local status and rusage.
        let reaped = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if reaped >= 0 {
            return Ok((reaped, status, usage));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4: {error}"));
        }
    }
}

/// "same", or where doi-jq's output first differs from jq's.
fn compare_outputs(ours: &Path, theirs: &Path) -> Result<(), String> {
    let open = |path: &Path| {
        File::open(path)
            .map(|file| std::io::BufReader::with_capacity(1 << 20, file))
            .map_err(|error| format!("{}: {error}", path.display()))
    };
    let (mut left, mut right) = (open(ours)?, open(theirs)?);
    let (mut a, mut b) = (vec![0; 1 << 16], vec![0; 1 << 16]);
    let mut offset = 0;
    loop {
        let n = read_full(&mut left, &mut a).map_err(|e| e.to_string())?;
        let m = read_full(&mut right, &mut b).map_err(|e| e.to_string())?;
        if let Some(at) = a[..n].iter().zip(&b[..m]).position(|(x, y)| x != y) {
            return Err(format!("differs at byte {}", offset + at));
        }
        if n != m {
            return Err(format!("differs at byte {}", offset + n.min(m)));
        }
        if n == 0 {
            return Ok(());
        }
        offset += n;
    }
}

fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[derive(Default)]
struct Summary {
    /// log(doi-jq / jq) of every workload both finished.
    log_ratios: Vec<f64>,
    slower_than_jq: Vec<String>,
    slower_than_jaq: Vec<String>,
    over_memory: Vec<String>,
    different: Vec<String>,
    failed: Vec<String>,
    jaq_cannot: Vec<String>,
}

impl Summary {
    fn record(
        &mut self,
        workload: &Workload,
        outcomes: &[Outcome],
        same: &Result<(), String>,
        timeout: Duration,
    ) -> String {
        let name = &workload.name;
        let mut line = format!("{name:<18}");
        for outcome in outcomes {
            let cell = match outcome {
                Outcome::Done(cost) => format!("{:.3}", cost.cpu.as_secs_f64()),
                Outcome::TimedOut => format!(">{}", timeout.as_secs()),
                Outcome::Failed(_) => "failed".to_string(),
            };
            let _ = write!(line, " {cell:>9}");
        }
        let cpu = |outcome: &Outcome| match outcome {
            Outcome::Done(cost) => Some(cost.cpu.as_secs_f64().max(1e-3)),
            Outcome::TimedOut => Some(timeout.as_secs_f64()),
            Outcome::Failed(_) => None,
        };
        let ratio = |index: usize| -> Option<(f64, bool)> {
            let ours = cpu(&outcomes[0])?;
            let theirs = cpu(outcomes.get(index)?)?;
            // A timed-out side makes the ratio a bound, not a figure.
            let bound = matches!(outcomes[0], Outcome::TimedOut)
                || matches!(outcomes[index], Outcome::TimedOut);
            Some((ours / theirs, bound))
        };
        let cell = |ratio: Option<(f64, bool)>| match ratio {
            Some((value, false)) => format!("{value:.2}"),
            Some((value, true)) => format!("~{value:.2}"),
            None => "-".to_string(),
        };
        let versus_jq = ratio(1);
        let _ = write!(line, " {:>7}", cell(versus_jq));
        if let Some((value, _)) = versus_jq {
            self.log_ratios.push(value.ln());
            if value > 1.0 {
                self.slower_than_jq.push(format!("{name} ({value:.2}x)"));
            }
        }
        if outcomes.len() > 2 {
            let versus_jaq = ratio(2);
            let _ = write!(line, " {:>7}", cell(versus_jaq));
            if let Some((value, _)) = versus_jaq.filter(|(value, _)| *value > TARGET_VS_JAQ) {
                self.slower_than_jaq.push(format!("{name} ({value:.2}x)"));
            }
        }
        for outcome in outcomes {
            let cell = match outcome {
                Outcome::Done(cost) => format!("{:.1}", cost.peak_kib as f64 / 1024.0),
                _ => "-".to_string(),
            };
            let _ = write!(line, " {cell:>9}");
        }
        if let (Outcome::Done(ours), Outcome::Done(theirs)) = (&outcomes[0], &outcomes[1]) {
            if ours.peak_kib as f64 > theirs.peak_kib as f64 * TARGET_MEMORY {
                self.over_memory.push(format!(
                    "{name} ({:.0} MiB vs {:.0} MiB)",
                    ours.peak_kib as f64 / 1024.0,
                    theirs.peak_kib as f64 / 1024.0
                ));
            }
        }
        let both_done = matches!(
            (&outcomes[0], &outcomes[1]),
            (Outcome::Done(_), Outcome::Done(_))
        );
        let verdict = match (both_done, same) {
            (true, Ok(())) => "same".to_string(),
            (true, Err(difference)) => {
                self.different.push(name.clone());
                difference.clone()
            }
            (false, _) => "not compared".to_string(),
        };
        let _ = write!(line, "  {verdict}");
        for (outcome, label) in outcomes.iter().zip(["doi-jq", "jq", "jaq"]) {
            if let Outcome::Failed(why) = outcome {
                // jaq lacks some of jq's builtins (tostream): that is a
                // gap in the peer, not a failed target.
                let list = if label == "jaq" {
                    &mut self.jaq_cannot
                } else {
                    &mut self.failed
                };
                list.push(format!("{name} ({label}: {why})"));
            }
        }
        line
    }

    /// Prints the verdict on every target; true when all are met.
    fn report(&self, with_jaq: bool) -> bool {
        let geomean = if self.log_ratios.is_empty() {
            f64::NAN
        } else {
            (self.log_ratios.iter().sum::<f64>() / self.log_ratios.len() as f64).exp()
        };
        let mut all = true;
        let mut verdict = |ok: bool, text: String| {
            all &= ok;
            println!("{} {text}", if ok { "PASS" } else { "MISS" });
        };
        println!();
        verdict(
            geomean <= TARGET_GEOMEAN,
            format!(
                "geometric mean doi-jq/jq 1.7.1 = {geomean:.3} over {} workloads (target <= {TARGET_GEOMEAN})",
                self.log_ratios.len()
            ),
        );
        verdict(
            self.slower_than_jq.is_empty(),
            format!("slower than jq 1.7.1: {}", list(&self.slower_than_jq)),
        );
        if with_jaq {
            verdict(
                self.slower_than_jaq.is_empty(),
                format!(
                    "slower than jaq by more than {TARGET_VS_JAQ}x: {}",
                    list(&self.slower_than_jaq)
                ),
            );
        }
        // Reading, printing and holding large values is where memory is
        // ours to spend; the micro-benchmarks' peaks are mostly the value
        // representation and the evaluator's recursion (jaq's), so they
        // are reported on their own line.
        let (documents, programs): (Vec<String>, Vec<String>) = self
            .over_memory
            .iter()
            .cloned()
            .partition(|entry| entry.starts_with("doc-"));
        verdict(
            documents.is_empty(),
            format!(
                "peak memory above jq 1.7.1's + 10%, large documents: {}",
                list(&documents)
            ),
        );
        verdict(
            programs.is_empty(),
            format!(
                "peak memory above jq 1.7.1's + 10%, jaq's programs: {}",
                list(&programs)
            ),
        );
        verdict(
            self.different.is_empty(),
            format!("output differs from jq 1.7.1: {}", list(&self.different)),
        );
        verdict(
            self.failed.is_empty(),
            format!("failed: {}", list(&self.failed)),
        );
        if !self.jaq_cannot.is_empty() {
            println!("note: jaq cannot run {}", list(&self.jaq_cannot));
        }
        all
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
