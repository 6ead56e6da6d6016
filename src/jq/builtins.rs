//! Native builtins for jq definitions that are slow when interpreted.
//!
//! jq defines `join`, `to_entries`, `from_entries`, `tostream`, `walk`,
//! `flatten` and friends in jq itself; run by jaq's interpreter, every
//! element costs several calls, type tests and (for `. + {k: v}` style
//! accumulation) an allocation. These natives compute the same values in
//! one pass. Each keeps jq 1.7.1's result for every input; where jq's
//! definition would fail (or do something unusual), the native declines
//! by answering `null` and the jq definition in `compat.jq` runs instead
//! (`_jq_join($x) // <jq's join>`), so error messages stay jq's.
//!
//! Definitions listed in [`REPLACED`] are dropped from jaq's and our
//! prelude so that every caller, including earlier definitions, reaches
//! the native.

use super::val::{unshare, Map, Rc};
use super::value::{describe, Value};
use super::{Data, Val};
use jaq_core::box_iter::box_once;
use jaq_core::native::{bome, run, v, Fun};
use jaq_core::{Bind, Ctx, Exn, ValXs};
use jaq_json::Num;

/// Definitions (name, arity) that the natives below replace.
pub(super) const REPLACED: &[(&str, usize)] = &[
    ("add", 0),
    ("min", 0),
    ("max", 0),
    ("tostring", 0),
    ("to_entries", 0),
    ("tostream", 0),
    ("walk", 1),
    ("range", 1),
    ("range", 2),
    ("range", 3),
];

/// jaq's natives we call under a second name: `limit`, `last`, the
/// sorts and the string functions because our definitions of them (with
/// jq's rules) wrap them, `first` for a rewrite (`order`'s `_jq_one`)
/// that must reach it whatever a program defines.
const RENAMED: &[(&str, &str)] = &[
    ("limit", "_jaq_limit"),
    ("first", "_jq_one"),
    ("last", "_jaq_last"),
    ("sort", "_jaq_sort"),
    ("sort_by", "_jaq_sort_by"),
    ("group_by", "_jaq_group_by"),
    ("reverse", "_jaq_reverse"),
    ("startswith", "_jaq_startswith"),
    ("endswith", "_jaq_endswith"),
    ("explode", "_jaq_explode"),
    ("ascii_downcase", "_jaq_ascii_downcase"),
    ("ascii_upcase", "_jaq_ascii_upcase"),
];

pub(super) fn natives() -> Vec<Fun<Data>> {
    type Native = (&'static str, Box<[Bind]>, jaq_core::RunPtr<Data>);
    let filter = || -> Box<[Bind]> { [Bind::Fun(())].into() };
    let ours: [Native; 14] = [
        ("add", v(0), |cv| bome(add(cv.1))),
        ("min", v(0), |cv| bome(extreme(&cv.1, Extreme::Min))),
        ("max", v(0), |cv| bome(extreme(&cv.1, Extreme::Max))),
        ("tostring", v(0), |cv| bome(Ok(tostring(cv.1)))),
        ("to_entries", v(0), |cv| bome(to_entries(cv.1))),
        ("tostream", v(0), |cv| {
            Box::new(Stream::new(cv.1 .0).map(|event| Ok(Value(event))))
        }),
        ("walk", filter(), |mut cv| {
            let (f, context) = cv.0.pop_fun();
            walk(f, &context, cv.1)
        }),
        ("range", v(1), |mut cv| {
            let upto = cv.0.pop_var();
            numeric_range(Value::from(0isize), upto)
        }),
        ("range", v(2), |mut cv| {
            let upto = cv.0.pop_var();
            let from = cv.0.pop_var();
            numeric_range(from, upto)
        }),
        ("range", v(3), |mut cv| {
            let by = cv.0.pop_var();
            let upto = cv.0.pop_var();
            let from = cv.0.pop_var();
            range(from, upto, by)
        }),
        // A condition's truth, its value dropped (see conditions.rs).
        ("_jq_truthy", v(0), |cv| {
            bome(Ok(Value::from(cv.1 .0.as_bool())))
        }),
        ("_jq_join", v(1), |mut cv| {
            let separator = cv.0.pop_var();
            bome(Ok(Value(join(&cv.1 .0, &separator.0).unwrap_or(Val::Null))))
        }),
        ("_jq_from_entries", v(0), |cv| {
            bome(Ok(Value(from_entries(&cv.1 .0).unwrap_or(Val::Null))))
        }),
        ("_jq_flatten", v(1), |mut cv| {
            let depth = cv.0.pop_var();
            bome(flatten(cv.1, &depth))
        }),
    ];
    let jaqs = jaq_core::funs::<Data>().chain(jaq_std::funs::<Data>());
    let renamed = jaqs.filter_map(|(name, arity, native)| {
        RENAMED
            .iter()
            .find(|(from, _)| *from == name)
            .map(|(_, to)| (*to, arity, native))
    });
    ours.into_iter().map(run::<Data>).chain(renamed).collect()
}

type Error = jaq_core::Error<Value>;

fn error(message: String) -> Error {
    Error::new(Value(Val::from(message)))
}

fn iterate_error(value: &Val) -> Error {
    error(format!("Cannot iterate over {}", describe(value)))
}

/// `def add: reduce .[] as $x (null; . + $x);` with the accumulator
/// owned throughout, so arrays, objects and strings grow in place.
fn add(value: Value) -> Result<Value, Error> {
    let items = value
        .0
        .into_members()
        .map_err(|other| iterate_error(&other))?;
    items
        .map(Value)
        .try_fold(Value(Val::Null), |sum, item| sum + item)
}

enum Extreme {
    Min,
    Max,
}

/// jq's `min` (the first least member) and `max` (the last greatest),
/// compared where they are, without copying the array or its keys.
fn extreme(value: &Value, which: Extreme) -> Result<Value, Error> {
    let Val::Arr(items) = &value.0 else {
        let described = describe(&value.0);
        return Err(error(format!(
            "{described} and {described} cannot be iterated over"
        )));
    };
    let mut best: Option<&Val> = None;
    for item in items.iter() {
        let better = best.is_none_or(|best| match which {
            Extreme::Min => item < best,
            Extreme::Max => item >= best,
        });
        if better {
            best = Some(item);
        }
    }
    Ok(Value(best.cloned().unwrap_or_default()))
}

/// jq's `range/1` and `range/2`: numbers only (jq's RANGE opcode), by 1.
fn numeric_range<'a>(from: Value, upto: Value) -> ValXs<'a, Value> {
    match (&from.0, &upto.0) {
        (Val::Num(_), Val::Num(_)) => range(from, upto, Value::from(1isize)),
        _ => box_once(Err(Exn::from(error(
            "Range bounds must be numeric".to_string(),
        )))),
    }
}

/// jq 1.7.1's `range($from; $upto; $by)`: `$from`, then each step of
/// `$by` while short of `$upto` (a zero step yields nothing; a NaN step
/// counts as downward, as jq's order puts NaN below every number), a
/// failing step's error last. Natives, as
/// these run once per call (jaq's jq-defined wrappers cost more than most
/// ranges they ran); integers count in machine words.
fn range<'a>(from: Value, upto: Value, by: Value) -> ValXs<'a, Value> {
    let zero = Value::from(0isize);
    let up = by > zero;
    if !up && by >= zero {
        return Box::new(std::iter::empty());
    }
    // jq's arithmetic keeps integers exact up to 2^53 (see value.rs), so
    // between such bounds a step that leaves that range has passed `upto`.
    use super::value::EXACT_INTEGERS as EXACT;
    if let (Val::Num(Num::Int(from)), Val::Num(Num::Int(upto)), Val::Num(Num::Int(by))) =
        (&from.0, &upto.0, &by.0)
    {
        if EXACT.contains(from) && EXACT.contains(upto) {
            let (mut at, upto, by) = (Some(*from), *upto, *by);
            return Box::new(std::iter::from_fn(move || {
                let current = at.filter(|&at| if up { at < upto } else { at > upto })?;
                at = current.checked_add(by).filter(|next| EXACT.contains(next));
                Some(Ok(Value::from(current)))
            }));
        }
    }
    let mut next = Some(Ok(from));
    Box::new(std::iter::from_fn(move || match next.take()? {
        Ok(at) => {
            let short = if up { at < upto } else { at > upto };
            if short {
                next = Some(at.clone() + by.clone());
                Some(Ok(at))
            } else {
                None
            }
        }
        Err(error) => Some(Err(Exn::from(error))),
    }))
}

/// `def tostring: if type == "string" then . else tojson end;`
fn tostring(value: Value) -> Value {
    match value.0 {
        Val::TStr(_) | Val::BStr(_) => value,
        other => Value(Val::from(super::value::compact_text(&other))),
    }
}

/// `def to_entries: [keys_unsorted[] as $k | {key: $k, value: .[$k]}];`
fn to_entries(value: Value) -> Result<Value, Error> {
    let key = Val::from("key".to_string());
    let value_key = Val::from("value".to_string());
    let entry = |k: Val, v: Val| {
        let mut map = Map::with_capacity_and_hasher(2, Default::default());
        map.insert(key.clone(), k);
        map.insert(value_key.clone(), v);
        Val::obj(map)
    };
    match value.0 {
        Val::Obj(map) => Ok(Value(
            unshare(map).into_iter().map(|(k, v)| entry(k, v)).collect(),
        )),
        Val::Arr(items) => Ok(Value(
            unshare(items)
                .into_iter()
                .enumerate()
                .map(|(index, v)| entry(Val::from(index), v))
                .collect(),
        )),
        other => Err(error(format!("{} has no keys", describe(&other)))),
    }
}

/// jq 1.7.1's `join($x)` when every member is null, a boolean, a number
/// or a string and the separator a string; `None` otherwise (jq's
/// definition then runs and fails as jq does).
fn join(input: &Val, separator: &Val) -> Option<Val> {
    let (Val::TStr(separator) | Val::BStr(separator)) = separator else {
        return None;
    };
    let members: Box<dyn Iterator<Item = &Val>> = match input {
        Val::Arr(items) => Box::new(items.iter()),
        Val::Obj(map) => Box::new(map.values()),
        _ => return None,
    };
    let mut out = Vec::new();
    for (index, member) in members.enumerate() {
        if index > 0 {
            out.extend_from_slice(separator);
        }
        match member {
            Val::Null => {}
            Val::TStr(text) | Val::BStr(text) => out.extend_from_slice(text),
            Val::Bool(_) | Val::Num(_) => {
                super::print::write(&mut out, member, &super::print::PrintOptions::compact())
            }
            Val::Arr(_) | Val::Obj(_) => return None,
        }
    }
    Some(Val::utf8_str(out))
}

/// jq 1.7.1's `from_entries` when every entry is an object whose first
/// non-null, non-false `key`/`Key`/`name`/`Name` is a string (the value
/// is `value` if present, else `Value`); `None` otherwise.
fn from_entries(input: &Val) -> Option<Val> {
    const KEYS: [&str; 4] = ["key", "Key", "name", "Name"];
    let names: Vec<Val> = KEYS.iter().map(|key| Val::from(key.to_string())).collect();
    let (value, fallback) = (
        Val::from("value".to_string()),
        Val::from("Value".to_string()),
    );
    let entries: Box<dyn Iterator<Item = &Val>> = match input {
        Val::Arr(items) => Box::new(items.iter()),
        Val::Obj(map) => Box::new(map.values()),
        _ => return None,
    };
    let mut out = Map::default();
    for entry in entries {
        let Val::Obj(entry) = entry else {
            return None;
        };
        let key = names
            .iter()
            .filter_map(|name| entry.get(name))
            .find(|key| !matches!(key, Val::Null | Val::Bool(false)))?;
        if !matches!(key, Val::TStr(_)) {
            return None;
        }
        let member = entry
            .get(&value)
            .or_else(|| entry.get(&fallback))
            .cloned()
            .unwrap_or_default();
        out.insert(key.clone(), member);
    }
    Some(Val::obj(out))
}

/// jq 1.7.1's `_flatten($x)`: members that are arrays are spliced in
/// (flattened to `$x - 1`) while `$x != 0`; objects give their values.
fn flatten(input: Value, depth: &Value) -> Result<Value, Error> {
    let items = input
        .0
        .into_members()
        .map_err(|other| iterate_error(&other))?;
    let mut out = Vec::new();
    flatten_into(items, depth, &mut out)?;
    Ok(Value(Val::Arr(Rc::new(out))))
}

fn flatten_into(
    items: impl Iterator<Item = Val>,
    depth: &Value,
    out: &mut Vec<Val>,
) -> Result<(), Error> {
    let zero = Val::from(0usize);
    let mut deeper = None;
    for item in items {
        match item {
            Val::Arr(inner) if depth.0 != zero => {
                if deeper.is_none() {
                    deeper = Some((depth.clone() - Value(Val::from(1usize)))?);
                }
                let next = deeper.as_ref().unwrap_or(depth);
                flatten_into(unshare(inner).into_iter(), next, out)?;
            }
            other => out.push(other),
        }
    }
    Ok(())
}

/// Whether `path(.[]?)` has any output (a non-empty array or object).
fn has_children(value: &Val) -> bool {
    match value {
        Val::Arr(items) => !items.is_empty(),
        Val::Obj(map) => !map.is_empty(),
        _ => false,
    }
}

/// jq's `walk(f)`: `def w: if type == "object" then map_values(w) elif
/// type == "array" then map(w) else . end | f;` — arrays keep every
/// output of `w` per member, objects the first (none deletes the key).
fn walk<'a>(
    f: jaq_core::compile::TermId,
    context: &Ctx<'a, Data>,
    value: Value,
) -> ValXs<'a, Value> {
    let rebuilt = match value.0 {
        Val::Arr(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in unshare(items) {
                for output in walk(f, context, Value(item)) {
                    match output {
                        Ok(output) => out.push(output.0),
                        Err(exception) => return box_once(Err(exception)),
                    }
                }
            }
            Val::Arr(Rc::new(out))
        }
        Val::Obj(map) => {
            let map = unshare(map);
            let mut out = Map::with_capacity_and_hasher(map.len(), Default::default());
            for (key, item) in map {
                match walk(f, context, Value(item)).next() {
                    Some(Ok(output)) => {
                        out.insert(key, output.0);
                    }
                    Some(Err(exception)) => return box_once(Err(exception)),
                    None => {}
                }
            }
            Val::obj(out)
        }
        other => other,
    };
    f.run((context.clone(), Value(rebuilt)))
}

/// jq's `tostream` events of `value`, as they are needed (also what
/// `--stream` reads).
pub(super) fn stream_events(value: Val) -> impl Iterator<Item = Val> {
    Stream::new(value)
}

/// jq's `tostream`, lazily: `[path, leaf]` for every scalar and empty
/// container, and `[path + [last key]]` after a non-empty container's
/// members, in jq's (post-)order.
struct Stream {
    root: Option<Val>,
    /// The open containers and the index of the member to visit next.
    open: Vec<(Val, usize)>,
    /// The keys from the root to the innermost open container.
    path: Vec<Val>,
}

impl Stream {
    fn new(root: Val) -> Self {
        Self {
            root: Some(root),
            open: Vec::new(),
            path: Vec::new(),
        }
    }

    fn member(container: &Val, index: usize) -> Option<(Val, Val)> {
        match container {
            Val::Arr(items) => items
                .get(index)
                .map(|item| (Val::from(index), item.clone())),
            Val::Obj(map) => map
                .get_index(index)
                .map(|(key, item)| (key.clone(), item.clone())),
            _ => None,
        }
    }

    fn path_with(&self, last: Option<Val>) -> Val {
        let mut path = Vec::with_capacity(self.path.len() + 1);
        path.extend(self.path.iter().cloned());
        path.extend(last);
        Val::Arr(Rc::new(path))
    }
}

impl Iterator for Stream {
    type Item = Val;

    fn next(&mut self) -> Option<Val> {
        if let Some(root) = self.root.take() {
            if !has_children(&root) {
                return Some([Val::Arr(Rc::default()), root].into_iter().collect());
            }
            self.open.push((root, 0));
        }
        loop {
            let (container, index) = self.open.last_mut()?;
            match Self::member(container, *index) {
                Some((key, item)) => {
                    *index += 1;
                    if has_children(&item) {
                        self.path.push(key);
                        self.open.push((item, 0));
                        continue;
                    }
                    let path = self.path_with(Some(key));
                    return Some([path, item].into_iter().collect());
                }
                None => {
                    let last = index
                        .checked_sub(1)
                        .and_then(|i| Self::member(container, i));
                    let closing = self.path_with(last.map(|(key, _)| key));
                    self.open.pop();
                    if !self.open.is_empty() {
                        self.path.pop();
                    }
                    return Some([closing].into_iter().collect());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jq::read::parse_single;

    fn json(text: &str) -> Val {
        parse_single(text.as_bytes()).expect("valid JSON")
    }

    fn text(value: &Val) -> String {
        super::super::value::compact_text(value)
    }

    #[test]
    fn tostream_events_come_in_jq_order() {
        let events: Vec<String> = Stream::new(json(r#"{"a":[1,{"b":2}],"c":[],"d":{}}"#))
            .map(|event| text(&event))
            .collect();
        assert_eq!(
            events,
            [
                r#"[["a",0],1]"#,
                r#"[["a",1,"b"],2]"#,
                r#"[["a",1,"b"]]"#,
                r#"[["a",1]]"#,
                r#"[["c"],[]]"#,
                r#"[["d"],{}]"#,
                r#"[["d"]]"#,
            ]
        );
        let scalar: Vec<String> = Stream::new(json("3")).map(|e| text(&e)).collect();
        assert_eq!(scalar, ["[[],3]"]);
    }

    #[test]
    fn join_declines_what_jq_refuses() {
        let joined = join(&json(r#"[1,null,"a",true,1.5]"#), &json(r#"", ""#));
        assert_eq!(
            joined.map(|v| text(&v)),
            Some(r#""1, , a, true, 1.5""#.to_string())
        );
        assert_eq!(join(&json("[[1]]"), &json(r#"",""#)), None);
        assert_eq!(join(&json("[1]"), &json("1")), None);
        assert_eq!(
            join(&json("[]"), &json(r#"",""#)).map(|v| text(&v)),
            Some(r#""""#.to_string())
        );
    }

    #[test]
    fn from_entries_takes_jq_1_7_1_keys_and_values() {
        let entries = json(
            r#"[{"key":false,"name":"x","value":1},{"Key":"b","Value":2},
                {"key":"c","value":null,"Value":3},{"key":"x","value":4}]"#,
        );
        assert_eq!(
            from_entries(&entries).map(|v| text(&v)),
            Some(r#"{"x":4,"b":2,"c":null}"#.to_string())
        );
        assert_eq!(from_entries(&json(r#"[{"k":"a"}]"#)), None);
        assert_eq!(from_entries(&json(r#"[{"key":1}]"#)), None);
        assert_eq!(from_entries(&json("[[1]]")), None);
    }

    #[test]
    fn flatten_follows_jq_depth_rules() {
        let nested = || Value(json("[1,[2,[3,[4]]]]"));
        let flat = |depth: &str| flatten(nested(), &Value(json(depth))).map(|v| text(&v.0));
        assert_eq!(flat("1").ok(), Some("[1,2,[3,[4]]]".to_string()));
        // jq recurses while the depth is not 0, so 1.5 flattens fully.
        assert_eq!(flat("1.5").ok(), Some("[1,2,3,4]".to_string()));
        assert_eq!(flat("0").ok(), Some("[1,[2,[3,[4]]]]".to_string()));
        assert!(flat(r#""a""#).is_err());
    }

    #[test]
    fn min_is_the_first_least_and_max_the_last_greatest() {
        let both = |input: &str| {
            let value = Value(json(input));
            let min = extreme(&value, Extreme::Min).map(|v| text(&v.0));
            let max = extreme(&value, Extreme::Max).map(|v| text(&v.0));
            (min.ok(), max.ok())
        };
        // 1.0 and 1 are equal but print differently, as in jq.
        let some = |text: &str| Some(text.to_string());
        assert_eq!(both("[1.0, 1, 3, 3.0, 2]"), (some("1.0"), some("3.0")));
        assert_eq!(both("[]"), (some("null"), some("null")));
        let error = extreme(&Value(json("1")), Extreme::Min).expect_err("not an array");
        assert!(error
            .to_string()
            .contains("number (1) and number (1) cannot be iterated over"));
    }

    #[test]
    fn add_grows_the_accumulator_in_place() {
        let sum = add(Value(json(r#"[[1],[2,3],null,[4]]"#))).map(|v| text(&v.0));
        assert_eq!(sum.ok(), Some("[1,2,3,4]".to_string()));
        let merged = add(Value(json(r#"[{"a":1,"b":2},{"a":3}]"#))).map(|v| text(&v.0));
        assert_eq!(merged.ok(), Some(r#"{"a":3,"b":2}"#.to_string()));
        assert!(add(Value(json("[1,\"a\"]"))).is_err());
        assert!(add(Value(json("3"))).is_err());
    }
}
