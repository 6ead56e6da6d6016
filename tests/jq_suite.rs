//! jq 1.7.1's own test suite, unchanged, through `doi-jq --run-tests`, run
//! as jq's runner runs it: from jq's `tests/` directory with `-L modules`
//! (and `PAGER=less`, which `man.test`'s `$ENV.PAGER` case expects).
//!
//! The files come from `../shared/peers/jq-1.7.1/tests/` (never copied
//! into the repository); without that folder the test is skipped, and
//! under `CI=true` that is a failure.

use std::path::PathBuf;
use std::process::Command;

/// Cases we decided not to match, as (file, line of the program, reason a
/// user would accept). None today: every case of jq 1.7.1's suite passes.
/// The test fails if a listed one starts to pass, so the list stays honest.
const NOT_MATCHED: &[(&str, usize, &str)] = &[];

fn suite_directory() -> Option<PathBuf> {
    let directory =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/peers/jq-1.7.1/tests");
    if directory.join("jq.test").is_file() {
        return Some(directory);
    }
    let message = format!("SKIPPED: {} is absent", directory.display());
    if std::env::var_os("CI").is_some() {
        panic!("{message}; CI is set, so this is a failure, not a skip");
    }
    eprintln!("{message}");
    None
}

struct Run {
    summary: String,
    /// Program line numbers of the tests that did not pass.
    failed: Vec<usize>,
    report: String,
}

fn run_suite(directory: &PathBuf, file: &str) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_doi-jq"))
        .args(["-L", "modules", "--run-tests", file])
        .current_dir(directory)
        .env_remove("BASHBREW_META_SCRIPTS")
        .env("PAGER", "less")
        .env("TZ", "UTC")
        .output()
        .expect("doi-jq runs");
    assert!(
        output.status.code().is_some(),
        "doi-jq --run-tests {file} died by a signal"
    );
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut failed = Vec::new();
    let mut current = 0;
    for line in report.lines() {
        if let Some(rest) = line.strip_prefix("Test #") {
            current = rest
                .rsplit("at line number ")
                .next()
                .and_then(|number| number.trim().parse().ok())
                .unwrap_or(0);
        } else if line.starts_with("***") && failed.last() != Some(&current) {
            failed.push(current);
        }
    }
    let summary = report.lines().last().unwrap_or("").to_string();
    let expected_code = if failed.is_empty() { 0 } else { 1 };
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "exit status of doi-jq --run-tests {file} ({summary})"
    );
    Run {
        summary,
        failed,
        report,
    }
}

#[test]
fn jq_1_7_1_test_suite_passes() {
    let Some(directory) = suite_directory() else {
        return;
    };
    let mut problems = Vec::new();
    let mut passed = 0;
    for (file, total) in [("jq.test", 447), ("man.test", 224)] {
        let run = run_suite(&directory, file);
        let known: Vec<usize> = NOT_MATCHED
            .iter()
            .filter(|(name, _, _)| *name == file)
            .map(|(_, line, _)| *line)
            .collect();
        let expected_summary = format!(
            "{} of {total} tests passed (0 malformed, 0 skipped)",
            total - known.len()
        );
        passed += total - run.failed.len();
        for line in &run.failed {
            if !known.contains(line) {
                let context: Vec<&str> = run
                    .report
                    .lines()
                    .skip_while(|text| !text.ends_with(&format!("at line number {line}")))
                    .take(3)
                    .collect();
                problems.push(format!("{file}:{line}: {}", context.join(" | ")));
            }
        }
        for line in &known {
            if !run.failed.contains(line) {
                problems.push(format!(
                    "{file}:{line} passes now: remove it from NOT_MATCHED"
                ));
            }
        }
        if problems.is_empty() {
            assert_eq!(run.summary, expected_summary, "{file}");
        }
    }
    assert!(
        problems.is_empty(),
        "{passed} of 671 jq 1.7.1 cases pass; unexpected differences:\n{}",
        problems.join("\n")
    );
    assert_eq!(passed, 671, "all of jq 1.7.1's own cases pass");
}
