//! `doi-jq`'s command line, read as jq 1.7.1 reads its own.
//!
//! jq's command line is not clap-shaped (`-nr` bundles in any order,
//! `--arg NAME VALUE`, `--args` turning later positionals into values, `-f`
//! turning the first positional into a file name), so it is read here in
//! three phases: [`tokens`] splits the arguments into options and
//! positionals, [`Parser::apply`] gives each option its meaning (one table,
//! [`OPTIONS`], names every option once, long and short), and
//! [`Parser::finish`] settles what the positionals are.

use super::print::Indent;
use super::Val;
use std::path::PathBuf;

/// jq's exit status for usage errors.
pub const EXIT_USAGE: u8 = 2;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Help,
    Version,
    BuildConfiguration,
    /// `--run-tests [--skip N] [--take N] [FILE]`.
    RunTests {
        file: Option<PathBuf>,
        skip: usize,
        take: Option<usize>,
        search: Vec<PathBuf>,
    },
    Run(Box<Options>),
}

/// How jq lays its output out: `-c`, `--tab` and `--indent N` each change
/// some of these, in the order given (jq's `dumpopts` bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub pretty: bool,
    pub tab: bool,
    pub width: u8,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            pretty: true,
            tab: false,
            width: 2,
        }
    }
}

impl Layout {
    pub fn indent(&self) -> Indent {
        match (self.pretty, self.tab) {
            (false, _) => Indent::Spaces(0),
            (true, true) => Indent::Tab,
            (true, false) => Indent::Spaces(self.width),
        }
    }

    /// `--indent N`: -1 is tabs, 0 is compact.
    fn set_indent(&mut self, width: i32) {
        self.tab = width < 0;
        self.pretty = width != 0;
        self.width = u8::try_from(width.clamp(0, 7)).unwrap_or(2);
    }
}

/// The options of a run.
#[derive(Debug, Default)]
pub struct Options {
    pub null_input: bool,
    pub raw_input: bool,
    pub slurp: bool,
    pub raw_output: bool,
    pub raw_output0: bool,
    pub join_output: bool,
    pub ascii: bool,
    pub sort_keys: bool,
    /// `-C` (Some(true)) or `-M` (Some(false)); the last wins.
    pub color: Option<bool>,
    pub layout: Layout,
    pub unbuffered: bool,
    pub seq: bool,
    pub stream: bool,
    pub stream_errors: bool,
    pub exit_status: bool,
    /// The program text, or its file with `-f`.
    pub program: Program,
    pub files: Vec<PathBuf>,
    pub search: Vec<PathBuf>,
    pub named: Vec<(String, Val)>,
    pub positional: Vec<Val>,
}

#[derive(Debug, Default)]
pub enum Program {
    /// None given: jq runs `.`, or with `-f` reads it from the file `.`
    /// (which fails: a directory), unless both ends are terminals.
    #[default]
    Missing,
    MissingFile,
    Text(String),
    File(PathBuf),
}

/// A usage error: the message jq prints, and whether jq follows it with
/// its "Use jq --help" hint.
#[derive(Debug)]
pub struct UsageError {
    pub message: String,
    pub hint: bool,
}

/// The lines jq prints after a usage error.
pub fn hint(program: &str) -> String {
    format!(
        "Use {program} --help for help with command-line options,\nor see the jq manpage, or online docs  at https://jqlang.github.io/jq"
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Slurp,
    RawOutput,
    RawOutput0,
    JoinOutput,
    CompactOutput,
    ColorOutput,
    MonochromeOutput,
    AsciiOutput,
    Unbuffered,
    SortKeys,
    RawInput,
    NullInput,
    FromFile,
    Tab,
    Indent,
    Seq,
    Stream,
    StreamErrors,
    ExitStatus,
    Args,
    JsonArgs,
    Arg,
    ArgJson,
    SlurpFile,
    RawFile,
    Help,
    Version,
    BuildConfiguration,
    RunTests,
}

/// Every option once: short letter, long name, meaning (jq's order, which
/// is also the order a bundle like `-nr` is applied in).
const OPTIONS: &[(Option<char>, &str, Flag)] = &[
    (Some('s'), "slurp", Flag::Slurp),
    (Some('r'), "raw-output", Flag::RawOutput),
    (None, "raw-output0", Flag::RawOutput0),
    (Some('j'), "join-output", Flag::JoinOutput),
    (Some('c'), "compact-output", Flag::CompactOutput),
    (Some('C'), "color-output", Flag::ColorOutput),
    (Some('M'), "monochrome-output", Flag::MonochromeOutput),
    (Some('a'), "ascii-output", Flag::AsciiOutput),
    (None, "unbuffered", Flag::Unbuffered),
    (Some('S'), "sort-keys", Flag::SortKeys),
    (Some('R'), "raw-input", Flag::RawInput),
    (Some('n'), "null-input", Flag::NullInput),
    (Some('f'), "from-file", Flag::FromFile),
    (None, "tab", Flag::Tab),
    (None, "indent", Flag::Indent),
    (None, "seq", Flag::Seq),
    (None, "stream", Flag::Stream),
    (None, "stream-errors", Flag::StreamErrors),
    (Some('e'), "exit-status", Flag::ExitStatus),
    (None, "args", Flag::Args),
    (None, "jsonargs", Flag::JsonArgs),
    (None, "arg", Flag::Arg),
    (None, "argjson", Flag::ArgJson),
    (None, "slurpfile", Flag::SlurpFile),
    (None, "rawfile", Flag::RawFile),
    (Some('h'), "help", Flag::Help),
    (Some('V'), "version", Flag::Version),
    (None, "build-configuration", Flag::BuildConfiguration),
    (None, "run-tests", Flag::RunTests),
];

/// Phase 1: what one argument is.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Positional(String),
    /// `--`: everything after it is positional.
    EndOfOptions,
    /// `-L DIR` or `-LDIR` (`None` when the directory is the next argument).
    LibraryPath(Option<String>),
    /// The letters or long option found, and the argument when some of
    /// it is no option.
    Flags(Vec<Flag>, Option<String>),
    Unknown(String),
}

fn token(argument: &str, options_done: bool) -> Token {
    let bytes = argument.as_bytes();
    // jq: an option starts with `-` followed by `-` or a letter; `-`, `-1`
    // and `-.` are positionals (a file or a program).
    let is_option = !options_done
        && bytes.first() == Some(&b'-')
        && bytes
            .get(1)
            .is_some_and(|next| *next == b'-' || next.is_ascii_alphabetic());
    if !is_option {
        return Token::Positional(argument.to_string());
    }
    if argument == "--" {
        return Token::EndOfOptions;
    }
    if let Some(long) = argument.strip_prefix("--") {
        return match OPTIONS.iter().find(|(_, name, _)| *name == long) {
            Some((_, _, flag)) => Token::Flags(vec![*flag], None),
            None => Token::Unknown(argument.to_string()),
        };
    }
    if let Some(directory) = argument.strip_prefix("-L") {
        return Token::LibraryPath((!directory.is_empty()).then(|| directory.to_string()));
    }
    // jq counts each option letter found in the bundle once; anything left
    // over makes the whole argument unknown, once the letters found have
    // been applied (so `-hx` is help, as in jq).
    let letters = &argument[1..];
    let flags: Vec<Flag> = OPTIONS
        .iter()
        .filter(|(short, _, _)| short.is_some_and(|letter| letters.contains(letter)))
        .map(|(_, _, flag)| *flag)
        .collect();
    let unknown = (flags.len() != letters.chars().count()).then(|| argument.to_string());
    Token::Flags(flags, unknown)
}

/// How positionals after the program are taken (`--args`, `--jsonargs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Rest {
    #[default]
    Files,
    Strings,
    Json,
}

struct Parser {
    program_name: String,
    options: Options,
    rest: Rest,
    from_file: bool,
    program: Option<String>,
    positionals: Vec<String>,
}

/// Reads jq's command line (without the program name).
pub fn parse(program_name: &str, arguments: Vec<String>) -> Result<Command, UsageError> {
    let mut parser = Parser {
        program_name: program_name.to_string(),
        options: Options::default(),
        rest: Rest::Files,
        from_file: false,
        program: None,
        positionals: Vec::new(),
    };
    let mut arguments = arguments.into_iter();
    let mut options_done = false;
    while let Some(argument) = arguments.next() {
        match token(&argument, options_done) {
            Token::Positional(text) => parser.positional(text)?,
            Token::EndOfOptions => options_done = true,
            Token::LibraryPath(Some(directory)) => parser.options.search.push(directory.into()),
            Token::LibraryPath(None) => match arguments.next() {
                Some(directory) => parser.options.search.push(directory.into()),
                None => {
                    return Err(UsageError {
                        message: "-L takes a parameter: (e.g. -L /search/path or -L/search/path)"
                            .to_string(),
                        hint: true,
                    })
                }
            },
            Token::Unknown(text) => {
                return Err(parser.usage(format!("Unknown option {text}")));
            }
            Token::Flags(flags, unknown) => {
                for flag in flags {
                    if let Some(command) = parser.apply(flag, &mut arguments)? {
                        return Ok(command);
                    }
                }
                if let Some(text) = unknown {
                    return Err(parser.usage(format!("Unknown option {text}")));
                }
            }
        }
    }
    parser.finish()
}

impl Parser {
    fn usage(&self, message: String) -> UsageError {
        UsageError {
            message: format!("{}: {message}", self.program_name),
            hint: true,
        }
    }

    fn positional(&mut self, text: String) -> Result<(), UsageError> {
        if self.program.is_none() {
            self.program = Some(text);
            return Ok(());
        }
        match self.rest {
            Rest::Files => self.positionals.push(text),
            Rest::Strings => self.options.positional.push(Val::from(text)),
            Rest::Json => {
                let value = super::read::parse_single(text.as_bytes())
                    .map_err(|_| self.usage("invalid JSON text passed to --jsonargs".into()))?;
                self.options.positional.push(value);
            }
        }
        Ok(())
    }

    /// Phase 2: one option's meaning. Options that end the command line
    /// (`--help`, `--run-tests`) return what to do.
    fn apply(
        &mut self,
        flag: Flag,
        arguments: &mut std::vec::IntoIter<String>,
    ) -> Result<Option<Command>, UsageError> {
        let options = &mut self.options;
        match flag {
            Flag::Slurp => options.slurp = true,
            Flag::RawOutput => options.raw_output = true,
            Flag::RawOutput0 => {
                options.raw_output = true;
                options.raw_output0 = true;
            }
            Flag::JoinOutput => {
                options.raw_output = true;
                options.join_output = true;
            }
            Flag::CompactOutput => {
                options.layout.pretty = false;
                options.layout.tab = false;
            }
            Flag::ColorOutput => options.color = Some(true),
            Flag::MonochromeOutput => options.color = Some(false),
            Flag::AsciiOutput => options.ascii = true,
            Flag::Unbuffered => options.unbuffered = true,
            Flag::SortKeys => options.sort_keys = true,
            Flag::RawInput => options.raw_input = true,
            Flag::NullInput => options.null_input = true,
            Flag::FromFile => self.from_file = true,
            Flag::Tab => {
                options.layout.tab = true;
                options.layout.pretty = true;
            }
            Flag::Indent => {
                let Some(text) = arguments.next() else {
                    return Err(self.usage("--indent takes one parameter".into()));
                };
                let width = leading_integer(&text);
                if !(-1..=7).contains(&width) {
                    return Err(self.usage("--indent takes a number between -1 and 7".into()));
                }
                self.options.layout.set_indent(width as i32);
            }
            Flag::Seq => options.seq = true,
            Flag::Stream => options.stream = true,
            Flag::StreamErrors => {
                options.stream = true;
                options.stream_errors = true;
            }
            Flag::ExitStatus => options.exit_status = true,
            Flag::Args => self.rest = Rest::Strings,
            Flag::JsonArgs => self.rest = Rest::Json,
            Flag::Arg | Flag::ArgJson | Flag::SlurpFile | Flag::RawFile => {
                self.named_value(flag, arguments)?
            }
            Flag::Help => return Ok(Some(Command::Help)),
            Flag::Version => return Ok(Some(Command::Version)),
            Flag::BuildConfiguration => return Ok(Some(Command::BuildConfiguration)),
            Flag::RunTests => return self.run_tests(arguments).map(Some),
        }
        Ok(None)
    }

    /// `--arg`, `--argjson`, `--slurpfile`, `--rawfile`: the first binding
    /// of a name wins, as in jq.
    fn named_value(
        &mut self,
        flag: Flag,
        arguments: &mut std::vec::IntoIter<String>,
    ) -> Result<(), UsageError> {
        let (option, example) = match flag {
            Flag::Arg => ("arg", "--arg varname value"),
            Flag::ArgJson => ("argjson", "--argjson varname text"),
            Flag::SlurpFile => ("slurpfile", "--slurpfile varname filename"),
            _ => ("rawfile", "--rawfile varname filename"),
        };
        let (Some(name), Some(text)) = (arguments.next(), arguments.next()) else {
            return Err(self.usage(format!("--{option} takes two parameters (e.g. {example})")));
        };
        let value = match flag {
            Flag::Arg => Val::from(text),
            Flag::ArgJson => super::read::parse_single(text.as_bytes())
                .map_err(|_| self.usage("invalid JSON text passed to --argjson".into()))?,
            _ => {
                let bytes = std::fs::read(&text).map_err(|error| UsageError {
                    message: format!(
                        "{}: Bad JSON in --{option} {name} {text}: Could not open {text}: {}",
                        self.program_name,
                        io_reason(&error)
                    ),
                    hint: false,
                })?;
                if flag == Flag::RawFile {
                    Val::from(String::from_utf8_lossy(&bytes).into_owned())
                } else {
                    super::read::parse_many(&bytes)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|error| UsageError {
                            message: format!(
                                "{}: Bad JSON in --{option} {name} {text}: {error}",
                                self.program_name
                            ),
                            hint: true,
                        })?
                        .into_iter()
                        .collect()
                }
            }
        };
        if !self.options.named.iter().any(|(known, _)| *known == name) {
            self.options.named.push((name, value));
        }
        Ok(())
    }

    fn run_tests(
        &mut self,
        arguments: &mut std::vec::IntoIter<String>,
    ) -> Result<Command, UsageError> {
        let (mut skip, mut take, mut file) = (0, None, None);
        while let Some(argument) = arguments.next() {
            let count = |value: Option<String>| {
                value
                    .and_then(|text| text.parse::<usize>().ok())
                    .ok_or_else(|| self.usage(format!("{argument} takes a number")))
            };
            match argument.as_str() {
                "--skip" => skip = count(arguments.next())?,
                "--take" => take = Some(count(arguments.next())?),
                _ => file = Some(PathBuf::from(argument)),
            }
        }
        Ok(Command::RunTests {
            file,
            skip,
            take,
            search: std::mem::take(&mut self.options.search),
        })
    }

    /// Phase 3: with `-f` the first positional names the program's file
    /// (and the rest are inputs); without a program, jq reads `.` unless
    /// both stdin and stdout are terminals.
    fn finish(mut self) -> Result<Command, UsageError> {
        self.options.program = match (self.program, self.from_file) {
            (Some(file), true) => Program::File(PathBuf::from(file)),
            (Some(text), false) => Program::Text(text),
            (None, false) => Program::Missing,
            (None, true) => Program::MissingFile,
        };
        self.options.files = self.positionals.into_iter().map(PathBuf::from).collect();
        Ok(Command::Run(Box::new(self.options)))
    }
}

/// C's `atoi`: the leading integer of `text`, 0 when there is none.
fn leading_integer(text: &str) -> i64 {
    let trimmed = text.trim_start();
    let (sign, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    sign * digits.parse::<i64>().unwrap_or(0).min(1 << 31)
}

/// An I/O error as C's `strerror` words it (what jq prints).
pub fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "It's a directory".to_string(),
        _ => {
            let text = error.to_string();
            text.split(" (os error").next().unwrap_or(&text).to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(arguments: &[&str]) -> Options {
        match parse("doi-jq", arguments.iter().map(|a| a.to_string()).collect()) {
            Ok(Command::Run(options)) => *options,
            other => panic!("{arguments:?}: {other:?}"),
        }
    }

    #[test]
    fn bundles_and_positionals_read_as_in_jq() {
        let options = run(&["-nrc", "--arg", "x", "1", "--arg", "x", "2", ".", "a"]);
        assert!(options.null_input && options.raw_output && !options.layout.pretty);
        assert_eq!(options.named.len(), 1, "the first --arg x wins");
        assert!(matches!(options.program, Program::Text(ref text) if text == "."));
        assert_eq!(options.files, vec![PathBuf::from("a")]);
        let options = run(&["-n", "-f", "prog.jq", "in.json"]);
        assert!(matches!(options.program, Program::File(_)));
        assert_eq!(options.files.len(), 1);
        let options = run(&["-n", "--", "-1"]);
        assert!(matches!(options.program, Program::Text(ref text) if text == "-1"));
        let options = run(&["--args", "$ARGS", "a", "b"]);
        assert_eq!(options.positional.len(), 2);
    }

    #[test]
    fn layout_flags_override_in_order() {
        assert_eq!(run(&["-c", "--tab"]).layout.indent(), Indent::Tab);
        assert_eq!(run(&["--tab", "-c"]).layout.indent(), Indent::Spaces(0));
        assert_eq!(
            run(&["-c", "--indent", "3"]).layout.indent(),
            Indent::Spaces(3)
        );
        assert_eq!(run(&["--indent", "0"]).layout.indent(), Indent::Spaces(0));
        assert_eq!(run(&["--indent", "-1"]).layout.indent(), Indent::Tab);
        assert_eq!(
            run(&["--tab", "--indent", "1"]).layout.indent(),
            Indent::Spaces(1)
        );
    }

    #[test]
    fn unknown_options_are_usage_errors() {
        for arguments in [
            &["--bogus"][..],
            &["-nQ"],
            &["-nn"],
            &["--indent"],
            &["--arg", "x"],
        ] {
            let outcome = parse("doi-jq", arguments.iter().map(|a| a.to_string()).collect());
            assert!(outcome.is_err(), "{arguments:?}");
        }
    }
}
