//! Issue 9, "Nothing crashes": hostile programs and inputs end in a clean
//! jq-style error (or jq's answer), never in death by a signal. Each case
//! holds down one way `doi-jq` used to die: a stack overflow (SIGSEGV or
//! Rust's SIGABRT), an allocation past memory, a panic on an argument.
//! The library's own entry points (`Program::compile`/`run`, used by deploy
//! and builds) are checked on a small thread stack too.

use std::io::Write;
use std::process::{Command, Stdio};

struct Outcome {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn doi_jq(arguments: &[&std::ffi::OsStr], stdin: &[u8]) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_doi-jq"))
        .args(arguments)
        .env_remove("BASHBREW_META_SCRIPTS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("doi-jq runs");
    let _ = child.stdin.take().expect("piped").write_all(stdin);
    let output = child.wait_with_output().expect("doi-jq finishes");
    Outcome {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}

fn run(arguments: &[&str], stdin: &[u8]) -> Outcome {
    let arguments: Vec<&std::ffi::OsStr> = arguments.iter().map(std::ffi::OsStr::new).collect();
    doi_jq(&arguments, stdin)
}

/// Asserts the exit status (never a signal) and what stdout and stderr hold.
fn expect(outcome: &Outcome, code: i32, stdout: &str, stderr: &str, what: &str) {
    assert_eq!(
        outcome.code,
        Some(code),
        "{what}: exit status (None is a signal); stderr: {}",
        outcome.stderr.chars().take(300).collect::<String>()
    );
    assert!(
        outcome.stdout.starts_with(stdout),
        "{what}: stdout {:?}",
        outcome.stdout.chars().take(200).collect::<String>()
    );
    assert!(
        outcome.stderr.contains(stderr),
        "{what}: stderr {:?}",
        outcome.stderr.chars().take(300).collect::<String>()
    );
}

/// `doi-jq -n PROGRAM` succeeds and prints `stdout`, as jq 1.7.1 does.
fn expect_null_input(program: &str, stdout: &str, what: &str) {
    expect(&run(&["-n", program], b""), 0, stdout, "", what);
}

#[test]
fn deep_values_walk_as_in_jq() {
    // jq 1.7.1 prints 533: 256 levels, then its "<skipped: too deep>".
    expect_null_input(
        "reduce range(4000) as $i ([]; [.]) | walk(.) | tojson | length",
        "533\n",
        "walk over 4000 levels",
    );
}

#[test]
fn deep_recursion_runs_as_in_jq() {
    expect_null_input(
        "def f: if . < 4000 then .+1|f else . end; 0|f",
        "4000\n",
        "4000-deep def",
    );
    expect_null_input(
        "def f: if . < 4000 then [.+1|f] else . end; 0|f|tojson|length",
        "533\n",
        "4000-deep def building arrays",
    );
}

#[test]
fn endless_recursion_ends_with_an_error() {
    let outcome = run(&["-n", "def f: [f]; f"], b"");
    expect(
        &outcome,
        5,
        "",
        "jq: error (at <unknown>): Exceeds depth limit for evaluation",
        "endless recursion",
    );
}

#[test]
fn long_paths_set_as_in_jq() {
    expect_null_input(
        "null | setpath([range(5000)|\"a\"]; 1) | tojson | length",
        "1561\n",
        "setpath with 5000 keys",
    );
}

#[test]
fn long_programs_compile() {
    for separator in ["|", "+"] {
        let program = vec!["1"; 6000].join(separator);
        let outcome = run(&["-n", &program], b"");
        let expected = if separator == "+" { "6000\n" } else { "1\n" };
        expect(&outcome, 0, expected, "", separator);
    }
}

/// Far longer programs than jq's parser takes are refused with its words
/// ("memory exhausted", exit 3) instead of overflowing the stack while
/// parsing (jq refuses these too, except the `+` chain, which it runs).
#[test]
fn programs_too_deep_to_parse_are_refused() {
    let directory = tempfile::tempdir().expect("temp dir");
    for (name, program) in [
        ("pipes", vec!["."; 200_000].join("|")),
        ("sums", vec!["1"; 200_000].join("+")),
        ("brackets", "[".repeat(100_000) + &"]".repeat(100_000)),
    ] {
        let file = directory.path().join(name);
        std::fs::write(&file, program).expect("write");
        let outcome = run(&["-n", "-f", &file.to_string_lossy()], b"");
        expect(&outcome, 3, "", "jq: error: memory exhausted at ", name);
    }
}

#[test]
fn deep_input_is_refused_as_jq_refuses_it() {
    let deep = "[".repeat(200_000) + &"]".repeat(200_000);
    let outcome = run(&["."], deep.as_bytes());
    expect(
        &outcome,
        5,
        "",
        "jq: parse error: Exceeds depth limit for parsing at line 1, column 257",
        "200,000-deep input",
    );
    let outcome = run(&["-R", "fromjson"], deep.as_bytes());
    expect(
        &outcome,
        5,
        "",
        "Exceeds depth limit for parsing",
        "fromjson",
    );
}

#[test]
fn huge_repetition_is_refused() {
    // jq 1.7.1 answers "" here by an integer overflow; we refuse it the way
    // later jq does instead of allocating a terabyte.
    let outcome = run(&["-n", "\"x\" * 1e12"], b"");
    expect(
        &outcome,
        5,
        "",
        "jq: error (at <unknown>): Repeat string result too long",
        "\"x\" * 1e12",
    );
    let outcome = run(&["-n", "try (\"x\" * 1e12) catch ."], b"");
    expect(
        &outcome,
        0,
        "\"Repeat string result too long\"\n",
        "",
        "caught",
    );
}

#[test]
fn arguments_that_are_not_utf8_do_not_panic() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    let arguments = [
        std::ffi::OsStr::new("-n"),
        std::ffi::OsStr::new("-c"),
        std::ffi::OsStr::new("--arg"),
        std::ffi::OsStr::new("x"),
        bad,
        std::ffi::OsStr::new("[$x]"),
    ];
    let outcome = doi_jq(&arguments, b"");
    expect(
        &outcome,
        0,
        "[\"\u{FFFD}\u{FFFD}\"]\n",
        "",
        "non-UTF-8 --arg",
    );
    let outcome = doi_jq(&[bad], b"1");
    assert!(
        outcome.code == Some(3),
        "non-UTF-8 program: {}",
        outcome.stderr
    );
}

/// The guard lives in the library's entry points, so deploy and builds get
/// it too: on a thread with a small stack, deep programs still end cleanly.
#[test]
fn library_entry_points_are_guarded_on_small_stacks() {
    use doi::jq::{CompileOptions, ModuleSearch, Program, Val};
    let worker = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let options = CompileOptions {
                search: ModuleSearch::embedded_only(Vec::new()),
                ..CompileOptions::default()
            };
            let deep = Program::compile("def f: if . < 4000 then .+1|f else . end; f", &options)
                .expect("compiles");
            let value =
                deep.run_collect(Val::from(0isize)).expect("runs") == [Val::from(4000isize)];
            let endless = Program::compile("def f: [f]; f", &options).expect("compiles");
            let error = endless.run_collect(Val::Null).expect_err("too deep");
            let long = Program::compile(&vec!["1"; 6000].join("|"), &options).expect("compiles");
            (value, error.message(), long.run_collect(Val::Null).is_ok())
        })
        .expect("thread starts");
    let (value, message, long) = worker.join().expect("no stack overflow");
    assert!(value, "the 4000-deep def gives 4000");
    assert_eq!(message, "Exceeds depth limit for evaluation");
    assert!(long);
}
