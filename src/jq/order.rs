//! jq 1.7.1's order of evaluation, where jaq's differs.
//!
//! jq evaluates the right operand of a binary operator first and runs the
//! left one for each of its outputs (`[(1,2) + (10,20)]` is
//! `[11,12,21,22]`; jaq gives `[11,21,12,22]`). It does the same with the
//! arguments of its C builtins (`pow(1,2; 3,4)`: the last argument
//! outermost), with string interpolations (the last outermost) and with
//! indices (`.[0,1][0,1]`: the indices before the indexed term, the last
//! outermost). And where the update of `reduce`/`foreach` gives several
//! outputs (or none), jq keeps the last (or null) where jaq forks.
//!
//! The syntax tree is rewritten so that jaq evaluates in jq's order: the
//! term jq evaluates first is bound to a variable outside, `l + r` becoming
//! `r as $v | l + $v`. Only where the order can be seen: when at least
//! two of the terms involved may give several outputs or none, fail, or
//! read or print (`.a + .b`: where both fail, jq reports the right one's
//! error; `empty + error("x")` fails in jq). The common `. + $x`,
//! `.a + 1` or `.[$k]` is left as written and costs nothing.
//!
//! Also here, because it is a rewrite of the same kind: jq lets a value
//! parameter be called as a filter (`def f($a): a;`), jaq does not; such a
//! definition becomes `def f(a): a as $a | ...`, which is what jq means.
//!
//! And where a value is bound (a value argument of a local definition,
//! `t as $x`) from a term that gives at most one output and calls a
//! definition, the term is wrapped in `_jq_one` (jaq's `first`): jaq keeps
//! the iterator of a bound term alive while the body runs, in case it has
//! more, and a recursive definition (`ack($m - 1; ack($m; $n - 1))`)
//! piles up one per call; ack(3; 7) peaked at 120 MiB against jq 1.7.1's
//! 5. A term known to give one output is finished once it has, so taking
//! that output and dropping the iterator changes nothing else.

use super::scope::{Callee, Scope};
use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::path::{Part, Path};

/// jq's C builtins that take more than one argument, all evaluated as
/// values on the input, the last outermost.
const LAST_ARGUMENT_FIRST: &[(&str, usize)] = &[
    ("pow", 2),
    ("atan2", 2),
    ("fmod", 2),
    ("ldexp", 2),
    ("scalb", 2),
    ("scalbln", 2),
    ("drem", 2),
    ("fdim", 2),
    ("fmax", 2),
    ("fmin", 2),
    ("copysign", 2),
    ("nextafter", 2),
    ("nexttoward", 2),
    ("fma", 3),
    ("setpath", 2),
    ("test", 2),
    ("match", 2),
    ("capture", 2),
];

/// Builtins that give exactly one output (or fail) whatever their
/// arguments give.
const ONE_OUTPUT: &[(&str, usize)] = &[
    ("true", 0),
    ("false", 0),
    ("null", 0),
    ("not", 0),
    ("type", 0),
    ("tostring", 0),
    ("tojson", 0),
    ("nan", 0),
    ("infinite", 0),
    ("env", 0),
    ("builtins", 0),
    ("input_filename", 0),
    ("input_line_number", 0),
    ("now", 0),
    ("length", 0),
    ("utf8bytelength", 0),
    ("keys", 0),
    ("keys_unsorted", 0),
    ("add", 0),
    ("add", 1),
    ("any", 0),
    ("all", 0),
    ("any", 1),
    ("all", 1),
    ("any", 2),
    ("all", 2),
    ("isempty", 1),
    ("map", 1),
    ("map_values", 1),
    ("to_entries", 0),
    ("from_entries", 0),
    ("with_entries", 1),
    ("sort", 0),
    ("sort_by", 1),
    ("group_by", 1),
    ("unique", 0),
    ("unique_by", 1),
    ("min", 0),
    ("max", 0),
    ("min_by", 1),
    ("max_by", 1),
    ("reverse", 0),
    ("flatten", 0),
    ("explode", 0),
    ("implode", 0),
    ("ascii_downcase", 0),
    ("ascii_upcase", 0),
    ("tonumber", 0),
    ("fromjson", 0),
    ("floor", 0),
    ("ceil", 0),
    ("round", 0),
    ("sqrt", 0),
    ("fabs", 0),
    ("abs", 0),
    ("del", 1),
    ("delpaths", 1),
    ("transpose", 0),
    ("input", 0),
    ("debug", 0),
    ("stderr", 0),
    ("first", 0),
    ("last", 0),
    ("error", 0),
    ("error", 1),
    ("todate", 0),
    ("fromdate", 0),
    ("mktime", 0),
    ("gmtime", 0),
    ("localtime", 0),
    ("ascii", 0),
    ("@text", 0),
    ("@json", 0),
    ("@base64", 0),
    ("@base64d", 0),
    ("@uri", 0),
    ("@csv", 0),
    ("@tsv", 0),
    ("@sh", 0),
    ("@html", 0),
    ("_modify", 2),
];

/// Builtins that give one output (or fail) when each argument does.
const ONE_OUTPUT_GIVEN_ONE: &[(&str, usize)] = &[
    ("has", 1),
    ("contains", 1),
    ("inside", 1),
    ("startswith", 1),
    ("endswith", 1),
    ("ltrimstr", 1),
    ("rtrimstr", 1),
    ("split", 1),
    ("join", 1),
    ("test", 1),
    ("test", 2),
    ("indices", 1),
    ("index", 1),
    ("rindex", 1),
    ("flatten", 1),
    ("getpath", 1),
    ("setpath", 2),
    ("strftime", 1),
    ("strptime", 1),
    ("strflocaltime", 1),
    ("pow", 2),
    ("log", 0),
    ("in", 1),
    ("walk", 1),
];

/// Builtins that give at most one output when each argument does.
const AT_MOST_ONE_GIVEN_ONE: &[(&str, usize)] = &[
    ("empty", 0),
    ("select", 1),
    ("first", 1),
    ("_jq_one", 1),
    ("last", 1),
    ("values", 0),
    ("nulls", 0),
    ("booleans", 0),
    ("numbers", 0),
    ("strings", 0),
    ("arrays", 0),
    ("objects", 0),
    ("iterables", 0),
    ("scalars", 0),
    ("halt", 0),
    ("halt_error", 0),
    ("halt_error", 1),
];

/// Builtins whose order of evaluation shows in what the program reads or
/// prints.
const EFFECTS: &[(&str, usize)] = &[
    ("input", 0),
    ("inputs", 0),
    ("debug", 0),
    ("debug", 1),
    ("stderr", 0),
    ("input_line_number", 0),
];

/// Builtins that end the program.
const EXITS: &[(&str, usize)] = &[("halt", 0), ("halt_error", 0), ("halt_error", 1)];

/// How many outputs a term can give.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Count {
    /// Exactly one, unless it fails.
    One,
    /// None or one.
    AtMostOne,
    /// Any number.
    Many,
}

impl Count {
    /// What running `self` and then `other` on each output gives.
    fn then(self, other: Count) -> Count {
        self.max(other)
    }

    fn several(self) -> bool {
        self == Count::Many
    }
}

/// Rewrites `term` (a module's main term) in jq's order; `changed` tells
/// whether anything was rewritten.
pub(super) fn rewrite_term<'s>(
    term: Term<&'s str>,
    scope: &mut Scope<'s>,
) -> (Term<&'s str>, bool) {
    let mut order = Order::new(scope);
    let term = order.term(term);
    (term, order.changed)
}

/// Rewrites a module's definitions in jq's order.
pub(super) fn rewrite_defs<'s>(
    defs: Vec<Def<&'s str>>,
    scope: &mut Scope<'s>,
) -> (Vec<Def<&'s str>>, bool) {
    let mut order = Order::new(scope);
    let defs = order.defs(defs);
    (defs, order.changed)
}

/// Rewrites one builtin definition in jq's order (the builtins it calls
/// are the prelude's, as `scope` resolves them). The prelude is written in
/// that order already; a test holds it there with this.
#[cfg(test)]
pub(super) fn rewrite_builtin(
    def: Def<&'static str>,
    scope: &mut Scope<'static>,
) -> (Def<&'static str>, bool) {
    let mut order = Order::new(scope);
    let mark = order.scope.mark();
    let def = order.def(def);
    order.scope.truncate(mark);
    (def, order.changed)
}

struct Order<'a, 's> {
    scope: &'a mut Scope<'s>,
    changed: bool,
    /// How many outputs each local definition (by its number) gives.
    counts: Vec<Count>,
    /// Which parameters of each local definition take values (`$a`).
    value_params: Vec<Vec<bool>>,
    /// Whether each local definition is [`Order::quiet`].
    quiet_defs: Vec<bool>,
}

impl<'a, 's> Order<'a, 's> {
    fn new(scope: &'a mut Scope<'s>) -> Self {
        Order {
            scope,
            changed: false,
            counts: Vec::new(),
            value_params: Vec::new(),
            quiet_defs: Vec::new(),
        }
    }
}

fn bind<'s>(value: Term<&'s str>, name: &'s str, body: Term<&'s str>) -> Term<&'s str> {
    Term::BinOp(
        Box::new(value),
        BinaryOp::Pipe(Some(Pattern::Var(name))),
        Box::new(body),
    )
}

/// Fresh variable names, one per place in one construct (nested rewrites
/// may reuse them: each binding is scoped to its own construct).
const NAMES: [&str; 8] = [
    "$__jq_v0", "$__jq_v1", "$__jq_v2", "$__jq_v3", "$__jq_v4", "$__jq_v5", "$__jq_v6", "$__jq_v7",
];

impl<'s> Order<'_, 's> {
    fn defs(&mut self, defs: Vec<Def<&'s str>>) -> Vec<Def<&'s str>> {
        defs.into_iter().map(|def| self.def(def)).collect()
    }

    /// Rewrites a definition and brings it into scope.
    fn def(&mut self, def: Def<&'s str>) -> Def<&'s str> {
        let id = self.counts.len();
        self.counts.push(Count::AtMostOne);
        self.value_params
            .push(def.args.iter().map(|arg| arg.starts_with('$')).collect());
        self.scope
            .push_def(def.name, def.args.len(), Callee::Local(id));
        let inner = self.scope.mark();
        self.scope.push_params(&def.args);
        // If the body gives at most one output where its recursive calls
        // do, every call does: a second output would need a call below
        // that gives two, down to one that calls nothing recursively.
        // Otherwise recursive calls are taken to give several.
        let at_most_one = !self.count(&def.body).several();
        self.counts[id] = match at_most_one {
            true => Count::AtMostOne,
            false => Count::Many,
        };
        // Likewise, a recursive call adds no effect the body lacks.
        self.quiet_defs.push(true);
        self.quiet_defs[id] = self.quiet(&def.body);
        let mut args = def.args;
        let mut body = self.term(def.body);
        // What one call gives for one value of each argument (the values
        // multiply at the call), counted before `a as $a` binds them.
        let count = self.count(&body);
        self.counts[id] = match at_most_one {
            true => count.max(Count::AtMostOne),
            false => count,
        };
        debug_assert!(!at_most_one || !count.several(), "{}: {count:?}", def.name);
        // Value parameters called as filters become closures bound to
        // their value, as jq defines them.
        let called: Vec<&'s str> = args
            .iter()
            .filter_map(|arg| arg.strip_prefix('$'))
            .filter(|name| calls_var_param(&body, name, self.scope))
            .collect();
        if !called.is_empty() {
            self.changed = true;
            for arg in args.iter_mut().rev() {
                if let Some(name) = arg.strip_prefix('$').filter(|name| called.contains(name)) {
                    body = bind(Term::Call(name, Vec::new()), arg, body);
                    *arg = name;
                }
            }
        }
        self.scope.truncate(inner);
        Def {
            name: def.name,
            args,
            body,
        }
    }

    fn term(&mut self, term: Term<&'s str>) -> Term<&'s str> {
        match term {
            Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_) => term,
            Term::Str(format, parts) => self.string(format, parts),
            term @ (Term::Arr(_)
            | Term::Obj(_)
            | Term::Neg(_)
            | Term::Label(..)
            | Term::TryCatch(..)
            | Term::IfThenElse(..)) => super::tree::children(term, &mut |term| self.term(term)),
            Term::BinOp(left, op, right) => {
                let op = match op {
                    BinaryOp::Pipe(Some(pattern)) => BinaryOp::Pipe(Some(self.pattern(pattern))),
                    op => op,
                };
                let (mut left, right) = (self.term(*left), self.term(*right));
                if matches!(op, BinaryOp::Pipe(Some(_))) {
                    left = self.settled(left);
                }
                match op {
                    BinaryOp::Math(_) | BinaryOp::Cmp(_)
                        if self.seen(&left) && self.seen(&right) =>
                    {
                        self.changed = true;
                        let name = NAMES[0];
                        let inner = Term::BinOp(Box::new(left), op, Box::new(Term::Var(name)));
                        bind(right, name, inner)
                    }
                    op => Term::BinOp(Box::new(left), op, Box::new(right)),
                }
            }
            Term::Fold(kind, inputs, pattern, args) => self.fold(kind, *inputs, pattern, args),
            Term::Def(defs, body) => {
                let mark = self.scope.mark();
                let defs = self.defs(defs);
                let body = self.term(*body);
                self.scope.truncate(mark);
                Term::Def(defs, Box::new(body))
            }
            Term::Call(name, args) => {
                let args: Vec<_> = args.into_iter().map(|arg| self.term(arg)).collect();
                let callee = self.scope.resolve(name, args.len());
                if callee.is_builtin() && LAST_ARGUMENT_FIRST.contains(&(name, args.len())) {
                    self.call_last_first(name, args)
                } else if let Callee::Local(id) = callee {
                    let value_params = self.value_params[id].clone();
                    let args = args
                        .into_iter()
                        .zip(value_params)
                        .map(|(arg, value)| if value { self.settled(arg) } else { arg })
                        .collect();
                    Term::Call(name, args)
                } else {
                    Term::Call(name, args)
                }
            }
            Term::Path(head, path) => self.path(*head, path),
        }
    }

    fn pattern(&mut self, pattern: Pattern<&'s str>) -> Pattern<&'s str> {
        match pattern {
            Pattern::Var(_) => pattern,
            Pattern::Arr(items) => {
                Pattern::Arr(items.into_iter().map(|item| self.pattern(item)).collect())
            }
            Pattern::Obj(entries) => Pattern::Obj(
                entries
                    .into_iter()
                    .map(|(key, value)| (self.term(key), self.pattern(value)))
                    .collect(),
            ),
        }
    }

    /// `"\(a)\(b)"`: jq evaluates `b` first.
    fn string(
        &mut self,
        format: Option<&'s str>,
        parts: Vec<StrPart<&'s str, Term<&'s str>>>,
    ) -> Term<&'s str> {
        let mut parts: Vec<_> = parts
            .into_iter()
            .map(|part| match part {
                StrPart::Term(inner) => StrPart::Term(self.term(inner)),
                part => part,
            })
            .collect();
        let several: Vec<usize> = (0..parts.len())
            .filter(|at| matches!(&parts[*at], StrPart::Term(inner) if self.seen(inner)))
            .collect();
        if several.len() < 2 || several.len() > NAMES.len() {
            return Term::Str(format, parts);
        }
        self.changed = true;
        let mut bound = Vec::new();
        for (number, at) in several.iter().enumerate().skip(1) {
            let name = NAMES[number];
            let StrPart::Term(inner) =
                std::mem::replace(&mut parts[*at], StrPart::Term(Term::Var(name)))
            else {
                unreachable!("an interpolation")
            };
            bound.push((name, inner));
        }
        // The last interpolation is bound outermost.
        let mut term = Term::Str(format, parts);
        for (name, inner) in bound {
            term = bind(inner, name, term);
        }
        term
    }

    /// A C builtin's arguments: the last is evaluated outermost.
    fn call_last_first(&mut self, name: &'s str, mut args: Vec<Term<&'s str>>) -> Term<&'s str> {
        let several: Vec<usize> = (0..args.len()).filter(|at| self.seen(&args[*at])).collect();
        if several.len() < 2 {
            return Term::Call(name, args);
        }
        self.changed = true;
        let mut bound = Vec::new();
        for (number, at) in several.iter().enumerate().skip(1) {
            let value = std::mem::replace(&mut args[*at], Term::Var(NAMES[number]));
            bound.push((NAMES[number], value));
        }
        let mut term = Term::Call(name, args);
        for (name, value) in bound {
            term = bind(value, name, term);
        }
        term
    }

    /// `h[a][b:c]`: jq evaluates `b`, `c`, then `a`, then `h`.
    fn path(&mut self, head: Term<&'s str>, path: Path<Term<&'s str>>) -> Term<&'s str> {
        let head = self.term(head);
        let mut parts: Vec<_> = path
            .0
            .into_iter()
            .map(|(part, opt)| {
                let part = match part {
                    Part::Index(index) => Part::Index(self.term(index)),
                    Part::Range(from, upto) => Part::Range(
                        from.map(|from| self.term(from)),
                        upto.map(|upto| self.term(upto)),
                    ),
                };
                (part, opt)
            })
            .collect();
        // The indices in jq's order of evaluation, as (part, bound).
        let mut order = Vec::new();
        for (at, (part, _)) in parts.iter().enumerate().rev() {
            match part {
                Part::Index(index) => order.push((at, 0, index)),
                Part::Range(from, upto) => {
                    order.extend(from.iter().map(|from| (at, 0, from)));
                    order.extend(upto.iter().map(|upto| (at, 1, upto)));
                }
            }
        }
        let several: Vec<(usize, usize)> = order
            .iter()
            .filter(|(_, _, index)| self.seen(index))
            .map(|(at, which, _)| (*at, *which))
            .collect();
        let head_several = usize::from(self.seen(&head));
        if several.len() + head_several < 2 || several.len() > NAMES.len() {
            return Term::Path(Box::new(head), Path(parts));
        }
        self.changed = true;
        let mut bound = Vec::new();
        for (number, (at, which)) in several.into_iter().enumerate() {
            let name = NAMES[number];
            let slot = match &mut parts[at].0 {
                Part::Index(index) => index,
                Part::Range(from, upto) => {
                    let slot = if which == 0 && from.is_some() {
                        from
                    } else {
                        upto
                    };
                    slot.as_mut().expect("a bound")
                }
            };
            bound.push((name, std::mem::replace(slot, Term::Var(name))));
        }
        let mut term = Term::Path(Box::new(head), Path(parts));
        for (name, value) in bound.into_iter().rev() {
            term = bind(value, name, term);
        }
        term
    }

    /// `reduce`/`foreach` keep the last output of their update, or null
    /// when it gives none.
    fn fold(
        &mut self,
        kind: &'s str,
        inputs: Term<&'s str>,
        pattern: Pattern<&'s str>,
        args: Vec<Term<&'s str>>,
    ) -> Term<&'s str> {
        let inputs = self.term(inputs);
        let pattern = self.pattern(pattern);
        let mut args: Vec<_> = args.into_iter().map(|arg| self.term(arg)).collect();
        let several = args
            .get(1)
            .is_some_and(|update| self.count(update) != Count::One);
        if several {
            self.changed = true;
            let update = args.remove(1);
            if kind == "reduce" {
                // reduce update as $v ([][0]; $v): null without naming
                // `null`, which the prelude defines after its first users.
                let null = Term::Path(
                    Box::new(Term::Arr(None)),
                    Path(vec![(
                        Part::Index(Term::Num("0")),
                        jaq_core::path::Opt::Essential,
                    )]),
                );
                let last = Term::Fold(
                    "reduce",
                    Box::new(update),
                    Pattern::Var(NAMES[0]),
                    vec![null, Term::Var(NAMES[0])],
                );
                args.insert(1, last);
            } else {
                // foreach inputs as pattern (init | [.]; [.[-1] | update]; .[] | extract)
                let init = args.remove(0);
                let extract = if args.is_empty() {
                    Term::Id
                } else {
                    args.remove(0)
                };
                let init = Term::BinOp(
                    Box::new(init),
                    BinaryOp::Pipe(None),
                    Box::new(Term::Arr(Some(Box::new(Term::Id)))),
                );
                let last = Term::Path(
                    Box::new(Term::Id),
                    Path(vec![(
                        Part::Index(Term::Neg(Box::new(Term::Num("1")))),
                        jaq_core::path::Opt::Essential,
                    )]),
                );
                let update = Term::Arr(Some(Box::new(Term::BinOp(
                    Box::new(last),
                    BinaryOp::Pipe(None),
                    Box::new(update),
                ))));
                let each = Term::Path(
                    Box::new(Term::Id),
                    Path(vec![(
                        Part::Range(None, None),
                        jaq_core::path::Opt::Essential,
                    )]),
                );
                let extract = Term::BinOp(Box::new(each), BinaryOp::Pipe(None), Box::new(extract));
                args = vec![init, update, extract];
            }
        }
        Term::Fold(kind, Box::new(inputs), pattern, args)
    }

    /// `term`, to be bound to a variable, as `_jq_one(term)` where that
    /// frees what evaluating it holds (see the module's doc): it gives at
    /// most one output, calls a local definition (other terms finish by
    /// themselves), and reads and prints nothing (so evaluating it a
    /// little earlier cannot be seen).
    fn settled(&mut self, term: Term<&'s str>) -> Term<&'s str> {
        let mut calls_local = false;
        visit_calls(&term, &mut |name, arity| {
            calls_local |= matches!(self.scope.resolve(name, arity), Callee::Local(_));
        });
        if !calls_local || self.count(&term).several() || !self.quiet(&term) {
            return term;
        }
        self.changed = true;
        Term::Call("_jq_one", vec![term])
    }

    /// Whether `term` surely reads, prints and stops nothing: it calls no
    /// such builtin, no local definition that does, and nothing the
    /// rewrite cannot see into (closure parameters, definitions of other
    /// modules).
    fn quiet(&self, term: &Term<&str>) -> bool {
        let mut quiet = true;
        visit_calls(term, &mut |name, arity| {
            quiet &= match self.scope.resolve(name, arity) {
                Callee::Local(id) => self.quiet_defs.get(id).copied().unwrap_or(false),
                Callee::Prelude(_) | Callee::Native => {
                    !EFFECTS.contains(&(name, arity)) && !EXITS.contains(&(name, arity))
                }
                Callee::VarParam => true,
                Callee::Param | Callee::Unknown => false,
            };
        });
        quiet
    }

    /// Whether where `term` is evaluated can be seen: it may give several
    /// outputs or none, fail, read an input or print. Two such terms are
    /// evaluated in jq's order.
    fn seen(&self, term: &Term<&str>) -> bool {
        !self.certain(term)
    }

    /// Whether `term` surely gives one output and does nothing else (it
    /// cannot fail): where it is evaluated cannot be seen.
    fn certain(&self, term: &Term<&str>) -> bool {
        match term {
            Term::Id | Term::Num(_) | Term::Var(_) | Term::Arr(None) => true,
            Term::Obj(entries) => entries.is_empty(),
            Term::Arr(Some(inner)) => self.certain(inner),
            Term::Str(_, parts) => parts.iter().all(|part| match part {
                StrPart::Term(inner) => self.certain(inner),
                _ => true,
            }),
            Term::Call(name @ ("null" | "true" | "false" | "infinite" | "nan"), args) => {
                args.is_empty() && self.scope.resolve(name, 0).is_builtin()
            }
            _ => false,
        }
    }

    /// How many outputs `term` can give.
    fn count(&self, term: &Term<&str>) -> Count {
        let all = |terms: &mut dyn Iterator<Item = &Term<&str>>| {
            terms.fold(Count::One, |count, term| count.then(self.count(term)))
        };
        match term {
            Term::Id | Term::Num(_) | Term::Var(_) | Term::Arr(_) => Count::One,
            Term::Recurse => Count::Many,
            Term::Break(_) => Count::AtMostOne,
            Term::Str(_, parts) => all(&mut parts.iter().filter_map(|part| match part {
                StrPart::Term(inner) => Some(inner),
                _ => None,
            })),
            Term::Obj(entries) => all(&mut entries
                .iter()
                .flat_map(|(key, value)| std::iter::once(key).chain(value.as_ref()))),
            Term::Neg(inner) => self.count(inner),
            Term::BinOp(left, op, right) => match op {
                BinaryOp::Comma => Count::Many,
                BinaryOp::Assign | BinaryOp::UpdateMath(_) | BinaryOp::UpdateAlt => {
                    self.count(right)
                }
                BinaryOp::Update => Count::One,
                _ => self.count(left).then(self.count(right)),
            },
            Term::Path(head, path) => {
                let mut count = self.count(head);
                for (part, opt) in &path.0 {
                    if matches!(opt, jaq_core::path::Opt::Optional) {
                        count = count.then(Count::AtMostOne);
                    }
                    count = count.then(match part {
                        Part::Index(index) => self.count(index),
                        Part::Range(None, None) => Count::Many,
                        Part::Range(from, upto) => all(&mut from.iter().chain(upto.iter())),
                    });
                }
                count
            }
            Term::IfThenElse(branches, otherwise) => all(&mut branches
                .iter()
                .flat_map(|(condition, then)| [condition, then])
                .chain(otherwise.as_deref())),
            Term::TryCatch(body, catch) => {
                let body = self.count(body);
                match catch {
                    Some(catch) => body.then(self.count(catch)),
                    None => body.then(Count::AtMostOne),
                }
            }
            Term::Label(_, body) => self.count(body).then(Count::AtMostOne),
            Term::Fold("reduce", _, _, args) => {
                args.first().map_or(Count::Many, |init| self.count(init))
            }
            Term::Fold(..) => Count::Many,
            // Counted only where the body calls none of the definitions
            // (which the scope, outside them, does not know).
            Term::Def(defs, body) => {
                let mut shadowed = false;
                visit_calls(body, &mut |name, arity| {
                    shadowed |= defs
                        .iter()
                        .any(|def| def.name == name && def.args.len() == arity);
                });
                match shadowed {
                    true => Count::Many,
                    false => self.count(body),
                }
            }
            Term::Call(name, args) => match self.scope.resolve(name, args.len()) {
                // Once for each combination of the value arguments' outputs.
                Callee::Local(id) => {
                    let body = self.counts.get(id).copied().unwrap_or(Count::Many);
                    let values = self.value_params.get(id).map_or(&[][..], Vec::as_slice);
                    let mut arguments = args
                        .iter()
                        .zip(values)
                        .filter_map(|(arg, value)| value.then_some(arg));
                    body.then(all(&mut arguments))
                }
                // A value parameter called as a filter gives its value.
                Callee::VarParam => Count::One,
                callee
                    if callee.is_builtin()
                        || callee == Callee::Unknown && ONE_KEYWORDS.contains(name) =>
                {
                    let key = (*name, args.len());
                    if ONE_OUTPUT.contains(&key) {
                        Count::One
                    } else if ONE_OUTPUT_GIVEN_ONE.contains(&key) {
                        all(&mut args.iter())
                    } else if AT_MOST_ONE_GIVEN_ONE.contains(&key) {
                        all(&mut args.iter()).then(Count::AtMostOne)
                    } else {
                        Count::Many
                    }
                }
                _ => Count::Many,
            },
        }
    }
}

/// Builtins no module redefines in practice, taken as builtins even where
/// an included module could.
const ONE_KEYWORDS: &[&str] = &[
    "null", "true", "false", "not", "empty", "length", "tostring",
];

/// Whether `body` calls `name/0` where it means the value parameter of
/// that name (not shadowed by a closer definition).
fn calls_var_param(body: &Term<&str>, name: &str, scope: &Scope) -> bool {
    let mut found = false;
    visit_calls(body, &mut |call, arity| {
        if call == name && arity == 0 {
            found = true;
        }
    });
    // A local definition of the same name inside the body would shadow the
    // parameter; jaq then compiles it as written, so only rewrite where the
    // parameter is what the name means here.
    found && scope.resolve(name, 0) == Callee::VarParam
}

/// Every call in `term` (not looking into definitions' scopes).
fn visit_calls(term: &Term<&str>, each: &mut dyn FnMut(&str, usize)) {
    match term {
        Term::Call(name, args) => {
            each(name, args.len());
            for arg in args {
                visit_calls(arg, each);
            }
        }
        _ => {
            let mut inner = Vec::new();
            super::header::children(term, &mut inner);
            for child in inner {
                visit_calls(child, each);
            }
        }
    }
}
