//! `doi-jq`: jq over our embedded modules, with jq's options, output bytes
//! and exit codes, so users can run (and snapshot-test) their own jq
//! against the library exactly as the tool runs it.
//!
//! jq's command line is not clap-shaped (`-nr` bundles, `--arg NAME VALUE`,
//! `--args` turning later positionals into values), so it is parsed by hand.

use doi::jq::print::{self, Indent, PrintOptions};
use doi::jq::{self, CompileOptions, ModulePath, ModuleSearch, Program, RunError, Val};
use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "Usage: doi-jq [OPTIONS] FILTER [FILES...]
       doi-jq [OPTIONS] -f PROGRAM_FILE [FILES...]

Options (as jq's): -n -r -j -a -c -s -e -S -R --tab --indent N
  --arg NAME VALUE --argjson NAME JSON --slurpfile NAME FILE
  --rawfile NAME FILE --args --jsonargs -f FILE -L DIR -h

Modules: include/import resolve in -L directories, then in
$BASHBREW_META_SCRIPTS when set, else in the embedded filters/.";

/// jq's exit codes.
const EXIT_USAGE: u8 = 2;
const EXIT_COMPILE: u8 = 3;
const EXIT_RUNTIME: u8 = 5;

#[derive(Default)]
struct Options {
    null_input: bool,
    raw_output: bool,
    join_output: bool,
    ascii: bool,
    slurp: bool,
    exit_status: bool,
    sort_keys: bool,
    raw_input: bool,
    /// `-c`, `--tab` and `--indent N` override each other; the last wins,
    /// as in jq.
    indent: Option<Indent>,
    filter: Option<String>,
    filter_file: Option<PathBuf>,
    files: Vec<PathBuf>,
    search: Vec<PathBuf>,
    named: Vec<(String, Val)>,
    positional: Vec<Val>,
}

/// Why the command stops early, with jq's exit code.
struct Failure {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_USAGE,
        message: message.into(),
    }
}

fn parse_arguments(arguments: Vec<String>) -> Result<Options, Failure> {
    #[derive(PartialEq)]
    enum Rest {
        Files,
        Strings,
        Json,
    }
    let mut options = Options::default();
    let mut rest = Rest::Files;
    let mut arguments = arguments.into_iter();
    let mut positionals_done = false;
    let value = |arguments: &mut std::vec::IntoIter<String>, option: &str| {
        arguments
            .next()
            .ok_or_else(|| usage(format!("doi-jq: {option} takes a value")))
    };
    while let Some(argument) = arguments.next() {
        let is_option = !positionals_done && argument.starts_with('-') && argument != "-";
        if !is_option {
            if options.filter.is_none() && options.filter_file.is_none() {
                options.filter = Some(argument);
                continue;
            }
            match rest {
                Rest::Files => options.files.push(PathBuf::from(argument)),
                Rest::Strings => options.positional.push(Val::from(argument)),
                Rest::Json => options
                    .positional
                    .push(parse_json_argument("--jsonargs", &argument)?),
            }
            continue;
        }
        match argument.as_str() {
            "--" => positionals_done = true,
            "--null-input" => options.null_input = true,
            "--raw-output" => options.raw_output = true,
            "--join-output" => {
                options.raw_output = true;
                options.join_output = true
            }
            "--ascii-output" => options.ascii = true,
            "--compact-output" => options.indent = Some(Indent::Spaces(0)),
            "--slurp" => options.slurp = true,
            "--exit-status" => options.exit_status = true,
            "--sort-keys" => options.sort_keys = true,
            "--raw-input" => options.raw_input = true,
            "--tab" => options.indent = Some(Indent::Tab),
            "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--indent" => {
                let text = value(&mut arguments, "--indent")?;
                let indent: i64 = text
                    .parse()
                    .map_err(|_| usage(format!("doi-jq: --indent takes a number, not {text:?}")))?;
                if !(0..=7).contains(&indent) {
                    return Err(usage("doi-jq: Cannot indent more than 7 characters"));
                }
                options.indent = Some(Indent::Spaces(indent as u8));
            }
            "--arg" => {
                let name = value(&mut arguments, "--arg")?;
                let text = value(&mut arguments, "--arg")?;
                options.named.push((name, Val::from(text)));
            }
            "--argjson" => {
                let name = value(&mut arguments, "--argjson")?;
                let text = value(&mut arguments, "--argjson")?;
                let parsed = parse_json_argument(&format!("--argjson {name}"), &text)?;
                options.named.push((name, parsed));
            }
            "--slurpfile" | "--rawfile" => {
                let name = value(&mut arguments, &argument)?;
                let path = value(&mut arguments, &argument)?;
                let bytes = std::fs::read(&path).map_err(|error| {
                    usage(format!("doi-jq: error: Could not open {path}: {error}"))
                })?;
                let parsed = if argument == "--rawfile" {
                    Val::from(String::from_utf8_lossy(&bytes).into_owned())
                } else {
                    parse_values(&bytes)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|error| usage(format!("doi-jq: error: {path}: {error}")))?
                        .into_iter()
                        .collect()
                };
                options.named.push((name, parsed));
            }
            "--args" => rest = Rest::Strings,
            "--jsonargs" => rest = Rest::Json,
            "--from-file" => {
                options.filter_file = Some(PathBuf::from(value(&mut arguments, "-f")?))
            }
            _ if argument.starts_with("-L") && argument.len() > 2 => {
                options.search.push(PathBuf::from(&argument[2..]))
            }
            "-L" => options
                .search
                .push(PathBuf::from(value(&mut arguments, "-L")?)),
            "-f" => options.filter_file = Some(PathBuf::from(value(&mut arguments, "-f")?)),
            _ if argument.starts_with("--") => {
                return Err(usage(format!(
                    "doi-jq: Unknown option: {argument} (see doi-jq --help)"
                )))
            }
            short => {
                for flag in short.chars().skip(1) {
                    match flag {
                        'n' => options.null_input = true,
                        'r' => options.raw_output = true,
                        'j' => {
                            options.raw_output = true;
                            options.join_output = true
                        }
                        'a' => options.ascii = true,
                        'c' => options.indent = Some(Indent::Spaces(0)),
                        's' => options.slurp = true,
                        'e' => options.exit_status = true,
                        'S' => options.sort_keys = true,
                        'R' => options.raw_input = true,
                        'h' => {
                            println!("{USAGE}");
                            std::process::exit(0);
                        }
                        'f' => {
                            options.filter_file = Some(PathBuf::from(value(&mut arguments, "-f")?))
                        }
                        'L' => options
                            .search
                            .push(PathBuf::from(value(&mut arguments, "-L")?)),
                        other => {
                            return Err(usage(format!(
                                "doi-jq: Unknown option: -{other} (see doi-jq --help)"
                            )))
                        }
                    }
                }
            }
        }
    }
    // With -f, the first positional is an input file, not the filter.
    if options.filter_file.is_some() {
        if let Some(first) = options.filter.take() {
            options.files.insert(0, PathBuf::from(first));
        }
    }
    if options.filter.is_none() && options.filter_file.is_none() {
        return Err(usage("doi-jq: no filter given (see doi-jq --help)"));
    }
    Ok(options)
}

fn parse_json_argument(option: &str, text: &str) -> Result<Val, Failure> {
    doi::jq::read::parse_single(text.as_bytes()).map_err(|_| {
        usage(format!(
            "doi-jq: Invalid JSON text passed to {option}: {text:?}"
        ))
    })
}

fn parse_values(bytes: &[u8]) -> impl Iterator<Item = Result<Val, String>> + '_ {
    doi::jq::read::parse_many(bytes).map(|value| value.map_err(|error| error.to_string()))
}

fn print_options(options: &Options) -> PrintOptions {
    PrintOptions {
        indent: options.indent.unwrap_or(Indent::Spaces(2)),
        sort_keys: options.sort_keys,
        ascii: options.ascii,
    }
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match run(arguments) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("{}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

fn run(arguments: Vec<String>) -> Result<u8, Failure> {
    if let Some(at) = arguments.iter().position(|a| a == "--run-tests") {
        let mut dirs = Vec::new();
        let mut i = 0;
        while i < at {
            if arguments[i] == "-L" {
                dirs.push(PathBuf::from(&arguments[i + 1]));
                i += 1;
            }
            i += 1;
        }
        let file = arguments.get(at + 1).cloned();
        let options = doi::jq::run_tests::TestOptions {
            compile: CompileOptions {
                search: ModuleSearch::from_env(dirs),
                ..Default::default()
            },
            ..Default::default()
        };
        let stdout = io::stdout();
        let mut out = stdout.lock();
        let summary = match file {
            Some(f) => doi::jq::run_tests::run(
                io::BufReader::new(std::fs::File::open(f).unwrap()),
                &options,
                &mut out,
                &mut io::stderr(),
            ),
            None => {
                doi::jq::run_tests::run(io::stdin().lock(), &options, &mut out, &mut io::stderr())
            }
        }
        .unwrap();
        return Ok(if summary.success() { 0 } else { 1 });
    }
    let options = parse_arguments(arguments)?;
    let (code, main_path) = match (&options.filter_file, &options.filter) {
        (Some(path), _) => (
            std::fs::read_to_string(path).map_err(|error| {
                usage(format!(
                    "doi-jq: error: Could not open {}: {error}",
                    path.display()
                ))
            })?,
            ModulePath::MainFile(path.clone()),
        ),
        (None, Some(filter)) => (filter.clone(), ModulePath::Main),
        (None, None) => return Err(usage(USAGE)),
    };
    let compile_options = CompileOptions {
        search: ModuleSearch::from_env(options.search.clone()),
        named: options.named.clone(),
        positional: options.positional.clone(),
        main_path,
    };
    let program = Program::compile(&code, &compile_options).map_err(|error| Failure {
        code: EXIT_COMPILE,
        message: error.report(),
    })?;

    let input_bytes = read_inputs(&options.files)?;
    let input_error = std::cell::Cell::new(false);
    let values: Box<dyn Iterator<Item = Result<Val, String>>> = if options.raw_input {
        let text = String::from_utf8_lossy(&input_bytes).into_owned();
        if options.slurp {
            Box::new(std::iter::once(Ok(Val::from(text))))
        } else {
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            Box::new(lines.into_iter().map(|line| Ok(Val::from(line))))
        }
    } else if options.slurp {
        let all = parse_values(&input_bytes).collect::<Result<Vec<_>, _>>();
        Box::new(std::iter::once(
            all.map(|values| values.into_iter().collect()),
        ))
    } else {
        Box::new(parse_values(&input_bytes))
    };
    let values = values.inspect(|value| {
        if value.is_err() {
            input_error.set(true);
        }
    });
    let inputs = jq::input_stream(values);

    let print = print_options(&options);
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut buffer = Vec::with_capacity(1 << 16);
    let mut last_output: Option<bool> = None;
    let mut runtime_error = false;
    let halt_code: std::cell::Cell<Option<i32>> = std::cell::Cell::new(None);
    let broken_pipe = std::cell::Cell::new(false);

    let mut each_input = |input: Val, program: &Program| {
        program.run(&inputs, input, &mut |output| {
            match output {
                Ok(value) => {
                    last_output = Some(!matches!(value, Val::Null | Val::Bool(false)));
                    buffer.clear();
                    match (&value, options.raw_output) {
                        (Val::TStr(text) | Val::BStr(text), true) if !options.ascii => {
                            buffer.extend_from_slice(text)
                        }
                        _ => print::write(&mut buffer, &value, &print),
                    }
                    if !options.join_output {
                        buffer.push(b'\n');
                    }
                    if out.write_all(&buffer).is_err() {
                        broken_pipe.set(true);
                        return ControlFlow::Break(());
                    }
                }
                Err(RunError::Halt(code)) => halt_code.set(Some(code)),
                Err(error) => {
                    runtime_error = true;
                    let _ = out.flush();
                    eprintln!("doi-jq: error (at <input>): {}", error.message());
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
    };

    if options.null_input {
        each_input(Val::Null, &program);
    } else {
        while halt_code.get().is_none() && !broken_pipe.get() {
            let next = jq::next_input(&inputs);
            match next {
                None => break,
                Some(Ok(value)) => each_input(value, &program),
                Some(Err(error)) => {
                    let _ = out.flush();
                    eprintln!("doi-jq: error (at <input>): Cannot parse input: {error}");
                    let _ = out.flush();
                    return Err(Failure {
                        code: EXIT_USAGE,
                        message: String::new(),
                    });
                }
            }
        }
    }
    if out.flush().is_err() || broken_pipe.get() {
        return Ok(0);
    }
    if input_error.get() {
        return Ok(EXIT_USAGE);
    }
    if let Some(code) = halt_code.get() {
        return Ok(u8::try_from(code.rem_euclid(256)).unwrap_or(EXIT_RUNTIME));
    }
    if runtime_error {
        return Ok(EXIT_RUNTIME);
    }
    if options.exit_status {
        return Ok(match last_output {
            Some(true) => 0,
            Some(false) => 1,
            None => 4,
        });
    }
    Ok(0)
}

fn read_inputs(files: &[PathBuf]) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    if files.is_empty() {
        io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|error| usage(format!("doi-jq: error: cannot read stdin: {error}")))?;
        return Ok(bytes);
    }
    for file in files {
        let content = std::fs::read(file).map_err(|error| {
            usage(format!(
                "doi-jq: error: Could not open {}: {error}",
                file.display()
            ))
        })?;
        bytes.extend_from_slice(&content);
        // Values in consecutive files never run together.
        bytes.push(b'\n');
    }
    Ok(bytes)
}
