//! What the engine runs on: our [`Val`] (`val`) with jq's rules.
//!
//! jaq-core evaluates over any value type that implements its traits;
//! jaq-json's implementation refuses to update `null` (`{} | .a.b = 1`
//! fails), refuses to grow arrays (`[] | .[2] = 1`), reorders an object's
//! keys when one is deleted by an update (`swap_remove`), takes every
//! output of `f` in `.[] |= f`, and formats interpolated numbers its own
//! way. jq does none of this, so the engine runs on this newtype, which
//! implements updates, indexing, slicing, arithmetic, object construction
//! and string conversion as jq 1.7 does.

use super::print::{self, PrintOptions};
use super::val::{unshare, Map, Rc, Val};
use jaq_core::box_iter::BoxIter;
use jaq_core::path::Opt;
use jaq_core::{val::Range, Error, Exn, ValR, ValX};
use std::fmt;

/// A jq value. The inner [`Val`] is what the printer and callers see.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Value(pub Val);

/// jq's name for a value's type, as its error messages use it.
pub fn type_name(value: &Val) -> &'static str {
    match value {
        Val::Null => "null",
        Val::Bool(_) => "boolean",
        Val::Num(_) => "number",
        Val::TStr(_) | Val::BStr(_) => "string",
        Val::Arr(_) => "array",
        Val::Obj(_) => "object",
    }
}

/// jq's compact text of a value (what `tojson` gives).
pub(super) fn compact_text(value: &Val) -> String {
    // The printer writes valid UTF-8, so this never copies.
    String::from_utf8(print::to_vec(value, &PrintOptions::compact()))
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// jq's "type (value)" phrase, with long values cut as jq cuts them (a
/// 15-byte buffer: more than 14 bytes become 11 and "...").
pub(super) fn describe(value: &Val) -> String {
    // Only the start is shown, so only the start is printed (errors are
    // made and dropped by the million under `..` and `.[]?`).
    let start = print::prefix(value, &PrintOptions::compact(), 15);
    let text = String::from_utf8(start)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
    let shown = if text.len() > 14 {
        let mut end = 11;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    } else {
        text
    };
    format!("{} ({shown})", type_name(value))
}

fn error_message(message: String) -> Error<Value> {
    Error::new(Value(Val::from(message)))
}

/// An array index as jq takes it: a fractional index is truncated toward
/// zero (C's cast), NaN is no index; `None` for non-numbers.
fn index_number(value: &Val) -> Option<isize> {
    match value {
        Val::Num(number) => number.as_isize().or_else(|| {
            let float = Val::as_f64(value)?;
            (!float.is_nan()).then(|| float.trunc() as isize)
        }),
        _ => None,
    }
}

/// jq's refusal of slice bounds that are not numbers (or null), whether
/// written `.["a":]` or given as a path's `{"start": "a", "end": null}`.
pub(super) const SLICE_INDICES: &str = "Array/string slice indices must be integers";

/// The bounds of a slice key, `{"start": s, "end": e}` as `path(.[s:e])`
/// gives it: jq wants both keys (either may be null, for no bound) and
/// ignores any others.
pub(super) fn slice_key(key: &Map) -> Result<(Option<&Val>, Option<&Val>), String> {
    let bound = |name: &str| match key.get(&Val::from(name.to_string())) {
        Some(Val::Null) => Ok(None),
        Some(number @ Val::Num(_)) => Ok(Some(number)),
        _ => Err(SLICE_INDICES.to_string()),
    };
    Ok((bound("start")?, bound("end")?))
}

/// A slice key's bounds as the range jaq's `.[a:b]` takes.
fn slice_range(key: &Map) -> Result<Range<Value>, Error<Value>> {
    let (start, end) = slice_key(key).map_err(error_message)?;
    Ok(start.cloned().map(Value)..end.cloned().map(Value))
}

/// jq's `jv_set` refusing a key it could read but cannot write.
pub(super) fn cannot_update(container: &Val, key: &Val) -> String {
    format!(
        "Cannot update field at {} index of {}",
        type_name(key),
        type_name(container)
    )
}

/// A slice's bounds as jq 1.7.1 computes them: negative bounds count from
/// the end, both are clamped, the start is floored and the end rounded up
/// (`.[1.2:3.5]` is `.[1:4]`), a NaN start is 0 and a NaN end the length.
pub(super) fn slice_bounds(
    start: Option<&Val>,
    end: Option<&Val>,
    length: usize,
) -> Result<(usize, usize), String> {
    let length_f = length as f64;
    let bound = |value: Option<&Val>, default: f64| -> Result<f64, String> {
        match value {
            None | Some(Val::Null) => Ok(default),
            Some(number @ Val::Num(_)) => {
                let float = Val::as_f64(number).unwrap_or(default);
                Ok(if float.is_nan() { default } else { float })
            }
            Some(_) => Err(SLICE_INDICES.to_string()),
        }
    };
    let mut start = bound(start, 0.0)?;
    let mut end = bound(end, length_f)?;
    if start < 0.0 {
        start += length_f;
    }
    if end < 0.0 {
        end += length_f;
    }
    let start = start.clamp(0.0, length_f) as usize;
    let end = (end.clamp(0.0, length_f).ceil() as usize).max(start);
    Ok((start, end))
}

/// Objects up to this many keys are searched key by key, not hashed.
const SCANNED_KEYS: usize = 8;

impl Value {
    fn iterate_error(self) -> Exn<'static, Value> {
        Exn::from(error_message(format!(
            "Cannot iterate over {}",
            describe(&self.0)
        )))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Val::TStr(text) | Val::BStr(text) => f.write_str(&String::from_utf8_lossy(text)),
            other => f.write_str(&compact_text(other)),
        }
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self(Val::from(value))
    }
}

impl From<isize> for Value {
    fn from(value: isize) -> Self {
        Self(Val::from(value))
    }
}

impl From<usize> for Value {
    fn from(value: usize) -> Self {
        Self(Val::from(value))
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Self(Val::from(value))
    }
}

impl From<String> for Value {
    /// How jaq makes every string literal it evaluates, from a fresh copy
    /// of the program's `String`. jq shares a literal among all the values
    /// it makes; here a short string equal to one made recently shares that
    /// one's bytes, so `[limit(n; repeat("a"))]` or the keys of `{name: .x}`
    /// over many inputs hold one string, not n.
    fn from(text: String) -> Self {
        Self(super::val::shared_text(text))
    }
}

impl From<Range<Value>> for Value {
    /// A slice's step in a path: jq writes both bounds, a missing one as
    /// null (`path(.[1:])` is `[{"start":1,"end":null}]`).
    fn from(range: Range<Value>) -> Self {
        let bounds = [("start", range.start), ("end", range.end)];
        let entries = bounds.into_iter().map(|(name, bound)| {
            (
                Val::from(name.to_owned()),
                bound.map_or(Val::Null, |bound| bound.0),
            )
        });
        Self(Val::obj(entries.collect()))
    }
}

impl FromIterator<Value> for Value {
    /// How jaq builds `[f]`, from an iterator that cannot tell its length.
    fn from_iter<T: IntoIterator<Item = Value>>(iter: T) -> Self {
        Self(Val::Arr(Rc::new(collect_fitted(
            iter.into_iter().map(|value| value.0),
        ))))
    }
}

/// The items in a vector no larger than they need while few: `collect`
/// reserves room for four when the iterator cannot tell its length, so
/// every `[.]` held 64 bytes of buffer for one 16-byte value (1M of them
/// in `[range(.) | [.]]` took 48 MB more than they hold). From the third
/// item on, a vector grows as usual.
fn collect_fitted<T>(mut items: impl Iterator<Item = T>) -> Vec<T> {
    let (lower, upper) = items.size_hint();
    if upper == Some(lower) {
        return items.collect();
    }
    let Some(first) = items.next() else {
        return Vec::new();
    };
    let Some(second) = items.next() else {
        return vec![first];
    };
    let mut collected = Vec::with_capacity(items.size_hint().0.saturating_add(2));
    collected.push(first);
    collected.push(second);
    collected.extend(items);
    collected
}

/// The integers a double holds exactly. jq computes in doubles: on these
/// our exact integer arithmetic gives what it gives. A literal beyond them
/// (`9007199254740993`) is printed as written, but jq computes with its
/// double (`- 1` is 9007199254740991, `floor` 9007199254740992).
pub(super) const EXACT_INTEGERS: std::ops::RangeInclusive<isize> = -(1 << 53)..=1 << 53;

/// A number's value as an integer jq computes with exactly.
pub(super) fn exact_integer(value: &Val) -> Option<isize> {
    match value {
        Val::Num(number) => number.as_isize().filter(|n| EXACT_INTEGERS.contains(n)),
        _ => None,
    }
}

/// jq does arithmetic in doubles; integers stay exact while operands and
/// result are integers a double holds exactly, which print the same.
fn numeric(
    left: &Val,
    right: &Val,
    operation: fn(f64, f64) -> f64,
    exact: fn(isize, isize) -> Option<isize>,
) -> Option<Val> {
    match (left, right) {
        (Val::Num(_), Val::Num(_)) => {
            if let (Some(a), Some(b)) = (exact_integer(left), exact_integer(right)) {
                if let Some(result) = exact(a, b).filter(|r| EXACT_INTEGERS.contains(r)) {
                    return Some(Val::from(result));
                }
            }
            let a = Val::as_f64(left)?;
            let b = Val::as_f64(right)?;
            Some(Val::from(operation(a, b)))
        }
        _ => None,
    }
}

/// jq's message for operands it cannot combine.
fn cannot(left: &Val, right: &Val, verb: &str) -> Error<Value> {
    error_message(format!(
        "{} and {} cannot be {verb}",
        describe(left),
        describe(right)
    ))
}

/// Appends `right` to a string, in place when `left` is its buffer's only
/// owner: a string grown in a loop (`reduce ... (""; . + $x)`) then costs
/// amortized linear time, as jq's `jv_string_append_buf` does.
fn concat_text<B: Into<Vec<u8>>>(left: B, right: &[u8]) -> Val {
    let mut bytes: Vec<u8> = left.into();
    bytes.extend_from_slice(right);
    Val::utf8_str(bytes)
}

/// The elements of `right` appended to `left`, in place when `left` is not
/// shared, and moved rather than cloned when `right` is not.
fn concat_arrays(mut left: Rc<Vec<Val>>, right: Rc<Vec<Val>>) -> Val {
    if left.is_empty() {
        return Val::Arr(right);
    }
    let items = Rc::make_mut(&mut left);
    match Rc::try_unwrap(right) {
        Ok(right) => items.extend(right),
        Err(right) => items.extend(right.iter().cloned()),
    }
    Val::Arr(left)
}

/// `right`'s entries over `left`'s (a key keeps its first position), in
/// place when `left` is not shared. Room for both is made once: jaq builds
/// `{a: f, b: g}` as `{a: f} + {b: g}`, where `{a: f}` is shared whenever
/// `g` has several outputs, and copying it exactly to size first made
/// every addition of an entry grow the copy (and rehash it) again.
fn merge_objects(mut left: Rc<Map>, mut right: Rc<Map>) -> Val {
    if left.is_empty() {
        return Val::Obj(right);
    }
    // jaq builds an object literal of several keys as a sum of one-key
    // objects (`{a: 1, b: 2}` is `{a: 1} + {b: 2}`, right to left), so the
    // common sum is one key and a fresh object: the key goes in front of
    // that object's own map (where the right's value wins, at the left's
    // place), instead of every entry of the right moving into the left.
    if left.len() == 1 {
        if let Some(map) = Rc::get_mut(&mut right) {
            let (key, value) = match Rc::try_unwrap(left) {
                Ok(only) => only.into_iter().next(),
                Err(shared) => shared.first().map(|(k, v)| (k.clone(), v.clone())),
            }
            .unwrap_or_default();
            match map.get_index_of(&key) {
                Some(at) => map.move_index(at, 0),
                None => {
                    map.shift_insert(0, key, value);
                }
            }
            return Val::Obj(right);
        }
    }
    if Rc::get_mut(&mut left).is_none() {
        let mut copy = Map::with_capacity_and_hasher(left.len() + right.len(), Default::default());
        copy.extend(left.iter().map(|(k, v)| (k.clone(), v.clone())));
        left = Rc::new(copy);
    }
    // Not shared now, so this copies nothing.
    let map = Rc::make_mut(&mut left);
    map.reserve(right.len());
    match Rc::try_unwrap(right) {
        Ok(right) => map.extend(right),
        Err(right) => map.extend(right.iter().map(|(k, v)| (k.clone(), v.clone()))),
    }
    Val::Obj(left)
}

// The operators take their operands by value and never clone a container
// before combining: a second reference would make every `Rc::make_mut`
// copy, and turn a value built step by step into quadratic work.
impl std::ops::Add for Value {
    type Output = ValR<Value>;
    fn add(self, other: Self) -> ValR<Value> {
        if let Some(sum) = numeric(&self.0, &other.0, |a, b| a + b, isize::checked_add) {
            return Ok(Value(sum));
        }
        match (self.0, other.0) {
            (Val::Null, value) | (value, Val::Null) => Ok(Value(value)),
            (Val::TStr(left) | Val::BStr(left), Val::TStr(right) | Val::BStr(right)) => {
                Ok(Value(concat_text(unshare(left), &right)))
            }
            (Val::Arr(left), Val::Arr(right)) => Ok(Value(concat_arrays(left, right))),
            (Val::Obj(left), Val::Obj(right)) => Ok(Value(merge_objects(left, right))),
            (left, right) => Err(cannot(&left, &right, "added")),
        }
    }
}

impl std::ops::Sub for Value {
    type Output = ValR<Value>;
    fn sub(self, other: Self) -> ValR<Value> {
        if let Some(difference) = numeric(&self.0, &other.0, |a, b| a - b, isize::checked_sub) {
            return Ok(Value(difference));
        }
        match (self.0, other.0) {
            (Val::Arr(mut left), Val::Arr(right)) => {
                let removed: std::collections::BTreeSet<&Val> = right.iter().collect();
                Rc::make_mut(&mut left).retain(|item| !removed.contains(item));
                Ok(Value(Val::Arr(left)))
            }
            (left, right) => Err(cannot(&left, &right, "subtracted")),
        }
    }
}

/// jq 1.7.1 repeats a string `n` times for `n` truncated to an integer:
/// `"ab" * 0` is `""`, `"ab" * 1.5` is `"ab"`, a negative count is null.
/// A result longer than jq's string limit (2^31 - 1 bytes) is refused with
/// jq's message instead of exhausting memory.
fn repeat_string(text: &[u8], count: &Val) -> Option<Result<Val, Error<Value>>> {
    const LIMIT: f64 = i32::MAX as f64;
    let count = Val::as_f64(count)?;
    if count.is_nan() || count < 0.0 {
        return Some(Ok(Val::Null));
    }
    let times = count.trunc();
    if times * text.len() as f64 > LIMIT {
        return Some(Err(error_message(
            "Repeat string result too long".to_string(),
        )));
    }
    Some(Ok(Val::utf8_str(text.repeat(times as usize))))
}

impl std::ops::Mul for Value {
    type Output = ValR<Value>;
    fn mul(self, other: Self) -> ValR<Value> {
        if let Some(product) = numeric(&self.0, &other.0, |a, b| a * b, isize::checked_mul) {
            return Ok(Value(product));
        }
        let repeated = match (&self.0, &other.0) {
            (Val::TStr(text), count @ Val::Num(_)) | (count @ Val::Num(_), Val::TStr(text)) => {
                Some(
                    repeat_string(text, count)
                        .unwrap_or_else(|| Err(cannot(&self.0, &other.0, "multiplied"))),
                )
            }
            _ => None,
        };
        if let Some(result) = repeated {
            return result.map(Value);
        }
        match (self.0, other.0) {
            (Val::Obj(mut left), Val::Obj(right)) => {
                super::val::merge_deep(&mut left, right);
                Ok(Value(Val::Obj(left)))
            }
            (left, right) => Err(cannot(&left, &right, "multiplied")),
        }
    }
}

/// `text / separator`, jq's split: an empty text has no parts, an empty
/// separator splits between characters. The parts share the text's buffer.
fn split(text: &bytes::Bytes, separator: &[u8], kind: fn(Rc<bytes::Bytes>) -> Val) -> Val {
    let part = |bytes: &[u8]| kind(Rc::new(text.slice_ref(bytes)));
    let mut parts = Vec::new();
    if text.is_empty() {
    } else if separator.is_empty() {
        match std::str::from_utf8(text) {
            Ok(chars) => parts.extend(
                chars
                    .char_indices()
                    .map(|(at, c)| part(&text[at..at + c.len_utf8()])),
            ),
            Err(_) => parts.extend(
                String::from_utf8_lossy(text)
                    .chars()
                    .map(|c| Val::from(c.to_string())),
            ),
        }
    } else {
        let mut rest = &text[..];
        while let Some(at) = rest
            .windows(separator.len())
            .position(|window| window == separator)
        {
            parts.push(part(&rest[..at]));
            rest = &rest[at + separator.len()..];
        }
        parts.push(part(rest));
    }
    Val::Arr(Rc::new(parts))
}

/// Where `part` (not empty) starts as a run of `array`'s elements,
/// overlapping runs each counted: `.[part]` and `indices(part)`.
pub(super) fn run_positions<'a>(
    array: &'a [Val],
    part: &'a [Val],
) -> impl Iterator<Item = usize> + 'a {
    let found = array.windows(part.len()).enumerate();
    found
        .filter(move |(_, window)| *window == part)
        .map(|(at, _)| at)
}

/// `array[part]`: an empty part occurs nowhere.
fn positions(array: &[Val], part: &[Val]) -> Val {
    if part.is_empty() {
        return Val::Arr(Rc::default());
    }
    run_positions(array, part).map(Val::from).collect()
}

/// `a / b` of integers when it is one.
fn exact_quotient(a: isize, b: isize) -> Option<isize> {
    (b != 0 && a % b == 0).then(|| a / b)
}

impl std::ops::Div for Value {
    type Output = ValR<Value>;
    fn div(self, other: Self) -> ValR<Value> {
        if let (Val::Num(_), Val::Num(_)) = (&self.0, &other.0) {
            if Val::as_f64(&other.0) == Some(0.0) {
                return Err(error_message(format!(
                    "{} and {} cannot be divided because the divisor is zero",
                    describe(&self.0),
                    describe(&other.0)
                )));
            }
            if let Some(quotient) = numeric(&self.0, &other.0, |a, b| a / b, exact_quotient) {
                return Ok(Value(quotient));
            }
        }
        match (self.0, other.0) {
            (Val::TStr(text), Val::TStr(separator)) => {
                Ok(Value(split(&text, &separator, Val::TStr)))
            }
            (Val::BStr(text), Val::BStr(separator)) => {
                Ok(Value(split(&text, &separator, Val::BStr)))
            }
            (left, right) => Err(cannot(&left, &right, "divided")),
        }
    }
}

impl std::ops::Rem for Value {
    type Output = ValR<Value>;
    /// jq truncates both operands to integers first (C's `%`).
    fn rem(self, other: Self) -> ValR<Value> {
        if let (Val::Num(_), Val::Num(_)) = (&self.0, &other.0) {
            let is_nan = |value: &Val| Val::as_f64(value).is_some_and(f64::is_nan);
            if is_nan(&self.0) || is_nan(&other.0) {
                return Ok(Value(Val::from(f64::NAN)));
            }
            let truncate = |value: &Val| Val::as_f64(value).map(|f| f.trunc() as i64);
            if let (Some(a), Some(b)) = (truncate(&self.0), truncate(&other.0)) {
                if b == 0 {
                    return Err(error_message(format!(
                        "{} and {} cannot be divided (remainder) because the divisor is zero",
                        describe(&self.0),
                        describe(&other.0)
                    )));
                }
                return Ok(Value(Val::from(a.wrapping_rem(b.wrapping_abs()) as isize)));
            }
        }
        Err(cannot(&self.0, &other.0, "divided (remainder)"))
    }
}

impl std::ops::Neg for Value {
    type Output = ValR<Value>;
    /// jq negates in doubles: `-0` is -0 and `-1e1000` overflows.
    fn neg(self) -> ValR<Value> {
        match &self.0 {
            Val::Num(_) => match exact_integer(&self.0) {
                Some(0) => Ok(Value(Val::from(-0.0f64))),
                Some(integer) => Ok(Value(Val::from(-integer))),
                None => Ok(Value(Val::from(-Val::as_f64(&self.0).unwrap_or(f64::NAN)))),
            },
            other => Err(error_message(format!(
                "{} cannot be negated",
                describe(other)
            ))),
        }
    }
}

impl jaq_core::ValT for Value {
    fn from_num(text: &str) -> ValR<Self> {
        Ok(Value(Val::Num(super::val::number_literal(text))))
    }

    /// jq: "Object keys must be strings".
    fn from_map<I: IntoIterator<Item = (Self, Self)>>(entries: I) -> ValR<Self> {
        let entries = entries.into_iter();
        let mut map = Map::with_capacity_and_hasher(entries.size_hint().0, Default::default());
        for (key, value) in entries {
            if !matches!(key.0, Val::TStr(_)) {
                return Err(error_message(format!(
                    "Cannot use {} as object key",
                    describe(&key.0)
                )));
            }
            map.insert(key.0, value.0);
        }
        Ok(Self(Val::obj(map)))
    }

    fn key_values(self) -> BoxIter<'static, ValR<(Self, Self), Self>> {
        match self.0 {
            Val::Arr(items) => Box::new(
                unshare(items)
                    .into_iter()
                    .enumerate()
                    .map(|(index, item)| Ok((Value::from(index), Value(item)))),
            ),
            Val::Obj(map) => Box::new(
                unshare(map)
                    .into_iter()
                    .map(|(key, value)| Ok((Value(key), Value(value)))),
            ),
            other => Box::new(std::iter::once(Err(error_message(format!(
                "{} has no keys",
                describe(&other)
            ))))),
        }
    }

    fn values(self) -> Box<dyn Iterator<Item = ValR<Self>>> {
        match self.0.into_members() {
            Ok(members) => Box::new(members.map(|v| Ok(Value(v)))),
            Err(other) => Box::new(std::iter::once(Err(error_message(format!(
                "Cannot iterate over {}",
                describe(&other)
            ))))),
        }
    }

    /// jq's indexing errors ("Cannot index object with number").
    fn index(self, index: &Self) -> ValR<Self> {
        match (&self.0, &index.0) {
            // jq looks null up by a key, an index or a slice (an object);
            // null, a boolean or an array it refuses.
            (Val::Null, Val::TStr(_) | Val::BStr(_) | Val::Num(_) | Val::Obj(_)) => {
                Ok(Value(Val::Null))
            }
            // An object index is a slice to jq (a path's slice step).
            (Val::Arr(_) | Val::TStr(_) | Val::BStr(_), Val::Obj(key)) => {
                let range = slice_range(key)?;
                self.range(range.start.as_ref()..range.end.as_ref())
            }
            (Val::Obj(object), Val::TStr(_)) => {
                // A few keys are compared in order for less than hashing
                // the one looked up costs (most objects a filter builds or
                // reads have a handful of keys).
                let found = if object.len() <= SCANNED_KEYS {
                    object
                        .iter()
                        .find_map(|(key, value)| (*key == index.0).then_some(value))
                } else {
                    object.get(&index.0)
                };
                Ok(Value(found.cloned().unwrap_or_default()))
            }
            (Val::Arr(array), Val::Num(_)) => {
                let Some(position) = index_number(&index.0) else {
                    return Ok(Value(Val::Null));
                };
                let position = if position < 0 {
                    array.len() as isize + position
                } else {
                    position
                };
                Ok(Value(
                    usize::try_from(position)
                        .ok()
                        .and_then(|p| array.get(p).cloned())
                        .unwrap_or_default(),
                ))
            }
            (Val::Arr(array), Val::Arr(part)) => Ok(Value(positions(array, part))),
            (container, key) => {
                let described = match key {
                    Val::TStr(_) => format!("string {}", compact_text(key)),
                    other => type_name(other).to_string(),
                };
                Err(error_message(format!(
                    "Cannot index {} with {described}",
                    type_name(container)
                )))
            }
        }
    }

    /// `.[a:b]` with jq's bounds; strings are sliced by code points.
    fn range(self, range: Range<&Self>) -> ValR<Self> {
        let (start, end) = (range.start.map(|v| &v.0), range.end.map(|v| &v.0));
        match &self.0 {
            Val::Null => Ok(Value(Val::Null)),
            Val::Arr(items) => {
                let (start, end) = slice_bounds(start, end, items.len()).map_err(error_message)?;
                Ok(Value(items[start..end].iter().cloned().collect()))
            }
            Val::TStr(bytes) | Val::BStr(bytes) => {
                let bounds = |count: usize| slice_bounds(start, end, count).map_err(error_message);
                let Ok(text) = std::str::from_utf8(bytes) else {
                    // Invalid UTF-8 counts as jq's replacement characters.
                    let text = String::from_utf8_lossy(bytes);
                    let (start, end) = bounds(text.chars().count())?;
                    let sliced: String = text.chars().skip(start).take(end - start).collect();
                    return Ok(Value(Val::from(sliced)));
                };
                // Code point offsets to byte offsets (the same for ASCII).
                let (start, end) = if text.is_ascii() {
                    bounds(text.len())?
                } else {
                    let (start, end) = bounds(text.chars().count())?;
                    let mut offsets = text.char_indices().map(|(at, _)| at).chain([text.len()]);
                    let first = offsets.nth(start).unwrap_or(text.len());
                    let last = match (end - start).checked_sub(1) {
                        Some(more) => offsets.nth(more).unwrap_or(text.len()),
                        None => first,
                    };
                    (first, last)
                };
                // The slice shares the string's buffer (no copy), unless it
                // is a small part of it: a short slice of a long string
                // should not keep the long one alive.
                Ok(Value(if (end - start) * 8 < bytes.len() {
                    Val::utf8_str(bytes[start..end].to_vec())
                } else {
                    Val::utf8_str(bytes.slice(start..end))
                }))
            }
            other => Err(error_message(format!(
                "Cannot index {} with object",
                type_name(other)
            ))),
        }
    }

    /// `.[] |= f`: the first output of `f` replaces each element; none
    /// deletes it (keys keep their order).
    fn map_values<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        match self.0 {
            Val::Arr(array) => {
                let mut out = Vec::with_capacity(array.len());
                for item in unshare(array) {
                    if let Some(result) = f(Value(item)).next() {
                        out.push(result?.0);
                    }
                }
                Ok(Value(Val::Arr(Rc::new(out))))
            }
            Val::Obj(object) => {
                let map = Rc::try_unwrap(object).unwrap_or_else(|shared| (*shared).clone());
                let mut out = Map::with_capacity_and_hasher(map.len(), Default::default());
                for (key, item) in map {
                    if let Some(result) = f(Value(item)).next() {
                        out.insert(key, result?.0);
                    }
                }
                Ok(Value(Val::obj(out)))
            }
            other => opt.fail(Value(other), |value| value.iterate_error()),
        }
    }

    /// `.[k] |= f` as jq does it: `null` becomes an object or array,
    /// arrays grow with nulls, and deleting a key keeps the others' order.
    fn map_index<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        index: &Self,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        if let (Val::Null | Val::Arr(_) | Val::TStr(_) | Val::BStr(_), Val::Obj(key)) =
            (&self.0, &index.0)
        {
            let range = slice_range(key).map_err(Exn::from)?;
            return self.map_range(range.start.as_ref()..range.end.as_ref(), opt, f);
        }
        match (self.0, &index.0) {
            (Val::Null, Val::TStr(_)) => {
                let mut map = Map::default();
                if let Some(result) = f(Value(Val::Null)).next() {
                    map.insert(index.0.clone(), result?.0);
                    return Ok(Value(Val::obj(map)));
                }
                Ok(Value(Val::Null))
            }
            (Val::Obj(mut object), Val::TStr(_)) => {
                let map = Rc::make_mut(&mut object);
                match map.get_index_of(&index.0) {
                    Some(position) => {
                        let current = std::mem::take(&mut map[position]);
                        match f(Value(current)).next() {
                            Some(result) => map[position] = result?.0,
                            None => {
                                map.shift_remove_index(position);
                            }
                        }
                    }
                    None => {
                        if let Some(result) = f(Value(Val::Null)).next() {
                            map.insert(index.0.clone(), result?.0);
                        }
                    }
                }
                Ok(Value(Val::Obj(object)))
            }
            (container @ (Val::Null | Val::Arr(_)), Val::Num(_)) => {
                let was_null = matches!(container, Val::Null);
                let mut items = match container {
                    Val::Arr(array) => unshare(array),
                    _ => Vec::new(),
                };
                let Some(position) = index_number(&index.0) else {
                    return Err(Exn::from(error_message(
                        "Cannot set array element at NaN index".to_string(),
                    )));
                };
                let position = if position < 0 {
                    items.len() as isize + position
                } else {
                    position
                };
                // jq updates what getpath finds there (null) first; only
                // setting it fails, and deleting it leaves all as it was.
                let Ok(position) = usize::try_from(position) else {
                    let result = f(Value(Val::Null)).next();
                    // `_modify`'s "delete this" is a deletion too.
                    let deleted =
                        matches!(&result, Some(Ok(value)) if super::compat::is_deleted(&value.0));
                    return match result.filter(|_| !deleted) {
                        Some(result) => result.and_then(|_| {
                            Err(Exn::from(error_message(
                                "Out of bounds negative array index".to_string(),
                            )))
                        }),
                        None if was_null => Ok(Value(Val::Null)),
                        None => Ok(Value(Val::Arr(Rc::new(items)))),
                    };
                };
                // jq refuses to grow an array past INT_MAX >> 2 elements.
                if position > (i32::MAX >> 2) as usize {
                    return Err(Exn::from(error_message(
                        "Array index too large".to_string(),
                    )));
                }
                // Taken, not cloned: the element's only owner can then be
                // updated in place (`.[0] += [$x]` in a loop stays linear).
                let current = items
                    .get_mut(position)
                    .map(std::mem::take)
                    .unwrap_or_default();
                match f(Value(current)).next() {
                    Some(result) => {
                        let result = result?.0;
                        if position >= items.len() {
                            items.resize(position + 1, Val::Null);
                        }
                        items[position] = result;
                    }
                    None => {
                        if position < items.len() {
                            items.remove(position);
                        }
                    }
                }
                Ok(Value(Val::Arr(Rc::new(items))))
            }
            // jq looks an array up by an array (`indices`), but cannot set it.
            (container @ Val::Arr(_), key @ Val::Arr(_)) => {
                let message = cannot_update(&container, key);
                opt.fail(Value(container), |_| Exn::from(error_message(message)))
            }
            (container, key) => {
                let described = match key {
                    Val::TStr(_) => format!("string {}", compact_text(key)),
                    other => type_name(other).to_string(),
                };
                let message = format!("Cannot index {} with {described}", type_name(&container));
                opt.fail(Value(container), |_| Exn::from(error_message(message)))
            }
        }
    }

    /// `.[a:b] |= f`: the first output (an array) replaces the slice; none
    /// deletes it.
    fn map_range<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        range: Range<&Self>,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        let mut items = match self.0 {
            Val::Arr(array) => unshare(array),
            Val::Null => Vec::new(),
            other => {
                // jq reads the slice before it sets it, so only a string
                // gets as far as the update.
                let message = match other {
                    Val::TStr(_) | Val::BStr(_) => "Cannot update string slices".to_string(),
                    _ => format!("Cannot index {} with object", type_name(&other)),
                };
                return opt.fail(Value(other), |_| Exn::from(error_message(message)));
            }
        };
        let (start, end) = slice_bounds(
            range.start.map(|v| &v.0),
            range.end.map(|v| &v.0),
            items.len(),
        )
        .map_err(|message| Exn::from(error_message(message)))?;
        let slice: Val = items[start..end].iter().cloned().collect();
        match f(Value(slice)).next() {
            Some(result) => match result?.0 {
                Val::Arr(replacement) => {
                    items.splice(start..end, unshare(replacement));
                }
                _ => {
                    return Err(Exn::from(error_message(
                        "A slice of an array can only be assigned another array".to_string(),
                    )))
                }
            },
            None => {
                items.drain(start..end);
            }
        }
        Ok(Value(Val::Arr(Rc::new(items))))
    }

    fn as_bool(&self) -> bool {
        self.0.as_bool()
    }

    /// String interpolation prints numbers and containers as jq does.
    fn into_string(self) -> Self {
        match self.0 {
            Val::TStr(_) => self,
            Val::BStr(bytes) => Value(Val::TStr(bytes)),
            other => Value(Val::from(compact_text(&other))),
        }
    }
}

impl jaq_std::ValT for Value {
    fn into_seq<S: FromIterator<Self>>(self) -> Result<S, Self> {
        match self.0 {
            Val::Arr(array) => Ok(unshare(array).into_iter().map(Value).collect()),
            other => Err(Value(other)),
        }
    }

    /// What jaq-std's natives take for an integer: not one beyond those a
    /// double holds, which jq only ever computes with as its double.
    fn is_int(&self) -> bool {
        exact_integer(&self.0).is_some()
    }

    fn as_isize(&self) -> Option<isize> {
        self.0.as_isize()
    }

    fn as_f64(&self) -> Option<f64> {
        Val::as_f64(&self.0)
    }

    fn is_utf8_str(&self) -> bool {
        matches!(self.0, Val::TStr(_))
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        self.0.as_bytes()
    }

    fn as_sub_str(&self, sub: &[u8]) -> Self {
        match &self.0 {
            Val::BStr(bytes) => Value(Val::byte_str(bytes.slice_ref(sub))),
            Val::TStr(bytes) => Value(Val::utf8_str(bytes.slice_ref(sub))),
            // jaq-std takes substrings of strings only.
            _ => Value(Val::from(String::from_utf8_lossy(sub).into_owned())),
        }
    }

    fn from_utf8_bytes(bytes: impl AsRef<[u8]> + Send + 'static) -> Self {
        Value(Val::utf8_str(bytes::Bytes::from_owner(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jaq_core::ValT as _;

    fn json(text: &str) -> Value {
        Value(crate::jq::read::parse_single(text.as_bytes()).expect("valid JSON"))
    }

    fn array_buffer(value: &Value) -> *const Val {
        match &value.0 {
            Val::Arr(items) => items.as_ptr(),
            _ => std::ptr::null(),
        }
    }

    /// Regression: every operator cloned its operands first (for the error
    /// message), so `. + [$x]` in a loop copied the whole array each time.
    #[test]
    fn adding_to_an_unshared_array_extends_it_in_place() {
        let mut sum = json("[0]");
        if let Val::Arr(items) = &mut sum.0 {
            Rc::make_mut(items).reserve(100);
        }
        let buffer = array_buffer(&sum);
        for i in 1..50 {
            sum = (sum + json(&format!("[{i}]"))).expect("arrays add");
        }
        assert_eq!(array_buffer(&sum), buffer, "the array was copied");
        let expected: Vec<String> = (0..50).map(|i| i.to_string()).collect();
        assert_eq!(compact_text(&sum.0), format!("[{}]", expected.join(",")));

        let shared = json("[1]");
        let kept = shared.clone();
        let grown = (shared + json("[2]")).expect("arrays add");
        assert_eq!(
            compact_text(&kept.0),
            "[1]",
            "a shared operand is left alone"
        );
        assert_eq!(compact_text(&grown.0), "[1,2]");
    }

    #[test]
    fn operators_keep_jq_results_and_messages() {
        let add = |a: &str, b: &str| (json(a) + json(b)).map(|v| compact_text(&v.0));
        assert_eq!(
            add(r#"{"a":1,"b":2}"#, r#"{"a":3,"c":4}"#).ok().as_deref(),
            Some(r#"{"a":3,"b":2,"c":4}"#)
        );
        assert_eq!(add(r#""ab""#, r#""cd""#).ok().as_deref(), Some(r#""abcd""#));
        assert_eq!(add("null", "[1]").ok().as_deref(), Some("[1]"));
        assert_eq!(add("{}", "null").ok().as_deref(), Some("{}"));
        let error = add("[1]", "{}").expect_err("array and object");
        assert_eq!(
            error.to_string(),
            Error::<Value>::new(Value(Val::from(
                "array ([1]) and object ({}) cannot be added".to_string()
            )))
            .to_string()
        );
        let sub = (json("[1,2,3,1]") - json("[1]")).map(|v| compact_text(&v.0));
        assert_eq!(sub.ok().as_deref(), Some("[2,3]"));
        let merged =
            (json(r#"{"k":{"a":1}}"#) * json(r#"{"k":{"b":2}}"#)).map(|v| compact_text(&v.0));
        assert_eq!(merged.ok().as_deref(), Some(r#"{"k":{"a":1,"b":2}}"#));
        let split = (json(r#""a,b""#) / json(r#"",""#)).map(|v| compact_text(&v.0));
        assert_eq!(split.ok().as_deref(), Some(r#"["a","b"]"#));
    }

    /// Regression: `[f]` reserved room for four values whatever `f`
    /// yielded, so 1M `[.]` took 48 MB more than they held.
    #[test]
    fn arrays_from_unsized_iterators_are_no_larger_than_needed() {
        let unsized_of = |n: usize| (0..n).filter(|_| true).map(Value::from);
        for n in [0, 1, 2, 3, 17] {
            let Value(Val::Arr(items)) = unsized_of(n).collect::<Value>() else {
                panic!("an array");
            };
            assert_eq!(items.len(), n);
            assert_eq!(*items, (0..n).map(Val::from).collect::<Vec<_>>());
            if n <= 2 {
                assert_eq!(items.capacity(), n, "{n} items");
            }
        }
    }

    /// `{a: 1, b: (2, 3)}` is `{a: 1} + {b: ...}` with `{a: 1}` shared:
    /// the sum is a new object, and the shared one is left as it was.
    #[test]
    fn adding_to_a_shared_object_leaves_it_alone() {
        let shared = json(r#"{"a":1,"b":2}"#);
        let sum = (shared.clone() + json(r#"{"c":3,"a":4}"#)).expect("objects add");
        assert_eq!(compact_text(&sum.0), r#"{"a":4,"b":2,"c":3}"#);
        assert_eq!(compact_text(&shared.0), r#"{"a":1,"b":2}"#);
    }

    #[test]
    fn strings_from_the_program_keep_their_text() {
        let text = Value::from("aé😀".to_string());
        assert_eq!(compact_text(&text.0), r#""aé😀""#);
        assert_eq!(text, json(r#""aé😀""#));
    }

    #[test]
    fn string_slices_count_code_points_and_share_long_buffers() {
        let slice = |text: &str, start: isize, end: Option<isize>| {
            let (start, end) = (Value::from(start), end.map(Value::from));
            let sliced = json(text)
                .range(Some(&start)..end.as_ref())
                .expect("a slice");
            compact_text(&sliced.0)
        };
        assert_eq!(slice(r#""aé😀bc""#, 1, None), r#""é😀bc""#);
        assert_eq!(slice(r#""aé😀bc""#, 2, Some(3)), r#""😀""#);
        assert_eq!(slice(r#""aé😀bc""#, -2, None), r#""bc""#);
        assert_eq!(slice(r#""aé😀bc""#, 3, Some(3)), r#""""#);
        assert_eq!(slice(r#""abc""#, 0, Some(0)), r#""""#);
        // `.[:-$x]` with `$x = 0` slices with -0.0 (jq: "").
        let minus_zero = Value::from(-0.0f64);
        let empty = json(r#""abc""#)
            .range(None..Some(&minus_zero))
            .expect("a slice");
        assert_eq!(compact_text(&empty.0), r#""""#);

        let long = json(&format!("\"{}\"", "x".repeat(100)));
        let text_at = |value: &Value| match &value.0 {
            Val::TStr(bytes) => bytes.as_ptr() as usize,
            _ => 0,
        };
        let (from, to) = (Value::from(10isize), Value::from(90isize));
        let half = long.clone().range(Some(&from)..Some(&to)).expect("a slice");
        assert_eq!(
            text_at(&half),
            text_at(&long) + 10,
            "a long slice shares the buffer"
        );
        let (from, to) = (Value::from(10isize), Value::from(12isize));
        let bit = long.clone().range(Some(&from)..Some(&to)).expect("a slice");
        assert_ne!(
            text_at(&bit),
            text_at(&long) + 10,
            "a short slice is copied"
        );
    }
}
