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
pub mod cli;
pub mod color;
mod compat;
mod conditions;
mod depth;
mod header;
pub mod inputs;
mod lexemes;
mod math;
pub(crate) mod modules;
mod object_values;
mod order;
mod path_expr;
mod precedence;
mod prelude;
pub mod print;
pub mod read;
mod regex;
pub mod run_tests;
mod scope;
mod select_update;
mod seq;
mod time;
mod tree;
mod unparse;
mod update;
pub mod val;
mod value;
mod visible;
mod zone;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Ctx, DataT, Vars};
use jaq_std::input::{HasInputs, Inputs, RcIter};
pub use modules::{ModulePath, ModuleSearch};
use std::fmt;
pub use val::{Map, Val};
pub use value::type_name;
use value::Value;

/// Marker type telling jaq which values and global data our filters use.
pub struct Data;

impl DataT for Data {
    type V<'a> = Value;
    type Data<'a> = &'a Globals<'a>;
}

/// What a running filter can reach besides its input: the compiled lookup
/// table, the remaining inputs (for jq's `input`/`inputs`) and where the
/// last input came from (`input_filename`, `input_line_number`).
pub struct Globals<'a> {
    lut: &'a jaq_core::Lut<Data>,
    inputs: Inputs<'a, Value>,
    place: &'a std::cell::RefCell<InputPlace>,
    /// Where `modulemeta` finds modules.
    search: &'a ModuleSearch,
}

impl Globals<'_> {
    /// jq's `modulemeta` of the module named `name`.
    fn module_meta(&self, name: &str) -> Result<Val, String> {
        let meta = None;
        let import = jaq_core::load::Import {
            parent: &ModulePath::Main,
            path: &name,
            meta: &meta,
        };
        let file = self.search.find(&import, "jq")?;
        let code = rewrite_source(&file.code, &file.path);
        match header::read(&code) {
            Ok(Some(module_header)) => Ok(header::module_meta(&module_header)),
            Ok(None) => Err(format!("syntax error in module {name}")),
            Err(problem) => Err(problem.message),
        }
    }
}

impl<'a> jaq_core::data::HasLut<'a, Data> for &'a Globals<'a> {
    /// jaq asks for the table at every step of evaluation, so this is where
    /// the depth guard sits.
    fn lut(&self) -> &'a jaq_core::Lut<Data> {
        depth::check();
        self.lut
    }
}

impl<'a> HasInputs<'a, Value> for &'a Globals<'a> {
    fn inputs(&self) -> Inputs<'a, Value> {
        self.inputs
    }
}

/// Where the input last read came from, as jq reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputPlace {
    /// `"<stdin>"` or the file name; `None` before anything was read.
    pub file: Option<String>,
    /// Lines of that file read so far.
    pub line: usize,
}

impl fmt::Display for InputPlace {
    /// `<stdin>:3` or `<unknown>`, as in `jq: error (at <stdin>:3): ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}:{}", self.line),
            None => f.write_str("<unknown>"),
        }
    }
}

/// The stream of remaining inputs a program may pull with `input`/`inputs`.
pub struct InputStream<'a> {
    values: RcIter<Box<dyn Iterator<Item = Result<Value, String>> + 'a>>,
    place: std::rc::Rc<std::cell::RefCell<InputPlace>>,
}

impl<'a> InputStream<'a> {
    /// Inputs whose source keeps `place` up to date as it reads.
    pub fn new(
        inputs: impl Iterator<Item = Result<Val, String>> + 'a,
        place: std::rc::Rc<std::cell::RefCell<InputPlace>>,
    ) -> Self {
        Self {
            values: RcIter::new(Box::new(inputs.map(|input| input.map(Value)))),
            place,
        }
    }

    /// Takes the next input off the stream (what jq's main loop does
    /// between runs of the program).
    pub fn next_input(&self) -> Option<Result<Val, String>> {
        (&self.values)
            .next()
            .map(|input| input.map(|value| value.0))
    }

    /// Where the last input came from.
    pub fn place(&self) -> InputPlace {
        self.place.borrow().clone()
    }
}

/// Wraps any iterator of inputs for [`Program::run`].
pub fn input_stream<'a>(inputs: impl Iterator<Item = Result<Val, String>> + 'a) -> InputStream<'a> {
    InputStream::new(inputs, Default::default())
}

/// Inputs for programs that must not read any (`jq -n` with no stdin).
pub fn no_inputs<'a>() -> InputStream<'a> {
    input_stream(std::iter::empty())
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
    /// The problems on one line (each problem's first line, `; ` between).
    pub message: String,
    /// Each problem as jq words it after `jq: error: `, ending in its
    /// place (`... at <top-level>, line 1:`) and the source line.
    pub problems: Vec<String>,
}

impl CompileError {
    fn new(problems: Vec<String>) -> Self {
        let first_lines: Vec<&str> = problems
            .iter()
            .map(|problem| problem.lines().next().unwrap_or(""))
            .collect();
        Self {
            message: first_lines.join("; "),
            problems,
        }
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
        f.write_str(&self.message)
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

/// jq syntax jaq's parser lacks (`$__loc__`, `?//`) and jq meanings jaq's
/// lacks (`|=`), rewritten into what they mean. Locations go first: the
/// alternatives rewrite copies text; updates go last, on the final syntax.
fn rewrite_source<'c>(code: &'c str, path: &ModulePath) -> std::borrow::Cow<'c, str> {
    use std::borrow::Cow;
    /// Applies one rewrite, copying only when something changed.
    fn then<'c>(code: Cow<'c, str>, rewrite: fn(&str) -> Cow<'_, str>) -> Cow<'c, str> {
        match code {
            Cow::Borrowed(code) => rewrite(code),
            Cow::Owned(code) => Cow::Owned(rewrite(&code).into_owned()),
        }
    }
    let code = compat::rewrite_locations(code, &path.to_string());
    let code = then(code, alternatives::rewrite);
    let code = then(code, update::rewrite);
    then(code, conditions::rewrite)
}

/// The stand-ins for several imports under one name, by importing module
/// (see [`header::merge_imports`]).
type MergedImports = std::rc::Rc<std::cell::RefCell<Vec<(ModulePath, Vec<Vec<header::Member>>)>>>;

/// A module's source as jaq gets it: checked as jq checks its header,
/// with jaq's missing syntax rewritten and several imports under one
/// name merged (their stand-in modules recorded in `merged`).
fn prepare_source(
    code: &str,
    path: &ModulePath,
    merged: &MergedImports,
    rewrite: Option<(tree::Body, &ModuleSearch)>,
) -> Result<String, String> {
    let code = prepare_text(code, path, merged)?;
    let Some((body, search)) = rewrite else {
        return Ok(code);
    };
    let included = |directive: &header::Directive| included_defs(search, path, directive, 0);
    Ok(tree::rewrite(&code, body, &included).unwrap_or(code))
}

/// The definitions (`name/arity`) an `include` brings into a module: the
/// included module's, and those of the modules it includes in turn.
fn included_defs(
    search: &ModuleSearch,
    parent: &ModulePath,
    directive: &header::Directive,
    depth: usize,
) -> Option<Vec<String>> {
    if depth > 16 {
        return None;
    }
    let meta = (!directive.meta_text.is_empty())
        .then(|| jaq_core::load::parse(&directive.meta_text, |p| p.term()))
        .flatten();
    let import = jaq_core::load::Import {
        parent,
        path: &directive.path.as_str(),
        meta: &meta,
    };
    let file = search.find(&import, "jq").ok()?;
    let module_header = header::read(&file.code).ok()??;
    let mut defs = module_header.defs;
    for inner in &module_header.directives {
        if inner.alias.is_none() {
            defs.extend(included_defs(search, &file.path, inner, depth + 1)?);
        }
    }
    Some(defs)
}

/// [`prepare_source`] up to the rewrites of the syntax tree.
fn prepare_text(code: &str, path: &ModulePath, merged: &MergedImports) -> Result<String, String> {
    if depth::program_too_deep(code) {
        return Err(format!(
            "{} at {path}, {}",
            depth::PROGRAM_TOO_DEEP,
            compat::location_at(code, 0)
        ));
    }
    // What jq refuses and jaq's parser would take, placed in `code`.
    let refused = alternatives::stray(code)
        .or_else(|| object_values::problem(code))
        .or_else(|| precedence::problem(code))
        .or_else(|| lexemes::carriage_return(code));
    if let Some(problem) = refused {
        return Err(format!(
            "{} at {path}, {}",
            problem.message,
            compat::location_at(code, problem.at)
        ));
    }
    let written = code;
    let code = rewrite_source(code, path).into_owned();
    let located = |problem: header::Problem| {
        format!(
            "{} at {path}, {}",
            problem.message,
            compat::written_location_at(written, &code, problem.at)
        )
    };
    let Some(module_header) = header::read(&code).map_err(located)? else {
        return match header::import_path_problem(&code) {
            Some(problem) => Err(located(problem)),
            None => Ok(code),
        };
    };
    if let Some(problem) = header::constant_key_problem(&code) {
        return Err(located(problem));
    }
    match header::merge_imports(&code, &module_header) {
        Some((rewritten, stand_ins)) => {
            merged.borrow_mut().push((path.clone(), stand_ins));
            Ok(rewritten)
        }
        None => Ok(code),
    }
}

/// Runs `f` on a stack large enough for the evaluations inside it: a
/// caller that runs a program on many inputs switches stacks once instead
/// of for every input ([`Program::run`] then finds room enough where it is).
pub fn on_large_stack<R>(f: impl FnOnce() -> R) -> R {
    depth::on_large_stack(f)
}

/// A compiled jq program, reusable for any number of inputs.
pub struct Program {
    filter: jaq_core::Filter<Data>,
    /// Values of the global variables, in the order the compiler was told.
    globals: Vec<Val>,
    search: ModuleSearch,
}

impl Program {
    /// Parses `code`, loads the modules it includes or imports, and
    /// compiles it with our jq-compatible builtins.
    pub fn compile(code: &str, options: &CompileOptions) -> Result<Self, CompileError> {
        depth::on_large_stack(|| match Self::compile_here(code, options, true) {
            Ok(program) => Ok(program),
            // Errors are reported against the program as written.
            Err(error) => match Self::compile_here(code, options, false) {
                Err(unrewritten) => Err(unrewritten),
                Ok(program) => {
                    debug_assert!(false, "the rewritten program fails to compile: {error}");
                    Ok(program)
                }
            },
        })
    }

    /// `rewrite`: whether the syntax tree rewrites apply (see [`tree`]).
    fn compile_here(
        code: &str,
        options: &CompileOptions,
        rewrite: bool,
    ) -> Result<Self, CompileError> {
        let search = &options.search;
        let (term_body, defs_body) = match rewrite {
            true => (
                Some((tree::Body::Term, search)),
                Some((tree::Body::Defs, search)),
            ),
            false => (None, None),
        };
        let arena = Arena::default();
        let prelude: Vec<_> = compat::defs().collect();
        let natives: Vec<_> = compat::funs().collect();
        scope::Names::init(
            &prelude,
            natives.iter().map(|(name, args, _)| (*name, args.len())),
        );
        let search = options.search.clone();
        // Modules standing in for several imports under one name, by the
        // file that imports them.
        let merged = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let main_code = prepare_source(code, &options.main_path, &merged, term_body)
            .map_err(|problem| CompileError::new(vec![problem]))?;
        let prelude: Vec<_> = prelude::reachable(prelude, &main_code)
            .into_iter()
            .map(visible::hide_def)
            .collect();
        let merged_modules = merged.clone();
        // What each module's source was before its rewrites, for errors.
        let written = std::rc::Rc::new(std::cell::RefCell::new(compat::Written::default()));
        written.borrow_mut().add(&options.main_path, code);
        let written_modules = written.clone();
        let loader = Loader::new(prelude).with_read(
            move |import: jaq_core::load::Import<&str, ModulePath>| {
                let mut file = match import.path.strip_prefix(header::MERGED_PREFIX) {
                    Some(number) => {
                        let number = number.parse::<usize>().unwrap_or(0);
                        let members = merged_modules
                            .borrow()
                            .iter()
                            .find(|(parent, _)| parent == import.parent)
                            .and_then(|(_, groups)| groups.get(number).cloned())
                            .ok_or_else(|| "merged import not found".to_string())?;
                        let mut codes = Vec::new();
                        for (path, meta_text) in &members {
                            let meta = jaq_core::load::parse(meta_text, |p| p.term());
                            let member = jaq_core::load::Import {
                                parent: import.parent,
                                path: &path.as_str(),
                                meta: &meta,
                            };
                            codes.push(search.find(&member, "jq")?.code);
                        }
                        File {
                            code: header::stand_in(&codes),
                            path: ModulePath::Merged(Box::new(import.parent.clone()), number),
                        }
                    }
                    None => search.find(&import, "jq")?,
                };
                written_modules.borrow_mut().add(&file.path, &file.code);
                file.code = prepare_source(&file.code, &file.path, &merged_modules, defs_body)
                    .map_err(|problem| format!("{}{problem}", compat::LOCATED))?;
                Ok(file)
            },
        );
        let file = File {
            code: &*main_code,
            path: options.main_path.clone(),
        };
        let modules = loader.load(&arena, file).map_err(|errors| {
            // jaq fails at the end of a main program that is only a
            // module; jq says what is missing, before anything else.
            if header::only_definitions(&main_code) {
                return CompileError::new(vec![
                    "Top-level program not given (try \".\")".to_string()
                ]);
            }
            CompileError::new(compat::describe_load_errors(&errors, &written.borrow()))
        })?;

        let mut data_imports = Vec::new();
        jaq_core::load::import(&modules, |import| {
            let file = options.search.find(&import, "json")?;
            let values = read::parse_many(file.code.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| format!("{}: {error}", file.path))?;
            data_imports.push(values.into_iter().collect::<Val>());
            Ok(())
        })
        .map_err(|errors| {
            CompileError::new(compat::describe_load_errors(&errors, &written.borrow()))
        })?;

        let (names, mut globals) = compat::global_variables(options);
        let filter = jaq_core::Compiler::default()
            .with_funs(natives)
            .with_global_vars(names.iter().map(String::as_str))
            .compile(modules)
            .map_err(|errors| {
                CompileError::new(compat::describe_compile_errors(&errors, &written.borrow()))
            })?;
        // jaq binds imported data variables after the global ones.
        globals.append(&mut data_imports);
        Ok(Self {
            filter,
            globals,
            search: options.search.clone(),
        })
    }

    /// Runs the program on one input. `inputs` is what `input`/`inputs`
    /// read from; pass [`no_inputs`] when there is nothing more.
    ///
    /// The evaluation runs on a large stack with a depth guard, so a program
    /// that recurses too deep (or builds values too deep to drop) ends with
    /// an error instead of overflowing the stack.
    pub fn run<'i>(
        &self,
        inputs: &InputStream<'i>,
        input: Val,
        each: &mut dyn FnMut(Result<Val, RunError>) -> std::ops::ControlFlow<()>,
    ) {
        depth::on_large_stack(|| {
            if depth::guarded(|| self.run_here(inputs, input, each)).is_err() {
                let _ = each(Err(RunError::Error(Val::from(depth::TOO_DEEP.to_string()))));
            }
        })
    }

    fn run_here<'i>(
        &self,
        inputs: &InputStream<'i>,
        input: Val,
        each: &mut dyn FnMut(Result<Val, RunError>) -> std::ops::ControlFlow<()>,
    ) {
        let globals = Globals {
            lut: &self.filter.lut,
            inputs: &inputs.values as Inputs<'_, Value>,
            place: &inputs.place,
            search: &self.search,
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
