//! The filter engine: jq 1.7 semantics on top of jaq.
//!
//! jaq parses and evaluates jq programs, but it is not jq: it lacks some
//! builtins, updates and orders values by other rules, and prints numbers
//! its own way. Everything that makes it behave like jq lives here: the
//! value type with jq's update and arithmetic rules (`value`), the builtins
//! (`compat`), the reader that keeps number literals ([`read`]), module
//! lookup ([`modules`]), one entry point that parses, loads and compiles
//! ([`Program::compile`]), and the printer that reproduces jq's bytes
//! ([`mod@print`]).

mod alternatives;
mod builtins;
mod compat;
pub mod modules;
pub mod print;
pub mod read;
pub mod run_tests;
mod value;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Ctx, DataT, Vars};
pub use jaq_json::Val;
use jaq_std::input::{HasInputs, Inputs, RcIter};
pub use modules::{ModulePath, ModuleSearch};
use std::fmt;
pub use value::type_name;
use value::Value;

/// Marker type telling jaq which values and global data our filters use.
pub struct Data;

impl DataT for Data {
    type V<'a> = Value;
    type Data<'a> = &'a Globals<'a>;
}

/// What a running filter can reach besides its input: the compiled lookup
/// table and the remaining inputs (for jq's `input`/`inputs`).
pub struct Globals<'a> {
    lut: &'a jaq_core::Lut<Data>,
    inputs: Inputs<'a, Value>,
}

impl<'a> jaq_core::data::HasLut<'a, Data> for &'a Globals<'a> {
    fn lut(&self) -> &'a jaq_core::Lut<Data> {
        self.lut
    }
}

impl<'a> HasInputs<'a, Value> for &'a Globals<'a> {
    fn inputs(&self) -> Inputs<'a, Value> {
        self.inputs
    }
}

/// The stream of remaining inputs a program may pull with `input`/`inputs`.
pub type InputStream<'a> = RcIter<Box<dyn Iterator<Item = Result<Value, String>> + 'a>>;

/// Wraps any iterator of inputs for [`Program::run`].
pub fn input_stream<'a>(inputs: impl Iterator<Item = Result<Val, String>> + 'a) -> InputStream<'a> {
    RcIter::new(Box::new(inputs.map(|input| input.map(Value))))
}

/// Takes the next input off the stream (what jq's main loop does between
/// runs of the program).
pub fn next_input(mut inputs: &InputStream<'_>) -> Option<Result<Val, String>> {
    inputs.next().map(|input| input.map(|value| value.0))
}

/// Inputs for programs that must not read any (`jq -n` with no stdin).
pub fn no_inputs<'a>() -> InputStream<'a> {
    RcIter::new(Box::new(std::iter::empty()))
}

/// Everything a program is compiled with besides its code.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Where modules are found.
    pub search: ModuleSearch,
    /// `--arg`/`--argjson`/`--slurpfile`/`--rawfile` values, as `$name`.
    pub named: Vec<(String, Val)>,
    /// `--args`/`--jsonargs` values, in `$ARGS.positional`.
    pub positional: Vec<Val>,
    /// How the main program is named in errors and `$__loc__`.
    pub main_path: ModulePath,
}

/// A parse, module or compile error: jq exits 3 for these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// Each problem as jq words it after `jq: error: `, ending in its
    /// place (`... at <top-level>, line 1:`).
    pub problems: Vec<String>,
}

impl CompileError {
    fn new(problems: Vec<String>) -> Self {
        Self { problems }
    }

    /// What jq's test mode compares with a `%%FAIL` block's message.
    pub fn first_line(&self) -> String {
        let first = self.problems.first().map_or("", String::as_str);
        format!("jq: error: {}", first.lines().next().unwrap_or(""))
    }

    /// jq's report on stderr: one `jq: error: ` line per problem, then
    /// the count.
    pub fn report(&self) -> String {
        let mut text = String::new();
        for problem in &self.problems {
            text.push_str("jq: error: ");
            text.push_str(problem);
            text.push('\n');
        }
        let count = self.problems.len();
        let plural = if count == 1 { "" } else { "s" };
        text.push_str(&format!("jq: {count} compile error{plural}"));
        text
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("; "))
    }
}

impl std::error::Error for CompileError {}

/// Why a filter stopped producing values.
#[derive(Debug, Clone)]
pub enum RunError {
    /// `error(v)` or a failing builtin; jq exits 5.
    Error(Val),
    /// `halt` or `halt_error`: stop with this exit code (any message was
    /// already written to stderr, as jq does).
    Halt(i32),
}

impl RunError {
    /// The one-line message jq prints after `jq: error (at ...): `.
    pub fn message(&self) -> String {
        match self {
            Self::Error(value) => error_message(value),
            Self::Halt(code) => format!("halted with exit code {code}"),
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for RunError {}

/// jq prints a string error as is and any other error value as JSON with
/// "(not a string)" after it.
pub(crate) fn error_message(value: &Val) -> String {
    match value {
        Val::TStr(bytes) | Val::BStr(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => {
            let text = print::to_vec(other, &print::PrintOptions::compact());
            format!("{} (not a string)", String::from_utf8_lossy(&text))
        }
    }
}

/// jq syntax jaq's parser lacks (`$__loc__`, `?//`), rewritten into what it
/// means. Locations go first: the alternatives rewrite copies text.
fn rewrite_source<'c>(code: &'c str, path: &ModulePath) -> std::borrow::Cow<'c, str> {
    match compat::rewrite_locations(code, &path.to_string()) {
        std::borrow::Cow::Borrowed(code) => alternatives::rewrite(code),
        std::borrow::Cow::Owned(code) => {
            std::borrow::Cow::Owned(alternatives::rewrite(&code).into_owned())
        }
    }
}

/// A compiled jq program, reusable for any number of inputs.
pub struct Program {
    filter: jaq_core::Filter<Data>,
    /// Values of the global variables, in the order the compiler was told.
    globals: Vec<Val>,
}

impl Program {
    /// Parses `code`, loads the modules it includes or imports, and
    /// compiles it with our jq-compatible builtins.
    pub fn compile(code: &str, options: &CompileOptions) -> Result<Self, CompileError> {
        let arena = Arena::default();
        let search = options.search.clone();
        let loader = Loader::new(compat::defs()).with_read(
            move |import: jaq_core::load::Import<&str, ModulePath>| {
                let mut file = search.find(&import, "jq")?;
                file.code = rewrite_source(&file.code, &file.path).into_owned();
                Ok(file)
            },
        );
        let main_code = rewrite_source(code, &options.main_path);
        let file = File {
            code: &*main_code,
            path: options.main_path.clone(),
        };
        let modules = loader
            .load(&arena, file)
            .map_err(|errors| CompileError::new(compat::describe_load_errors(&errors)))?;

        let mut data_imports = Vec::new();
        jaq_core::load::import(&modules, |import| {
            let file = options.search.find(&import, "json")?;
            let values = read::parse_many(file.code.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| format!("{}: {error}", file.path))?;
            data_imports.push(values.into_iter().collect::<Val>());
            Ok(())
        })
        .map_err(|errors| CompileError::new(compat::describe_load_errors(&errors)))?;

        let (names, mut globals) = compat::global_variables(options);
        let filter = jaq_core::Compiler::default()
            .with_funs(compat::funs())
            .with_global_vars(names.iter().map(String::as_str))
            .compile(modules)
            .map_err(|errors| CompileError::new(compat::describe_compile_errors(&errors)))?;
        // jaq binds imported data variables before the global ones.
        data_imports.append(&mut globals);
        Ok(Self {
            filter,
            globals: data_imports,
        })
    }

    /// Runs the program on one input. `inputs` is what `input`/`inputs`
    /// read from; pass [`no_inputs`] when there is nothing more.
    pub fn run<'i>(
        &self,
        inputs: &InputStream<'i>,
        input: Val,
        each: &mut dyn FnMut(Result<Val, RunError>) -> std::ops::ControlFlow<()>,
    ) {
        let globals = Globals {
            lut: &self.filter.lut,
            inputs: inputs as Inputs<'_, Value>,
        };
        let ctx = Ctx::<Data>::new(&globals, Vars::new(self.globals.iter().cloned().map(Value)));
        for output in self.filter.id.run((ctx, Value(input))) {
            let output =
                output
                    .map(|value| value.0)
                    .map_err(|exception| match exception.get_halt() {
                        Ok(code) => RunError::Halt(code),
                        Err(exception) => match exception.get_err() {
                            Ok(error) => RunError::Error(error.into_val().0),
                            Err(_) => RunError::Error(Val::from(
                                "internal control flow escaped".to_string(),
                            )),
                        },
                    });
            let halted = matches!(output, Err(RunError::Halt(_)));
            if each(output).is_break() || halted {
                break;
            }
        }
    }

    /// Runs the program on one input and collects every output (stopping
    /// at the first error).
    pub fn run_collect(&self, input: Val) -> Result<Vec<Val>, RunError> {
        let inputs = no_inputs();
        let mut outputs = Vec::new();
        let mut failure = None;
        self.run(&inputs, input, &mut |output| match output {
            Ok(value) => {
                outputs.push(value);
                std::ops::ControlFlow::Continue(())
            }
            Err(error) => {
                failure = Some(error);
                std::ops::ControlFlow::Break(())
            }
        });
        match failure {
            Some(error) => Err(error),
            None => Ok(outputs),
        }
    }
}
