//! The JSON value the engine, the reader and the printer share.
//!
//! It has jaq-json's shape (the same variants, numbers as jaq-json's
//! [`Num`]), with one difference that matters at scale: a string is held
//! by a counted reference, so copying a value never allocates. jaq-json
//! boxes each string's `Bytes` handle, and every copy of a string (each
//! element of `[limit(n; repeat("a"))]`, each key an update rebuilds)
//! was a 32-byte allocation of its own: 1M copies of `"a"` took 62 MiB
//! where jq 1.7.1, which shares them, takes 25.
//!
//! Ordering and equality are jq's: null < false < true < numbers <
//! strings < arrays < objects; objects compare by their sorted keys, then
//! by their values in key order.

use bytes::Bytes;
use jaq_json::Num;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

pub use std::rc::Rc;

/// An object: insertion-ordered, as jq prints objects it builds.
pub type Map<K = Val, V = K> = indexmap::IndexMap<K, V, foldhash::fast::RandomState>;

/// A JSON value, with strings that may hold bytes that are not UTF-8.
#[derive(Clone, Debug, Default)]
pub enum Val {
    #[default]
    Null,
    Bool(bool),
    Num(Num),
    /// A string whose bytes are taken as they are (`@base64d` of
    /// non-text); printed and compared as a string.
    BStr(Rc<Bytes>),
    /// A string of UTF-8 text (invalid sequences print as U+FFFD).
    TStr(Rc<Bytes>),
    Arr(Rc<Vec<Val>>),
    Obj(Rc<Map>),
}

impl Val {
    pub fn obj(map: Map) -> Self {
        Self::Obj(Rc::new(map))
    }

    pub fn utf8_str(text: impl Into<Bytes>) -> Self {
        Self::TStr(Rc::new(text.into()))
    }

    pub fn byte_str(bytes: impl Into<Bytes>) -> Self {
        Self::BStr(Rc::new(bytes.into()))
    }

    /// Which of jq's seven kinds the value is, in jq's order (null,
    /// false, true, numbers, strings, arrays, objects), which sorting and
    /// `JQ_COLORS` both follow.
    pub fn kind_rank(&self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Bool(false) => 1,
            Self::Bool(true) => 2,
            Self::Num(_) => 3,
            Self::TStr(_) | Self::BStr(_) => 4,
            Self::Arr(_) => 5,
            Self::Obj(_) => 6,
        }
    }

    /// The truth of a condition: all but null and false are true.
    pub fn as_bool(&self) -> bool {
        !matches!(self, Self::Null | Self::Bool(false))
    }

    /// A string's bytes, whichever way they are taken.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::TStr(bytes) | Self::BStr(bytes) => Some(bytes),
            _ => None,
        }
    }

    pub fn as_isize(&self) -> Option<isize> {
        match self {
            Self::Num(number) => number.as_isize(),
            _ => None,
        }
    }

    /// A number as the double jq computes with; `None` for non-numbers.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Num(number) => Some(number_f64(number)),
            _ => None,
        }
    }

    /// The elements of an array or the values of an object, moved out of
    /// it when nothing else holds it.
    pub fn into_members(self) -> Result<Box<dyn Iterator<Item = Val>>, Val> {
        match self {
            Self::Arr(items) => Ok(Box::new(unshare(items).into_iter())),
            Self::Obj(map) => Ok(Box::new(unshare(map).into_values())),
            other => Err(other),
        }
    }
}

/// The value behind a reference: moved when it is the only one, else
/// copied.
pub fn unshare<T: Clone>(shared: Rc<T>) -> T {
    Rc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone())
}

/// How many recently made short strings [`shared_text`] remembers, and
/// how long they may be.
const RECENT_SLOTS: usize = 64;
const RECENT_LENGTH: usize = 32;

thread_local! {
    static RECENT: std::cell::RefCell<[Option<Rc<Bytes>>; RECENT_SLOTS]> =
        const { std::cell::RefCell::new([const { None }; RECENT_SLOTS]) };
}

/// A string value, sharing the bytes of an equal short string made
/// recently on this thread (a slot per hash of the text, the newest
/// wins). What the slots hold stays alive until replaced: at most
/// `RECENT_SLOTS` strings of `RECENT_LENGTH` bytes.
pub fn shared_text(text: String) -> Val {
    if text.len() > RECENT_LENGTH {
        return Val::from(text);
    }
    // FNV-1a: the text is short, and any spread will do.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let slot = (hash ^ (hash >> 32)) as usize % RECENT_SLOTS;
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        match &recent[slot] {
            Some(bytes) if bytes[..] == *text.as_bytes() => Val::TStr(bytes.clone()),
            _ => {
                let bytes = Rc::new(Bytes::from(text.into_bytes()));
                recent[slot] = Some(bytes.clone());
                Val::TStr(bytes)
            }
        }
    })
}

/// A number as a double: integers beyond a double round, a decimal
/// literal is read (one that does not read is NaN).
pub fn number_f64(number: &Num) -> f64 {
    match number {
        Num::Int(integer) => *integer as f64,
        Num::Float(float) => *float,
        Num::Dec(text) => text.parse().unwrap_or(f64::NAN),
        Num::BigInt(big) => big.to_string().parse().unwrap_or(f64::NAN),
    }
}

/// A number literal of a program or document: an integer exactly (of any
/// size), anything else kept as written until it is computed with.
pub fn number_literal(text: &str) -> Num {
    Num::from_str_radix(text, 10).unwrap_or_else(|| Num::Dec(Rc::new(text.to_owned())))
}

/// `a * b` of two objects: `b`'s entries over `a`'s, objects under the
/// same key merged the same way. `a` is changed in place when unshared.
pub fn merge_deep(left: &mut Rc<Map>, right: Rc<Map>) {
    let entries = Rc::make_mut(left);
    for (key, value) in unshare(right) {
        match (entries.get_mut(&key), value) {
            (Some(Val::Obj(inner)), Val::Obj(other)) => merge_deep(inner, other),
            (Some(slot), value) => *slot = value,
            (None, value) => {
                entries.insert(key, value);
            }
        }
    }
}

impl From<bool> for Val {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<isize> for Val {
    fn from(value: isize) -> Self {
        Self::Num(Num::Int(value))
    }
}

impl From<usize> for Val {
    fn from(value: usize) -> Self {
        Self::Num(Num::from_integral(value))
    }
}

impl From<f64> for Val {
    fn from(value: f64) -> Self {
        Self::Num(Num::Float(value))
    }
}

impl From<String> for Val {
    /// A string's buffer becomes the value's without a copy.
    fn from(text: String) -> Self {
        Self::utf8_str(text.into_bytes())
    }
}

impl FromIterator<Val> for Val {
    fn from_iter<T: IntoIterator<Item = Val>>(items: T) -> Self {
        Self::Arr(Rc::new(items.into_iter().collect()))
    }
}

/// An object's entries in the order of their keys.
fn sorted_entries(map: &Map) -> Vec<(&Val, &Val)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

impl Ord for Val {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Num(a), Self::Num(b)) => a.cmp(b),
            (Self::TStr(a) | Self::BStr(a), Self::TStr(b) | Self::BStr(b)) => a[..].cmp(&b[..]),
            (Self::Arr(a), Self::Arr(b)) => a[..].cmp(&b[..]),
            (Self::Obj(a), Self::Obj(b)) => {
                if Rc::ptr_eq(a, b) {
                    return Ordering::Equal;
                }
                let (a, b) = (sorted_entries(a), sorted_entries(b));
                let keys = a
                    .iter()
                    .map(|entry| entry.0)
                    .cmp(b.iter().map(|entry| entry.0));
                keys.then_with(|| {
                    a.iter()
                        .map(|entry| entry.1)
                        .cmp(b.iter().map(|entry| entry.1))
                })
            }
            _ => self.kind_rank().cmp(&other.kind_rank()),
        }
    }
}

impl PartialOrd for Val {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Val {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Null, Self::Null) => true,
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Num(a), Self::Num(b)) => a == b,
            (Self::TStr(a) | Self::BStr(a), Self::TStr(b) | Self::BStr(b)) => a[..] == b[..],
            (Self::Arr(a), Self::Arr(b)) => Rc::ptr_eq(a, b) || a == b,
            // IndexMap's equality ignores the order of the entries.
            (Self::Obj(a), Self::Obj(b)) => Rc::ptr_eq(a, b) || a == b,
            _ => false,
        }
    }
}

impl Eq for Val {}

impl Hash for Val {
    /// Equal values hash alike: numbers as `Num` hashes them (integers
    /// as their doubles), both kinds of string by their bytes, an object
    /// by its entries in key order.
    fn hash<H: Hasher>(&self, state: &mut H) {
        // `Num`'s hash starts with a byte below 2; the other kinds start
        // with bytes above it.
        match self {
            Self::Num(number) => number.hash(state),
            Self::Null => state.write_u8(2),
            Self::Bool(truth) => state.write_u8(3 + u8::from(*truth)),
            Self::TStr(bytes) | Self::BStr(bytes) => {
                state.write_u8(5);
                bytes[..].hash(state);
            }
            Self::Arr(items) => {
                state.write_u8(6);
                items[..].hash(state);
            }
            Self::Obj(map) => {
                state.write_u8(7);
                state.write_usize(map.len());
                sorted_entries(map).hash(state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Val {
        Val::from(s.to_owned())
    }

    #[test]
    fn a_value_is_two_words_and_a_string_copy_shares_its_bytes() {
        assert_eq!(std::mem::size_of::<Val>(), 16);
        let a = text("a");
        let b = a.clone();
        match (&a, &b) {
            (Val::TStr(x), Val::TStr(y)) => assert!(Rc::ptr_eq(x, y)),
            _ => unreachable!(),
        }
    }

    #[test]
    fn equal_short_strings_made_one_after_another_share_their_bytes() {
        let bytes = |value: Val| match value {
            Val::TStr(bytes) => bytes,
            _ => unreachable!(),
        };
        let (a, b) = (shared_text("key".into()), shared_text("key".into()));
        assert!(Rc::ptr_eq(&bytes(a), &bytes(b)));
        let long = "x".repeat(RECENT_LENGTH + 1);
        let (a, b) = (shared_text(long.clone()), shared_text(long));
        assert!(!Rc::ptr_eq(&bytes(a), &bytes(b)));
    }

    #[test]
    fn kinds_order_as_jq_orders_them() {
        let ordered = [
            Val::Null,
            Val::Bool(false),
            Val::Bool(true),
            Val::from(-1.5),
            Val::from(2isize),
            text(""),
            text("a"),
            Val::from_iter([]),
            Val::from_iter([Val::Null]),
            Val::obj(Map::default()),
        ];
        for pair in ordered.windows(2) {
            assert_eq!(pair[0].cmp(&pair[1]), Ordering::Less, "{pair:?}");
        }
    }

    #[test]
    fn objects_compare_keys_first_then_values_in_key_order() {
        let object = |entries: &[(&str, isize)]| {
            Val::obj(
                entries
                    .iter()
                    .map(|(k, v)| (text(k), Val::from(*v)))
                    .collect(),
            )
        };
        // {"b":0} > {"a":9,"b":0}: ["a","b"] < ["b"].
        assert!(object(&[("b", 0)]) > object(&[("a", 9), ("b", 0)]));
        assert!(object(&[("a", 1), ("b", 0)]) > object(&[("b", 9), ("a", 0)]));
        assert_eq!(object(&[("a", 1), ("b", 2)]), object(&[("b", 2), ("a", 1)]));
        let hash = |value: &Val| {
            let mut hasher = std::hash::DefaultHasher::new();
            value.hash(&mut hasher);
            hasher.finish()
        };
        assert_eq!(
            hash(&object(&[("a", 1), ("b", 2)])),
            hash(&object(&[("b", 2), ("a", 1)]))
        );
        assert_eq!(hash(&Val::from(1isize)), hash(&Val::from(1.0)));
        assert_eq!(Val::from(1isize), Val::from(1.0));
        assert_eq!(text("x"), Val::byte_str(&b"x"[..]));
    }
}
