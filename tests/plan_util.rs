//! Shared helpers of the planning tests (`plan_conformance`, `plan_snapshots`):
//! the plan filters, finding the conformance data, and `eqnice!`, which
//! shows a byte-level mismatch of two long outputs as two columns around the
//! first differing line (plain `assert_eq!` prints two multi-kilobyte
//! strings that nobody can compare by eye).
//!
//! Cargo also builds this file as a test target of its own, with no tests;
//! hence the blanket `dead_code` allowance.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The filter behind `deploy --plan`: the plan as a stream.
pub use doi::deploy::plan::ALL_TAGS_FILTER as ALL_TAGS_STREAM_FILTER;

/// The same plan as one array, as `deploy-all.out.json` holds it.
pub fn all_tags_array_filter() -> &'static str {
    array_form(ALL_TAGS_STREAM_FILTER)
}

/// The plan of one arch (`$arch`) as one array (`deploy-ARCH.out.json`).
pub fn one_arch_array_filter() -> &'static str {
    array_form(doi::deploy::plan::ONE_ARCH_FILTER)
}

fn array_form(stream: &'static str) -> &'static str {
    stream
        .strip_suffix("[]")
        .expect("the plan filters end in deploy_objects[]")
}

/// The crate root, for `filters/` and `testdata/`.
pub fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/conformance/meta-scripts/NAME`, or `None` (with the skip
/// printed) when the folder is absent: a fresh clone has no `../shared`.
pub fn conformance(name: &str) -> Option<Vec<u8>> {
    let path = crate_root()
        .join("../shared/conformance/meta-scripts")
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            println!(
                "SKIPPED: {} is unreadable ({error}); the conformance data lives outside the crate",
                path.display()
            );
            None
        }
    }
}

/// The path of a conformance file (only call after [`conformance`] found it).
pub fn conformance_path(name: &str) -> PathBuf {
    crate_root()
        .join("../shared/conformance/meta-scripts")
        .join(name)
}

/// Runs `program` with `arguments`, `stdin` piped in, and `environment`
/// added, through the one runner of our binaries (`support::bin`, which
/// clears the variables they read first).
pub fn run(
    program: &str,
    arguments: &[&OsStr],
    stdin: &[u8],
    environment: &[(&str, &OsStr)],
) -> Output {
    let mut run = crate::support::bin::BinaryRun::new(program)
        .args(arguments)
        .stdin(stdin);
    for (name, value) in environment {
        run = run.env(name, value);
    }
    run.output()
}

/// The stdout of a run that must succeed silently (nothing on stderr).
pub fn success(what: &str, output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed with {}: {stderr}",
        output.status
    );
    assert!(stderr.is_empty(), "{what} wrote to stderr: {stderr}");
    String::from_utf8(output.stdout.clone())
        .unwrap_or_else(|error| panic!("{what} printed invalid UTF-8: {error}"))
}

/// Lines of context shown before and after the first differing line.
const CONTEXT: usize = 12;
/// Characters of each line shown per column.
const COLUMN: usize = 58;

/// Renders one line for a column: escaped so that tabs, control characters
/// and trailing spaces are visible (the outputs must agree to the byte),
/// and cut to the column width.
fn cell(line: Option<&str>) -> String {
    let Some(line) = line else {
        return "(no line)".to_string();
    };
    let escaped: String = line.escape_debug().collect();
    let mut shown: String = escaped.chars().take(COLUMN).collect();
    if escaped.chars().count() > COLUMN {
        shown.pop();
        shown.push('…');
    }
    shown
}

/// The report `eqnice!` panics with: where the texts first differ, then the
/// lines around that place as `expected | got` columns (`!` marks lines
/// that differ), then each text's length.
pub fn side_by_side(expected: &str, got: &str) -> String {
    let expected_lines: Vec<&str> = expected.split_inclusive('\n').collect();
    let got_lines: Vec<&str> = got.split_inclusive('\n').collect();
    let longest = expected_lines.len().max(got_lines.len());
    let first = (0..longest)
        .find(|&index| expected_lines.get(index) != got_lines.get(index))
        .unwrap_or(0);
    let start = first.saturating_sub(CONTEXT);
    let end = (first + CONTEXT + 1).min(longest);
    let mut report = format!(
        "outputs differ first at line {} (of {} expected, {} got)\n\n",
        first + 1,
        expected_lines.len(),
        got_lines.len()
    );
    report.push_str(&format!(
        "{:>6}   {:<width$} | got\n",
        "line",
        "expected",
        width = COLUMN
    ));
    for index in start..end {
        let left = expected_lines.get(index).copied();
        let right = got_lines.get(index).copied();
        let marker = if left == right { ' ' } else { '!' };
        report.push_str(&format!(
            "{:>6} {marker} {:<width$} | {}\n",
            index + 1,
            cell(left),
            cell(right),
            width = COLUMN
        ));
    }
    report.push_str(&format!(
        "\nexpected {} bytes, got {} bytes\n",
        expected.len(),
        got.len()
    ));
    report
}

/// `eqnice!(expected, got)` or `eqnice!(expected, got, "what")`: asserts two
/// texts are byte-identical and otherwise panics with [`side_by_side`].
#[macro_export]
macro_rules! eqnice {
    ($expected:expr, $got:expr) => {
        $crate::eqnice!($expected, $got, "outputs")
    };
    ($expected:expr, $got:expr, $what:expr) => {{
        let (expected, got) = (&$expected, &$got);
        let expected: &str = ::std::convert::AsRef::<str>::as_ref(expected);
        let got: &str = ::std::convert::AsRef::<str>::as_ref(got);
        if expected != got {
            panic!(
                "{} are not byte-identical\n{}",
                $what,
                $crate::plan_util::side_by_side(expected, got)
            );
        }
    }};
}

#[test]
fn side_by_side_points_at_the_first_difference() {
    let report = side_by_side("a\n\tb\nc\n", "a\n\tB\nc\n");
    assert!(report.contains("differ first at line 2"), "{report}");
    assert!(report.contains("!"), "{report}");
    assert!(report.contains("\\tb"), "tabs are shown escaped: {report}");
}

#[test]
fn side_by_side_shows_a_missing_trailing_newline() {
    let report = side_by_side("a\n", "a");
    assert!(report.contains("differ first at line 1"), "{report}");
    assert!(report.contains("a\\n"), "{report}");
}
