//! jq 1.7.1's errors for a path expression that is not one.
//!
//! jaq stops at the first term that has no path and reports that term's
//! input (`invalid path expression with input V`). jq evaluates the term
//! and reports its result, `Invalid path expression with result R`, or,
//! when a path step follows, the step: `... near attempt to access
//! element K of R`, `... near attempt to iterate through R`. Users match
//! these words in `try ... catch`.
//!
//! The rewrite wraps such terms where a path is asked for (the argument
//! of `path`, the left side of `=`, `|=` and the arithmetic updates) in
//! natives that run the term as written and, asked for paths, evaluate it
//! to give jq's message. Terms without a path are known by their shape
//! (literals, constructions, arithmetic) or as calls of the builtins that
//! build a new value (`NEW_VALUE`) and of local definitions made of those.

use super::scope::Scope;
use super::value::Value;
use super::{print, Data, Val};
use jaq_core::load::parse::{BinaryOp, Def, Term};
use jaq_core::path::{Part, Path};
use jaq_core::{Bind, Exn, Native};

/// Builtins whose output is a new value, never a path into the input.
const NEW_VALUE: &[(&str, usize)] = &[
    ("map", 1),
    ("reverse", 0),
    ("sort", 0),
    ("sort_by", 1),
    ("group_by", 1),
    ("unique", 0),
    ("unique_by", 1),
    ("keys", 0),
    ("keys_unsorted", 0),
    ("to_entries", 0),
    ("from_entries", 0),
    ("with_entries", 1),
    ("add", 0),
    ("length", 0),
    ("utf8bytelength", 0),
    ("tostring", 0),
    ("tojson", 0),
    ("fromjson", 0),
    ("tonumber", 0),
    ("type", 0),
    ("not", 0),
    ("ascii_downcase", 0),
    ("ascii_upcase", 0),
    ("min", 0),
    ("max", 0),
    ("min_by", 1),
    ("max_by", 1),
    ("flatten", 0),
    ("flatten", 1),
    ("join", 1),
    ("split", 1),
    ("explode", 0),
    ("implode", 0),
    // jq defines these by `reduce`, `foreach`, `label` over a new value or
    // in C, so they give no path (`path(last(.[]))` fails in jq 1.7.1).
    ("last", 1),
    ("range", 1),
    ("range", 2),
    ("range", 3),
    ("isempty", 1),
    ("any", 0),
    ("any", 1),
    ("any", 2),
    ("all", 0),
    ("all", 1),
    ("all", 2),
    ("paths", 0),
    ("paths", 1),
    ("leaf_paths", 0),
    ("tostream", 0),
    ("del", 1),
    ("walk", 1),
    ("env", 0),
];

const RESULT: &str = "_jq_path_result";
const ELEMENT: &str = "_jq_path_element";
const ITERATE: &str = "_jq_path_iterate";

/// The value as jq shows it in these messages: compact, cut to `size - 1`
/// bytes with the last three "..." when longer (jq's buffer of `size`).
fn shown(value: &Val, size: usize) -> String {
    let start = print::prefix(value, &print::PrintOptions::compact(), size);
    let text = String::from_utf8_lossy(&start).into_owned();
    if text.len() < size {
        return text;
    }
    let mut end = size - 4;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

type Failure<'a> = Option<Result<String, Exn<'a, Value>>>;

/// The message as the only output of a path or update evaluation (errors
/// of the term pass through; a term with no output gives none).
fn fail<'a, T: 'a>(
    failure: Failure<'a>,
) -> Box<dyn Iterator<Item = Result<T, Exn<'a, Value>>> + 'a> {
    let exn = match failure {
        None => return Box::new(std::iter::empty()),
        Some(Ok(text)) => Exn::from(jaq_core::Error::new(Value(Val::from(text)))),
        Some(Err(exn)) => exn,
    };
    Box::new(std::iter::once(Err(exn)))
}

type Ctx<'a> = jaq_core::Ctx<'a, Data>;

fn with_result(result: &Val) -> String {
    format!("Invalid path expression with result {}", shown(result, 30))
}

/// `_jq_path_result(term)`.
fn result_error(mut ctx: Ctx<'_>, input: Value) -> Failure<'_> {
    let (term, ctx) = ctx.pop_fun();
    Some(
        term.run((ctx, input))
            .next()?
            .map(|result| with_result(&result.0)),
    )
}

/// `_jq_path_iterate(whole; head)`.
fn iterate_error(mut ctx: Ctx<'_>, input: Value) -> Failure<'_> {
    let (head, ctx) = ctx.pop_fun();
    Some(head.run((ctx, input)).next()?.map(|result| {
        format!(
            "Invalid path expression near attempt to iterate through {}",
            shown(&result.0, 30)
        )
    }))
}

/// `_jq_path_element(whole; head; key; $of_result)`: the key is evaluated
/// on the head's result (`head | .[key]`) or on the input (`head[key]`).
fn element_error(mut ctx: Ctx<'_>, input: Value) -> Failure<'_> {
    let of_result = ctx.pop_var();
    let (key, key_ctx) = ctx.pop_fun();
    let (head, head_ctx) = ctx.pop_fun();
    let result = match head.run((head_ctx, input.clone())).next()? {
        Ok(result) => result,
        Err(exn) => return Some(Err(exn)),
    };
    let on = if of_result.0 == Val::Bool(true) {
        result.clone()
    } else {
        input
    };
    Some(match key.run((key_ctx, on)).next() {
        None => Ok(with_result(&result.0)),
        Some(Err(exn)) => Err(exn),
        Some(Ok(key)) => Ok(format!(
            "Invalid path expression near attempt to access element {} of {}",
            shown(&key.0, 15),
            shown(&result.0, 30)
        )),
    })
}

/// Runs the first filter argument, the term as written, after popping
/// `funs` filter arguments (and `vars` value ones) that follow it.
fn run_whole(
    mut cv: jaq_core::Cv<'_, Data>,
    funs: usize,
    vars: usize,
) -> jaq_core::ValXs<'_, Value> {
    for _ in 0..vars {
        cv.0.pop_var();
    }
    for _ in 0..funs {
        cv.0.pop_fun();
    }
    let (whole, ctx) = cv.0.pop_fun();
    whole.run((ctx, cv.1))
}

pub(super) fn natives() -> Vec<jaq_core::native::Fun<Data>> {
    let fun = || Bind::Fun(());
    vec![
        (
            RESULT,
            [fun()].into(),
            Native::new(|cv| run_whole(cv, 0, 0))
                .with_paths(|(ctx, (input, _))| fail(result_error(ctx, input)))
                .with_update(|(ctx, input), _| fail(result_error(ctx, input))),
        ),
        (
            ITERATE,
            [fun(), fun()].into(),
            Native::new(|cv| run_whole(cv, 1, 0))
                .with_paths(|(ctx, (input, _))| fail(iterate_error(ctx, input)))
                .with_update(|(ctx, input), _| fail(iterate_error(ctx, input))),
        ),
        (
            ELEMENT,
            [fun(), fun(), fun(), Bind::Var(())].into(),
            Native::new(|cv| run_whole(cv, 2, 1))
                .with_paths(|(ctx, (input, _))| fail(element_error(ctx, input)))
                .with_update(|(ctx, input), _| fail(element_error(ctx, input))),
        ),
    ]
}

/// Wraps the terms without a path where a path is asked for.
pub(super) struct Rewrite<'a, 's> {
    scope: &'a Scope<'s>,
    /// Local definitions and parameters in scope, innermost last: name,
    /// arity, whether calling it builds a new value.
    locals: Vec<(&'s str, usize, bool)>,
    pub changed: bool,
}

impl<'a, 's> Rewrite<'a, 's> {
    pub fn new(scope: &'a Scope<'s>) -> Self {
        Self {
            scope,
            locals: Vec::new(),
            changed: false,
        }
    }

    fn boxed(&mut self, term: Term<&'s str>) -> Box<Term<&'s str>> {
        Box::new(self.term(term))
    }

    pub fn defs(&mut self, defs: Vec<Def<&'s str>>) -> Vec<Def<&'s str>> {
        defs.into_iter()
            .map(|def| {
                // A definition is in scope in its own body and after it.
                let arity = def.args.len();
                self.locals.push((def.name, arity, false));
                let mark = self.locals.len();
                for arg in &def.args {
                    self.locals.push((arg.trim_start_matches('$'), 0, false));
                }
                let body = self.term(def.body);
                self.locals.truncate(mark);
                let new_value = self.new_value(&body);
                if let Some(entry) = self.locals.last_mut() {
                    entry.2 = new_value;
                }
                Def { body, ..def }
            })
            .collect()
    }

    /// Every term, looking for the places where paths are asked for.
    pub fn term(&mut self, term: Term<&'s str>) -> Term<&'s str> {
        match term {
            Term::Call("path", mut args) if args.len() == 1 && self.builtin("path", 1) => {
                let arg = self.term(args.remove(0));
                Term::Call("path", vec![self.position(arg)])
            }
            // `l |= r`, as `update.rs` wrote it.
            Term::Call("_modify", args) if args.len() == 2 => {
                let mut args: Vec<_> = args.into_iter().map(|arg| self.term(arg)).collect();
                if let Some(paths) = args.first_mut() {
                    let taken = std::mem::take(paths);
                    *paths = self.position(taken);
                }
                Term::Call("_modify", args)
            }
            Term::BinOp(
                left,
                op @ (BinaryOp::Assign
                | BinaryOp::Update
                | BinaryOp::UpdateMath(_)
                | BinaryOp::UpdateAlt),
                right,
            ) => {
                let left = self.term(*left);
                let left = self.position(left);
                Term::BinOp(Box::new(left), op, self.boxed(*right))
            }
            Term::Def(defs, body) => {
                let mark = self.locals.len();
                let defs = self.defs(defs);
                let body = self.boxed(*body);
                self.locals.truncate(mark);
                Term::Def(defs, body)
            }
            term => super::tree::children(term, &mut |term| self.term(term)),
        }
    }

    /// A term whose paths are asked for (already walked by `term`).
    fn position(&mut self, term: Term<&'s str>) -> Term<&'s str> {
        match term {
            Term::BinOp(left, BinaryOp::Pipe(None), right) if self.new_value(&left) => {
                let step = match &*right {
                    Term::BinOp(first, BinaryOp::Pipe(_), _) => first,
                    other => other,
                };
                match step {
                    Term::Path(head, Path(parts)) if matches!(**head, Term::Id) => {
                        match parts.first() {
                            Some((Part::Index(key), _)) => {
                                let key = key.clone();
                                let whole = Term::BinOp(left.clone(), BinaryOp::Pipe(None), right);
                                self.element(whole, *left, key, true)
                            }
                            Some((Part::Range(None, None), _)) => {
                                let whole = Term::BinOp(left.clone(), BinaryOp::Pipe(None), right);
                                self.wrap(ITERATE, vec![whole, *left])
                            }
                            _ => Term::BinOp(left, BinaryOp::Pipe(None), right),
                        }
                    }
                    _ => {
                        let right = self.position(*right);
                        Term::BinOp(left, BinaryOp::Pipe(None), Box::new(right))
                    }
                }
            }
            Term::BinOp(
                left,
                op @ (BinaryOp::Pipe(None) | BinaryOp::Comma | BinaryOp::Alt),
                right,
            ) => {
                let left = Box::new(self.position(*left));
                Term::BinOp(left, op, Box::new(self.position(*right)))
            }
            Term::BinOp(left, op @ BinaryOp::Pipe(Some(_)), right) => {
                Term::BinOp(left, op, Box::new(self.position(*right)))
            }
            Term::IfThenElse(branches, otherwise) => Term::IfThenElse(
                branches
                    .into_iter()
                    .map(|(condition, then)| (condition, self.position(then)))
                    .collect(),
                otherwise.map(|otherwise| Box::new(self.position(*otherwise))),
            ),
            Term::TryCatch(body, catch) => Term::TryCatch(Box::new(self.position(*body)), catch),
            Term::Path(head, Path(parts)) if !parts.is_empty() && self.new_value(&head) => {
                match parts.first() {
                    Some((Part::Index(key), _)) => {
                        let key = key.clone();
                        let whole = Term::Path(head.clone(), Path(parts));
                        self.element(whole, *head, key, false)
                    }
                    Some((Part::Range(None, None), _)) => {
                        let whole = Term::Path(head.clone(), Path(parts));
                        self.wrap(ITERATE, vec![whole, *head])
                    }
                    _ => Term::Path(head, Path(parts)),
                }
            }
            Term::Path(head, Path(parts)) => {
                Term::Path(Box::new(self.position(*head)), Path(parts))
            }
            term if self.new_value(&term) => self.wrap(RESULT, vec![term]),
            term => term,
        }
    }

    fn element(
        &mut self,
        whole: Term<&'s str>,
        head: Term<&'s str>,
        key: Term<&'s str>,
        of_result: bool,
    ) -> Term<&'s str> {
        let flag = Term::Call(if of_result { "true" } else { "false" }, Vec::new());
        self.wrap(ELEMENT, vec![whole, head, key, flag])
    }

    fn wrap(&mut self, native: &'static str, args: Vec<Term<&'s str>>) -> Term<&'s str> {
        self.changed = true;
        Term::Call(native, args)
    }

    fn builtin(&self, name: &str, arity: usize) -> bool {
        !self
            .locals
            .iter()
            .any(|(local, args, _)| *local == name && *args == arity)
            && self.scope.resolve(name, arity).is_builtin()
    }

    /// Whether the term's output is a new value, never a path.
    fn new_value(&self, term: &Term<&str>) -> bool {
        match term {
            Term::Num(_) | Term::Str(..) | Term::Arr(_) | Term::Obj(_) | Term::Neg(_) => true,
            Term::BinOp(
                _,
                BinaryOp::Math(_) | BinaryOp::Cmp(_) | BinaryOp::And | BinaryOp::Or,
                _,
            ) => true,
            Term::BinOp(_, BinaryOp::Pipe(_), right) => self.new_value(right),
            Term::Call(name, args) => {
                match self
                    .locals
                    .iter()
                    .rev()
                    .find(|(local, arity, _)| local == name && *arity == args.len())
                {
                    Some((_, _, new_value)) => *new_value,
                    None => {
                        NEW_VALUE.contains(&(*name, args.len()))
                            && self.scope.resolve(name, args.len()).is_builtin()
                    }
                }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CompileOptions, ModuleSearch, Program};

    fn error_of(code: &str, input: &str) -> String {
        let options = CompileOptions {
            search: ModuleSearch::embedded_only(Vec::new()),
            ..CompileOptions::default()
        };
        let program = Program::compile(code, &options).expect("compiles");
        let input = super::super::read::parse_single(input.as_bytes()).expect("JSON");
        match program.run_collect(input) {
            Ok(outputs) => panic!("{code}: no error but {} outputs", outputs.len()),
            Err(error) => error.message(),
        }
    }

    /// jq 1.7.1 reports the result of the term that has no path (jq.test
    /// line 972), or the step after it (lines 976-984).
    #[test]
    fn path_errors_name_the_result_and_the_next_step_as_jq() {
        let input = r#"{"a":[{"b":0}]}"#;
        assert_eq!(
            error_of("path(.a | map(select(.b == 0)))", input),
            r#"Invalid path expression with result [{"b":0}]"#
        );
        assert_eq!(
            error_of("path(.a | map(select(.b == 0)) | .[0])", input),
            r#"Invalid path expression near attempt to access element 0 of [{"b":0}]"#
        );
        assert_eq!(
            error_of("path(.a | map(select(.b == 0)) | .c)", input),
            r#"Invalid path expression near attempt to access element "c" of [{"b":0}]"#
        );
        assert_eq!(
            error_of("path(.a | map(select(.b == 0)) | .[])", input),
            r#"Invalid path expression near attempt to iterate through [{"b":0}]"#
        );
    }

    /// Assignments and updates ask for paths too (jq.test 1131-1143).
    #[test]
    fn assignments_and_local_definitions_report_as_jq() {
        let input = r#"[{"a":0},{"a":1}]"#;
        let iterate = r#"Invalid path expression near attempt to iterate through [{"a":1}]"#;
        assert_eq!(error_of("(map(select(.a == 1))[].b) = 10", input), iterate);
        assert_eq!(
            error_of("(map(select(.a == 1))[].a) |= .+1", input),
            iterate
        );
        assert_eq!(
            error_of("def x: reverse; x=10", "[0,1,2]"),
            "Invalid path expression with result [2,1,0]"
        );
    }

    /// jq shows at most 29 bytes of the value and 14 of the key.
    #[test]
    fn long_values_are_cut_as_jq_cuts_them() {
        assert_eq!(
            error_of(
                r#"path(["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] | .["bbbbbbbbbbbbbbbbbbbb"])"#,
                "null"
            ),
            r#"Invalid path expression near attempt to access element "bbbbbbbbbb... of ["aaaaaaaaaaaaaaaaaaaaaaaa..."#
        );
    }

    /// A definition of the program's own shadows the builtin it names.
    #[test]
    fn shadowed_builtins_keep_their_paths() {
        let options = CompileOptions {
            search: ModuleSearch::embedded_only(Vec::new()),
            ..CompileOptions::default()
        };
        let program =
            Program::compile("def map(f): .[] | f; [path(map(.))]", &options).expect("compiles");
        let outputs = program
            .run_collect(super::super::read::parse_single(b"[1]").expect("JSON"))
            .expect("runs");
        assert_eq!(outputs.len(), 1);
    }
}
