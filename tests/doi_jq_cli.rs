//! `doi-jq` run as a user runs it, against jq 1.7.1's own answers.
//!
//! Each case below was run through jq 1.7.1 (`../shared/peers/jq-1.7.1/jq`,
//! started with `argv[0]` = `doi-jq` so its usage messages name us) and
//! what it printed and how it exited is recorded in
//! `testdata/jq-cli/expected.json`; the test needs no jq. To record again
//! after adding a case: `DOI_JQ_RECORD=1 cargo test --test tests
//! doi_jq_cli::record`. When the peer is present, the test also checks the
//! recording is still what it says.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    stdin: &'static [u8],
    files: &'static [(&'static str, &'static [u8])],
    env: &'static [(&'static str, &'static str)],
}

const fn case(name: &'static str, args: &'static [&'static str], stdin: &'static [u8]) -> Case {
    Case {
        name,
        args,
        stdin,
        files: &[],
        env: &[],
    }
}

const DOCUMENT: &[u8] = b"{\"b\":\"\xc3\xa9\\u0001/\",\"a\":[1,2.50,{}],\"c\":[]}\n3\n";
const FILES: &[(&str, &[u8])] = &[
    ("a.txt", b"x\ny"),
    ("b.txt", b"z\n"),
    ("one.json", b"1"),
    ("two.json", b"2\n[3]\n"),
    ("prog.jq", b".+1\n"),
    ("values.json", b"1 [2]"),
    ("raw.txt", b"line\n"),
    ("mod/m.jq", b"def twice: . * 2;"),
];

/// A test file in jq's format with each kind of block jq's runner knows:
/// passing, superfluous and insufficient outputs, errors, %%FAIL with the
/// right and wrong message, a program that does not compile, malformed
/// input and expected lines.
const TEST_FILE: &[(&str, &[u8])] = &[("probe.test", b"# comment\n.[]\n[1,2]\n1\n2\n\n.[]\n[1,2]\n1\n\n.[]\n[1,2]\n1\n2\n3\n\nerror(\"x\")\nnull\n\n1, error(\"x\")\nnull\n1\n\n.\n1\n1.0\n\n%%FAIL\n{(0):1}\njq: error: wrong message\n\n%%FAIL\n.\njq: error: whatever\n\n%%FAIL IGNORE MSG\n{(0):1}\nwhatever\n\nfoo(\nnull\n1\n\n.\n{bad\n1\n\n.\n1\n{bad\n\n.\n1\n2\n")];

const fn with_test_file(mut case: Case) -> Case {
    case.files = TEST_FILE;
    case
}

const fn with_files(mut case: Case) -> Case {
    case.files = FILES;
    case
}

/// Files ending every way jq's reader tells apart: after a newline,
/// without one after a number (which only the end finishes) or after a
/// bracket, with nothing in them at all, or with only newlines.
const END_FILES: &[(&str, &[u8])] = &[
    ("ends.json", b"1\n2\n"),
    ("bare.json", b"3"),
    ("closed.json", b"[1]\n[2]"),
    ("empty.json", b""),
    ("empty2.json", b""),
    ("blank.json", b"\n\n"),
];

const fn with_end_files(mut case: Case) -> Case {
    case.files = END_FILES;
    case
}

/// Where jq says it is once the inputs have run out, and after a file
/// that cannot be opened.
const AFTER_THE_END: &str = "[inputs], input_line_number, input_filename";
const ASKED_AGAIN: &str = "[inputs], (try input catch .), input_line_number, input_filename";
const EACH: &str = "[., input_line_number, input_filename]";

const fn with_env(mut case: Case, env: &'static [(&'static str, &'static str)]) -> Case {
    case.env = env;
    case
}

/// A summer, a far-future and a pre-1970 instant in local time, with
/// `%Z`/`%z` of `strftime` and `strflocaltime`, under `TZ` as `env` sets it.
const fn local_time(name: &'static str, env: &'static [(&'static str, &'static str)]) -> Case {
    with_env(
        case(
            name,
            &[
                "-n",
                "-c",
                "1690000000, 1e12, -1e7 | localtime, strflocaltime(\"%Z %z %H %c\"), ([2023,6,22,4,26,40,6,202] | strftime(\"%Z %z\"), strflocaltime(\"%Z %z %c\"))",
            ],
            b"",
        ),
        env,
    )
}

/// Every command-line behaviour of issue 13, one case each or more.
const CASES: &[Case] = &[
    // Output layout.
    case("pretty", &["."], DOCUMENT),
    case("tab", &["--tab", "."], DOCUMENT),
    case("indent 1", &["--indent", "1", ".a"], DOCUMENT),
    case("indent 0 is compact", &["--indent", "0", "."], DOCUMENT),
    case("indent 7", &["--indent", "7", "."], DOCUMENT),
    case("indent -1 is tabs", &["--indent", "-1", "."], DOCUMENT),
    case("indent 8 refused", &["--indent", "8", "."], DOCUMENT),
    case("indent without value", &["--indent"], b""),
    case("compact then tab", &["-c", "--tab", "."], b"[1]"),
    case("tab then compact", &["--tab", "-c", "."], b"[1]"),
    case("compact then indent", &["-c", "--indent", "3", "."], b"[1]"),
    case("sort keys", &["-S", "-c", "."], DOCUMENT),
    case(
        "ascii",
        &["-a", "-c", ".b"],
        b"{\"b\":\"\xc3\xa9\xf0\x9f\x98\x80\"}",
    ),
    case(
        "ascii with raw output",
        &["-r", "-a", "."],
        b"\"\xc3\xa9\\u0001\" 1",
    ),
    case("raw output", &["-r", ".[]"], b"[\"a\",\"b\\tc\",1]"),
    case("join output", &["-j", ".[]"], b"[\"a\",\"b\",1]"),
    case("raw output0", &["--raw-output0", ".[]"], b"[\"ab\",1]"),
    case(
        "raw output0 refuses NUL",
        &["--raw-output0", "."],
        b"\"a\\u0000b\"",
    ),
    case("seq output", &["-n", "--seq", "1, [2]"], b""),
    case("unbuffered", &["-c", "--unbuffered", "."], b"1 [2]"),
    // Colours.
    case(
        "color",
        &["-C", "."],
        b"{\"a\":[1,null,true,\"x\",1.5,[],{}],\"b\":{\"c\":false}}",
    ),
    case(
        "color compact",
        &["-C", "-c", "."],
        b"{\"a\":[1,null,true,\"x\",[],{}]}",
    ),
    case(
        "color sorted tab",
        &["-C", "-S", "--tab", "."],
        b"{\"b\":1,\"a\":[2]}",
    ),
    case(
        "monochrome wins when last",
        &["-C", "-M", "-c", "."],
        b"{\"a\":1}",
    ),
    case("no color on a pipe", &["-c", "."], b"{\"a\":1}"),
    with_env(
        case(
            "JQ_COLORS",
            &["-C", "-c", "."],
            b"{\"a\":[null,false,true,1,\"s\"]}",
        ),
        &[("JQ_COLORS", "0;31:0;32:0;33:0;34:0;35:0;36:0;37:4;31")],
    ),
    with_env(
        case(
            "JQ_COLORS partial",
            &["-C", "-c", "."],
            b"[null,false,true]",
        ),
        &[("JQ_COLORS", "1;31::4")],
    ),
    with_env(
        case("JQ_COLORS invalid", &["-C", "-c", "."], b"[null]"),
        &[("JQ_COLORS", "garbage")],
    ),
    // Inputs.
    case("default filter", &[], b"{\"a\":1}"),
    case("default filter with options", &["-c"], b"{\"a\":1} 2"),
    case("slurp", &["-s", "-c", "."], b"1 2\n[3]"),
    case("null input", &["-n", "-c", "[inputs]"], b"1 2 3"),
    case("input twice", &["-n", "-c", "input, input"], b"1 2 3"),
    case("input past the end", &["-c", "[., input]"], b"1"),
    case(
        "input past the end caught",
        &["-c", "[., (try input catch .)]"],
        b"1",
    ),
    case("raw input", &["-R", "-c", "."], b"a\nb\n"),
    with_files(case(
        "raw input across files",
        &["-R", "-c", ".", "a.txt", "b.txt"],
        b"",
    )),
    with_files(case(
        "raw slurp across files",
        &["-R", "-s", "-c", ".", "a.txt", "b.txt"],
        b"",
    )),
    with_files(case(
        "values across files",
        &["-c", ".", "one.json", "two.json"],
        b"",
    )),
    with_files(case(
        "missing file",
        &["-c", ".", "missing.json", "one.json"],
        b"",
    )),
    with_files(case("stdin as -", &["-c", ".", "-"], b"5")),
    case("byte order mark", &["-c", "."], b"\xef\xbb\xbf[1]"),
    case(
        "nan literals",
        &["-c", "."],
        b"[nan, NaN, -NaN, Infinity, -Infinity]",
    ),
    case(
        "line numbers",
        &["-c", "[., input_line_number, input_filename]"],
        b"1\n2\n3",
    ),
    with_files(case(
        "file names",
        &["-c", "[., input_filename, input_line_number]", "two.json"],
        b"",
    )),
    with_end_files(case("end: kept after a newline", &["-nc", AFTER_THE_END, "ends.json"], b"")),
    with_end_files(case("end: forgotten after a bare number", &["-nc", AFTER_THE_END, "bare.json"], b"")),
    with_end_files(case("end: forgotten after a bracket", &["-nc", AFTER_THE_END, "closed.json"], b"")),
    with_end_files(case("end: kept in a file of newlines", &["-nc", AFTER_THE_END, "ends.json", "blank.json"], b"")),
    with_end_files(case("end: kept in an empty file", &["-nc", AFTER_THE_END, "closed.json", "empty.json"], b"")),
    with_end_files(case("end: kept on a missing file", &["-nc", AFTER_THE_END, "bare.json", "missing.json"], b"")),
    with_end_files(case("end: asking again forgets", &["-nc", ASKED_AGAIN, "ends.json"], b"")),
    with_end_files(case("end: raw lines", &["-nRc", AFTER_THE_END, "ends.json", "blank.json"], b"")),
    with_end_files(case("end: stream events", &["-nc", "--stream", AFTER_THE_END, "closed.json", "empty.json", "empty2.json"], b"")),
    with_end_files(case("end: after slurping, asking again forgets", &["-sc", "[input_line_number, (try input catch .), input_line_number, input_filename]", "ends.json"], b"")),
    with_end_files(case("a number the end finishes is in the empty file after it", &["-c", EACH, "bare.json", "empty.json"], b"")),
    with_end_files(case("a number the end finishes is on the missing file after it", &["-Rc", EACH, "bare.json", "missing.json"], b"")),
    with_end_files(case("a missing file stops the main loop after the value in hand", &["-c", EACH, "closed.json", "missing.json", "ends.json"], b"")),
    with_end_files(case("a missing file stops the main loop, raw", &["-Rc", EACH, "ends.json", "missing.json", "ends.json"], b"")),
    with_end_files(case("a missing file does not stop inputs", &["-nc", AFTER_THE_END, "bare.json", "missing.json", "ends.json"], b"")),
    with_end_files(case("a kept event after the end opens the next file", &["-c", "--stream", EACH, "closed.json", "missing.json", "empty.json"], b"")),
    case(
        "a caught mistake: reading goes on at the next line",
        &["-nc", "[range(4) as $i | try input catch .]"],
        b"1 x 2\n3\n",
    ),
    case(
        "a mistake in the main loop after a program asked on",
        &["-c", "try (., input) catch \"mistake\""],
        b"1 x 2\n3\n",
    ),
    case(
        "a mistake the end shows once the file is closed",
        &["-nc", "[inputs]"],
        b"\n\n\ntrue{",
    ),
    case(
        "a mistake the end shows in bytes still held",
        &["-nc", "--stream", "[inputs]"],
        b"\n\n[1][1]x",
    ),
    case(
        "a streamed number is finished by the byte after it",
        &["-c", "--stream", EACH],
        b"\n\n{\"a\":1}[1]null\n\n23true",
    ),
    case("stream", &["-c", "--stream", "."], b"[1,{\"a\":2}] 3 []"),
    case(
        "seq input",
        &["-c", "--seq", "."],
        b"\x1e[1]\n\x1e{\"a\":2}\n",
    ),
    case("parse error", &["-c", "."], b"1 2 {"),
    // Malformed input: jq 1.7.1's words, and the line and column it names.
    case("input: separator after a literal", &["-c", "."], b"[1 2]"),
    case("input: separator before a string", &["-c", "."], b"[1 \"a\"]"),
    case("input: separator between members", &["-c", "."], b"{\"a\":1 \"b\":2}"),
    case("input: separator before a bracket", &["-c", "."], b"[1 [2]]"),
    case("input: separator at the end", &["-c", "."], b"{\"a\" 1"),
    case("input: unmatched bracket after a value", &["-c", "."], b"[1,2]]"),
    case("input: unmatched bracket in an object", &["-c", "."], b"{\"a\":1]"),
    case("input: unmatched brace in an array", &["-c", "."], b"[}"),
    case("input: unmatched brace after a colon", &["-c", "."], b"{\"a\":}"),
    case("input: a key without its value", &["-c", "."], b"{\"a\"}"),
    case("input: a value closing an array as an object", &["-c", "."], b"[1}"),
    case("input: a comma after a key", &["-c", "."], b"{\"a\",1}"),
    case("input: an array ending in a comma", &["-c", "."], b"[1,]"),
    case("input: an object ending in a comma", &["-c", "."], b"{\"a\":1,}"),
    case("input: a comma over lines", &["-c", "."], b"[\n1\n,\n]"),
    case("input: a comma first", &["-c", "."], b"[,1]"),
    case("input: a comma after a top-level value", &["-c", "."], b"1,"),
    case("input: a colon first", &["-c", "."], b"{:1}"),
    case("input: a colon after a top-level string", &["-c", "."], b"\"a\":1"),
    case("input: a colon in an array", &["-c", "."], b"[1:2]"),
    case("input: a second colon", &["-c", "."], b"{\"a\":1:2}"),
    case("input: a number as key", &["-c", "."], b"{1:2}"),
    case("input: an object as key", &["-c", "."], b"{{}:1}"),
    case("input: a literal cut short", &["-c", "."], b"tru"),
    case("input: a literal cut short inside", &["-c", "."], b"[nul x]"),
    case("input: a literal ended by a newline", &["-c", "."], b"[tru\n]"),
    case("input: nan with more", &["-c", "."], b"nanx"),
    case("input: single quotes", &["-c", "."], b"{'a':1}"),
    case("input: two decimal points", &["-c", "."], b"1.5.5"),
    case("input: numbers decNumber reads", &["-c", "."], b"1. .5 +1 -.5 1.e5 0. -0. +.5e-3"),
    case("input: a raw tab in a string", &["-c", "."], b"\"a\tb\""),
    case("input: a raw newline in a string", &["-c", "."], b"\"abc\ndef\""),
    case("input: a control character before a bad escape", &["-c", "."], b"\"\x01\\x\""),
    case("input: a bad escape before a control character", &["-c", "."], b"\"\\x\x01\""),
    case("input: a string ending in a backslash", &["-c", "."], b"\"{x\\"),
    case(
        "input: object keys count toward the depth limit",
        &["-c", "."],
        b"{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
    ),
    case(
        "fromjson errors",
        &["-c", ".[] | try fromjson catch ."],
        b"[\"\", \"  \", \"1 2\", \"[1] x\", \"\\\"a\\\"0,\", \"nan 0]0\", \"[1 2]\", \"{\\\"a\\\":1,}\", \"tru\\n\", \"\\\"a\\tb\\\"\", \"1.\", \"{1:2}\", \"\\\"{x\\\\\"]",
    ),
    case("deep input", &["-c", "."], &[b'['; 300]),
    // Numbers: a literal beyond 2^53 prints as written but computes as
    // its double; length is fabs of the double.
    case(
        "big literals compute as doubles",
        &[
            "-n",
            "-c",
            "(9007199254740993 | ., . - 1, . - 9007199254740992, floor, ceil, round, -., length), (100000000000000000000 | ., floor, length), (1.50, 3.0, -0, -2.5, 1e1000 | length, round)",
        ],
        b"",
    ),
    // Local time: the zone TZ names, as the C library reads it.
    local_time("local time in a zone file", &[("TZ", "Europe/Berlin")]),
    local_time("local time in a southern zone file", &[("TZ", "Australia/Sydney")]),
    local_time("local time in a POSIX rule", &[("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")]),
    local_time("local time in a southern POSIX rule", &[("TZ", "AEST-10AEDT,M10.1.0,M4.1.0/3")]),
    local_time("local time in an unknown zone", &[("TZ", "Nowhere/Bogus")]),
    local_time("local time in a short unknown name", &[("TZ", "ab")]),
    local_time("local time in no zone", &[("TZ", "")]),
    case(
        "local time errors",
        &[
            "-n",
            "-c",
            "(\"x\", [1]) as $t | try ($t | strflocaltime(1)) catch ., try (\"a\" | localtime) catch ., try (1e17 | localtime) catch .",
        ],
        b"",
    ),
    // Arguments.
    case(
        "arg and argjson",
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
        b"",
    ),
    case(
        "first arg wins",
        &[
            "-n",
            "-c",
            "--arg",
            "x",
            "1",
            "--arg",
            "x",
            "2",
            "[$x, $ARGS.named]",
        ],
        b"",
    ),
    case("args", &["-n", "-c", "$ARGS", "--args", "a", "b"], b""),
    case(
        "args before the program",
        &["-n", "-c", "--args", "$ARGS.positional", "a", "b"],
        b"",
    ),
    case(
        "jsonargs",
        &["-n", "-c", "$ARGS.positional", "--jsonargs", "1", "{}"],
        b"",
    ),
    case(
        "bad jsonargs",
        &["-n", "-c", "$ARGS", "--jsonargs", "{"],
        b"",
    ),
    case("bad argjson", &["-n", "--argjson", "x", "{", "$x"], b""),
    case("arg missing a value", &["-n", "--arg", "x"], b""),
    with_files(case(
        "slurpfile and rawfile",
        &[
            "-n",
            "-c",
            "--slurpfile",
            "v",
            "values.json",
            "--rawfile",
            "r",
            "raw.txt",
            "[$v, $r]",
        ],
        b"",
    )),
    with_files(case(
        "rawfile missing",
        &["-n", "--rawfile", "r", "missing.txt", "$r"],
        b"",
    )),
    case("no $__prog_args", &["-n", "$__prog_args"], b""),
    case("double dash", &["-n", "--", "-1"], b""),
    case("unknown long option", &["--bogus", "."], b""),
    case("unknown short option", &["-nQ", "."], b""),
    case("bundled short options", &["-nrc", "\"x\", [1]"], b""),
    case("-L without directory", &["-n", "-L"], b""),
    // Programs from files and modules.
    with_files(case("from file", &["-f", "prog.jq"], b"5")),
    with_files(case("from file bundled", &["-nf", "prog.jq"], b"")),
    with_files(case(
        "from file then inputs",
        &["-f", "prog.jq", "one.json"],
        b"",
    )),
    with_files(case(
        "module directory",
        &["-L", "mod", "-c", "include \"m\"; twice"],
        b"21",
    )),
    with_files(case(
        "module directory joined",
        &["-Lmod", "-c", "import \"m\" as m; m::twice"],
        b"4",
    )),
    // jq's test-file mode.
    with_test_file(case("run tests", &["--run-tests", "probe.test"], b"")),
    with_test_file(case(
        "run tests skipping",
        &["--run-tests", "--skip", "12", "probe.test"],
        b"",
    )),
    with_test_file(case(
        "run tests taking",
        &["--run-tests", "--take", "2", "probe.test"],
        b"",
    )),
    with_test_file(case("run tests from stdin", &["--run-tests"], b".\n1\n1\n")),
    with_test_file(case(
        "run tests missing file",
        &["--run-tests", "missing.test"],
        b"",
    )),
    // Exit statuses.
    case("exit status true", &["-e", "."], b"1"),
    case("exit status null", &["-e", "."], b"null"),
    case("exit status false then true", &["-e", "."], b"false 1"),
    case("exit status true then null", &["-e", "."], b"1 null"),
    case("exit status no output", &["-e", "empty"], b"1"),
    case("exit status last input empty", &["-e", ".[]"], b"[1] []"),
    case("exit status raw string", &["-e", "-r", "."], b"\"x\""),
    case("exit status error", &["-e", ".[]"], b"[1] 2"),
    case("errors then success", &[".[]"], b"[1] 2 [3]"),
    case("error last", &[".[]"], b"[1] 2"),
    case("error value not a string", &["-n", "error({a:1})"], b""),
    case("error null", &["-n", "error(null)"], b""),
    case("error at line", &[".[0]"], b"1\n2\n{}"),
    case("halt", &["-n", "1, halt, 2"], b""),
    case(
        "halt_error string",
        &["-n", "\"bye\\n\" | halt_error(3)"],
        b"",
    ),
    case("halt_error object", &["-n", "{a:1} | halt_error"], b""),
    case("exit status halt", &["-n", "-e", "null, halt"], b""),
    case("undefined function", &["-n", "foo(1)"], b""),
    case("two undefined", &["-n", "foo(1) | bar"], b""),
    case("syntax error", &["-n", "1 +"], b""),
    // Syntax errors as bison and jq's lexer report them: at the end, the
    // place is where the lexer's last match (blanks and comments count)
    // began; one error per bad token; jq's own error rules.
    case("syntax error at the start", &["-n", "# x\n | 1"], b""),
    case("syntax error after blanks", &["-n", "1 +  "], b""),
    case("syntax error after a comment", &["-n", "1 +\n # x\n"], b""),
    case("syntax error in an object", &["-n", "[{a:1"], b""),
    case("syntax error in a string", &["-n", "[{\"a\\(1) b"], b""),
    case("syntax error after a term", &["-n", "{a:1} ^ 2"], b""),
    case("syntax error after an operator", &["-n", "1 + ^"], b""),
    case("syntax error in an exponent", &["-n", "1 + 1e 2"], b""),
    case("syntax error at a lone $", &["-n", "1 + $ | 2"], b""),
    case("syntax error at a lone @", &["-n", "@ x"], b""),
    case("syntax error closing an interpolation", &["-n", "\"\\(1 +)\""], b""),
    case("invalid escape", &["-n", "\"a\\x\\n\" + 1"], b""),
    case("invalid unicode escapes", &["-n", "\"\\u12\", \"\\u00g1\""], b""),
    case("unpaired surrogate escapes", &["-cn", "\"\\udc00x\", \"\\ud800\""], b""),
    // jq lexes as it parses: a syntax error before what its lexer refuses
    // comes first, after the bad escapes it has read and without later ones.
    case("syntax error before an exponent", &["-n", "= 1e"], b""),
    case("syntax error before an unmatched bracket", &["-n", "+ )"], b""),
    case("syntax error inside an unclosed bracket", &["-n", "if (1 then 2"], b""),
    case("syntax error after a bad escape", &["-n", "\"\\x\" \"b\" | \"\\y\""], b""),
    case("end of program after a bad escape", &["-n", "\"\\(1 | \"\\x\")\" +"], b""),
    case("a number then a keyword", &["-n", ".5end"], b""),
    // jaq takes a keyword where a name may stand as a call; jq's parser fails.
    case("a keyword alone", &["-n", "end"], b""),
    case("a keyword as a term", &["-n", "[1, and] | f"], b""),
    case("unterminated if", &["-n", "[if 1 then 2] | 1 +"], b""),
    case("unterminated inner if", &["-n", "if 1 then if 2 then 3"], b""),
    case("unterminated if in an interpolation", &["-n", "\"\\(if 1 then 2)\""], b""),
    case("no unterminated if inside brackets", &["-n", "if 1 then [1 +"], b""),
    case("unterminated try", &["-n", "try 1 catch"], b""),
    case("top-level program not given", &["-n", "def f: 1; # only"], b""),
    case("empty program", &[""], b"1"),
    // jq's object values are terms joined by `|`: `{a: 1 + 2}` does not
    // compile in jq, so it must not in doi-jq either.
    case("object value with an operator", &["-n", "{a: 1, b: 2 * 3}"], b""),
    case("object value with an if", &["-n", "{a: if . then 1 end}"], b""),
    case("object value optional", &["-n", "{a: (1)?}"], b""),
    case("object values jq takes", &["-cn", "{a: - 1 | -2, b: .c?.d, e: .f[0]?, g: (1 + 2), h: [3 * 4]}"], b""),
    // jq's lexer has no carriage return among its blanks.
    case("a carriage return in a program", &["-n", "1 +\r\n2"], b""),
    case("a carriage return in a comment", &["-n", "1 # c\r\n"], b""),
    // contains: only the two values must share a type; a value shared by
    // both sides is asked once, and a NaN inside it still contains nothing.
    case("contains inside values of other types", &["-cn", "[({a: 1} | contains({a: \"x\"})), ([1] | contains([\"x\"]))]"], b""),
    case("contains on a shared tree", &["-cn", "[nth(18; 0 | recurse([., .])) | contains(.)], ([[nan]] as $a | [$a, $a] | contains([$a]))"], b""),
    // -f names the program's file; without one, jq reads the file `.`.
    case("from a missing file", &["-n", "-f", "missing.jq"], b""),
    case("from no file", &["-n", "-f"], b""),
    case("unknown letters after known ones", &["-nx", "."], b""),
    // A value bound from a term with at most one output is taken at once
    // (order.rs); what the program gives is unchanged, however that term ends.
    case("ack with a call for an argument", &["-c", "def ack($m; $n): if $m == 0 then $n + 1 elif $n == 0 then ack($m - 1; 1) else ack($m - 1; ack($m; $n - 1)) end; [ack(2; .), ack(.; 2)]"], b"3\n"),
    case("single outputs bound: none, an error, a break", &["-c", "def f($x): [$x]; def none: if . then 1 else empty end; def fail: error(\"x\"); [f(none)], (try f(fail) catch .), [label $out | def stop: break $out; f(stop)], (none as $x | $x)"], b"false\n"),
    case("a builtin shadowed by a local definition gives several", &["-c", "def f($x): $x; def g: def length: 1, 2; length; [f(g)], [g as $x | $x], [f(f(1, 2))]"], b"null\n"),
    // jq's number literals: `1.` and `1.e3` are numbers.
    case("numbers ending in a point", &["-cn", "[1., 1.e3, 10.E-1, -2.]"], b""),
    case("a point after a number", &["-n", "1.."], b""),
    // An error's line is shown as written, not as rewritten.
    case("syntax error after $__loc__", &["-n", "$__loc__ | .a."], b""),
    case("syntax error after .5", &["-n", "[.5, 1.] | .a."], b""),
    case("runtime error", &["-n", "{} | .[0]"], b""),
    // `?//` outside a destructuring is no operator: jq's lexer reads it
    // whole, so `.a?//1` does not compile (jaq would read `? //`).
    case("stray ?// at the top", &["-n", ".a?//1"], b""),
    case("stray ?// in an object", &["-n", "{a: 1 ?// 2}"], b""),
    case("stray ?// in arguments", &["-n", "[1] | map(1 ?// 2)"], b""),
    case("stray ?// starting a term", &["-n", "1 | ?// 2"], b""),
    case("stray ?// after a destructuring", &["-n", "[[1]] | .[] as [$a] ?// $a | $a ?// 2"], b""),
    // An interpolation holds code: destructuring alternatives work there
    // and a stray `?//` is as wrong there as anywhere.
    case("destructuring alternatives in an interpolation", &["-n", r#"[[1], 2] | .[] | "a\(. as [$a] ?// $a | $a)b""#], b""),
    case("stray ?// in an interpolation", &["-n", r#""x\("y\(1 ?// 2)")""#], b""),
    // glibc's strptime, which jq calls: day 366 of a common year runs past
    // its month table, weeks count from January 1st's weekday.
    case(
        "strptime day of the year and weeks",
        &["-c", ".[] as [$s, $f] | $s | strptime($f) | ., mktime, todate"],
        b"[[\"1900 366\", \"%Y %j\"], [\"2015 0 0\", \"%Y %U %w\"], [\"27 0\", \"%U %w\"]]",
    ),
    // Engine messages users match in try/catch, through the command line.
    case("halt_error null", &["-n", "null | halt_error"], b""),
    // jq casts the code to a C int and exits 0 for a negative one.
    case("halt_error fractional code", &["-n", "\"x\" | halt_error(2.9)"], b""),
    case("halt_error negative code", &["-n", "\"x\" | halt_error(-1)"], b""),
    case("halt_error nan code", &["-n", "\"x\" | halt_error(nan)"], b""),
    case("halt_error code past 255", &["-n", "\"x\" | halt_error(257)"], b""),
    case("halt_error code not a number", &["-n", "\"x\" | halt_error(\"a\")"], b""),
    // jq prints an error message as a C string, up to a NUL.
    case("error message with a NUL", &["-n", "error(\"a\\u0000b\")"], b""),
    case("range of null", &["-n", "[range(null)]"], b""),
    case("regex on a non-string", &["-n", "1 | test(\"a\")"], b""),
    case("splits on null", &["-n", "[splits(\"a, b\"; \", \")]"], b""),
    case("slice assigned a number", &["-n", "[1,2] | .[1:] = 3"], b""),
    case("fromjson of two values", &["-n", "\"1 2\" | fromjson"], b""),
    case("fromjson cut short", &["-n", "\"1 {\" | fromjson"], b""),
    case(
        "updates delete together",
        &["-c", ".foo[1,4,2,3] |= empty"],
        b"{\"foo\":[0,1,2,3,4,5]}",
    ),
    case(
        "update takes the first output",
        &["-c", ". |= (3,4)"],
        b"[1]",
    ),
    // jq's order of evaluation: the right operand first.
    case(
        "order of inputs in arithmetic",
        &["-c", "[input - input]"],
        b"1 2 3",
    ),
    case(
        "order of debug in arithmetic",
        &["-nc", "(1 | debug) + (2 | debug)"],
        b"",
    ),
    // JSON text jq 1.7.1 refuses: escapes are reported at the closing quote.
    case(
        "lone high surrogate on input",
        &["-c", "."],
        b"1 \"\\ud800x\" 2",
    ),
    case("lone low surrogate on input", &["-c", "."], b"\"\\udc00\""),
    case("bad escape on input", &["-c", "."], b"[\"\\qabc\"]"),
    // --seq: records jq 1.7.1 reads as it does.
    case(
        "seq empty record",
        &["-c", "--seq", "."],
        b"\x1e[1]\x1e\x1e[2]",
    ),
    case(
        "seq empty first record",
        &["-c", "--seq", "."],
        b"\x1e\x1e[2]\x1e[3]\n\x1e[4]",
    ),
    case(
        "seq array cut short",
        &["-c", "--seq", "."],
        b"\x1e[1]\x1e[1 \x1e[2]",
    ),
    case(
        "stream errors read on at the next line",
        &["-c", "--stream-errors", "[., input_line_number]"],
        b"[1,}\n  [1,}\n[2]\n[3,",
    ),
    case("seq without a separator", &["-c", "--seq", "."], b" \n"),
    case("seq of nothing", &["-c", "--seq", "."], b""),
    // The parser reads a line piece without a newline only up to a NUL,
    // and a number's token as a C string.
    case("input: NUL ends a piece", &["-c", "."], b"1 \x00 2"),
    case("input: NUL in a line", &["-c", "."], b"[1\x00]\n[2,\x00]\n"),
    case("raw input keeps NUL", &["-cR", "."], b"a\x00b"),
    // The builtins a program sees are jq 1.7.1's: its `builtins` list, in
    // its order, and jaq's extras are not defined.
    case("builtins are jq's", &["-c", "builtins"], b"null"),
    case(
        "builtins jq lacks are not defined",
        &["-n", "trim, ltrim, isarray, toarray, add(.[]), leaf_paths"],
        b"",
    ),
    // `@name` is jq's `format("name")`: an unknown name fails only when
    // something is formatted (jq 1.7.1 has no base32 formats).
    case(
        "unknown formats fail when applied",
        &[
            "-nc",
            r#""a" | @foo "x", (try @foo catch .), (try @base32 catch .), (try @base32d catch .), @urid "y\(.)""#,
        ],
        b"",
    ),
    case(
        "format/1",
        &[
            "-nc",
            r#""<" | format("html", "uri", "text"), ([1, "a"] | format("csv", "tsv")), (try format(1) catch .), (try format([range(9)]) catch .)"#,
        ],
        b"",
    ),
    case(
        "csv and tsv refusals",
        &[
            "-nc",
            r#"(try ("a" | @csv) catch .), (try ([{}] | @csv) catch .), (try ("a" | @tsv) catch .), (try ([[1]] | @tsv) catch .), (try ([[range(20)]] | @csv) catch .)"#,
        ],
        b"",
    ),
    case(
        "string builtins refuse as jq does",
        &[
            "-nc",
            r#"(1 | try startswith("a") catch .), ("a" | try endswith(1) catch .), (1 | try explode catch .), (1 | try ascii_downcase catch .), ({} | try @sh catch .), ([1, "it's", null, 1.0] | @sh), ([nan, 1] | @csv, @tsv), (try ("a" % 1) catch .)"#,
        ],
        b"",
    ),
    case(
        "tonumber parses a JSON text",
        &[
            "-nc",
            r#"(null, "[1]", " 1", "nan", "0x10", "", 5) | try tonumber catch ."#,
        ],
        b"",
    ),
    case(
        "sub and split give one result per regex",
        &[
            "-nc",
            r#""abc" | [sub("a", "b"; "x")], [sub("b", "c"; "x", "y")], [splits("b", "c")], [split("b", "c"; null)], [sub(empty; "x")], ("aXbXc" | [sub("x"; "_"; "gi", "g")])"#,
        ],
        b"",
    ),
    case(
        "nth counts down and last of nothing is null",
        &[
            "-nc",
            r#"[last(empty)], [last(1, 2)], [nth(1.5; 1, 2, 3)], [nth(5; 1, 2)], [nth(1, 0; 1, 2, 3)], ("a" | try nth(.; 1, 2) catch .), (try last(1, error("x")) catch .)"#,
        ],
        b"",
    ),
    // jq's math builtins are its C library's: glibc's zeros, infinities
    // and NaNs, `(int)` casts of integer arguments, halves to even.
    case(
        "math refuses what is not a number",
        &[
            "-nc",
            r#"("a" | try sqrt catch .), (null | try fmod(.; 1) catch .), (try pow(1; "b") catch .), (try ldexp("a"; "b") catch .), (try fma(1; 2; "c") catch .), ("a" | try frexp catch .), (1 | try pow10 catch .), (null, false | try abs catch .), ("a", -0 | abs)"#,
        ],
        b"",
    ),
    case(
        "math at the C library's edges",
        &[
            "-nc",
            r#"[fmax(-0; 0), fmax(0; -0), fmin(-0; 0), fmin(0; -0), fmax(nan; 1)], [1e1000, nan | frexp], [1e1000, -1e1000, nan | modf], [-1, 0, -0 | lgamma_r], [0, 1e1000, nan, 0.1, 5e-324 | logb], [5e-324, -0.75, -0 | significand], [scalb(1; 1e1000), scalb(0; 1e1000), scalb(1; 2.5), scalb(3; 2)], [ldexp(1; 1.5), ldexp(1; 1e10), scalbln(1; 2.7)], [2.5, -0.5 | nearbyint, rint, trunc], (1.5 | gamma), [pow(1, 2; 3, 4)], [drem(5; 3), fdim(1; 3), fma(2; 3; 4)]"#,
        ],
        b"",
    ),
    case(
        "sorting what is not an array",
        &[
            "-nc",
            r#"(1, null, {"a": 2}, "ab", "", true) | [(try sort catch .), (try sort_by(.) catch .), (try unique catch .), (try min_by(.) catch .), (try reverse catch .)]"#,
        ],
        b"",
    ),
    case(
        "indices and bsearch of what they do not search",
        &[
            "-nc",
            r#"(null, 1, "a,b, cd", [1, 2, 1], [null, 1], {"a": 1}, true) | [(try indices(1) catch .), (try indices("") catch .), (try indices([]) catch .), (try indices(null) catch .), (try indices(", ") catch .), (try index("a") catch .), (try rindex(1) catch .), (try bsearch(0) catch .)]"#,
        ],
        b"",
    ),
    case(
        "null refuses null, booleans and arrays as keys",
        &[
            "-nc",
            r#"null | (try .[null] catch .), (try .[true] catch .), (try .[[]] catch .), .[{}], .a, .[0], ([1] | try .[{}] catch .)"#,
        ],
        b"",
    ),
    case(
        "true and false are two kinds to contains",
        &[
            "-nc",
            r#"(false, true, [false]) as $x | (false, true, [true]) as $y | [$x, $y, (try ($x | contains($y)) catch .)]"#,
        ],
        b"",
    ),
    case("stderr writes strings raw", &["-n", r#""a\nb", 1 | stderr"#], b""),
    case(
        "fromjson of a non-string",
        &["-nc", "1, null, [range(10)] | try fromjson catch ."],
        b"",
    ),
];

fn peer() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/peers/jq-1.7.1/jq")
}

fn recording_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/jq-cli/expected.json")
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    code: Option<i32>,
}

fn run(binary: &Path, case: &Case) -> Outcome {
    let directory = tempfile::tempdir().expect("temp dir");
    for (name, content) in case.files {
        let path = directory.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    let mut command = Command::new(binary);
    command
        .arg0("doi-jq")
        .args(case.args)
        .current_dir(directory.path())
        .env_remove("BASHBREW_META_SCRIPTS")
        .env_remove("JQ_COLORS")
        .env_remove("NO_COLOR")
        .envs(case.env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("runs");
    let _ = child.stdin.take().expect("piped").write_all(case.stdin);
    let output = child.wait_with_output().expect("finishes");
    Outcome {
        stdout: output.stdout,
        stderr: output.stderr,
        code: output.status.code(),
    }
}

fn to_json(outcome: &Outcome, name: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "stdout": String::from_utf8_lossy(&outcome.stdout),
        "stderr": String::from_utf8_lossy(&outcome.stderr),
        "code": outcome.code,
    })
}

fn recordings() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(recording_path()).expect("testdata/jq-cli/expected.json");
    serde_json::from_str(&text).expect("JSON")
}

/// Writes the recording from jq 1.7.1 (only with `DOI_JQ_RECORD=1`).
#[test]
fn record() {
    if std::env::var_os("DOI_JQ_RECORD").is_none() {
        return;
    }
    let recorded: Vec<serde_json::Value> = CASES
        .iter()
        .map(|case| to_json(&run(&peer(), case), case.name))
        .collect();
    let text = serde_json::to_string_pretty(&recorded).expect("JSON") + "\n";
    std::fs::create_dir_all(recording_path().parent().expect("dir")).expect("mkdir");
    std::fs::write(recording_path(), text).expect("write the recording");
}

#[test]
fn command_line_matches_jq_1_7_1() {
    let recorded = recordings();
    let mut failures = Vec::new();
    for case in CASES {
        let Some(expected) = recorded.iter().find(|entry| entry["name"] == case.name) else {
            failures.push(format!("{}: not recorded (see the module doc)", case.name));
            continue;
        };
        let actual = run(Path::new(env!("CARGO_BIN_EXE_doi-jq")), case);
        assert!(actual.code.is_some(), "{}: died by a signal", case.name);
        let actual = to_json(&actual, case.name);
        // stdout, stderr and the exit status, byte for byte.
        let differs = actual != *expected;
        if differs {
            failures.push(format!(
                "{} (doi-jq {:?}):\n  jq 1.7.1: {expected}\n  doi-jq:   {actual}",
                case.name, case.args
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from jq 1.7.1:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// The recording is what jq 1.7.1 says today (when the peer is here).
#[test]
fn recording_is_current() {
    if !peer().is_file() {
        crate::support::unavailable("jq 1.7.1 is not at ../shared/peers/jq-1.7.1/jq");
        return;
    }
    let recorded = recordings();
    for case in CASES {
        let fresh = to_json(&run(&peer(), case), case.name);
        let stored = recorded.iter().find(|entry| entry["name"] == case.name);
        assert_eq!(stored, Some(&fresh), "re-record {}", case.name);
    }
}

#[test]
fn version_and_help_identify_doi_jq() {
    let version = run(
        Path::new(env!("CARGO_BIN_EXE_doi-jq")),
        &case("v", &["--version"], b""),
    );
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("doi-jq-{}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(version.code, Some(0));
    let help = run(
        Path::new(env!("CARGO_BIN_EXE_doi-jq")),
        &case("h", &["-h"], b""),
    );
    assert_eq!(help.code, Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--run-tests"));
    // jq applies the letters of a bundle it knows before it refuses the
    // rest: `h` or `V` anywhere in it wins (`doi-jq -then.a` is help).
    let bundles: [(&[&str], &str); 2] = [(&["-then.a"], "--run-tests"), (&["-xV"], "doi-jq-")];
    for (bundle, wanted) in bundles {
        let out = run(
            Path::new(env!("CARGO_BIN_EXE_doi-jq")),
            &case("b", bundle, b""),
        );
        assert_eq!(out.code, Some(0), "{bundle:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(wanted),
            "{bundle:?}"
        );
    }
}

#[test]
fn embedded_modules_need_no_library_path() {
    let outcome = run(
        Path::new(env!("CARGO_BIN_EXE_doi-jq")),
        &case(
            "embedded",
            &["-c", "include \"oci\"; normalize_platform"],
            b"{\"architecture\":\"arm64\",\"os\":\"linux\"}",
        ),
    );
    assert_eq!(
        String::from_utf8_lossy(&outcome.stdout),
        "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}\n"
    );
}

/// On a terminal (a pseudo-terminal from `script`), output is coloured as
/// jq colours it unless NO_COLOR is set, and with no program and a
/// terminal on both ends doi-jq prints its usage and exits 2, as jq does.
#[test]
fn terminals_get_colour_and_usage_as_in_jq() {
    if !crate::support::require_tools(&["script"]) {
        return;
    }
    let directory = tempfile::tempdir().expect("temp dir");
    let input = directory.path().join("in.json");
    std::fs::write(&input, "{\"a\":[1,null,\"x\"]}").expect("write");
    let on_terminal = |binary: &Path, arguments: &str, no_color: Option<&str>| {
        let mut command = Command::new("script");
        command
            .args(["-q", "-e", "-c"])
            .arg(format!("{} {arguments}", binary.display()))
            .arg("/dev/null")
            .env_remove("NO_COLOR")
            .env_remove("JQ_COLORS")
            .stdin(Stdio::null());
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let output = command.output().expect("script runs");
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            output.status.code(),
        )
    };
    let ours = Path::new(env!("CARGO_BIN_EXE_doi-jq"));
    let file = input.display().to_string();
    let (coloured, code) = on_terminal(ours, &format!("-c . {file}"), None);
    assert_eq!(code, Some(0));
    assert!(coloured.contains("\u{1b}[1;39m{"), "{coloured:?}");
    let (plain, _) = on_terminal(ours, &format!("-c . {file}"), Some("1"));
    assert!(plain.contains("{\"a\":[1,null,\"x\"]}"), "{plain:?}");
    let (usage, code) = on_terminal(ours, "", None);
    assert_eq!(code, Some(2), "{usage}");
    crate::support::assert_contains(&usage, "Usage:");
    if peer().is_file() {
        for (arguments, no_color) in [
            (format!("-c . {file}"), None),
            (format!(". {file}"), Some("1")),
        ] {
            assert_eq!(
                on_terminal(ours, &arguments, no_color),
                on_terminal(&peer(), &arguments, no_color),
                "doi-jq {arguments} on a terminal"
            );
        }
    }
}

/// Malformed JSON reads as jq 1.7.1 reads it: for thousands of short texts
/// made of JSON's pieces at random (brackets, quotes, escapes, literals,
/// numbers, control characters), `try fromjson catch .` gives jq's value
/// or jq's message, word for word and at jq's line and column. Run
/// side by side with the peer, since the texts are too many to record.
/// No piece is a lone `n`: jq judges a one-byte `n` token by the byte a
/// longer token before it left in its buffer (see
/// `read::tests::a_lone_n_is_a_bad_number_whatever_came_before`).
/// `count` random texts of up to ten pieces of JSON and near-JSON (a
/// fixed xorshift, so a failure names texts that fail again).
fn random_texts(count: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "[",
        "]",
        "{",
        "}",
        ":",
        ",",
        "\"",
        " ",
        "\n",
        "1",
        "-",
        ".",
        "e",
        "a",
        "t",
        "nu",
        "na",
        "u",
        "l",
        "2.50",
        "{\"k\":",
        "[1,",
        "1e5",
        "-0",
        "\\",
        "\t",
        "\"a\"",
        "true",
        "null",
        "0",
        "+",
        "x",
        "\u{1}",
        "nan",
        "\"\\u12\"",
        "\"\\ud800\"",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let pieces = 1 + next() % 10;
            (0..pieces)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect()
        })
        .collect()
}

#[test]
fn malformed_json_fails_as_in_jq_1_7_1() {
    if !peer().is_file() {
        crate::support::unavailable("jq 1.7.1 is not at ../shared/peers/jq-1.7.1/jq");
        return;
    }
    let texts = random_texts(4000);
    let case = Case {
        stdin: Box::leak(serde_json::to_vec(&texts).expect("JSON").into_boxed_slice()),
        ..case("random texts", &["-c", ".[] | try fromjson catch ."], b"")
    };
    let expected = run(&peer(), &case);
    let actual = run(Path::new(env!("CARGO_BIN_EXE_doi-jq")), &case);
    assert_eq!(
        expected.code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&expected.stderr)
    );
    let expected = String::from_utf8_lossy(&expected.stdout).into_owned();
    let actual = String::from_utf8_lossy(&actual.stdout).into_owned();
    let differing: Vec<String> = texts
        .iter()
        .zip(expected.lines().zip(actual.lines()))
        .filter(|(_, (jq, ours))| jq != ours)
        .take(10)
        .map(|(text, (jq, ours))| format!("{text:?}\n  jq 1.7.1: {jq}\n  doi-jq:   {ours}"))
        .collect();
    assert!(
        differing.is_empty(),
        "texts read unlike jq:\n{}",
        differing.join("\n")
    );
    assert_eq!(expected.lines().count(), actual.lines().count());
}

/// `--stream` reads with jq's streaming machine: its events (a leaf only at
/// the comma or bracket after it), its words and columns for mistakes, and
/// what it lets through (`[[1] [2]]`); `--stream-errors` reads on after a
/// mistake where jq does (the next line, or the next 4095-byte piece of a
/// long one), and each item's `input_line_number` counts the lines jq's
/// reader has taken in. On random texts beside jq 1.7.1.
#[test]
fn streaming_reads_as_jq_1_7_1_streams() {
    if !peer().is_file() {
        crate::support::unavailable("jq 1.7.1 is not at ../shared/peers/jq-1.7.1/jq");
        return;
    }
    let mut texts = random_texts(300);
    texts.extend(
        [
            "[[1] [2]]",
            "1[2]",
            "1,2",
            "{\"a\":[1,}",
            "[{]",
            "{[1]:2}",
            "{\"a\":1,{",
            "[1,}\n  [1,}\n[2]\n",
            "[1,\n2]",
        ]
        .map(String::from),
    );
    // Mistakes and values either side of jq's 4095-byte line pieces.
    for width in [4090, 4091, 4092, 8190, 8191] {
        texts.push(format!("[1,}}{}[7] [8] 9 x\n [1,]", " ".repeat(width - 4)));
        texts.push(format!("[\"{}\",]\n[2,\n3]", "y".repeat(width)));
    }
    let runs: [&[&str]; 2] = [
        &["-c", "--stream", "."],
        &["-c", "--stream-errors", "[., input_line_number]"],
    ];
    let differing: Vec<String> = runs
        .iter()
        .flat_map(|args| texts.iter().map(move |text| (*args, text)))
        .filter_map(|(args, text)| {
            let case = Case {
                stdin: Box::leak(text.clone().into_bytes().into_boxed_slice()),
                ..case("stream", args, b"")
            };
            let expected = run(&peer(), &case);
            let actual = run(Path::new(env!("CARGO_BIN_EXE_doi-jq")), &case);
            (expected != actual).then(|| {
                format!("{args:?} {text:?}\n  jq 1.7.1: {expected:?}\n  doi-jq:   {actual:?}")
            })
        })
        .take(5)
        .collect();
    assert!(
        differing.is_empty(),
        "streamed unlike jq:\n{}",
        differing.join("\n")
    );
}

/// A value is run as soon as its line is in, before the writer sends the
/// next (`tail -f log | doi-jq`, a program talking to doi-jq over a
/// pipe): each input is written only after the output of the one before
/// has come back. jq 1.7.1 reads the same way; a reader that waited for
/// more bytes (a third byte to rule out a byte-order mark, the rest of a
/// 4095-byte piece to count lines) would leave this test waiting, so each
/// answer has ten seconds.
#[test]
fn each_input_is_answered_before_the_next_is_written() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;
    let runs: [(&[&str], [&str; 2], [&str; 2]); 6] = [
        (&["--unbuffered", "-c", "."], ["1", "2"], ["1", "2"]),
        (&["--unbuffered", "-c", "."], ["{}", "[3]"], ["{}", "[3]"]),
        (&["--unbuffered", "-R", "."], ["a", "b"], ["\"a\"", "\"b\""]),
        (
            &["--unbuffered", "-c", "--stream", "."],
            ["7", "8"],
            ["[[],7]", "[[],8]"],
        ),
        (
            &["--unbuffered", "-n", "-c", "input, input"],
            ["[1]", "2"],
            ["[1]", "2"],
        ),
        (
            &["--unbuffered", "--seq", "-c", "."],
            ["\u{1e}5", "\u{1e}6"],
            ["\u{1e}5", "\u{1e}6"],
        ),
    ];
    for (args, inputs, outputs) in runs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_doi-jq"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("doi-jq starts");
        let (lines_tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if lines_tx.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        let mut stdin = child.stdin.take().expect("stdin is piped");
        for (input, output) in inputs.iter().zip(outputs) {
            writeln!(stdin, "{input}").expect("doi-jq takes input");
            let answer = lines.recv_timeout(Duration::from_secs(10));
            if answer.is_err() {
                let _ = child.kill();
            }
            assert_eq!(
                answer.as_deref(),
                Ok(output),
                "{args:?}: no answer to {input:?} while the pipe stays open"
            );
        }
        drop(stdin);
        assert!(child.wait().expect("doi-jq ends").success(), "{args:?}");
    }
}
