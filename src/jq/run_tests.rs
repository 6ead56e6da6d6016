//! `doi-jq --run-tests`: jq's test-file mode, so users can keep their
//! filter tests in the format of jq's own `tests/*.test`.
//!
//! The format and the report follow jq 1.7.1 line for line, quirks
//! included, because users compare the summary line and scripts read the
//! exit status: blocks of a program line, an input line and the expected
//! outputs (each compared as a JSON value, not as text), ended by a blank
//! or comment line; `%%FAIL` (or `%%FAIL IGNORE MSG`) before a program
//! that must not compile, followed by the first line of its expected
//! error. A runtime error after the expected outputs is not a failure,
//! as in jq. After a malformed input line, jq reads on from the next line
//! as a new program, and so do we.

use super::print::{self, PrintOptions};
use super::{CompileOptions, Program, Val};
use std::io::{self, BufRead, Write};
use std::ops::ControlFlow;

/// What `--run-tests` was given besides the file.
#[derive(Clone, Debug, Default)]
pub struct TestOptions {
    /// How every test program is compiled (module search paths).
    pub compile: CompileOptions,
    /// `--skip N`: the first N tests are read but not run.
    pub skip: usize,
    /// `--take N`: stop after N tests.
    pub take: Option<usize>,
}

/// The counts of jq's summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub tests: usize,
    pub passed: usize,
    /// Tests jq calls malformed: bad input or expected lines, programs that
    /// compile or fail to compile when they should not.
    pub invalid: usize,
    pub skipped: usize,
}

impl Summary {
    /// jq's last line: `N of M tests passed (K malformed, S skipped)`.
    pub fn line(&self) -> String {
        format!(
            "{} of {} tests passed ({} malformed, {} skipped)",
            self.passed, self.tests, self.invalid, self.skipped
        )
    }

    /// jq exits 0 only when every test that ran passed.
    pub fn success(&self) -> bool {
        self.passed == self.tests
    }
}

/// The lines of a test file, numbered as jq numbers them.
struct Lines<R> {
    source: R,
    number: usize,
}

impl<R: BufRead> Lines<R> {
    /// The next line with its line ending, or `None` at the end.
    fn next(&mut self) -> io::Result<Option<String>> {
        let mut bytes = Vec::new();
        if self.source.read_until(b'\n', &mut bytes)? == 0 {
            return Ok(None);
        }
        self.number += 1;
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Reads past the rest of a block (up to and including a blank line).
    fn skip_block(&mut self) -> io::Result<()> {
        while let Some(line) = self.next()? {
            if line == "\n" || line == "\r\n" {
                break;
            }
        }
        Ok(())
    }
}

/// A blank or comment line: it separates blocks and ends a test's outputs.
fn is_separator(line: &str) -> bool {
    let rest = line.trim_start_matches([' ', '\t']);
    rest.is_empty() || rest.starts_with('#') || rest.starts_with('\n')
}

fn chomp(line: &str) -> &str {
    line.strip_suffix('\n').unwrap_or(line)
}

fn compact(value: &Val) -> String {
    String::from_utf8_lossy(&print::to_vec(value, &PrintOptions::compact())).into_owned()
}

/// Runs every test of `source`, writing jq's report to `out` and compile
/// errors of tests that should compile to `errors`.
pub fn run(
    source: impl BufRead,
    options: &TestOptions,
    out: &mut dyn Write,
    errors: &mut dyn Write,
) -> io::Result<Summary> {
    let mut lines = Lines { source, number: 0 };
    let mut summary = Summary::default();
    let mut to_skip = options.skip;
    let mut skip_reported = options.skip == 0;
    let mut must_fail: Option<bool> = None;
    let mut taken = 0;
    while let Some(line) = lines.next()? {
        if is_separator(&line) {
            continue;
        }
        if line == "%%FAIL\n" || line == "%%FAIL IGNORE MSG\n" {
            must_fail = Some(line == "%%FAIL\n");
            continue;
        }
        let program = chomp(&line).to_string();
        if to_skip > 0 {
            to_skip -= 1;
            summary.skipped += 1;
            lines.skip_block()?;
            must_fail = None;
            continue;
        }
        if !skip_reported {
            writeln!(out, "Skipped {} tests", options.skip)?;
            skip_reported = true;
        }
        if let Some(limit) = options.take {
            if taken == limit {
                writeln!(out, "Hit the number of tests limit ({limit}), breaking")?;
                break;
            }
            taken += 1;
        }
        summary.tests += 1;
        writeln!(
            out,
            "Test #{}: '{program}' at line number {}",
            summary.tests + options.skip,
            lines.number
        )?;
        let compiled = Program::compile(&program, &options.compile);
        if let Some(check_message) = must_fail.take() {
            let Some(expected) = lines.next()? else {
                summary.invalid += 1;
                break;
            };
            let expected = chomp(&expected);
            match compiled {
                Ok(_) => {
                    writeln!(
                        out,
                        "*** Test program compiled that should not have at line {}: {program}",
                        lines.number
                    )?;
                    summary.invalid += 1;
                }
                Err(error) => {
                    let message = error.first_line();
                    if check_message && message != expected {
                        writeln!(out, "*** Erroneous test program failed with wrong message ({message}) at line {}: {program}", lines.number)?;
                        summary.invalid += 1;
                    } else {
                        summary.passed += 1;
                    }
                }
            }
            continue;
        }
        let program_code = match compiled {
            Ok(compiled) => compiled,
            Err(error) => {
                writeln!(errors, "{}", error.report())?;
                writeln!(
                    out,
                    "*** Test program failed to compile at line {}: {program}",
                    lines.number
                )?;
                summary.invalid += 1;
                lines.skip_block()?;
                continue;
            }
        };
        let Some(input_line) = lines.next()? else {
            summary.invalid += 1;
            break;
        };
        let input = match super::read::parse_single(input_line.as_bytes()) {
            Ok(input) => input,
            Err(_) => {
                writeln!(
                    out,
                    "*** Input is invalid on line {}: {input_line}",
                    lines.number
                )?;
                summary.invalid += 1;
                continue;
            }
        };
        if !run_one(
            &program_code,
            &program,
            input,
            &mut lines,
            out,
            &mut summary,
        )? {
            continue;
        }
        summary.passed += 1;
    }
    writeln!(out, "{}", summary.line())?;
    Ok(summary)
}

/// The next expected output of a test: `None` at the end of its block.
/// Malformed lines are reported and counted, then passed over.
fn next_expected<R: BufRead>(
    lines: &mut Lines<R>,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> io::Result<Option<Val>> {
    while let Some(line) = lines.next()? {
        if is_separator(&line) {
            return Ok(None);
        }
        match super::read::parse_single(line.as_bytes()) {
            Ok(expected) => return Ok(Some(expected)),
            Err(_) => {
                writeln!(
                    out,
                    "*** Expected result is invalid on line {}: {line}",
                    lines.number
                )?;
                summary.invalid += 1;
            }
        }
    }
    Ok(None)
}

/// Runs one test on its input and checks its outputs against the expected
/// lines that follow, in jq's order (an expected line is read before each
/// output is taken); true when it passed.
fn run_one<R: BufRead>(
    program: &Program,
    code: &str,
    input: Val,
    lines: &mut Lines<R>,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> io::Result<bool> {
    let mut pass = true;
    let mut block_ended = false;
    let mut failure: Option<io::Error> = None;
    let inputs = super::no_inputs();
    program.run(&inputs, input, &mut |output| {
        let step = (|| -> io::Result<ControlFlow<()>> {
            let Some(expected) = next_expected(lines, out, summary)? else {
                block_ended = true;
                if let (true, Ok(extra)) = (pass, &output) {
                    writeln!(
                        out,
                        "*** Superfluous result: {} for test at line number {}, {code}",
                        compact(extra),
                        lines.number
                    )?;
                    pass = false;
                }
                return Ok(ControlFlow::Break(()));
            };
            match &output {
                Ok(actual) if expected != *actual => {
                    writeln!(
                        out,
                        "*** Expected {}, but got {} for test at line number {}: {code}",
                        compact(&expected),
                        compact(actual),
                        lines.number
                    )?;
                    pass = false;
                    Ok(ControlFlow::Continue(()))
                }
                Ok(_) => Ok(ControlFlow::Continue(())),
                Err(_) => {
                    insufficient(out, lines.number, code)?;
                    pass = false;
                    block_ended = true;
                    Ok(ControlFlow::Break(()))
                }
            }
        })();
        step.unwrap_or_else(|error| {
            failure = Some(error);
            ControlFlow::Break(())
        })
    });
    if let Some(error) = failure {
        return Err(error);
    }
    if !block_ended && next_expected(lines, out, summary)?.is_some() {
        insufficient(out, lines.number, code)?;
        pass = false;
    }
    Ok(pass)
}

fn insufficient(out: &mut dyn Write, line: usize, code: &str) -> io::Result<()> {
    writeln!(
        out,
        "*** Insufficient results for test at line number {line}: {code}"
    )
}
