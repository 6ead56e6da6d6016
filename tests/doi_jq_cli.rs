//! `doi-jq` run as a user runs it: jq's options, output bytes and exit
//! codes (2 usage, 3 compile error, 5 runtime error, `-e` rules). Expected
//! bytes are jq 1.7.1's for the same command line.

use std::io::Write;
use std::process::{Command, Stdio};

struct Outcome {
    stdout: String,
    stderr: String,
    code: i32,
}

fn doi_jq(arguments: &[&str], stdin: &str) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_doi-jq"))
        .args(arguments)
        .env_remove("BASHBREW_META_SCRIPTS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("doi-jq runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin accepts the input");
    let output = child.wait_with_output().expect("doi-jq finishes");
    Outcome {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

/// Runs and checks stdout and the exit code, showing both sides on failure.
fn check(arguments: &[&str], stdin: &str, stdout: &str, code: i32) {
    let outcome = doi_jq(arguments, stdin);
    assert!(
        outcome.stdout == stdout && outcome.code == code,
        "doi-jq {arguments:?}\n--- expected (exit {code}) ---\n{stdout}\n--- actual (exit {}) ---\n{}\n--- stderr ---\n{}",
        outcome.code,
        outcome.stdout,
        outcome.stderr
    );
}

const DOCUMENT: &str = "{\"b\":\"é\\u0001/\",\"a\":[1,2.50,{}],\"c\":[]}\n3\n";

#[test]
fn output_formats_match_jq() {
    check(&["."], DOCUMENT, "{\n  \"b\": \"é\\u0001/\",\n  \"a\": [\n    1,\n    2.50,\n    {}\n  ],\n  \"c\": []\n}\n3\n", 0);
    check(&["--tab", "."], DOCUMENT, "{\n\t\"b\": \"é\\u0001/\",\n\t\"a\": [\n\t\t1,\n\t\t2.50,\n\t\t{}\n\t],\n\t\"c\": []\n}\n3\n", 0);
    check(
        &["--indent", "1", ".a"],
        DOCUMENT,
        "[\n 1,\n 2.50,\n {}\n]\n",
        5,
    );
    check(
        &["-c", "."],
        DOCUMENT,
        "{\"b\":\"é\\u0001/\",\"a\":[1,2.50,{}],\"c\":[]}\n3\n",
        0,
    );
    check(
        &["--indent", "0", "."],
        DOCUMENT,
        "{\"b\":\"é\\u0001/\",\"a\":[1,2.50,{}],\"c\":[]}\n3\n",
        0,
    );
    check(
        &["-S", "-c", "."],
        DOCUMENT,
        "{\"a\":[1,2.50,{}],\"b\":\"é\\u0001/\",\"c\":[]}\n3\n",
        0,
    );
    check(
        &["-a", "-c", ".b"],
        "{\"b\":\"é😀\"}",
        "\"\\u00e9\\ud83d\\ude00\"\n",
        0,
    );
    check(&["-r", ".[]"], "[\"a\",\"b\\tc\",1]", "a\nb\tc\n1\n", 0);
    check(&["-j", ".[]"], "[\"a\",\"b\",1]", "ab1", 0);
    check(&["-s", "-c", "."], "1 2\n[3]", "[1,2,[3]]\n", 0);
    check(&["-n", "-c", "[inputs]"], "1 2 3", "[1,2,3]\n", 0);
    check(&["-n", "-c", "input, input"], "1 2 3", "1\n2\n", 0);
    check(&["-c", "--tab", "."], "[1]", "[\n\t1\n]\n", 0);
    check(&["--tab", "-c", "."], "[1]", "[1]\n", 0);
    check(&["-R", "-c", "."], "a\nb\n", "\"a\"\n\"b\"\n", 0);
}

#[test]
fn arguments_bind_as_in_jq() {
    check(
        &[
            "-n",
            "-c",
            "--arg",
            "x",
            "1",
            "--argjson",
            "y",
            "{\"z\":2}",
            "[$x, $y, $ARGS.named]",
        ],
        "",
        "[\"1\",{\"z\":2},{\"x\":\"1\",\"y\":{\"z\":2}}]\n",
        0,
    );
    check(
        &["-n", "-c", "$ARGS.positional", "--args", "a", "b"],
        "",
        "[\"a\",\"b\"]\n",
        0,
    );
    check(
        &["-n", "-c", "$ARGS.positional", "--jsonargs", "1", "{}"],
        "",
        "[1,{}]\n",
        0,
    );
    let directory = tempfile::tempdir().expect("temp dir");
    let values = directory.path().join("values.json");
    std::fs::write(&values, "1 [2]").expect("write");
    let raw = directory.path().join("raw.txt");
    std::fs::write(&raw, "line\n").expect("write");
    let values = values.to_string_lossy().into_owned();
    let raw = raw.to_string_lossy().into_owned();
    check(
        &[
            "-n",
            "-c",
            "--slurpfile",
            "v",
            &values,
            "--rawfile",
            "r",
            &raw,
            "[$v, $r]",
        ],
        "",
        "[[1,[2]],\"line\\n\"]\n",
        0,
    );
    // Several input files, read in order.
    check(&["-c", ".", &values, &values], "", "1\n[2]\n1\n[2]\n", 0);
}

#[test]
fn programs_and_modules_come_from_files_and_directories() {
    let directory = tempfile::tempdir().expect("temp dir");
    std::fs::write(directory.path().join("mine.jq"), "def twice: . * 2;").expect("write");
    std::fs::write(
        directory.path().join("program.jq"),
        "include \"mine\"; twice",
    )
    .expect("write");
    let dir = directory.path().to_string_lossy().into_owned();
    let program = directory
        .path()
        .join("program.jq")
        .to_string_lossy()
        .into_owned();
    check(&["-L", &dir, "include \"mine\"; twice"], "21", "42\n", 0);
    check(
        &["-L", &dir, "import \"mine\" as m; m::twice"],
        "4",
        "8\n",
        0,
    );
    check(&["-L", &dir, "-f", &program], "5", "10\n", 0);
    // Our embedded modules need no -L.
    check(
        &["-c", "include \"oci\"; normalize_platform"],
        "{\"architecture\":\"arm64\",\"os\":\"linux\"}",
        "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}\n",
        0,
    );
}

#[test]
fn exit_codes_follow_jq() {
    // -e: last output truthy 0, false/null 1, no output 4.
    check(&["-e", "."], "1", "1\n", 0);
    check(&["-e", "."], "null", "null\n", 1);
    check(&["-e", "."], "false", "false\n", 1);
    check(&["-e", "empty"], "1", "", 4);
    // Runtime errors: 5, after the outputs before them.
    check(&[".[]"], "[1] 2 [3]", "1\n3\n", 5);
    // halt_error prints strings raw, other values as JSON lines.
    let outcome = doi_jq(&["-n", "\"bye\\n\" | halt_error(3)"], "");
    assert_eq!((outcome.code, outcome.stderr.as_str()), (3, "bye\n"));
    let outcome = doi_jq(&["-n", "{a:1} | halt_error"], "");
    assert_eq!((outcome.code, outcome.stderr.as_str()), (5, "{\"a\":1}\n"));
    check(&["-n", "1, halt, 2"], "", "1\n", 0);
}

#[test]
fn errors_are_one_line_with_jq_exit_codes() {
    for (arguments, stdin, code) in [
        (vec!["-n", "foo(1)"], "", 3),
        (vec!["-n", "1 +"], "", 3),
        (vec!["-n", "include \"missing\"; 1"], "", 3),
        (vec!["--bogus", "."], "", 2),
        (vec!["."], "{", 2),
        (vec![], "", 2),
        (vec!["-n", "--argjson", "x", "{", "$x"], "", 2),
        (vec!["-n", "error(\"boom\")"], "", 5),
        (vec!["-n", "{} | .[0]"], "", 5),
    ] {
        let outcome = doi_jq(&arguments, stdin);
        assert_eq!(
            outcome.code, code,
            "doi-jq {arguments:?}: {}",
            outcome.stderr
        );
        let lines: Vec<&str> = outcome.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "doi-jq {arguments:?} wrote {lines:?}");
    }
    let outcome = doi_jq(&["-n", "error(\"boom\")"], "");
    assert!(outcome.stderr.contains("boom"), "{}", outcome.stderr);
    let outcome = doi_jq(&["-n", "{} | .[0]"], "");
    assert!(
        outcome.stderr.contains("Cannot index object with number"),
        "{}",
        outcome.stderr
    );
}
