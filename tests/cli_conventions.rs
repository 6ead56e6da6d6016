//! What every binary does the same way (`doi::cli`), and the first-hour
//! fixes of issue 14 that a user meets at the command line.

use crate::support::bin::{self, BinaryRun};

use std::process::Output;

/// Our binaries that follow `doi::cli` (doi-jq follows jq's own habits).
fn binaries() -> Vec<(&'static str, BinaryRun)> {
    vec![
        ("deploy", bin::deploy()),
        ("lookup", bin::lookup()),
        ("builds", bin::builds()),
        (
            "oci-import",
            BinaryRun::new(env!("CARGO_BIN_EXE_oci-import")),
        ),
        (
            "oci-validate",
            BinaryRun::new(env!("CARGO_BIN_EXE_oci-validate")),
        ),
        ("oci-push", BinaryRun::new(env!("CARGO_BIN_EXE_oci-push"))),
    ]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A failure of the given status with one line, `BIN: error: ...`.
fn assert_one_error_line(name: &str, output: &Output, status: i32, expected: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(status), "{name}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr:?}");
    assert!(
        stderr.starts_with(&format!("{name}: error: ")),
        "{name}: {stderr:?}"
    );
    assert!(
        stderr.contains(expected),
        "{name}: {stderr:?} lacks {expected:?}"
    );
    assert!(output.stdout.is_empty(), "{name}: nothing on stdout");
}

#[test]
fn every_binary_prints_its_version() {
    for (name, binary) in binaries() {
        let output = binary.run(&["--version"], b"");
        assert!(output.status.success(), "{name}");
        assert_eq!(
            text(&output.stdout),
            format!("{name} {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// Holds down issue 14: clap printed `error: unexpected argument` where
/// our own errors read `lookup: error: ...`.
#[test]
fn a_bad_command_line_is_one_error_line_and_status_2() {
    for (name, binary) in binaries() {
        let output = binary.run(&["--no-such-option"], b"");
        assert_one_error_line(name, &output, 2, "--no-such-option");
    }
}

#[test]
fn lookup_without_a_reference_is_a_usage_error() {
    let output = bin::lookup().run(&[], b"");
    assert_one_error_line("lookup", &output, 2, "no reference given");
}

/// Nothing on stdin is a producer's failure upstream, not an empty deploy:
/// status 1 so a pipeline notices; `[]` is an empty deploy and succeeds.
#[test]
fn deploy_with_empty_stdin_says_so_in_one_line() {
    for stdin in ["", " \n\t\n"] {
        let output = bin::deploy().run(&[], stdin);
        assert_one_error_line("deploy", &output, 1, "stdin is empty");
    }
    let output = bin::deploy().run(&[], "[]");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("deploy summary: 0 pushed"));
}

/// Holds down issue 14: `--stats` changed nothing.
#[test]
fn deploy_breaks_requests_down_by_kind_only_with_stats() {
    let plain = text(&bin::deploy().run(&[], "[]").stderr);
    let stats = text(&bin::deploy().run(&["--stats"], "[]").stderr);
    assert!(plain.contains("deploy: requests: 0; "), "{plain}");
    assert!(!plain.contains("HEAD"), "{plain}");
    assert!(
        stats.contains("deploy: requests: 0 (HEAD 0, GET 0, PUT 0, POST 0, mount 0, PATCH 0, token 0); retries 0; "),
        "{stats}"
    );
    let help = text(&bin::deploy().run(&["--help"], b"").stdout);
    assert!(
        help.contains("--stats") && help.contains("down by kind"),
        "{help}"
    );
}

#[test]
fn deploy_help_documents_the_deploy_object_format() {
    let help = text(&bin::deploy().run(&["--help"], b"").stdout);
    for expected in [
        "\"type\": \"manifest\"",
        "\"blob\"",
        "\"refs\"",
        "\"lookup\"",
        "\"\" is the fallback",
        "\"data\"",
        "base64 of the bytes",
        "Without data the object is a copy",
        "README.md",
    ] {
        assert!(help.contains(expected), "lacks {expected:?}:\n{help}");
    }
}

#[test]
fn lookup_help_says_blobs_print_as_base64_json() {
    let help = text(&bin::lookup().run(&["--help"], b"").stdout);
    assert!(
        help.contains("--type blob") && help.contains("base64 JSON string"),
        "{help}"
    );
}
