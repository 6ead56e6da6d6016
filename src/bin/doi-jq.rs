//! `doi-jq`: jq over our embedded modules, with jq 1.7.1's options, output
//! bytes, messages and exit codes, so users can run (and snapshot-test)
//! their own jq against the library exactly as the tool runs it.
//!
//! The phases: the command line ([`doi::jq::cli`]), the program
//! (compiled once), the inputs ([`doi::jq::inputs`]), then each input run
//! and its outputs printed, and jq's exit status from what happened.

use doi::jq::cli::{self, Command, Options, UsageError};
use doi::jq::color::Colors;
use doi::jq::inputs::{InputMode, Sources};
use doi::jq::print::{self, PrintOptions};
use doi::jq::{CompileOptions, InputPlace, InputStream, ModulePath, ModuleSearch, Program};
use doi::jq::{RunError, Val};
use std::cell::RefCell;
use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::rc::Rc;

/// `eprintln!`/`println!` without their panic when the stream is closed
/// (jq exits quietly when its output goes away).
macro_rules! stderr_line {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($argument)*);
    }};
}

macro_rules! stdout_line {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($argument)*);
    }};
}

const NAME: &str = "doi-jq";

/// jq's exit statuses.
const EXIT_COMPILE: u8 = 3;
const EXIT_RUNTIME: u8 = 5;

const USAGE: &str = "Usage:\tdoi-jq [options] <jq filter> [file...]
\tdoi-jq [options] --args <jq filter> [strings...]
\tdoi-jq [options] --jsonargs <jq filter> [JSON_TEXTS...]";

fn help() -> String {
    format!(
        "doi-jq - jq 1.7.1's command line over the doi library's jq engine [version {}]

{USAGE}

doi-jq reads and writes what jq 1.7.1 does, with the same options, messages
and exit codes. include/import find modules in -L directories, then in
$BASHBREW_META_SCRIPTS when set, else in the modules built into doi-jq.

Command options:
  -n, --null-input          use `null` as the single input value;
  -R, --raw-input           read each line as string instead of JSON;
  -s, --slurp               read all inputs into an array and use it as
                            the single input value;
  -c, --compact-output      compact instead of pretty-printed output;
  -r, --raw-output          output strings without escapes and quotes;
      --raw-output0         implies -r and output NUL after each output;
  -j, --join-output         implies -r and output without newline after
                            each output;
  -a, --ascii-output        output strings by only ASCII characters
                            using escape sequences;
  -S, --sort-keys           sort keys of each object on output;
  -C, --color-output        colorize JSON output;
  -M, --monochrome-output   disable colored output;
      --tab                 use tabs for indentation;
      --indent n            use n spaces for indentation (max 7 spaces);
      --unbuffered          flush output stream after each output;
      --stream              parse the input value in streaming fashion;
      --stream-errors       implies --stream and report parse error as
                            an array;
      --seq                 parse input/output as application/json-seq;
  -f, --from-file file      load filter from the file;
  -L directory              search modules from the directory;
      --arg name value      set $name to the string value;
      --argjson name value  set $name to the JSON value;
      --slurpfile name file set $name to an array of JSON values read
                            from the file;
      --rawfile name file   set $name to string contents of file;
      --args                consume remaining arguments as positional
                            string values;
      --jsonargs            consume remaining arguments as positional
                            JSON values;
  -e, --exit-status         set exit status code based on the output;
  -V, --version             show the version;
  --build-configuration     show jq's build configuration;
      --run-tests [file]    run jq-format tests (jq's tests/*.test);
  -h, --help                show the help;
  --                        terminates argument processing;

Named arguments are also available as $ARGS.named[], while
positional arguments are available as $ARGS.positional[].",
        env!("CARGO_PKG_VERSION")
    )
}

/// Why the command stops early, with jq's exit status and stderr text.
struct Failure {
    code: u8,
    message: String,
}

impl From<UsageError> for Failure {
    fn from(error: UsageError) -> Self {
        let mut message = error.message;
        if error.hint {
            message.push('\n');
            message.push_str(&cli::hint(NAME));
        }
        Self {
            code: cli::EXIT_USAGE,
            message,
        }
    }
}

/// The allocator every binary uses, and why: see the file.
#[path = "shared/allocator.rs"]
mod allocator;

/// Freed pages go back at once (see the allocator file), and transparent
/// huge pages are off for this process, before the allocator first maps
/// memory: mimalloc asks for them (MADV_HUGEPAGE), which made
/// every run's resident memory a multiple of 2 MiB (14 MiB for `-n 1`,
/// against jq's 4) and its system time erratic (zeroing 2 MiB pages),
/// for no measured gain on large documents.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static MEMORY_OPTIONS: extern "C" fn() = {
    extern "C" {
        fn prctl(option: std::ffi::c_int, ...) -> std::ffi::c_int;
    }
    extern "C" fn set() {
        allocator::return_freed_pages_at_once();
        const PR_SET_THP_DISABLE: std::ffi::c_int = 41;
        // SAFETY: prctl with this option only sets a flag of the process.
        unsafe {
            prctl(
                PR_SET_THP_DISABLE,
                1 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
            )
        };
    }
    set
};

fn main() -> ExitCode {
    // jq takes its arguments as bytes; text that is not UTF-8 becomes
    // U+FFFD, as jq's strings do, instead of a panic.
    let arguments = std::env::args_os()
        .skip(1)
        .map(|argument| argument.to_string_lossy().into_owned())
        .collect();
    match run(arguments) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            if !failure.message.is_empty() {
                stderr_line!("{}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

fn run(arguments: Vec<String>) -> Result<u8, Failure> {
    match cli::parse(NAME, arguments)? {
        Command::Help => {
            stdout_line!("{}", help());
            Ok(0)
        }
        // jq prints `jq-1.7.1`; doi-jq names itself the same way, so
        // scripts that parse `NAME-VERSION` keep working and a bug report
        // says which tool it was.
        Command::Version => {
            stdout_line!("{NAME}-{}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Command::BuildConfiguration => {
            stdout_line!("rust jaq-core jq-1.7.1-compatible");
            Ok(0)
        }
        Command::RunTests {
            file,
            skip,
            take,
            search,
        } => run_tests(file, skip, take, search),
        // One large stack for every run of the program, rather than a
        // fresh one (mmap, guard page, munmap) for each input.
        Command::Run(options) => doi::jq::on_large_stack(|| run_program(*options)),
    }
}

fn run_tests(
    file: Option<std::path::PathBuf>,
    skip: usize,
    take: Option<usize>,
    search: Vec<std::path::PathBuf>,
) -> Result<u8, Failure> {
    use doi::jq::run_tests::{self, TestOptions};
    let options = TestOptions {
        compile: CompileOptions {
            search: ModuleSearch::from_env(search),
            ..CompileOptions::default()
        },
        skip,
        take,
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut errors = io::stderr();
    let summary = match file {
        Some(path) => {
            // jq says only this, and exits 1 as for a failed test.
            let file = std::fs::File::open(&path).map_err(|error| Failure {
                code: 1,
                message: format!("fopen: {}", cli::io_reason(&error)),
            })?;
            run_tests::run(io::BufReader::new(file), &options, &mut out, &mut errors)
        }
        None => run_tests::run(io::stdin().lock(), &options, &mut out, &mut errors),
    };
    let summary = summary.map_err(|error| Failure {
        code: cli::EXIT_USAGE,
        message: format!("{NAME}: error: {error}"),
    })?;
    Ok(if summary.success() { 0 } else { 1 })
}

/// jq's statuses of one input's run (`ret` in jq's main loop).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Outputs, the last one neither false nor null.
    Ok,
    /// The last output was false or null.
    NullKind,
    NoOutput,
    Exit(u8),
}

fn run_program(mut options: Options) -> Result<u8, Failure> {
    if matches!(
        options.program,
        cli::Program::Missing | cli::Program::MissingFile
    ) {
        // jq reads `.` unless both ends are terminals.
        if io::stdin().is_terminal() && io::stdout().is_terminal() {
            return Err(Failure {
                code: cli::EXIT_USAGE,
                message: format!("{USAGE}\n{}", cli::hint(NAME)),
            });
        }
        options.program = match options.program {
            cli::Program::MissingFile => cli::Program::File(".".into()),
            _ => cli::Program::Text(".".to_string()),
        };
    }
    let (code, main_path) = match &options.program {
        cli::Program::File(path) => (
            std::fs::read_to_string(path).map_err(|error| Failure {
                code: cli::EXIT_USAGE,
                message: format!(
                    "{NAME}: Could not open {}: {}",
                    path.display(),
                    cli::io_reason(&error)
                ),
            })?,
            ModulePath::MainFile(path.clone()),
        ),
        cli::Program::Text(text) => (text.clone(), ModulePath::Main),
        cli::Program::Missing | cli::Program::MissingFile => {
            unreachable!("a missing program became `.`")
        }
    };
    let program = Program::compile(
        &code,
        &CompileOptions {
            search: ModuleSearch::from_env(options.search.clone()),
            named: std::mem::take(&mut options.named),
            positional: std::mem::take(&mut options.positional),
            main_path,
        },
    )
    .map_err(|error| Failure {
        code: EXIT_COMPILE,
        message: error.report(),
    })?;

    let open_errors = Rc::new(std::cell::Cell::new(0));
    let place = Rc::new(RefCell::new(InputPlace::default()));
    let mode = InputMode {
        raw: options.raw_input,
        slurp: options.slurp,
        seq: options.seq,
        stream: options.stream,
        stream_errors: options.stream_errors,
    };
    let files = std::mem::take(&mut options.files);
    let values = Sources::lazy(files, mode, place.clone(), open_errors.clone());
    let inputs = InputStream::new(values, place);

    let mut printer = Printer::new(&options);
    let mut ret = Outcome::NoOutput;
    let mut last_result: Option<bool> = None;
    if options.null_input {
        ret = printer.process(&program, &inputs, Val::Null);
    } else {
        // jq's main loop asks for the next input only while no file has
        // failed to open or read: the value in hand when one fails is
        // the last it runs (`input` and `inputs` read on regardless).
        while open_errors.get() == 0 {
            let Some(next) = inputs.next_input() else {
                break;
            };
            match next {
                Ok(value) => {
                    ret = printer.process(&program, &inputs, value);
                    match ret {
                        Outcome::Ok => last_result = Some(true),
                        Outcome::NullKind => last_result = Some(false),
                        _ => {}
                    }
                    if printer.halted || printer.broken_pipe {
                        break;
                    }
                }
                Err(message) => {
                    // Like jq, the message is not held back until the
                    // outputs before it are flushed (stdout is buffered).
                    if options.seq {
                        stderr_line!("jq: ignoring parse error: {message}");
                        continue;
                    }
                    stderr_line!("jq: parse error: {message}");
                    ret = Outcome::Exit(EXIT_RUNTIME);
                    break;
                }
            }
        }
    }
    printer.flush();
    if open_errors.get() > 0 {
        ret = Outcome::Exit(cli::EXIT_USAGE);
    }
    Ok(match (options.exit_status, ret) {
        (_, Outcome::Exit(code)) => code,
        (false, _) => 0,
        (true, Outcome::Ok) => 0,
        (true, Outcome::NullKind) => 1,
        (true, Outcome::NoOutput) => match last_result {
            None => 4,
            Some(false) => 1,
            Some(true) => 0,
        },
    })
}

/// Writes outputs as jq does, and keeps what jq's `process` returns.
struct Printer {
    out: io::BufWriter<io::Stdout>,
    buffer: Vec<u8>,
    print: PrintOptions,
    colors: Option<Colors>,
    raw: bool,
    raw0: bool,
    ascii: bool,
    newline: bool,
    seq: bool,
    unbuffered: bool,
    halted: bool,
    broken_pipe: bool,
}

impl Printer {
    fn new(options: &Options) -> Self {
        let color = options.color.unwrap_or_else(|| {
            io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        });
        let colors = color.then(|| match std::env::var("JQ_COLORS") {
            Ok(spec) => Colors::from_spec(&spec).unwrap_or_else(|| {
                stderr_line!("Failed to set $JQ_COLORS");
                Colors::default()
            }),
            Err(_) => Colors::default(),
        });
        Self {
            out: io::BufWriter::with_capacity(1 << 16, io::stdout()),
            buffer: Vec::with_capacity(1 << 16),
            print: PrintOptions {
                indent: options.layout.indent(),
                sort_keys: options.sort_keys,
                ascii: options.ascii,
            },
            colors,
            raw: options.raw_output,
            raw0: options.raw_output0,
            ascii: options.ascii,
            newline: !options.join_output && !options.raw_output0,
            seq: options.seq,
            // On a terminal jq's stdout is line-buffered: each output
            // shows as it is made.
            unbuffered: options.unbuffered || io::stdout().is_terminal(),
            halted: false,
            broken_pipe: false,
        }
    }

    fn flush(&mut self) {
        if self.out.flush().is_err() {
            self.broken_pipe = true;
        }
    }

    /// One output: raw strings, or JSON (in colour), then the separator.
    /// `Err` for a string --raw-output0 cannot print.
    fn print(&mut self, value: &Val) -> Result<(), &'static str> {
        self.buffer.clear();
        match value {
            Val::TStr(text) | Val::BStr(text) if self.raw => {
                if self.ascii {
                    print::write(
                        &mut self.buffer,
                        value,
                        &PrintOptions {
                            ascii: true,
                            ..PrintOptions::compact()
                        },
                    );
                } else if self.raw0 && text.contains(&0) {
                    return Err("Cannot dump a string containing NUL with --raw-output0 option");
                } else if self.out.write_all(text).is_err() {
                    self.broken_pipe = true;
                    return Ok(());
                }
            }
            _ => {
                if self.seq {
                    self.buffer.push(0x1e);
                }
                match &self.colors {
                    Some(colors) => {
                        doi::jq::color::write(&mut self.buffer, value, &self.print, colors)
                    }
                    // Streamed as it is printed: a large value's text is
                    // never held whole (jq streams too).
                    None => {
                        let written = self
                            .out
                            .write_all(&self.buffer)
                            .and_then(|()| print::write_to(&mut self.out, value, &self.print));
                        self.buffer.clear();
                        if written.is_err() {
                            self.broken_pipe = true;
                            return Ok(());
                        }
                    }
                }
            }
        }
        if self.newline {
            self.buffer.push(b'\n');
        }
        if self.raw0 {
            self.buffer.push(0);
        }
        if self.out.write_all(&self.buffer).is_err() {
            self.broken_pipe = true;
        }
        if self.unbuffered {
            self.flush();
        }
        Ok(())
    }

    /// Runs the program on one input (jq's `process`).
    fn process(&mut self, program: &Program, inputs: &InputStream<'_>, input: Val) -> Outcome {
        let mut ret = Outcome::NoOutput;
        let mut failure: Option<String> = None;
        program.run(inputs, input, &mut |output| {
            match output {
                Ok(value) => {
                    let raw_string = self.raw && matches!(value, Val::TStr(_) | Val::BStr(_));
                    if let Err(message) = self.print(&value) {
                        failure = Some(message.to_string());
                        return ControlFlow::Break(());
                    }
                    ret = if raw_string || !matches!(value, Val::Null | Val::Bool(false)) {
                        Outcome::Ok
                    } else {
                        Outcome::NullKind
                    };
                    if self.broken_pipe {
                        return ControlFlow::Break(());
                    }
                }
                Err(RunError::Halt(code)) => {
                    self.halted = true;
                    // jq 1.7.1 exits 0 for a negative code (so for
                    // `halt_error(nan)`, whose code is C's INT_MIN), and
                    // the low byte of any other.
                    ret = Outcome::Exit(if code < 0 { 0 } else { (code & 0xFF) as u8 });
                }
                Err(RunError::Error(value)) => {
                    failure = Some(match &value {
                        // jq prints the message as a C string: up to a NUL.
                        Val::TStr(text) | Val::BStr(text) => {
                            let text = text.split(|&byte| byte == 0).next().unwrap_or_default();
                            format!("): {}", String::from_utf8_lossy(text))
                        }
                        other => format!(
                            ") (not a string): {}",
                            String::from_utf8_lossy(&print::to_vec(
                                other,
                                &PrintOptions::compact()
                            ))
                        ),
                    });
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        if let Some(message) = failure {
            let place = inputs.place();
            if message.starts_with(')') {
                stderr_line!("jq: error (at {place}{message}");
            } else {
                stderr_line!("jq: error (at {place}): {message}");
            }
            return Outcome::Exit(EXIT_RUNTIME);
        }
        ret
    }
}
