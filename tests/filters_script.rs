//! Runs `tests/filters_jq.sh` (our modules against the conformance files and
//! their own checks) on Debian's jq and on our `doi-jq`, so the README's one
//! test command covers it: the same modules must behave the same on both.

use std::process::Command;

fn run_script(jq: Option<&str>) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/filters_jq.sh");
    let mut command = Command::new("bash");
    command.arg(script).env_remove("BASHBREW_META_SCRIPTS");
    if let Some(jq) = jq {
        command.env("JQ", jq);
    }
    let output = command.output().expect("bash runs the script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "filters_jq.sh with {jq:?} failed:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}

#[test]
fn modules_pass_on_our_engine() {
    run_script(Some(env!("CARGO_BIN_EXE_doi-jq")));
}

#[test]
fn modules_pass_on_debian_jq() {
    if Command::new("jq").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "jq is missing; .ci/install-test-deps.sh installs it"
        );
        println!("SKIP: no jq on PATH");
        return;
    }
    run_script(None);
}
