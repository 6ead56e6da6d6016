//! Writes `src/bin/shared/doi-jq.symbol-order`, the order in which the
//! linker lays out doi-jq's functions (see `build.rs`).
//!
//! `cargo run --release --example link_order` (needs `valgrind` and `nm`).
//!
//! Why: a page of the program file counts in a process's resident memory
//! once anything on it runs, and the kernel maps a file's pages in blocks
//! (fault-around, large page-cache folios), so code that runs together
//! but lies scattered over the binary's 3 MB of text keeps most of it
//! resident. Laid out in the order a run first needs them, the functions
//! of startup and of everyday filters share a few blocks: `doi-jq -n
//! empty` peaked at 4.4 MiB with the linker's own order and at 3.3 MiB
//! with this one (jq 1.7.1: 3.1 MiB).
//!
//! The order comes from callgrind's list of the functions each run
//! executes, over runs that go from the narrowest to the broadest:
//! startup alone, reading and printing a document, a set of everyday
//! filters, and jq 1.7.1's own test suite when `../shared` has it.
//! Startup's functions come first, in the order it runs them; then the
//! others, those more runs execute first, so that what a filter needs
//! lies close to what most filters need; functions no run reaches follow
//! in the linker's order.
//!
//! The file names symbols as rustc mangles them, with a hash of the
//! toolchain and the crate's build settings: after a toolchain upgrade the
//! names no longer match and the order silently stops applying (the
//! program is unchanged), so this is rerun then. It prints how many of the
//! names the current binary has.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

const OUTPUT: &str = "src/bin/shared/doi-jq.symbol-order";

/// Everyday filters on [`document`], after startup and plain printing.
const FILTERS: &[&str] = &[
    ".",
    ".items[] | .name",
    "[.items[] | select(.size > 2)] | length",
    "map_values(type)",
    ".items | map(.tags | join(\",\")) | sort | unique",
    ".items | group_by(.kind) | map({kind: .[0].kind, n: length})",
    ".items | sort_by(.size) | reverse | first",
    "to_entries | from_entries | keys",
    "with_entries(.value |= tostring)",
    "reduce .items[] as $i ({}; .[$i.kind] += [$i.name])",
    "[foreach .items[] as $i (0; . + $i.size)]",
    ".items[0].size += 1 | .items[1].name = \"x\" | del(.items[2])",
    "(.. | numbers) |= . + 1",
    "[paths] | length",
    "[.. | scalars] | add",
    "[limit(3; .items[])] | map(.name)",
    ".items[] | \"\\(.name): \\(.size)\"",
    ".items[] | .name | test(\"^b\"), ascii_upcase, ltrimstr(\"a\"), split(\"u\")",
    "@base64 \"\\(.title)\" | @base64d",
    "tojson | fromjson | tostream | tojson",
    "def f($n): if $n > 0 then f($n - 1) + 1 else 0 end; f(20)",
    "try error(\"x\") catch ., (.missing // \"none\"), (.items | any(.size > 3))",
    "[range(10)] | map(. * 2) | add / length, min, max, (.[2:4] | length)",
    "input_filename, $__loc__, now | type",
];

fn document() -> &'static str {
    r#"{"title": "Caf\u00e9 \"list\"", "count": 3, "ratio": 0.75, "ok": true, "none": null,
  "items": [
    {"name": "alpine", "kind": "os", "size": 3, "tags": ["3.20", "latest"]},
    {"name": "busybox", "kind": "os", "size": 1.5, "tags": ["1.36", "musl"]},
    {"name": "redis", "kind": "db", "size": 40, "tags": ["7", "7.4", "bookworm"]}
  ]}
"#
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("link_order: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doi = build_doi(root)?;
    let work = std::env::temp_dir().join(format!("link-order-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|error| format!("{}: {error}", work.display()))?;
    let input = work.join("input.json");
    std::fs::write(&input, document()).map_err(|error| format!("{}: {error}", input.display()))?;
    let input = input.display().to_string();

    let mut runs: Vec<Vec<String>> = vec![
        strings(&["-n", "empty"]),
        strings(&[".", &input]),
        strings(&["-c", ".", &input]),
        strings(&["-r", ".title", &input]),
    ];
    runs.extend(FILTERS.iter().map(|filter| strings(&[filter, &input])));
    let tests = root.join("../shared/peers/jq-1.7.1/tests");
    if tests.is_dir() {
        for file in ["jq.test", "man.test"] {
            let modules = tests.join("modules").display().to_string();
            let file = tests.join(file).display().to_string();
            runs.push(strings(&["-L", &modules, "--run-tests", &file]));
        }
    } else {
        eprintln!(
            "note: {} is absent; jq's test suite is not profiled",
            tests.display()
        );
    }

    // For each function: how many runs execute it, and when it was first
    // seen.
    let mut uses: HashMap<String, (usize, usize)> = HashMap::new();
    let mut startup_functions = 0;
    for (number, args) in runs.iter().enumerate() {
        let profile = work.join(format!("callgrind.{number}"));
        let status = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", profile.display()))
            .args(["--compress-strings=no", "--demangle=no", "--quiet"])
            .arg(&doi)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|error| format!("valgrind: {error} (is it installed?)"))?;
        // Failing filters are profiled too (the test suite has some); only
        // a missing profile is an error.
        let text = std::fs::read_to_string(&profile).map_err(|error| {
            format!("doi-jq {args:?} ({status}): {}: {error}", profile.display())
        })?;
        let mut in_this_run = HashSet::new();
        for name in executed(&text).filter(|name| in_this_run.insert(*name)) {
            let first_seen = uses.len();
            uses.entry(name.to_string()).or_insert((0, first_seen)).0 += 1;
        }
        if number == 0 {
            startup_functions = uses.len();
        }
        eprintln!(
            "{:>3}/{}: {} functions so far",
            number + 1,
            runs.len(),
            uses.len()
        );
    }
    let _ = std::fs::remove_dir_all(&work);

    let defined = text_symbols(&doi)?;
    let mut order: Vec<(String, (usize, usize))> = uses
        .into_iter()
        .filter(|(name, _)| defined.contains(name))
        .collect();
    // Startup (the first run's functions) first, in the order it needs
    // them; then the most used first, among equals the first needed.
    order.sort_by_key(|(_, (runs, first_seen))| {
        let startup = *first_seen < startup_functions;
        (!startup, std::cmp::Reverse(*runs), *first_seen)
    });
    let mut out = String::from(
        "# doi-jq's functions in the order a run first needs them, for the\n\
         # linker's --symbol-ordering-file (build.rs). Written by\n\
         # `cargo run --release --example link_order`; see its doc comment.\n",
    );
    for (name, _) in &order {
        let _ = writeln!(out, "{name}");
    }
    let path = root.join(OUTPUT);
    std::fs::File::create(&path)
        .and_then(|mut file| file.write_all(out.as_bytes()))
        .map_err(|error| format!("{}: {error}", path.display()))?;
    println!(
        "{}: {} of the binary's {} functions, in order",
        OUTPUT,
        order.len(),
        defined.len()
    );
    Ok(())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// The functions a callgrind profile (uncompressed names) records, in the
/// order they first appear; callgrind marks recursion levels with `'N`.
fn executed(profile: &str) -> impl Iterator<Item = &str> {
    profile.lines().filter_map(|line| {
        let name = line
            .strip_prefix("fn=")
            .or_else(|| line.strip_prefix("cfn="))?;
        let name = name.split_once('\'').map_or(name, |(name, _)| name);
        (!name.starts_with("0x")).then_some(name)
    })
}

/// The names of the binary's functions, from `nm`.
fn text_symbols(binary: &Path) -> Result<HashSet<String>, String> {
    let output = Command::new("nm")
        .arg("--defined-only")
        .arg(binary)
        .output()
        .map_err(|error| format!("nm: {error}"))?;
    if !output.status.success() {
        return Err(format!("nm {} failed", binary.display()));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_address, kind, name) = (fields.next()?, fields.next()?, fields.next()?);
            matches!(kind, "t" | "T").then(|| name.to_string())
        })
        .collect())
}

/// Builds and returns `target/release/doi-jq` (the names the order file
/// lists are the release build's).
fn build_doi(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--bin", "doi-jq", "--quiet"])
        .current_dir(root)
        .status()
        .map_err(|error| format!("cargo build --release --bin doi-jq: {error}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build --release --bin doi-jq failed ({status})"
        ));
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release/doi-jq"))
}
