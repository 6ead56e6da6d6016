//! Holds our engine to jq 1.7.1, case by case.
//!
//! `testdata/jq-compat/expected.json` records what jq 1.7.1 printed (with
//! `-c`) for each program of `cases.txt`; each case's name says which jq
//! behaviour it proves. The recording needs Python's `jq` package
//! (`generate.py`); this test needs neither.

use doi::jq::print::{self, PrintOptions};
use doi::jq::{CompileOptions, ModuleSearch, Program, RunError, Val};

#[derive(Debug)]
struct Case {
    name: String,
    program: String,
    input: String,
    expected: Result<Vec<String>, String>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/jq-compat/expected.json"
    ))
    .expect("testdata/jq-compat/expected.json is part of the repository");
    let recorded: serde_json::Value = serde_json::from_str(&text).expect("expected.json is JSON");
    recorded
        .as_array()
        .expect("an array of cases")
        .iter()
        .map(|case| Case {
            name: case["name"].as_str().unwrap_or_default().to_string(),
            program: case["program"].as_str().unwrap_or_default().to_string(),
            input: case["input"].as_str().unwrap_or("null").to_string(),
            expected: match case.get("outputs") {
                // jq's `tojson` of each output: exactly its `-c` text.
                Some(outputs) => Ok(outputs
                    .as_array()
                    .expect("outputs are an array")
                    .iter()
                    .map(|output| output.as_str().unwrap_or_default().to_string())
                    .collect()),
                None => Err(case["error"].as_str().unwrap_or_default().to_string()),
            },
        })
        .collect()
}

fn run(case: &Case) -> Result<Vec<String>, String> {
    let options = CompileOptions {
        search: ModuleSearch::embedded_only(Vec::new()),
        ..CompileOptions::default()
    };
    let program = Program::compile(&case.program, &options).map_err(|error| error.to_string())?;
    let input: Val =
        doi::jq::read::parse_single(case.input.as_bytes()).map_err(|error| error.to_string())?;
    let outputs = program.run_collect(input).map_err(|error| match error {
        RunError::Error(_) => error.message(),
        RunError::Halt(code) => format!("halt {code}"),
    })?;
    Ok(outputs
        .iter()
        .map(|value| {
            String::from_utf8_lossy(&print::to_vec(value, &PrintOptions::compact())).into_owned()
        })
        .collect())
}

/// Differences we know of and have not fixed, each with its reason. The
/// test fails if one of them starts to match, so this list stays honest.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

#[test]
fn engine_matches_jq_1_7_1() {
    let mut failures = Vec::new();
    let cases = cases();
    for case in &cases {
        let actual = run(case);
        let matches = match (&case.expected, &actual) {
            (Ok(expected), Ok(actual)) => expected == actual,
            // Error texts differ between engines; that an error happens is
            // what jq's behaviour fixes.
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if let Some((_, reason)) = KNOWN_DIFFERENCES
            .iter()
            .find(|(name, _)| *name == case.name)
        {
            if matches {
                failures.push(format!(
                    "{} now matches jq; remove it from KNOWN_DIFFERENCES ({reason})",
                    case.name
                ));
            }
            continue;
        }
        if !matches {
            failures.push(format!(
                "{}\n    program:  {}\n    input:    {}\n    jq 1.7.1: {:?}\n    ours:     {:?}",
                case.name, case.program, case.input, case.expected, actual
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from jq 1.7.1:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Hostile programs and inputs end with a value or an error, never a panic
/// or a hang (holds down a capacity-overflow panic on `.[1e300] = 1` and
/// jaq's endless `range(0; 10; 0)`).
#[test]
fn odd_programs_never_panic() {
    let programs = [
        ".[1e300]",
        "[limit(1e300; 1)]",
        "[range(0; 10; 0)]",
        "[1114112, -1] | implode",
        "\"x\" | .[1:0]",
        "[] | .[nan]",
        "{} | .[nan]",
        "null | .[1e300] = 1",
        "[1] | .[-5] = 1",
        "\"abc\" | .[1:] = \"x\"",
        "[1, 2] | .[1e300:]",
        "\"a\" | test(\"(\")",
        "\"a\" | test(\"a\"; \"q\")",
        "[splits(\"\")]",
        "delpaths([[1e300]])",
        "1 as [$a] | $a",
        "{} as [$a] | $a",
        "\"%%%\" | @base64d",
        "\"[1,2\" | fromjson",
        "[0] | implode",
        "-\"a\"",
        "{} * 2",
        "infinite | floor",
        "[nan] | sort",
        "9999999999999999999999 | floor",
        "[paths(..)]",
        "{(null): 1}",
        "getpath([\"a\", 1, \"b\"])",
    ];
    let options = CompileOptions {
        search: ModuleSearch::embedded_only(Vec::new()),
        ..CompileOptions::default()
    };
    for code in programs {
        let program =
            Program::compile(code, &options).unwrap_or_else(|error| panic!("{code}: {error}"));
        let outcome =
            std::panic::catch_unwind(|| program.run_collect(Val::Null).map(|values| values.len()));
        assert!(outcome.is_ok(), "{code} panicked");
    }
}
