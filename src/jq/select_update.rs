//! Updates through `first(f)`, `limit($n; f)` and `skip($n; f)` (and so
//! through `nth($n; f)`, made of `first` and `skip`).
//!
//! jaq gives these natives paths but no update, so `first(.[]) |= 7`
//! failed with "invalid path expression". jq updates the paths they
//! select, one after the other, as it does for any path expression: here
//! the paths of `f` are asked for, the selected ones kept, and the value
//! updated along each in turn (so `_modify`'s deletion markers work as
//! for any other path).

use super::value::Value;
use super::Data;
use jaq_core::path::Opt;
use jaq_core::{Exn, Native, ValT, ValX, ValXs};

/// The paths of the native's filter argument on the input, each in order
/// (jaq builds a path as a list, most recent step first).
macro_rules! selected {
    ($cv:ident) => {{
        let (paths, ctx) = $cv.0.pop_fun();
        let input = ($cv.1.clone(), Default::default());
        paths.paths((ctx, input)).map(|result| {
            result.map(|(_, path)| {
                let mut steps: Vec<Value> = path.iter().cloned().collect();
                steps.reverse();
                steps
            })
        })
    }};
}

/// jaq's natives, by the names they are registered under, with an update
/// where they select paths: how many of `f`'s paths they skip, then how
/// many they take.
pub(super) fn with_update(name: &str, native: Native<Data>) -> Native<Data> {
    match name {
        "first" | "_jq_one" => native.with_update(|mut cv, f| {
            let selected = selected!(cv);
            let (skip, take) = (Value::from(0isize), Value::from(1isize));
            update_along(cv.1, selected, skip, take, &|value| f(value))
        }),
        "limit" | "_jaq_limit" => native.with_update(|mut cv, f| {
            let selected = selected!(cv);
            let take = cv.0.pop_var();
            update_along(cv.1, selected, Value::from(0isize), take, &|value| f(value))
        }),
        "skip" => native.with_update(|mut cv, f| {
            let selected = selected!(cv);
            let (skip, take) = (cv.0.pop_var(), Value::from(f64::INFINITY));
            update_along(cv.1, selected, skip, take, &|value| f(value))
        }),
        _ => native,
    }
}

/// Updates `value` along the selected paths of `paths`, in order. The
/// counts go down as jaq's natives count (by one per path while above
/// zero, so `limit(1.5; f)` takes two; a count that cannot go down fails
/// as theirs does), and the skipped paths are still evaluated (their
/// errors count).
fn update_along<'a>(
    value: Value,
    paths: impl Iterator<Item = Result<Vec<Value>, Exn<'a, Value>>>,
    skip: Value,
    take: Value,
    f: &dyn Fn(Value) -> ValXs<'a, Value>,
) -> ValXs<'a, Value> {
    let outcome = (|| {
        let (mut value, mut paths) = (value, paths);
        let zero = Value::from(0isize);
        let down = |count: Value| (count - Value::from(1isize)).map_err(Exn::from);
        let mut skip = skip;
        while skip > zero {
            if paths.next().transpose()?.is_none() {
                return Ok(Some(value));
            }
            skip = down(skip)?;
        }
        let mut take = take;
        while take > zero {
            let Some(path) = paths.next().transpose()? else {
                break;
            };
            // Nothing from `f` for the whole value (an empty path) is
            // nothing at all.
            let Some(updated) = update_at(value, &path, f).next().transpose()? else {
                return Ok(None);
            };
            value = updated;
            take = down(take)?;
        }
        Ok(Some(value))
    })();
    match outcome {
        Ok(value) => Box::new(value.map(Ok).into_iter()),
        Err(exn) => Box::new(std::iter::once(Err(exn))),
    }
}

/// `value` with `f` applied at `path`, as jaq's own update does a step at
/// a time (`null` grows into what the step needs, a slice step is a
/// slice, nothing from `f` deletes).
fn update_at<'a>(
    value: Value,
    path: &[Value],
    f: &dyn Fn(Value) -> ValXs<'a, Value>,
) -> ValXs<'a, Value> {
    let Some((key, rest)) = path.split_first() else {
        return f(value);
    };
    let updated: ValX<'a, Value> =
        value.map_index(key, Opt::Essential, |child| update_at(child, rest, f));
    Box::new(std::iter::once(updated))
}
