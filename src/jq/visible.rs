//! The builtins a program can call: jq 1.7.1's, no more.
//!
//! jaq's prelude and natives bring names jq does not have (`trim`,
//! `toarray`, `isarray`, `add/1`, `@urid`, ...). A filter that calls one
//! runs here and fails under jq with "trim/0 is not defined", which is the
//! surprise `doi-jq` exists to spare its users. So every builtin that is
//! not jq's is renamed `_jaq_NAME` before compiling, together with the
//! calls the prelude makes to it: the prelude keeps working, and a program
//! that calls `trim` gets jq's compile error.
//!
//! Formats are names too: `@name` is jq's only for the [`FORMATS`] its
//! `format` knows; any other is an error when applied, which the rewrite
//! in `tree` arranges.

use super::tree;
use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Term};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

/// What jq 1.7.1's `builtins` prints, in its order.
pub(super) const BUILTINS: &[&str] = &[
    "input_line_number/0",
    "input_filename/0",
    "now/0",
    "localtime/0",
    "gmtime/0",
    "mktime/0",
    "strflocaltime/1",
    "strftime/1",
    "strptime/1",
    "stderr/0",
    "debug/0",
    "input/0",
    "modulemeta/0",
    "get_jq_origin/0",
    "get_prog_origin/0",
    "get_search_list/0",
    "halt_error/1",
    "halt/0",
    "env/0",
    "format/1",
    "error/0",
    "max/0",
    "min/0",
    "sort/0",
    "nan/0",
    "infinite/0",
    "isnormal/0",
    "isnan/0",
    "isinfinite/0",
    "type/0",
    "utf8bytelength/0",
    "length/0",
    "contains/1",
    "has/1",
    "delpaths/1",
    "getpath/1",
    "setpath/2",
    "implode/0",
    "explode/0",
    "split/1",
    "rtrimstr/1",
    "ltrimstr/1",
    "endswith/1",
    "startswith/1",
    "keys_unsorted/0",
    "keys/0",
    "tostring/0",
    "tonumber/0",
    "fromjson/0",
    "tojson/0",
    "lgamma_r/0",
    "modf/0",
    "frexp/0",
    "ldexp/2",
    "trunc/0",
    "significand/0",
    "scalbln/2",
    "scalb/2",
    "round/0",
    "rint/0",
    "nexttoward/2",
    "nextafter/2",
    "nearbyint/0",
    "logb/0",
    "log1p/0",
    "lgamma/0",
    "gamma/0",
    "fmod/2",
    "fmin/2",
    "fmax/2",
    "fma/3",
    "fdim/2",
    "fabs/0",
    "expm1/0",
    "exp10/0",
    "erfc/0",
    "erf/0",
    "drem/2",
    "copysign/2",
    "ceil/0",
    "yn/2",
    "jn/2",
    "y1/0",
    "y0/0",
    "tgamma/0",
    "tanh/0",
    "tan/0",
    "sqrt/0",
    "sinh/0",
    "sin/0",
    "remainder/2",
    "pow/2",
    "log2/0",
    "log10/0",
    "log/0",
    "j1/0",
    "j0/0",
    "hypot/2",
    "floor/0",
    "exp2/0",
    "exp/0",
    "cosh/0",
    "cos/0",
    "cbrt/0",
    "atanh/0",
    "atan2/2",
    "atan/0",
    "asinh/0",
    "asin/0",
    "acosh/0",
    "acos/0",
    "empty/0",
    "not/0",
    "path/1",
    "range/2",
    "halt_error/0",
    "error/1",
    "map/1",
    "select/1",
    "sort_by/1",
    "group_by/1",
    "unique/0",
    "unique_by/1",
    "max_by/1",
    "min_by/1",
    "add/0",
    "del/1",
    "abs/0",
    "map_values/1",
    "recurse/1",
    "recurse/2",
    "recurse/0",
    "to_entries/0",
    "from_entries/0",
    "with_entries/1",
    "reverse/0",
    "indices/1",
    "index/1",
    "rindex/1",
    "paths/0",
    "paths/1",
    "isfinite/0",
    "arrays/0",
    "objects/0",
    "iterables/0",
    "booleans/0",
    "numbers/0",
    "normals/0",
    "finites/0",
    "strings/0",
    "nulls/0",
    "values/0",
    "scalars/0",
    "join/1",
    "flatten/1",
    "flatten/0",
    "range/1",
    "fromdateiso8601/0",
    "todateiso8601/0",
    "fromdate/0",
    "todate/0",
    "match/2",
    "match/1",
    "test/2",
    "test/1",
    "capture/2",
    "capture/1",
    "scan/2",
    "scan/1",
    "splits/2",
    "splits/1",
    "split/2",
    "sub/3",
    "sub/2",
    "gsub/3",
    "gsub/2",
    "while/2",
    "until/2",
    "limit/2",
    "range/3",
    "first/1",
    "isempty/1",
    "all/2",
    "any/2",
    "all/1",
    "any/1",
    "all/0",
    "any/0",
    "last/1",
    "nth/2",
    "first/0",
    "last/0",
    "nth/1",
    "combinations/0",
    "combinations/1",
    "transpose/0",
    "in/1",
    "inside/1",
    "repeat/1",
    "inputs/0",
    "ascii_downcase/0",
    "ascii_upcase/0",
    "truncate_stream/1",
    "fromstream/1",
    "tostream/0",
    "bsearch/1",
    "walk/1",
    "pick/1",
    "debug/1",
    "INDEX/2",
    "INDEX/1",
    "JOIN/2",
    "JOIN/3",
    "JOIN/4",
    "IN/1",
    "IN/2",
    "pow10/0",
    "builtins/0",
];

/// The names jq 1.7.1's `format` (and so `@name`) knows. Its manual also
/// lists `@base32` and `@base32d`, which its code does not have.
pub(super) const FORMATS: &[&str] = &[
    "text", "json", "html", "uri", "csv", "tsv", "sh", "base64", "base64d",
];

/// Literals jq's grammar knows, which jaq defines as builtins.
const LITERALS: &[&str] = &["null", "true", "false"];

/// Whether a program may call `name/arity`: a builtin of jq's, a format
/// of jq's, a literal, or a private helper (`_`-prefixed: jq's own are
/// such too).
pub(super) fn is_visible(name: &str, arity: usize) -> bool {
    static SET: OnceLock<HashSet<(&'static str, usize)>> = OnceLock::new();
    let set = SET.get_or_init(|| {
        BUILTINS
            .iter()
            .filter_map(|entry| {
                let (name, arity) = entry.rsplit_once('/')?;
                Some((name, arity.parse().ok()?))
            })
            .collect()
    });
    name.starts_with('_')
        || set.contains(&(name, arity))
        || (arity == 0 && LITERALS.contains(&name))
        || (arity == 0 && name.starts_with('@') && unknown_format(name).is_none())
}

/// The name `@name` formats by, when jq 1.7.1's `format` does not know it.
fn unknown_format(name: &str) -> Option<&str> {
    name.strip_prefix('@')
        .filter(|format| !FORMATS.contains(format))
}

/// The name a builtin jq lacks goes by, or `None` for one a program may
/// call. The names are made once per process and live as long as it.
pub(super) fn hidden(name: &'static str, arity: usize) -> Option<&'static str> {
    static NAMES: Mutex<Option<HashMap<&'static str, &'static str>>> = Mutex::new(None);
    if is_visible(name, arity) {
        return None;
    }
    let mut names = NAMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let names = names.get_or_insert_with(HashMap::new);
    Some(names.entry(name).or_insert_with(|| {
        let name = match name.strip_prefix('@') {
            Some(format) => format!("@_jaq_{format}"),
            None => format!("_jaq_{name}"),
        };
        Box::leak(name.into_boxed_str())
    }))
}

/// `def` under its hidden name if it has one, with its calls to hidden
/// builtins renamed (a parameter or local definition of the same name
/// shadows the builtin and keeps its name).
pub(super) fn hide_def(def: Def<&'static str>) -> Def<&'static str> {
    let mut bound = Vec::new();
    let name = hidden(def.name, def.args.len()).unwrap_or(def.name);
    let body = with_params(&def.args, &mut bound, |bound| rename(def.body, bound));
    Def { name, body, ..def }
}

/// `f` with `args` (a definition's parameters) bound as names.
fn with_params<T>(
    args: &[&'static str],
    bound: &mut Vec<(&'static str, usize)>,
    f: impl FnOnce(&mut Vec<(&'static str, usize)>) -> T,
) -> T {
    let mark = bound.len();
    // A value parameter `$x` can be called as the filter `x` too.
    bound.extend(args.iter().map(|arg| (arg.trim_start_matches('$'), 0)));
    let result = f(bound);
    bound.truncate(mark);
    result
}

fn rename(term: Term<&'static str>, bound: &mut Vec<(&'static str, usize)>) -> Term<&'static str> {
    let hide = |name: &'static str, arity: usize, bound: &[(&'static str, usize)]| match bound
        .contains(&(name, arity))
    {
        true => name,
        false => hidden(name, arity).unwrap_or(name),
    };
    match term {
        Term::Call(name, args) => {
            let name = hide(name, args.len(), bound);
            let args = args.into_iter().map(|arg| rename(arg, bound)).collect();
            Term::Call(name, args)
        }
        Term::Str(Some(format), parts) => {
            let format = hide(format, 0, bound);
            tree::children(Term::Str(Some(format), parts), &mut |child| {
                rename(child, bound)
            })
        }
        Term::Def(defs, body) => {
            let mark = bound.len();
            let defs = defs
                .into_iter()
                .map(|def| {
                    // Each definition sees itself and those before it.
                    bound.push((def.name, def.args.len()));
                    let body = with_params(&def.args, bound, |bound| rename(def.body, bound));
                    Def { body, ..def }
                })
                .collect();
            let body = Box::new(rename(*body, bound));
            bound.truncate(mark);
            Term::Def(defs, body)
        }
        other => tree::children(other, &mut |child| rename(child, bound)),
    }
}

/// `term` with each format jq 1.7.1 does not know turned into what jq
/// makes of it, `_jq_format("name")`: an error when it formats something,
/// where jaq refuses the whole program (`@foo`/0 is not defined). A string
/// with such a format formats only its interpolations, so `@foo "x"` is
/// `"x"` in both.
pub(super) fn unknown_formats<'s>(term: Term<&'s str>, changed: &mut bool) -> Term<&'s str> {
    let call = |name: &'s str| {
        Term::Call(
            "_jq_format",
            vec![Term::Str(None, vec![StrPart::Str(name)])],
        )
    };
    match term {
        Term::Call(format, args) if args.is_empty() => match unknown_format(format) {
            Some(name) => {
                *changed = true;
                call(name)
            }
            None => Term::Call(format, args),
        },
        Term::Str(Some(format), parts) => match unknown_format(format) {
            Some(name) => {
                *changed = true;
                let parts = parts
                    .into_iter()
                    .map(|part| match part {
                        StrPart::Term(inner) => StrPart::Term(Term::BinOp(
                            Box::new(unknown_formats(inner, changed)),
                            BinaryOp::Pipe(None),
                            Box::new(call(name)),
                        )),
                        other => other,
                    })
                    .collect();
                Term::Str(None, parts)
            }
            None => tree::children(Term::Str(Some(format), parts), &mut |child| {
                unknown_formats(child, changed)
            }),
        },
        other => tree::children(other, &mut |child| unknown_formats(child, changed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_jq_lacks_are_renamed_and_their_callers_follow() {
        let defs = jaq_core::load::parse(
            "def trim: 1; def f(trim): trim, ltrim; def g: def trim: 2; trim, @urid \"\\(1)\"; \
             def h($isarray): isarray, length;",
            |parser| parser.defs(),
        )
        .unwrap_or_default();
        let defs: Vec<_> = defs.into_iter().map(hide_def).collect();
        let text = super::super::unparse::defs(&defs);
        assert!(text.contains("def _jaq_trim: 1;"), "{text}");
        assert!(text.contains("(trim, _jaq_ltrim)"), "{text}");
        assert!(text.contains("def trim: 2;"), "{text}");
        assert!(text.contains("@_jaq_urid"), "{text}");
        assert!(text.contains("isarray, length"), "{text}");
    }

    #[test]
    fn what_a_program_sees_is_jq_1_7_1_s_list() {
        assert_eq!(BUILTINS.len(), 218);
        assert_eq!(hidden("length", 0), None);
        assert_eq!(hidden("@base64d", 0), None);
        assert_eq!(hidden("_jq_type", 0), None);
        assert_eq!(hidden("add", 1), Some("_jaq_add"));
        assert_eq!(hidden("@base32", 0), Some("@_jaq_base32"));
    }
}
