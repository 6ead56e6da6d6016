//! The rewrites that need the syntax tree (jq's operator grouping,
//! `precedence`; jq's order of evaluation,
//! `order`; path expressions, `path_expr`; formats jq does not know,
//! `visible`), run on a module's parsed body,
//! which is printed back (`unparse`) only when one changed something.
//!
//! Only code jaq parses is rewritten. The program as written is what
//! compile errors are reported against: [`super::Program::compile`]
//! compiles it again, unrewritten, when the rewritten one fails.

use super::scope::{Names, Scope};
use super::{header, order, path_expr, precedence, unparse, update, visible};
use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{Def, Term};
use jaq_core::path::{Part, Path};
use std::collections::HashSet;

/// What a module's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Body {
    /// The main program: a term.
    Term,
    /// A library module: definitions.
    Defs,
}

/// The definitions (`name/arity`) an included module brings, those of
/// the modules it includes with them; `None` when it cannot be read.
pub(super) type Included<'a> = &'a dyn Fn(&header::Directive) -> Option<Vec<String>>;

/// `code` with its body rewritten, or `None` when nothing changed.
pub(super) fn rewrite(code: &str, body: Body, included: Included) -> Option<String> {
    let module_header = header::read(code).ok()??;
    let mut names = Some(HashSet::new());
    for directive in &module_header.directives {
        if directive.alias.is_none() {
            names = names.zip(included(directive)).map(|(mut names, defs)| {
                names.extend(defs.iter().filter_map(|def| {
                    let (name, arity) = def.rsplit_once('/')?;
                    Some((name.to_string(), arity.parse().ok()?))
                }));
                names
            });
        }
    }
    let start = module_header.body_start;
    // Brackets marked for `precedence`, which removes the marks.
    let marked = precedence::mark_brackets(&code[start..]);
    let text = marked.as_deref().unwrap_or(&code[start..]);
    let mut scope = Scope::new(Names::get(), names);
    let printed = match body {
        Body::Term => {
            let term = jaq_core::load::parse(text, |parser| parser.term())?;
            let (mut rewritten, mut formats) = (false, false);
            let term = precedence::regroup(term, &mut rewritten);
            let term = visible::unknown_formats(term, &mut formats);
            let mut paths = path_expr::Rewrite::new(&scope);
            let term = update::recursive(paths.term(term), &mut rewritten);
            let wrapped = rewritten || paths.changed || formats;
            let (term, changed) = order::rewrite_term(term, &mut scope);
            (wrapped || changed).then(|| unparse::term(&term))?
        }
        Body::Defs => {
            let defs = jaq_core::load::parse(text, |parser| parser.defs())?;
            let (mut rewritten, mut formats) = (false, false);
            let defs = defs
                .into_iter()
                .map(|def| {
                    let body = precedence::regroup(def.body, &mut rewritten);
                    Def {
                        body: visible::unknown_formats(body, &mut formats),
                        ..def
                    }
                })
                .collect();
            let mut paths = path_expr::Rewrite::new(&scope);
            let defs = paths
                .defs(defs)
                .into_iter()
                .map(|def| Def {
                    body: update::recursive(def.body, &mut rewritten),
                    ..def
                })
                .collect();
            let wrapped = rewritten || paths.changed || formats;
            let (defs, changed) = order::rewrite_defs(defs, &mut scope);
            (wrapped || changed).then(|| unparse::defs(&defs))?
        }
    };
    Some(format!("{} {printed}", &code[..start]))
}

/// `term` with each of its direct subterms replaced by `f` of it (the
/// walk every rewrite shares; a rewrite matches the terms it changes
/// first and leaves the rest to this).
pub(super) fn children<'s>(
    term: Term<&'s str>,
    f: &mut impl FnMut(Term<&'s str>) -> Term<&'s str>,
) -> Term<&'s str> {
    let boxed = |term: Box<Term<&'s str>>, f: &mut dyn FnMut(Term<&'s str>) -> Term<&'s str>| {
        Box::new(f(*term))
    };
    match term {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_) => term,
        Term::Str(format, parts) => Term::Str(
            format,
            parts
                .into_iter()
                .map(|part| match part {
                    StrPart::Term(inner) => StrPart::Term(f(inner)),
                    other => other,
                })
                .collect(),
        ),
        Term::Arr(inner) => Term::Arr(inner.map(|inner| boxed(inner, f))),
        Term::Obj(entries) => Term::Obj(
            entries
                .into_iter()
                .map(|(key, value)| (f(key), value.map(&mut *f)))
                .collect(),
        ),
        Term::Neg(inner) => Term::Neg(boxed(inner, f)),
        Term::BinOp(left, op, right) => {
            let left = boxed(left, f);
            Term::BinOp(left, op, boxed(right, f))
        }
        Term::Label(name, body) => Term::Label(name, boxed(body, f)),
        Term::Fold(kind, inputs, pattern, args) => {
            let inputs = boxed(inputs, f);
            Term::Fold(
                kind,
                inputs,
                pattern,
                args.into_iter().map(&mut *f).collect(),
            )
        }
        Term::TryCatch(body, catch) => {
            let body = boxed(body, f);
            Term::TryCatch(body, catch.map(|catch| boxed(catch, f)))
        }
        Term::IfThenElse(branches, otherwise) => Term::IfThenElse(
            branches
                .into_iter()
                .map(|(condition, then)| (f(condition), f(then)))
                .collect(),
            otherwise.map(|otherwise| boxed(otherwise, f)),
        ),
        Term::Def(defs, body) => {
            let defs = defs
                .into_iter()
                .map(|def| Def {
                    body: f(def.body),
                    ..def
                })
                .collect();
            Term::Def(defs, boxed(body, f))
        }
        Term::Call(name, args) => Term::Call(name, args.into_iter().map(&mut *f).collect()),
        Term::Path(head, Path(parts)) => {
            let head = boxed(head, f);
            let parts = parts
                .into_iter()
                .map(|(part, opt)| {
                    let part = match part {
                        Part::Index(index) => Part::Index(f(index)),
                        Part::Range(from, to) => {
                            let from = from.map(&mut *f);
                            Part::Range(from, to.map(&mut *f))
                        }
                    };
                    (part, opt)
                })
                .collect();
            Term::Path(head, Path(parts))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The builtins are written in jq's order of evaluation (so they need
    /// no rewrite when a program starts): rewriting the prelude changes
    /// none of the definitions a program reaches.
    #[test]
    fn the_prelude_is_written_in_jq_order() {
        let mut scope = Scope::new(Names::get(), Some(HashSet::new()));
        let defs: Vec<_> = super::super::compat::defs().collect();
        let mut rewritten = Vec::new();
        for (index, def) in defs.iter().enumerate() {
            let shadowed = defs[index + 1..]
                .iter()
                .any(|later| later.name == def.name && later.args.len() == def.args.len());
            let (after, changed) = order::rewrite_builtin(def.clone(), &mut scope);
            if changed && !shadowed {
                rewritten.push(unparse::defs(&[after]));
            }
        }
        assert!(
            rewritten.is_empty(),
            "write these in jq's order:\n{}",
            rewritten.concat()
        );
    }

    fn none(_: &header::Directive) -> Option<Vec<String>> {
        Some(Vec::new())
    }

    #[test]
    fn only_changed_bodies_are_printed() {
        assert_eq!(rewrite(".a + 1", Body::Term, &none), None);
        assert_eq!(rewrite(". + .b", Body::Term, &none), None);
        // Where both fail, jq reports the right one's error.
        assert_eq!(
            rewrite(".a + .b", Body::Term, &none).as_deref(),
            Some(" (.[\"b\"] as $__jq_v0 | (.[\"a\"] + $__jq_v0))")
        );
        assert_eq!(
            rewrite("(1,2) + (10,20)", Body::Term, &none).as_deref(),
            Some(" ((10, 20) as $__jq_v0 | ((1, 2) + $__jq_v0))")
        );
        assert_eq!(
            rewrite("import \"a\" as a; .[] - .[]", Body::Term, &none).as_deref(),
            Some("import \"a\" as a; (.[] as $__jq_v0 | (.[] - $__jq_v0))")
        );
        assert_eq!(rewrite("syntax error (", Body::Term, &none), None);
        assert!(rewrite("def f: .[] * .[];", Body::Defs, &none).is_some());
    }

    /// `_jq_one` only where the bound term gives at most one output, calls
    /// a local definition and has no effect (see `order`).
    #[test]
    fn single_output_bindings_are_settled() {
        let settled = |code: &str| {
            rewrite(code, Body::Term, &none).is_some_and(|code| code.contains("_jq_one("))
        };
        assert!(settled(
            "def ack($m; $n): if $m == 0 then $n + 1 elif $n == 0 then ack($m - 1; 1) \
             else ack($m - 1; ack($m; $n - 1)) end; ack(2; 3)"
        ));
        assert!(settled("def g: .a; g as $x | $x"));
        assert!(settled("def f($x): $x; def g: .a | select(. > 1); f(g)"));
        // Several outputs, perhaps (a builtin a local definition shadows,
        // a recursion that forks), an effect, nothing local to finish.
        assert!(!settled("def f($x): $x; def g: 1, 2; f(g)"));
        assert!(!settled("def g($x): $x; def h($y): $y; h(g(1, 2))"));
        assert!(!settled(
            "def f($x): $x; def g: def length: 1, 2; length; f(g)"
        ));
        assert!(!settled("def f: if . then 1 else f, f end; f as $x | $x"));
        assert!(!settled("def f($x): $x; def g: input; f(g)"));
        assert!(!settled("def f($x): $x; f(.a + 1)"));
        assert!(!settled("def f(g): g; def h: 1; f(h)"));
    }

    #[test]
    fn included_definitions_shadow_builtins() {
        // `reduce` keeps the last output of an update that may give several.
        let code = "include \"x\"; reduce .[] as $x (0; f)";
        assert!(rewrite(code, Body::Term, &none).is_some());
        let code = "include \"x\"; reduce .[] as $x (0; keys)";
        assert_eq!(rewrite(code, Body::Term, &none), None);
        let shadowing = |_: &header::Directive| Some(vec!["keys/0".to_string()]);
        assert!(rewrite(code, Body::Term, &shadowing).is_some());
        assert!(rewrite(code, Body::Term, &|_| None).is_some());
    }
}
