//! Runs `tests/filters_jq.sh` (our modules against the conformance files and
//! their own checks) on our `doi-jq` and on Debian's jq, then jq 1.7.1, so
//! the README's one test command covers it: the same modules must behave the
//! same on all of them. Also holds down how the script treats a missing
//! tool or folder: a skip on a developer's machine, a failure under CI
//! (issue 14: it used to print "SKIP: jq 1.7 checks" even with CI=true).

use std::process::{Command, Output};

/// Runs the script with `environment` set (a `None` value removes the
/// variable) and without the caller's BASHBREW_META_SCRIPTS.
fn script(environment: &[(&str, Option<&str>)]) -> Output {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/filters_jq.sh");
    let mut command = Command::new("bash");
    command.arg(path).env_remove("BASHBREW_META_SCRIPTS");
    for (name, value) in environment {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command.output().expect("bash runs the script")
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn run_script(environment: &[(&str, Option<&str>)]) {
    let output = script(environment);
    let text = text(&output);
    assert!(
        output.status.success(),
        "filters_jq.sh with {environment:?} failed:\n{text}"
    );
    println!("{text}");
}

#[test]
fn modules_pass_on_our_engine() {
    // jq 1.7.1 runs in the Debian test below; once is enough.
    run_script(&[
        ("JQ", Some(env!("CARGO_BIN_EXE_doi-jq"))),
        ("JQ17", Some("")),
    ]);
}

#[test]
fn modules_pass_on_debian_jq_and_jq_1_7() {
    if !crate::support::require_tools(&["jq"]) {
        return;
    }
    run_script(&[]);
}

/// A jq that is not there, for the tests of what happens without one.
const MISSING: &str = "/nonexistent/jq";

#[test]
fn under_ci_a_missing_jq_1_7_fails_the_script() {
    // CONFORMANCE points nowhere too, which keeps this run short.
    let output = script(&[
        ("CI", Some("true")),
        ("JQ", Some(env!("CARGO_BIN_EXE_doi-jq"))),
        ("JQ17", Some(MISSING)),
        ("CONFORMANCE", Some("/nonexistent/conformance")),
    ]);
    let text = text(&output);
    assert!(!output.status.success(), "CI=true must fail:\n{text}");
    assert!(
        text.contains(&format!(
            "FAIL: jq 1.7 checks: {MISSING} does not run (it needs ../shared/peers and libonig5"
        )),
        "{text}"
    );
    assert!(
        text.contains("FAIL: conformance checks: /nonexistent/conformance is absent (CI is set"),
        "{text}"
    );
    assert!(!text.contains("SKIP"), "no skips under CI:\n{text}");
}

#[test]
fn on_a_developer_machine_a_missing_jq_1_7_is_a_skip_with_a_reason() {
    let output = script(&[
        ("CI", None),
        ("JQ", Some(env!("CARGO_BIN_EXE_doi-jq"))),
        ("JQ17", Some(MISSING)),
        ("CONFORMANCE", Some("/nonexistent/conformance")),
    ]);
    let text = text(&output);
    assert!(output.status.success(), "a skip is no failure:\n{text}");
    crate::support::assert_contains(
        &text,
        &format!("SKIP: jq 1.7 checks: {MISSING} does not run"),
    );
    crate::support::assert_contains(
        &text,
        "SKIP: conformance checks: /nonexistent/conformance is absent",
    );
}

#[test]
fn under_ci_a_missing_jq_fails_the_script() {
    let output = script(&[("CI", Some("true")), ("JQ", Some(MISSING))]);
    let text = text(&output);
    assert!(!output.status.success(), "CI=true must fail:\n{text}");
    crate::support::assert_contains(&text, &format!("FAIL: filters_jq: no {MISSING} on PATH"));
}
