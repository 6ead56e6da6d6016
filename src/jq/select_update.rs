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

/// Which of `f`'s paths a native selects, counted as jaq's natives count
/// (`$n` goes down by one per path while above zero, so `limit(1.5; f)`
/// takes two; a count that cannot go down fails as theirs does).
enum Selection {
    First,
    Limit(Value),
    Skip(Value),
}

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
/// where they select paths.
pub(super) fn with_update(name: &str, native: Native<Data>) -> Native<Data> {
    match name {
        "first" | "_jq_one" => native.with_update(|mut cv, f| {
            let selected = selected!(cv);
            update_along(cv.1, selected, Selection::First, &|value| f(value))
        }),
        "limit" | "_jaq_limit" => native.with_update(|mut cv, f| {
            let selected = selected!(cv);
            let count = cv.0.pop_var();
            update_along(cv.1, selected, Selection::Limit(count), &|value| f(value))
        }),
        "skip" => native.with_update(|mut cv, f| {
            let selected = selected!(cv);
            let count = cv.0.pop_var();
            update_along(cv.1, selected, Selection::Skip(count), &|value| f(value))
        }),
        _ => native,
    }
}

/// Updates `value` along each selected path of `paths`, in order.
fn update_along<'a>(
    value: Value,
    paths: impl Iterator<Item = Result<Vec<Value>, Exn<'a, Value>>>,
    selection: Selection,
    f: &dyn Fn(Value) -> ValXs<'a, Value>,
) -> ValXs<'a, Value> {
    let mut value = value;
    let mut paths = paths;
    let mut count = match selection {
        Selection::First => Value::from(1isize),
        Selection::Limit(count) => count,
        Selection::Skip(count) => {
            // The skipped paths are still evaluated (their errors count).
            let mut count = count;
            while count > Value::from(0isize) {
                match paths.next() {
                    None => return Box::new(std::iter::once(Ok(value))),
                    Some(Err(exn)) => return Box::new(std::iter::once(Err(exn))),
                    Some(Ok(_)) => {}
                }
                count = match count - Value::from(1isize) {
                    Ok(count) => count,
                    Err(error) => return Box::new(std::iter::once(Err(Exn::from(error)))),
                };
            }
            // Every path after the skipped ones.
            Value::from(f64::INFINITY)
        }
    };
    while count > Value::from(0isize) {
        let path = match paths.next() {
            None => break,
            Some(Err(exn)) => return Box::new(std::iter::once(Err(exn))),
            Some(Ok(path)) => path,
        };
        value = match update_at(value, &path, f).next() {
            Some(Ok(updated)) => updated,
            Some(Err(exn)) => return Box::new(std::iter::once(Err(exn))),
            // An update that gives nothing for the whole value.
            None => return Box::new(std::iter::empty()),
        };
        count = match count - Value::from(1isize) {
            Ok(count) => count,
            Err(error) => return Box::new(std::iter::once(Err(Exn::from(error)))),
        };
    }
    Box::new(std::iter::once(Ok(value)))
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
