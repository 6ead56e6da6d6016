//! What makes jaq behave like jq 1.7.
//!
//! jaq's prelude and natives come first; our definitions (`compat.jq`) and
//! natives are layered over them, since jaq resolves a name to the last
//! definition and then to the first native that matches.

use super::lexemes;
use super::print::jq_text;
use super::val::{Map, Rc};
use super::value::{compact_text, describe, run_positions, type_name, Value};
use super::{CompileOptions, Data, ModulePath, Val};
use jaq_core::load::parse::Def;
use jaq_core::native::Fun;
use std::collections::HashMap;

/// `eprintln!`/`println!` without their panic when the stream is closed
/// (jq exits quietly when its output goes away).
macro_rules! stderr_line {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($argument)*);
    }};
}

/// Every jq-defined builtin, ours last so they win. Those jq lacks are
/// hidden (`visible`) once the prelude is cut to what a program reaches,
/// since renaming walks every definition.
pub(super) fn defs() -> impl Iterator<Item = Def<&'static str>> {
    let ours = jaq_core::load::parse(include_str!("compat.jq"), |p| p.defs()).unwrap_or_default();
    jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs())
        .chain(ours)
        .filter(|def| {
            let name = (def.name, def.args.len());
            !super::builtins::REPLACED.contains(&name) && !super::math::REPLACED.contains(&name)
        })
}

/// Every native builtin, ours first so they win.
pub(super) fn funs() -> impl Iterator<Item = Fun<Data>> {
    super::builtins::natives()
        .into_iter()
        .chain(natives())
        .chain(super::math::natives())
        .chain(super::path_expr::natives())
        .chain(
            jaq_std::input::funs::<Data>()
                .into_vec()
                .into_iter()
                .map(jaq_core::native::run::<Data>),
        )
        .chain(jaq_core::funs())
        .chain(jaq_std::funs())
        .map(|(name, args, native)| {
            let native = super::select_update::with_update(name, native);
            let name = super::visible::hidden(name, args.len()).unwrap_or(name);
            (name, args, native)
        })
}

/// jq 1.7.1's `_modify(paths; update)`, what `l |= r` means: each path of
/// `l` is set to the first output of `r` on its value, and the paths `r`
/// gives nothing for are deleted together at the end (so `.[1,4,2,3] |=
/// empty` deletes the elements those indices name, where jaq would delete
/// one after the other and shift the rest).
///
/// It runs on jaq's own update, which changes values in place: a path to
/// delete is first set to a marker value, and the markers are removed in
/// one pass afterwards (only when there are any).
fn modify(mut cv: jaq_core::Cv<'_, Data>) -> jaq_core::ValXs<'_, Value> {
    let (update, update_ctx) = cv.0.pop_fun();
    let (paths, paths_ctx) = cv.0.pop_fun();
    let marked = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let counter = marked.clone();
    let first = move |value: Value| -> jaq_core::ValXs<'_, Value> {
        match update.run((update_ctx.clone(), value)).next() {
            Some(result) => Box::new(std::iter::once(result)),
            None => {
                counter.set(counter.get() + 1);
                Box::new(std::iter::once(Ok(Value(DELETED.with(Clone::clone)))))
            }
        }
    };
    let mut seen = 0;
    Box::new(
        paths
            .update((paths_ctx, cv.1), Box::new(first))
            .map(move |result| {
                let now = marked.get();
                let fresh = now != seen;
                seen = now;
                result.map(|value| if fresh { Value(purge(value.0)) } else { value })
            }),
    )
}

/// `_jq_modify_each(path(l); update)`: jq 1.7.1's `_modify`, the paths
/// found on the value as it was and each updated in turn on the value as
/// it has become; what `l |= r` (and `=`, `+=`, ...) means where `l`
/// recurses (`..`), which jaq's own update walks from the leaves up
/// instead (see `update::recursive`). The paths are read as they come, as
/// jq's `reduce path(l) as $p` reads them.
fn modify_each<'a>(mut cv: jaq_core::Cv<'a, Data>) -> jaq_core::ValXs<'a, Value> {
    fn one<'a>(result: jaq_core::ValX<'a, Value>) -> jaq_core::ValXs<'a, Value> {
        Box::new(std::iter::once(result))
    }
    let (update, update_ctx) = cv.0.pop_fun();
    let (paths, paths_ctx) = cv.0.pop_fun();
    let deletions = std::cell::Cell::new(false);
    let mut value = cv.1.clone();
    for path in paths.run((paths_ctx, cv.1)) {
        let keys = match path {
            Ok(Value(Val::Arr(keys))) => keys,
            Ok(_) => continue,
            Err(error) => return one(Err(error)),
        };
        let first = |old: Value| match update.run((update_ctx.clone(), old)).next() {
            Some(result) => result,
            None => {
                deletions.set(true);
                Ok(Value(DELETED.with(Clone::clone)))
            }
        };
        value = match update_at(value, &keys, &first) {
            Ok(value) => value,
            Err(error) => return one(Err(error)),
        };
    }
    one(Ok(match deletions.get() {
        true => Value(purge(value.0)),
        false => value,
    }))
}

/// `value` with what is at `keys` replaced by `f` of it, each step as
/// `.[key] |= ...` takes it (jq's getpath and setpath rules).
fn update_at<'a>(
    value: Value,
    keys: &[Val],
    f: &dyn Fn(Value) -> jaq_core::ValX<'a, Value>,
) -> jaq_core::ValX<'a, Value> {
    use jaq_core::ValT;
    match keys.split_first() {
        None => f(value),
        Some((key, rest)) => value.map_index(
            &Value(key.clone()),
            jaq_core::path::Opt::Essential,
            |inner| std::iter::once(update_at(inner, rest, f)),
        ),
    }
}

thread_local! {
    /// The marker for "delete this": an array no program can hold, told
    /// apart by its address.
    static DELETED: Val = Val::Arr(Rc::new(Vec::new()));
}

pub(super) fn is_deleted(value: &Val) -> bool {
    match value {
        Val::Arr(items) => DELETED.with(|marker| match marker {
            Val::Arr(marker) => Rc::ptr_eq(items, marker),
            _ => false,
        }),
        _ => false,
    }
}

/// Removes the marked elements and keys, all at once (null when the
/// whole value was marked, as jq's `delpaths([[]])`).
fn purge(value: Val) -> Val {
    if is_deleted(&value) {
        return Val::Null;
    }
    without_marked(&value).unwrap_or(value)
}

/// `value` without its marked elements and keys; `None` when it has none
/// (only the containers on the way to a marker are rebuilt).
fn without_marked(value: &Val) -> Option<Val> {
    match value {
        Val::Arr(items) => {
            let mut rebuilt: Option<Vec<Val>> = None;
            for (index, item) in items.iter().enumerate() {
                let replacement = replacement_of(item);
                match (replacement, &mut rebuilt) {
                    (Some(replacement), _) => {
                        let out = rebuilt.get_or_insert_with(|| items[..index].to_vec());
                        out.extend(replacement);
                    }
                    (None, Some(out)) => out.push(item.clone()),
                    (None, None) => {}
                }
            }
            rebuilt.map(|items| items.into_iter().collect())
        }
        Val::Obj(entries) => {
            let mut rebuilt: Option<Map> = None;
            for (index, (key, item)) in entries.iter().enumerate() {
                let replacement = replacement_of(item);
                match (replacement, &mut rebuilt) {
                    (Some(replacement), _) => {
                        let out = rebuilt.get_or_insert_with(|| {
                            entries
                                .iter()
                                .take(index)
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        });
                        if let Some(replacement) = replacement {
                            out.insert(key.clone(), replacement);
                        }
                    }
                    (None, Some(out)) => {
                        out.insert(key.clone(), item.clone());
                    }
                    (None, None) => {}
                }
            }
            rebuilt.map(Val::obj)
        }
        _ => None,
    }
}

/// What becomes of one element in [`without_marked`]: `None` if it stays
/// as it is, `Some(None)` if it goes, `Some(Some(rebuilt))` if it changed.
fn replacement_of(item: &Val) -> Option<Option<Val>> {
    if is_deleted(item) {
        Some(None)
    } else {
        without_marked(item).map(Some)
    }
}

fn natives() -> Vec<Fun<Data>> {
    use jaq_core::native::{bome, run, v};
    use jaq_core::RunPtr;
    type Native = (&'static str, Box<[jaq_core::Bind]>, RunPtr<Data>);
    /// A native of one value argument: `input | name($argument)`.
    fn binary(
        mut cv: jaq_core::Cv<'_, Data>,
        f: fn(&Val, &Val) -> Result<Val, String>,
    ) -> jaq_core::ValXs<'_, Value> {
        let argument = cv.0.pop_var();
        bome(f(&cv.1 .0, &argument.0).map(Value).map_err(jaq_error))
    }
    /// `input | _jq_match($re; $flags)` (or `_jq_test`).
    fn regex(mut cv: jaq_core::Cv<'_, Data>, test: bool) -> jaq_core::ValXs<'_, Value> {
        let flags = cv.0.pop_var();
        let re = cv.0.pop_var();
        let result = super::regex::match_impl(&cv.1 .0, &re.0, &flags.0, test);
        bome(result.map(Value).map_err(jaq_error))
    }
    let natives: [Native; 34] = [
        ("modulemeta", v(0), |cv| {
            let result = match &cv.1 .0 {
                Val::TStr(name) | Val::BStr(name) => {
                    cv.0.data().module_meta(&String::from_utf8_lossy(name))
                }
                _ => Err("modulemeta input module not a string".to_string()),
            };
            bome(result.map(Value).map_err(jaq_error))
        }),
        // jq 1.7.1 raises "break" when `input` finds no more inputs.
        ("_jq_input", v(0), |cv| {
            use jaq_std::input::HasInputs;
            let next = cv.0.data().inputs().next();
            bome(match next {
                Some(Ok(value)) => Ok(value),
                Some(Err(message)) => Err(jaq_error(message)),
                None => Err(jaq_error("break".to_string())),
            })
        }),
        ("input_filename", v(0), |cv| {
            let file = cv.0.data().place.borrow().file.clone();
            bome(Ok(Value(file.map_or(Val::Null, Val::from))))
        }),
        ("input_line_number", v(0), |cv| {
            let line = cv.0.data().place.borrow().line;
            bome(Ok(Value(Val::from(line))))
        }),
        ("implode", v(0), |cv| {
            bome(implode(&cv.1 .0).map(Value).map_err(jaq_error))
        }),
        ("gmtime", v(0), |cv| {
            bome(super::time::split(&cv.1 .0).map(Value).map_err(jaq_error))
        }),
        ("mktime", v(0), |cv| {
            bome(super::time::mktime(&cv.1 .0).map(Value).map_err(jaq_error))
        }),
        ("floor", v(0), |cv| {
            bome(rounded(&cv.1 .0, f64::floor).map(Value).map_err(jaq_error))
        }),
        ("ceil", v(0), |cv| {
            bome(rounded(&cv.1 .0, f64::ceil).map(Value).map_err(jaq_error))
        }),
        ("round", v(0), |cv| {
            bome(rounded(&cv.1 .0, f64::round).map(Value).map_err(jaq_error))
        }),
        ("localtime", v(0), |cv| {
            bome(
                super::time::split_local(&cv.1 .0)
                    .map(Value)
                    .map_err(jaq_error),
            )
        }),
        ("strftime", v(1), |cv| binary(cv, super::time::format)),
        ("strflocaltime", v(1), |cv| {
            binary(cv, super::time::format_local)
        }),
        ("strptime", v(1), |cv| binary(cv, super::time::strptime)),
        ("_jq_match", v(2), |cv| regex(cv, false)),
        ("_jq_test", v(2), |cv| regex(cv, true)),
        ("_jq_number_class", v(0), |cv| {
            bome(Ok(Value(Val::from(number_class(&cv.1 .0).to_string()))))
        }),
        ("_jq_utf8bytelength", v(0), |cv| {
            bome(utf8_byte_length(&cv.1 .0).map(Value).map_err(jaq_error))
        }),
        // jq's "type (value)" phrase, for the error messages of our
        // definitions in compat.jq.
        ("_jq_describe", v(0), |cv| {
            bome(Ok(Value(Val::from(describe(&cv.1 .0)))))
        }),
        // jaq defines `type` in jq code by comparisons; our modules call it
        // on every value they normalize, so it is native here.
        ("_jq_type", v(0), |cv| {
            bome(Ok(Value(Val::from(type_name(&cv.1 .0).to_string()))))
        }),
        // jq's compact text, numbers and escapes included (jaq's differs).
        ("tojson", v(0), |cv| {
            bome(Ok(Value(Val::from(compact_text(&cv.1 .0)))))
        }),
        ("fromjson", v(0), |cv| {
            bome(from_json(&cv.1 .0).map(Value).map_err(jaq_error))
        }),
        ("length", v(0), |cv| {
            bome(length(&cv.1 .0).map(Value).map_err(jaq_error))
        }),
        ("contains", v(1), |cv| {
            binary(cv, |a, b| contains(a, b).map(Val::from))
        }),
        ("has", v(1), |cv| binary(cv, has)),
        // compat.jq's `indices` wraps this; jaq's `index` and `rindex`,
        // which it shadows, still call it by its own name.
        ("indices", v(1), |cv| binary(cv, indices)),
        ("_jq_indices", v(1), |cv| binary(cv, indices)),
        ("_jq_bsearch", v(1), |cv| binary(cv, bsearch)),
        ("_jq_delpaths", v(1), |cv| {
            binary(cv, |value, paths| {
                delete_paths(value.clone(), paths.clone())
            })
        }),
        ("_jq_base64_decode", v(0), |cv| {
            bome(base64_decode(&cv.1 .0).map(Value).map_err(jaq_error))
        }),
        ("_jq_debug", v(0), |cv| {
            stderr_line!("[\"DEBUG:\",{}]", compact_text(&cv.1 .0));
            bome(Ok(cv.1))
        }),
        // jq 1.7.1 writes a string raw, anything else as compact JSON.
        ("_jq_stderr", v(0), |cv| {
            let mut stderr = std::io::stderr();
            let _ = match &cv.1 .0 {
                Val::TStr(text) | Val::BStr(text) => std::io::Write::write_all(&mut stderr, text),
                other => std::io::Write::write_all(&mut stderr, compact_text(other).as_bytes()),
            };
            bome(Ok(cv.1))
        }),
        ("_jq_halt_error", v(1), |mut cv| {
            // jq casts the code to a C int (`halt_error(2.9)` exits 2).
            let code = cv.0.pop_var().0;
            let Some(code) = Val::as_f64(&code).map(super::math::c_int) else {
                let message = format!("{} halt_error/1: number required", describe(&cv.1 .0));
                return bome(Err(jaq_error(message)));
            };
            match &cv.1 .0 {
                Val::TStr(text) | Val::BStr(text) => {
                    let _ = std::io::Write::write_all(&mut std::io::stderr(), text);
                }
                // jq halts with no message for null.
                Val::Null => {}
                other => stderr_line!("{}", compact_text(other)),
            }
            Box::new(std::iter::once(Err(jaq_core::Exn::halt(code))))
        }),
        ("_jq_builtins", v(0), |_cv| {
            bome(Ok(super::visible::BUILTINS
                .iter()
                .map(|name| Value(Val::from(name.to_string())))
                .collect()))
        }),
    ];
    let modify: Native = (
        "_modify",
        [jaq_core::Bind::Fun(()), jaq_core::Bind::Fun(())].into(),
        modify,
    );
    let modify_each: Native = (
        "_jq_modify_each",
        [jaq_core::Bind::Fun(()), jaq_core::Bind::Fun(())].into(),
        modify_each,
    );
    natives
        .into_iter()
        .chain([modify, modify_each])
        .map(run::<Data>)
        .collect()
}

fn jaq_error(message: String) -> jaq_core::Error<Value> {
    jaq_core::Error::new(Value(Val::from(message)))
}

/// jq's `floor`, `ceil` and `round`: C's, on the double (a literal beyond
/// the exact integers is rounded as its double, and a large result prints
/// as a double does, `1e+20`).
fn rounded(value: &Val, round: fn(f64) -> f64) -> Result<Val, String> {
    match value {
        Val::Num(_) => Ok(match super::value::exact_integer(value) {
            Some(_) => value.clone(),
            None => Val::from(round(Val::as_f64(value).unwrap_or(f64::NAN))),
        }),
        _ => Err(format!("{} number required", describe(value))),
    }
}

/// jq's `length`: null is 0, numbers their absolute value, strings count
/// code points, booleans have none.
fn length(value: &Val) -> Result<Val, String> {
    Ok(match value {
        Val::Null => Val::from(0isize),
        Val::Bool(_) => return Err(format!("{} has no length", describe(value))),
        // `fabs` of the double: a literal's digits are not kept.
        Val::Num(_) => match super::value::exact_integer(value) {
            Some(integer) => Val::from(integer.abs()),
            None => Val::from(Val::as_f64(value).unwrap_or(f64::NAN).abs()),
        },
        Val::TStr(text) | Val::BStr(text) => {
            Val::from(String::from_utf8_lossy(text).chars().count())
        }
        Val::Arr(items) => Val::from(items.len()),
        Val::Obj(entries) => Val::from(entries.len()),
    })
}

/// What jq's `isnan`, `isinfinite` and `isnormal` test: `"nan"`,
/// `"infinite"`, `"normal"` or `"other"` (zero, subnormal, and anything
/// that is not a number: jq 1.7.1 answers false for `"1" | isnan`).
fn number_class(value: &Val) -> &'static str {
    match Val::as_f64(value) {
        Some(number) if number.is_nan() => "nan",
        Some(number) if number.is_infinite() => "infinite",
        Some(number) if number.is_normal() => "normal",
        _ => "other",
    }
}

/// jq 1.7.1's `implode`: code points are truncated to integers, and those
/// that are no Unicode scalar value become U+FFFD.
fn implode(value: &Val) -> Result<Val, String> {
    let Val::Arr(points) = value else {
        return Err("implode input must be an array".to_string());
    };
    let mut text = String::with_capacity(points.len());
    for point in points.iter() {
        let code = match point {
            Val::Num(_) => Val::as_f64(point).unwrap_or(f64::NAN),
            other => {
                return Err(format!(
                    "{} can't be imploded, unicode codepoint needs to be numeric",
                    describe(other)
                ))
            }
        };
        if code.is_nan() {
            return Err(format!(
                "{} can't be imploded, unicode codepoint needs to be numeric",
                describe(point)
            ));
        }
        let character = u32::try_from(code.trunc() as i64)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}');
        text.push(character);
    }
    Ok(Val::from(text))
}

fn utf8_byte_length(value: &Val) -> Result<Val, String> {
    match value {
        Val::TStr(bytes) | Val::BStr(bytes) => Ok(Val::from(bytes.len())),
        other => Err(format!(
            "{} only strings have UTF-8 byte length",
            describe(other)
        )),
    }
}

/// jq's `contains`: substrings, sub-arrays (any order), sub-objects. Only
/// the two values themselves must be of one type: inside them, values of
/// different types just do not contain each other (`{a: 1} |
/// contains({a: "x"})` is false, as in jq).
fn contains(haystack: &Val, needle: &Val) -> Result<bool, String> {
    if !same_kind(haystack, needle) {
        return Err(format!(
            "{} and {} cannot have their containment checked",
            describe(haystack),
            describe(needle)
        ));
    }
    Ok(contains_in(haystack, needle, &mut HashMap::new()))
}

/// [`contains`], remembering what an array or object shared by both sides
/// answered about itself (`seen`, by address): a value built by doubling
/// (`[., .]` again and again) holds one array many times over, and asking
/// each copy again would take time exponential in its depth. The answer
/// about itself is not always true: `[nan] | contains([nan])` is false.
fn contains_in(haystack: &Val, needle: &Val, seen: &mut HashMap<usize, bool>) -> bool {
    let shared = match (haystack, needle) {
        (Val::Arr(a), Val::Arr(b)) if std::rc::Rc::ptr_eq(a, b) => Some(a.as_ptr() as usize),
        (Val::Obj(a), Val::Obj(b)) if std::rc::Rc::ptr_eq(a, b) => {
            Some(std::rc::Rc::as_ptr(a) as usize)
        }
        _ => None,
    };
    if let Some(answer) = shared.and_then(|address| seen.get(&address)) {
        return *answer;
    }
    let answer = match (haystack, needle) {
        (Val::Obj(outer), Val::Obj(inner)) => inner.iter().all(|(key, wanted)| {
            outer
                .get(key)
                .is_some_and(|found| contains_in(found, wanted, seen))
        }),
        (Val::Arr(outer), Val::Arr(inner)) => inner
            .iter()
            .all(|wanted| outer.iter().any(|found| contains_in(found, wanted, seen))),
        (Val::TStr(outer) | Val::BStr(outer), Val::TStr(inner) | Val::BStr(inner)) => {
            inner.is_empty()
                || outer
                    .windows(inner.len())
                    .any(|window| window == inner.as_ref())
        }
        _ => same_kind(haystack, needle) && haystack == needle,
    };
    if let Some(address) = shared {
        seen.insert(address, answer);
    }
    answer
}

/// Whether two values have one of jq's kinds (a string either way), in
/// which `true` and `false` are two: `false | contains(true)` is refused.
fn same_kind(a: &Val, b: &Val) -> bool {
    matches!(
        (a, b),
        (Val::Null, Val::Null)
            | (Val::Bool(true), Val::Bool(true))
            | (Val::Bool(false), Val::Bool(false))
            | (Val::Num(_), Val::Num(_))
            | (Val::TStr(_) | Val::BStr(_), Val::TStr(_) | Val::BStr(_))
            | (Val::Arr(_), Val::Arr(_))
            | (Val::Obj(_), Val::Obj(_))
    )
}

fn has(container: &Val, key: &Val) -> Result<Val, String> {
    match (container, key) {
        (Val::Obj(entries), Val::TStr(_)) => Ok(Val::from(entries.contains_key(key))),
        (Val::Null, _) => Ok(Val::from(false)),
        (Val::Arr(items), Val::Num(_)) => {
            let index = Val::as_f64(key).unwrap_or(-1.0);
            Ok(Val::from(index >= 0.0 && index < items.len() as f64))
        }
        _ => Err(format!(
            "Cannot check whether {} has a {} key",
            type_name(container),
            type_name(key)
        )),
    }
}

/// jq's `indices`: byte offsets in strings (as jq 1.7 reports them),
/// positions of a sub-array or of an element in arrays.
fn indices(input: &Val, wanted: &Val) -> Result<Val, String> {
    let positions: Vec<usize> = match (input, wanted) {
        (Val::Null, _) | (_, Val::Null) => return Ok(Val::Null),
        (Val::TStr(text) | Val::BStr(text), Val::TStr(part) | Val::BStr(part)) => {
            if part.is_empty() {
                return Ok(Val::Null);
            }
            text.windows(part.len())
                .enumerate()
                .filter(|(_, window)| *window == part.as_ref())
                .map(|(position, _)| position)
                .collect()
        }
        (Val::Arr(items), Val::Arr(part)) => {
            if part.is_empty() {
                return Ok(Val::Null);
            }
            run_positions(items, part).collect()
        }
        (Val::Arr(items), element) => items
            .iter()
            .enumerate()
            .filter(|(_, item)| *item == element)
            .map(|(position, _)| position)
            .collect(),
        _ => {
            return Err(format!(
                "Cannot determine indices of {} in {}",
                describe(wanted),
                describe(input)
            ))
        }
    };
    Ok(positions.into_iter().map(Val::from).collect())
}

fn bsearch(input: &Val, wanted: &Val) -> Result<Val, String> {
    let Val::Arr(items) = input else {
        return Err(format!("{} cannot be searched from", describe(input)));
    };
    let position = match items.binary_search(wanted) {
        Ok(found) => found as isize,
        Err(insert) => -1 - insert as isize,
    };
    Ok(Val::from(position))
}

fn from_json(value: &Val) -> Result<Val, String> {
    let (Val::TStr(text) | Val::BStr(text)) = value else {
        return Err(format!("{} only strings can be parsed", describe(value)));
    };
    let while_parsing = |problem: String| {
        format!(
            "{problem} (while parsing '{}')",
            String::from_utf8_lossy(text)
        )
    };
    let mut values = super::read::parse_many(text);
    match (values.next(), values.next()) {
        (Some(Ok(value)), None) => Ok(value),
        // jq reads one text and refuses what follows it.
        (Some(Ok(_)), Some(Ok(_))) => {
            Err(while_parsing("Unexpected extra JSON values".to_string()))
        }
        (Some(Ok(_)), Some(Err(error))) | (Some(Err(error)), _) => {
            Err(while_parsing(error.to_string()))
        }
        (None, _) => Err(while_parsing("Expected JSON value".to_string())),
    }
}

/// jq 1.7.1's base64 decoding: the standard alphabet, read up to the first
/// `=` (so padding is optional and anything after it is ignored), a last
/// group of two or three symbols giving one or two bytes, a lone last
/// symbol refused, and bytes that are not UTF-8 replaced.
fn base64_decode(value: &Val) -> Result<Val, String> {
    let (Val::TStr(text) | Val::BStr(text)) = value else {
        return Err(format!("{} cannot be base64-decoded", describe(value)));
    };
    let refuse = |reason: &str| format!("{} {reason}", describe(value));
    let symbol = |byte: u8| -> Option<u32> {
        Some(match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut decoded = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let (mut group, mut count) = (0u32, 0);
    for &byte in text.iter().take_while(|&&byte| byte != b'=') {
        let bits = symbol(byte).ok_or_else(|| refuse("is not valid base64 data"))?;
        group = group << 6 | bits;
        count += 1;
        if count == 4 {
            decoded.extend_from_slice(&group.to_be_bytes()[1..]);
            (group, count) = (0, 0);
        }
    }
    match count {
        3 => decoded.extend_from_slice(&(group >> 2).to_be_bytes()[2..]),
        2 => decoded.push((group >> 4) as u8),
        1 => return Err(refuse("trailing base64 byte found")),
        _ => {}
    }
    Ok(Val::from(jq_text(&decoded).into_owned()))
}

/// jq's `delpaths`: the paths are sorted and grouped by their first key;
/// the keys a group deletes at one level go together, so `del(.[1], .[-6])`
/// deletes the elements those indices name in the array as it was (jq
/// 1.7.1's order-independent deletion), and objects keep their key order.
fn delete_paths(value: Val, paths: Val) -> Result<Val, String> {
    let Val::Arr(paths) = paths else {
        return Err("Paths must be specified as an array".to_string());
    };
    let mut sorted: Vec<&[Val]> = Vec::with_capacity(paths.len());
    for path in paths.iter() {
        let Val::Arr(keys) = path else {
            return Err(format!(
                "Path must be specified as array, not {}",
                type_name(path)
            ));
        };
        sorted.push(keys);
    }
    sorted.sort();
    match sorted.first() {
        None => Ok(value),
        Some([]) => Ok(Val::Null),
        Some(_) => delete_sorted(value, &sorted, 0),
    }
}

/// Deletes sorted `paths` (all longer than `depth`) below `value`.
fn delete_sorted(mut value: Val, paths: &[&[Val]], depth: usize) -> Result<Val, String> {
    let mut keys = Vec::new();
    let mut group = 0;
    while group < paths.len() {
        let key = &paths[group][depth];
        let end = group
            + paths[group..]
                .iter()
                .take_while(|path| path[depth] == *key)
                .count();
        if paths[group].len() == depth + 1 {
            // The whole key goes; deeper deletions inside it do not matter.
            keys.push(key.clone());
        } else {
            let child = get_child(&value, key)?;
            if child != Val::Null {
                let child = delete_sorted(child, &paths[group..end], depth + 1)?;
                value = set_child(value, key, child)?;
            }
        }
        group = end;
    }
    delete_keys(value, &keys)
}

fn get_child(value: &Val, key: &Val) -> Result<Val, String> {
    use jaq_core::ValT;
    Value(value.clone())
        .index(&Value(key.clone()))
        .map(|child| child.0)
        .map_err(|error| super::error_message(&error.into_val().0))
}

fn set_child(value: Val, key: &Val, child: Val) -> Result<Val, String> {
    match (value, key) {
        (Val::Obj(mut object), Val::TStr(_)) => {
            Rc::make_mut(&mut object).insert(key.clone(), child);
            Ok(Val::Obj(object))
        }
        (Val::Arr(mut array), Val::Num(number)) => {
            let items = Rc::make_mut(&mut array);
            if let Some(index) = array_index(number.as_isize(), items.len()) {
                items[index] = child;
            }
            Ok(Val::Arr(array))
        }
        (Val::Arr(mut array), Val::Obj(slice)) => {
            let items = Rc::make_mut(&mut array);
            let (start, end) = slice_bounds(slice, items.len())?;
            let Val::Arr(replacement) = child else {
                return Err("A slice of an array can only be assigned another array".to_string());
            };
            items.splice(start..end, replacement.iter().cloned());
            Ok(Val::Arr(array))
        }
        // jq's `jv_set`: it could read this key but cannot write it.
        (value, key) => Err(super::value::cannot_update(&value, key)),
    }
}

/// Deletes `keys` of one container at once (array indices as they were
/// before any of them went).
fn delete_keys(value: Val, keys: &[Val]) -> Result<Val, String> {
    if keys.is_empty() {
        return Ok(value);
    }
    match value {
        Val::Null => Ok(Val::Null),
        Val::Obj(mut object) => {
            let map = Rc::make_mut(&mut object);
            for key in keys {
                if !matches!(key, Val::TStr(_) | Val::BStr(_)) {
                    return Err(cannot_delete("object", key));
                }
                map.shift_remove(key);
            }
            Ok(Val::Obj(object))
        }
        Val::Arr(array) => {
            let length = array.len();
            let mut doomed = vec![false; length];
            for key in keys {
                match key {
                    Val::Num(_) => {
                        let index = Val::as_f64(key).map(|f| f.trunc() as isize);
                        if let Some(index) = array_index(index, length) {
                            doomed[index] = true;
                        }
                    }
                    Val::Obj(slice) => {
                        let (start, end) = slice_bounds(slice, length)?;
                        doomed[start..end].iter_mut().for_each(|slot| *slot = true);
                    }
                    other => return Err(cannot_delete("array", other)),
                }
            }
            let kept = super::val::unshare(array)
                .into_iter()
                .zip(doomed)
                .filter(|(_, doomed)| !doomed)
                .map(|(item, _)| item);
            Ok(kept.collect())
        }
        value => Err(cannot_delete(type_name(&value), &keys[0])),
    }
}

/// jq's words for a deletion it refuses: by the container, and for an
/// array or object by the kind of key.
fn cannot_delete(container: &str, key: &Val) -> String {
    match container {
        "array" => format!("Cannot delete {} element of array", type_name(key)),
        "object" => format!("Cannot delete {} field of object", type_name(key)),
        other => format!("Cannot delete fields from {other}"),
    }
}

/// jq counts negative indices from the end; out of range is a no-op.
fn array_index(index: Option<isize>, length: usize) -> Option<usize> {
    let index = index?;
    let index = if index < 0 {
        length as isize + index
    } else {
        index
    };
    (0..length as isize)
        .contains(&index)
        .then_some(index as usize)
}

/// The positions a slice key (`{"start": s, "end": e}`) covers.
fn slice_bounds(slice: &Map, length: usize) -> Result<(usize, usize), String> {
    let (start, end) = super::value::slice_key(slice)?;
    super::value::slice_bounds(start, end, length)
}

/// The names and values of jq's global variables: `$ENV`, `$__prog_args`
/// style `$ARGS`, and one per `--arg`-like option.
pub(super) fn global_variables(options: &CompileOptions) -> (Vec<String>, Vec<Val>) {
    let environment: Map = std::env::vars_os()
        .map(|(key, value)| {
            (
                Val::from(key.to_string_lossy().into_owned()),
                Val::from(value.to_string_lossy().into_owned()),
            )
        })
        .collect();
    let named: Map = options
        .named
        .iter()
        .map(|(name, value)| (Val::from(name.clone()), value.clone()))
        .collect();
    let args: Map = [
        (
            Val::from("positional".to_string()),
            options.positional.iter().cloned().collect::<Val>(),
        ),
        (Val::from("named".to_string()), Val::obj(named)),
    ]
    .into_iter()
    .collect();
    let mut names = vec!["$ENV".to_string(), "$ARGS".to_string()];
    let mut values = vec![Val::obj(environment), Val::obj(args)];
    for (name, value) in &options.named {
        names.push(format!("${name}"));
        values.push(value.clone());
    }
    (names, values)
}

/// Marks a module problem that already names its place.
pub(super) const LOCATED: &str = "\u{1}";

/// [`location`] of a byte offset.
pub(super) fn location_at(code: &str, offset: usize) -> String {
    place(code, floor_char_boundary(code, offset))
}

/// [`location_at`] of an offset in `rewritten`, shown in `written`.
pub(super) fn written_location_at(written: &str, rewritten: &str, offset: usize) -> String {
    let offset = floor_char_boundary(rewritten, offset);
    match written_offset(written, rewritten, offset) {
        Some(offset) => place(written, offset),
        None => place(rewritten, offset),
    }
}

fn floor_char_boundary(code: &str, offset: usize) -> usize {
    let mut offset = offset.min(code.len());
    while !code.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The sources as written, by module: errors are found in the rewritten
/// text jaq parsed and shown in what the user wrote.
#[derive(Default)]
pub(super) struct Written(Vec<(ModulePath, String)>);

impl Written {
    pub(super) fn add(&mut self, path: &ModulePath, code: &str) {
        self.0.push((path.clone(), code.to_string()));
    }

    fn get(&self, path: &ModulePath) -> Option<&str> {
        self.0
            .iter()
            .find(|(known, _)| known == path)
            .map(|(_, code)| code.as_str())
    }
}

/// One problem per entry, worded as jq words compile errors (`... at
/// <top-level>, line 1:`). jaq's parser is not jq's bison grammar, so a
/// syntax error names what jaq expected in bison's shape.
pub(super) fn describe_load_errors(
    errors: &jaq_core::load::Errors<&str, ModulePath>,
    written: &Written,
) -> Vec<String> {
    use jaq_core::load::Error;
    let mut lines = Vec::new();
    for (file, error) in errors {
        match error {
            Error::Io(problems) => {
                for (path, problem) in problems {
                    if let Some(located) = problem.strip_prefix(LOCATED) {
                        lines.push(located.to_string());
                        continue;
                    }
                    let problem = problem.replace("{path}", path);
                    lines.push(format!(
                        "{problem} at {}, {}",
                        file.path,
                        location(file.code, path, written.get(&file.path))
                    ));
                }
            }
            // jq stops at the first bad token, where jaq lists every one;
            // bad escapes are no syntax error to jq, and each is reported.
            Error::Lex(problems) => {
                if let Some(mut earlier) = earlier_syntax_errors(problems, file, written) {
                    lines.append(&mut earlier);
                    continue;
                }
                lines.append(&mut escape_errors(problems, file, written, usize::MAX));
                if let Some((expected, rest)) = problems.iter().find(|(e, _)| !is_escape(e)) {
                    lines.push(lex_error(expected, rest, file, written));
                    lines.extend(unterminated(file, rest, written));
                }
            }
            Error::Parse(problems) => {
                for (expected, found) in problems {
                    let offset = offset_in(file.code, found);
                    // The token as written, where the rewrites left it.
                    let (text, text_offset) = written
                        .get(&file.path)
                        .and_then(|text| Some((text, unchanged_offset(text, file.code, offset)?)))
                        .unwrap_or((file.code, offset));
                    let name = match lexemes::closes_interpolation(text, text_offset) {
                        true => "QQSTRING_INTERP_END".to_string(),
                        false => token_name(&text[text_offset..]),
                    };
                    let at = match found.is_empty() {
                        true => &file.code[lexemes::end_of_file_place(file.code)..],
                        false => found,
                    };
                    // Where no term began, bison lists only the end.
                    let expecting = match lexemes::nothing_before(file.code, offset) {
                        true if !found.is_empty() => Some("end of file"),
                        _ => bison_expecting(expected),
                    };
                    lines.push(syntax_error(&name, expecting, file, at, written));
                    lines.extend(unterminated(file, found, written));
                }
            }
        }
    }
    lines
}

/// Where `part`, a slice of `whole` (or its empty end), starts in it.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(whole.as_ptr() as usize)
        .min(whole.len())
}

fn is_escape(expected: &jaq_core::load::lex::Expect<&str>) -> bool {
    use jaq_core::load::lex::Expect;
    matches!(expected, Expect::Escape | Expect::Unicode)
}

/// jq's error for each bad escape jaq's lexer found before `before`, each
/// once (jaq reports an escape in every place it lexes it).
fn escape_errors(
    problems: &[(jaq_core::load::lex::Expect<&str>, &str)],
    file: &jaq_core::load::File<&str, ModulePath>,
    written: &Written,
    before: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (expected, rest) in problems.iter().filter(|(expected, _)| is_escape(expected)) {
        if offset_in(file.code, rest) < before {
            let line = lex_error(expected, rest, file, written);
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    lines
}

/// Where jq's name after a number starts when jaq's lexer wanted an
/// exponent's digits at `offset`: `1e` is the number 1 and the name `e`
/// to jq (`1end`: 1 and the keyword).
fn name_after_number(code: &str, offset: usize) -> usize {
    code[..offset].rfind(['e', 'E']).unwrap_or(offset)
}

/// jq's errors where its parser fails before the first token jaq's lexer
/// refuses: jq lexes as it parses, so a syntax error earlier in the
/// program (`= 1e`, `+ )`, `if (1 then 2`) is what it reports, after the
/// bad escapes of the strings before it (whose text it has read by then)
/// and without those after it (never read). jaq lexes the whole program
/// first, matching brackets too, so here its bad escapes are made good
/// and the part before its first other refusal is parsed, with open
/// brackets and strings closed. `None` when that part parses up to its
/// end (the lexer's refusal is then jq's first error too).
fn earlier_syntax_errors(
    problems: &[(jaq_core::load::lex::Expect<&str>, &str)],
    file: &jaq_core::load::File<&str, ModulePath>,
    written: &Written,
) -> Option<Vec<String>> {
    use jaq_core::load::lex::{Expect, Lexer};
    if !matches!(file.path, ModulePath::Main | ModulePath::MainFile(_)) {
        return None;
    }
    let code = file.code;
    // Each bad escape's letter becomes `t` (and the rest of a wide
    // character `x`), so every offset stays where it was.
    let mut repaired = code.to_string();
    for (expected, rest) in problems.iter().filter(|(expected, _)| is_escape(expected)) {
        let at = offset_in(code, rest);
        let letter = match expected {
            Expect::Unicode => code[..at].rfind('\\').map_or(at, |slash| slash + 1),
            _ => at,
        };
        if let Some(c) = code[letter..].chars().next() {
            let filler = format!("t{}", "x".repeat(c.len_utf8() - 1));
            repaired.replace_range(letter..letter + c.len_utf8(), &filler);
        }
    }
    let cut = match Lexer::new(repaired.as_str()).lex() {
        Ok(_) => repaired.len(),
        Err(refused) => refused
            .iter()
            .map(|(expected, rest)| {
                let offset = offset_in(&repaired, rest);
                let at = match expected {
                    Expect::Digit => name_after_number(&repaired, offset),
                    // Before the `\\` (the string, closed there, still
                    // starts where it did), or the `$`/`@` of a missing name.
                    Expect::Escape | Expect::Unicode | Expect::Ident => {
                        repaired[..offset].rfind(['\\', '$', '@']).unwrap_or(offset)
                    }
                    _ => offset,
                };
                floor_char_boundary(&repaired, at)
            })
            .min()?,
    };
    let mut text = repaired[..cut].to_string();
    for _ in 0..256 {
        let closer = match Lexer::new(text.as_str()).lex() {
            Ok(_) => break,
            Err(refused) => match refused.first() {
                Some((Expect::Delim(open), "")) => match *open {
                    "[" => "]",
                    "{" => "}",
                    "(" | "\\(" => ")",
                    _ => "\"",
                },
                _ => return None,
            },
        };
        text.push_str(closer);
    }
    // jaq's loader parses a main program (header and term); its imports
    // are not read (nothing is, without a reader).
    let arena = jaq_core::load::Arena::default();
    let prefix = jaq_core::load::File {
        code: text.as_str(),
        path: file.path.clone(),
    };
    let errors = jaq_core::load::Loader::new([]).load(&arena, prefix).err()?;
    let earlier: Vec<_> = errors
        .into_iter()
        .filter_map(|(_, error)| match error {
            jaq_core::load::Error::Parse(problems) => Some(problems),
            _ => None,
        })
        .flatten()
        .filter(|(_, found)| match found.is_empty() {
            // The end, where only bad escapes stopped jaq's lexer (the
            // whole program parsed, nothing closed).
            true => text.len() == repaired.len(),
            false => offset_in(&text, found) < cut,
        })
        .collect();
    let first = earlier
        .iter()
        .map(|(_, found)| offset_in(&text, found))
        .min()?;
    let mut lines = escape_errors(problems, file, written, first);
    // Placed in the program itself: up to the cut, it is the parsed text
    // at the same offsets.
    let in_code: Vec<_> = earlier
        .into_iter()
        .map(|(expected, found)| {
            let at = offset_in(&text, found);
            let start = floor_char_boundary(code, at);
            (
                expected,
                &code[start..floor_char_boundary(code, at + found.len())],
            )
        })
        .collect();
    lines.extend(describe_load_errors(
        &vec![(file.clone(), jaq_core::load::Error::Parse(in_code))],
        written,
    ));
    Some(lines)
}

/// jq's second error for a syntax error at `at` inside an open `if` or
/// after a `catch` (see [`lexemes::unterminated`]).
fn unterminated(
    file: &jaq_core::load::File<&str, ModulePath>,
    at: &str,
    written: &Written,
) -> Option<String> {
    let code = file.code;
    let offset = offset_in(code, at);
    let (keyword, start) = lexemes::unterminated(code, offset)?;
    Some(format!(
        "Possibly unterminated '{keyword}' statement at {}, {}",
        file.path,
        location(code, &code[start..], written.get(&file.path))
    ))
}

/// jq's error where jaq's lexer stopped at `rest` expecting `expected`.
fn lex_error(
    expected: &jaq_core::load::lex::Expect<&str>,
    rest: &str,
    file: &jaq_core::load::File<&str, ModulePath>,
    written: &Written,
) -> String {
    use jaq_core::load::lex::Expect;
    let code = file.code;
    let offset = offset_in(code, rest);
    let end_of_file = lexemes::end_of_file_place(code);
    // bison lists the end where a term is complete (or none began), `}`
    // after an object's entry, nothing inside other brackets.
    let after_term = |at: usize, open: Option<&str>| match open {
        Some("{") => lexemes::ends_term(code, at).then_some("'}'"),
        Some(_) => None,
        None => (lexemes::nothing_before(code, at) || lexemes::ends_term(code, at))
            .then_some("end of file"),
    };
    let (found, expecting, at) = match expected {
        // An unclosed string: bison meets the end inside it.
        Expect::Delim(open) if open.starts_with('"') => (
            "end of file".to_string(),
            Some("QQSTRING_TEXT or QQSTRING_INTERP_START or QQSTRING_END"),
            end_of_file,
        ),
        Expect::Delim(open) if rest.is_empty() => (
            "end of file".to_string(),
            after_term(code.len(), Some(open)),
            end_of_file,
        ),
        // jq's lexer turns an unmatched closer into this.
        Expect::Delim(open) => (
            "INVALID_CHARACTER".to_string(),
            after_term(offset, Some(open)),
            offset,
        ),
        Expect::Digit => {
            let at = name_after_number(code, offset);
            (token_name(&code[at..]), after_term(at, None), at)
        }
        Expect::Ident if code[..offset].ends_with('$') => {
            // jq's grammar reads up to three `$` before a name.
            let sigil = offset - 1;
            let mut dollars = 0;
            let lexemes = lexemes::lexemes(code);
            let mut next = lexemes
                .iter()
                .filter(|lexeme| lexeme.start >= sigil && lexeme.kind != lexemes::Kind::Skipped);
            let token = loop {
                match next.next() {
                    Some(lexeme) if &code[lexeme.start..lexeme.end] == "$" => dollars += 1,
                    other => break other,
                }
            };
            let (found, at) = match token {
                Some(lexeme) => (token_name(&code[lexeme.start..]), lexeme.start),
                None => ("end of file".to_string(), end_of_file),
            };
            match dollars {
                1 | 2 => (found, Some("'$'"), at),
                3 => (found, Some("BINDING"), at),
                _ => (
                    "INVALID_CHARACTER".to_string(),
                    after_term(offset, None),
                    offset,
                ),
            }
        }
        Expect::Ident => {
            let at = offset.saturating_sub(1);
            ("INVALID_CHARACTER".to_string(), after_term(at, None), at)
        }
        Expect::Escape | Expect::Unicode => {
            if let Some((message, at)) = lexemes::escape_problem(code, offset) {
                return format!(
                    "{message} at {}, {}",
                    file.path,
                    location(code, &code[at..], written.get(&file.path))
                );
            }
            (
                "INVALID_CHARACTER".to_string(),
                after_term(offset, None),
                offset,
            )
        }
        // `Token` (and whatever later jaq adds): a character jq has no
        // token for.
        _ => (
            "INVALID_CHARACTER".to_string(),
            after_term(offset, None),
            offset,
        ),
    };
    syntax_error(&found, expecting, file, &code[at..], written)
}

/// bison's syntax error line, at `at`.
fn syntax_error(
    found: &str,
    expecting: Option<&str>,
    file: &jaq_core::load::File<&str, ModulePath>,
    at: &str,
    written: &Written,
) -> String {
    format!(
        "{} at {}, {}",
        syntax_problem(found, expecting),
        file.path,
        location(file.code, at, written.get(&file.path))
    )
}

/// bison's syntax error, without its place.
pub(super) fn syntax_problem(found: &str, expecting: Option<&str>) -> String {
    let expecting = expecting
        .map(|tokens| format!(", expecting {tokens}"))
        .unwrap_or_default();
    format!("syntax error, unexpected {found}{expecting} (Unix shell quoting issues?)")
}

/// What jq's grammar lists as expected where jaq expected `expected`:
/// bison names at most four tokens, so only where jaq's expectation is
/// one of jq's few (after a term, any operator could follow, and jq names
/// none).
pub(super) fn bison_expecting(
    expected: &jaq_core::load::parse::Expect<&str>,
) -> Option<&'static str> {
    use jaq_core::load::parse::Expect;
    Some(match expected {
        Expect::Just("|") => "'|'",
        Expect::Just(":") => "':'",
        Expect::Var => "BINDING",
        Expect::Pattern => "BINDING or '[' or '{'",
        Expect::CommaOrRBrack => "',' or ']'",
        Expect::CommaOrRBrace => "'}'",
        Expect::SemicolonOrRParen => "';' or ')'",
        Expect::Key => "FORMAT or QQSTRING_START or '['",
        Expect::Ident => "IDENT",
        Expect::Arg => "IDENT or BINDING",
        Expect::Str => "FORMAT or QQSTRING_START",
        Expect::Nothing => "end of file",
        _ => return None,
    })
}

/// bison's name for the token `rest` starts with: its kind for numbers,
/// names, fields, variables, formats and strings, a keyword or a
/// multi-character operator as written, one character quoted.
fn token_name(rest: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "__loc__", "and", "as", "catch", "def", "elif", "else", "end", "foreach", "if", "import",
        "include", "label", "or", "reduce", "then", "try",
    ];
    const OPERATORS: &[&str] = &[
        "?//", "//=", "|=", "+=", "-=", "*=", "/=", "%=", "==", "!=", "<=", ">=", "//", "..",
    ];
    let word = |text: &str| -> usize {
        text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len())
    };
    let starts_name = |text: &str| text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let Some(first) = rest.chars().next() else {
        return "end of file".to_string();
    };
    if first.is_ascii_digit()
        || rest.starts_with('.') && rest[1..].starts_with(|c: char| c.is_ascii_digit())
    {
        return "LITERAL".to_string();
    }
    if first == '"' {
        return "QQSTRING_START".to_string();
    }
    if let Some(name) = rest.strip_prefix('$') {
        if name.starts_with("__loc__") && word(name) == "__loc__".len() {
            return "$__loc__".to_string();
        }
        if starts_name(name) {
            return "BINDING".to_string();
        }
    }
    if let Some(name) = rest.strip_prefix('@') {
        if starts_name(name) {
            return "FORMAT".to_string();
        }
    }
    if let Some(name) = rest.strip_prefix('.') {
        if starts_name(name) {
            return "FIELD".to_string();
        }
    }
    if starts_name(rest) {
        let name = &rest[..word(rest)];
        return if KEYWORDS.contains(&name) {
            name.to_string()
        } else {
            "IDENT".to_string()
        };
    }
    if let Some(operator) = OPERATORS
        .iter()
        .find(|operator| rest.starts_with(**operator))
    {
        return (*operator).to_string();
    }
    format!("'{first}'")
}

/// The words jq 1.7.1's lexer always takes as keywords.
const JQ_KEYWORDS: &[&str] = &[
    "as", "import", "include", "module", "def", "if", "then", "elif", "else", "end", "reduce",
    "foreach", "try", "catch", "label", "and", "or", "__loc__",
];

/// Undefined functions and variables, named with their arity as jq does
/// (`foo/1 is not defined`).
pub(super) fn describe_compile_errors(
    errors: &jaq_core::compile::Errors<&str, ModulePath>,
    written: &Written,
) -> Vec<String> {
    // jaq takes a keyword where a name may stand (`end`, `[and]`) as a
    // call; jq's lexer never makes it a name, so its parser fails there,
    // and a syntax error stops jq before any name is looked up.
    for (file, problems) in errors {
        let keyword = problems.iter().find(|(name, undefined)| {
            matches!(undefined, jaq_core::compile::Undefined::Filter(0))
                && JQ_KEYWORDS.contains(name)
        });
        if let Some((name, _)) = keyword {
            let expecting = lexemes::nothing_before(file.code, offset_in(file.code, name))
                .then_some("end of file");
            return vec![syntax_error(name, expecting, file, name, written)];
        }
    }
    let mut lines = Vec::new();
    for (file, problems) in errors {
        for (name, undefined) in problems {
            let what = match undefined {
                jaq_core::compile::Undefined::Filter(arity) => format!("{name}/{arity}"),
                // jq binds labels as variables named `*label-NAME`.
                jaq_core::compile::Undefined::Label => {
                    format!("$*label-{}", name.trim_start_matches('$'))
                }
                _ => name.to_string(),
            };
            lines.push(format!(
                "{what} is not defined at {}, {}",
                file.path,
                location(file.code, name, written.get(&file.path))
            ));
        }
    }
    lines
}

/// jq's place of `part` inside `whole` (when it is a slice of it): "line
/// N:" then the source line and as many spaces as the column, as jq
/// prints it under the message. `written` is the source as written when
/// `whole` is its rewrite: the place is then shown in it.
fn location(whole: &str, part: &str, written: Option<&str>) -> String {
    let start = part.as_ptr() as usize;
    let base = whole.as_ptr() as usize;
    let offset = if start >= base && start <= base + whole.len() {
        start - base
    } else {
        0
    };
    match written.and_then(|written| Some((written, written_offset(written, whole, offset)?))) {
        Some((written, offset)) => place(written, offset),
        None => place(whole, offset),
    }
}

/// [`location`] of a byte offset.
fn place(whole: &str, offset: usize) -> String {
    let line = whole[..offset].matches('\n').count() + 1;
    let line_start = whole[..offset].rfind('\n').map_or(0, |at| at + 1);
    let line_end = whole[offset..]
        .find('\n')
        .map_or(whole.len(), |at| offset + at);
    format!(
        "line {line}:\n{}{}",
        &whole[line_start..line_end],
        " ".repeat(offset - line_start)
    )
}

/// Where the `line`th line (from 0) of `text` starts, and its text.
fn nth_line(text: &str, line: usize) -> (usize, &str) {
    let start = match line {
        0 => 0,
        _ => text
            .match_indices('\n')
            .nth(line - 1)
            .map_or(0, |(at, _)| at + 1),
    };
    let end = text[start..].find('\n').map_or(text.len(), |at| start + at);
    (start, &text[start..end])
}

/// Where `offset` of `rewritten` was in `written`, the source it was
/// rewritten from. The rewrites keep lines (except where a destructuring's
/// body is copied, and then there is no answer): the same line, and on it
/// the same column before the first change, the same distance from the end
/// after the last, else where the change begins.
fn written_offset(written: &str, rewritten: &str, offset: usize) -> Option<usize> {
    if written.matches('\n').count() != rewritten.matches('\n').count() {
        return None;
    }
    let line = rewritten[..offset].matches('\n').count();
    let (written_start, written_line) = nth_line(written, line);
    let (rewritten_start, rewritten_line) = nth_line(rewritten, line);
    let column = offset - rewritten_start;
    let common = |a: &mut dyn Iterator<Item = char>, b: &mut dyn Iterator<Item = char>, room| {
        let mut length = 0;
        for (x, y) in a.zip(b) {
            if x != y || length + x.len_utf8() > room {
                break;
            }
            length += x.len_utf8();
        }
        length
    };
    let shorter = written_line.len().min(rewritten_line.len());
    let prefix = common(
        &mut written_line.chars(),
        &mut rewritten_line.chars(),
        shorter,
    );
    // The suffix does not overlap the prefix.
    let suffix = common(
        &mut written_line.chars().rev(),
        &mut rewritten_line.chars().rev(),
        shorter - prefix,
    );
    let written_column = if column <= prefix {
        column
    } else if column >= rewritten_line.len() - suffix {
        written_line.len() - (rewritten_line.len() - column)
    } else {
        prefix
    };
    Some(written_start + written_column)
}

/// [`written_offset`] where the token there was not rewritten.
fn unchanged_offset(written: &str, rewritten: &str, offset: usize) -> Option<usize> {
    let at = written_offset(written, rewritten, offset)?;
    let rest = &rewritten[offset..];
    let length = match rest.find(|c: char| !(c.is_alphanumeric() || c == '_')) {
        Some(0) => rest.chars().next().map_or(0, char::len_utf8),
        Some(word) => word,
        None => rest.len(),
    };
    (written.get(at..at + length) == Some(&rest[..length])).then_some(at)
}

/// The character of a `\uD83D\uDE00`-style escaped surrogate pair at the
/// start of `text`.
fn surrogate_pair(text: &str) -> Option<char> {
    let unit = |at: usize| -> Option<u32> {
        let escape = text.get(at..at + 6)?;
        let hex = escape.strip_prefix("\\u")?;
        u32::from_str_radix(hex, 16).ok()
    };
    let high = unit(0).filter(|u| (0xD800..0xDC00).contains(u))?;
    let low = unit(6).filter(|u| (0xDC00..0xE000).contains(u))?;
    char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
}

/// Whether the digits at `at` end in a point with no digit after it
/// (`1.`, `1.e3`).
fn whole_number_with_point(bytes: &[u8], at: usize) -> bool {
    let digits = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    digits > 0
        && bytes.get(at + digits) == Some(&b'.')
        && !bytes.get(at + digits + 1).is_some_and(u8::is_ascii_digit)
}

/// Whether `text` starts with a `\uDC00`-`\uDFFF` escape.
fn lone_low_surrogate(text: &str) -> bool {
    text.get(..6)
        .and_then(|escape| escape.strip_prefix("\\u"))
        .filter(|hex| hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .is_some_and(|unit| (0xDC00..0xE000).contains(&unit))
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The identifier starting at `at` (empty when there is none).
fn identifier_at(code: &str, at: usize) -> &str {
    let length = code.as_bytes()[at..]
        .iter()
        .take_while(|byte| is_identifier_byte(**byte))
        .count();
    &code[at..at + length]
}

/// jq syntax jaq's lexer and parser lack, rewritten into what it means
/// before parsing:
/// - `$__loc__` is `{"file": F, "line": N}` for where it is written;
///   `{$__loc__}` keeps its meaning as a `__loc__` key;
/// - a UTF-16 surrogate pair escape is one character;
/// - `.5` is the number `0.5`;
/// - `$name::name` (a data import's variable) is `$name`;
/// - in a destructuring pattern, `{$b: [$c]}` binds `$b` to `.b` and
///   destructures it: `{$b, b: [$c]}`.
///
/// Strings, their interpolations and comments are scanned so that only
/// real uses change.
pub(super) fn rewrite_locations<'c>(code: &'c str, file: &str) -> std::borrow::Cow<'c, str> {
    const NAME: &str = "$__loc__";
    let may_need = code.contains(NAME)
        || code.contains("\\u")
        || code.contains("::")
        || code.contains(" as ")
        || code
            .as_bytes()
            .windows(2)
            .any(|pair| pair[0] == b'.' && pair[1].is_ascii_digit())
        || code.as_bytes().windows(2).enumerate().any(|(at, pair)| {
            pair[0].is_ascii_digit()
                && pair[1] == b'.'
                && !code.as_bytes().get(at + 2).is_some_and(u8::is_ascii_digit)
        });
    if !may_need {
        return std::borrow::Cow::Borrowed(code);
    }
    // The bracket depth at which a pattern (after `as`) began.
    let mut pattern_depth: Option<usize> = None;
    let file = serde_json::Value::String(file.to_string()).to_string();
    let bytes = code.as_bytes();
    let mut out = String::with_capacity(code.len() + 64);
    // Open brackets outside strings; `"` marks a string, `(` inside a
    // string marks an interpolation.
    let mut stack: Vec<u8> = Vec::new();
    let mut last_significant = b' ';
    let mut line = 1;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let in_string = stack.last() == Some(&b'"');
        if in_string {
            match byte {
                b'\\' if bytes.get(index + 1) == Some(&b'(') => {
                    out.push_str("\\(");
                    stack.push(b'i');
                    index += 2;
                    continue;
                }
                b'\\' if surrogate_pair(&code[index..]).is_some() => {
                    // jaq's lexer takes one \uXXXX at a time; jq joins a
                    // UTF-16 surrogate pair into one character.
                    if let Some(character) = surrogate_pair(&code[index..]) {
                        out.push(character);
                    }
                    index += 12;
                    continue;
                }
                // A lone low surrogate is U+FFFD to jq; jaq refuses it.
                b'\\' if lone_low_surrogate(&code[index..]) => {
                    out.push(char::REPLACEMENT_CHARACTER);
                    index += 6;
                    continue;
                }
                b'\\' => {
                    out.push('\\');
                    if let Some(next) = code[index + 1..].chars().next() {
                        out.push(next);
                        index += 1 + next.len_utf8();
                    } else {
                        index += 1;
                    }
                    continue;
                }
                b'"' => {
                    stack.pop();
                    last_significant = b'"';
                }
                b'\n' => line += 1,
                _ => {}
            }
        } else {
            let previous = index.checked_sub(1).map(|at| bytes[at]);
            if byte == b'.'
                && bytes.get(index + 1).is_some_and(u8::is_ascii_digit)
                && !previous.is_some_and(|byte| is_identifier_byte(byte) || byte == b'.')
            {
                out.push_str("0.");
                index += 1;
                last_significant = b'0';
                continue;
            }
            if !previous.is_some_and(|byte| is_identifier_byte(byte) || byte == b'.')
                && whole_number_with_point(bytes, index)
            {
                // jq's `1.` and `1.e3` are `1` and `1e3` (the same
                // decimal, so the same literal when printed); jaq's lexer
                // wants a digit after the point. The blank keeps the
                // columns after it.
                let digits = bytes[index..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let exponent = matches!(bytes.get(index + digits + 1), Some(b'e' | b'E'));
                // Before an exponent, else after (`1..` is `1.` and `.`).
                if exponent {
                    out.push(' ');
                }
                out.push_str(&code[index..index + digits]);
                if !exponent {
                    out.push(' ');
                }
                index += digits + 1;
                last_significant = b'0';
                continue;
            }
            if byte == b'a'
                && identifier_at(code, index) == "as"
                && !previous.is_some_and(|byte| is_identifier_byte(byte) || byte == b'.')
                && !matches!(last_significant, b'{' | b',')
                && !code[index + 2..].trim_start().starts_with(':')
            {
                pattern_depth = Some(stack.len());
            }
            if pattern_depth == Some(stack.len()) && matches!(byte, b'|' | b'(') {
                pattern_depth = None;
            }
            if byte == b'$' && !code[index..].starts_with(NAME) {
                let name = identifier_at(code, index + 1);
                let after = index + 1 + name.len();
                if !name.is_empty() && code[after..].starts_with("::") {
                    let member = identifier_at(code, after + 2);
                    if !member.is_empty() {
                        out.push('$');
                        out.push_str(name);
                        index = after + 2 + member.len();
                        last_significant = b'a';
                        continue;
                    }
                }
                let rest = code[after..].trim_start();
                if !name.is_empty()
                    && pattern_depth.is_some()
                    && stack.last() == Some(&b'{')
                    && rest.starts_with(':')
                    && !rest.starts_with("::")
                {
                    out.push_str(&format!("${name}, {name}"));
                    index = after;
                    last_significant = b'a';
                    continue;
                }
            }
            if code[index..].starts_with(NAME)
                && !code[index + NAME.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            {
                let value = format!("{{\"file\":{file},\"line\":{line}}}");
                let shorthand =
                    stack.last() == Some(&b'{') && matches!(last_significant, b'{' | b',');
                if shorthand {
                    out.push_str(&format!("\"__loc__\":{value}"));
                } else {
                    out.push_str(&format!("({value})"));
                }
                index += NAME.len();
                last_significant = b')';
                continue;
            }
            match byte {
                b'#' => {
                    // A comment runs to the end of the line.
                    let end = code[index..].find('\n').map_or(code.len(), |n| index + n);
                    out.push_str(&code[index..end]);
                    index = end;
                    continue;
                }
                b'"' => stack.push(b'"'),
                b'(' | b'[' | b'{' => stack.push(byte),
                b')' if stack.last() == Some(&b'i') => {
                    stack.pop();
                }
                b')' | b']' | b'}' => {
                    stack.pop();
                }
                b'\n' => line += 1,
                _ => {}
            }
            if !byte.is_ascii_whitespace() {
                last_significant = byte;
            }
        }
        let character_length = code[index..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&code[index..index + character_length]);
        index += character_length;
    }
    std::borrow::Cow::Owned(out)
}
