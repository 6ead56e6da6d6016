//! The fields of builds metadata that the native planner reads, read with
//! serde_json straight from the text, without a tree of the whole input.
//!
//! Builds metadata is megabytes of sources, parents and annotations of
//! which planning reads a few fields per build. Those fields are read into
//! borrowed strings; the manifest descriptors are kept as their raw text
//! ([`RawValue`]), to be read by the engine's own reader (so every number
//! and string is the value the jq path sees); of each `.source.arches`
//! entry the tags are read in the same pass (the build's own entry is only
//! known once `.build.arch` is, which may come later), and an entry of
//! another shape is only remembered as refused, as it matters only when it
//! is the build's own; everything else is checked to be well-formed and
//! skipped ([`IgnoredAny`]).
//!
//! A repeated key means what it means to jq: the entry keeps the position
//! of the first occurrence and the value of the last, so a value of the
//! wrong shape is only remembered as refused ([`Refused`]) until a later
//! occurrence replaces it. What is refused in the end, and input that is
//! not strict JSON (RFC 8259) or nests beyond serde_json's limit, is an
//! error; the caller then plans on the jq path, which plans it or names the
//! problem exactly as it always has.

use foldhash::HashMap;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// What planning reads of one build.
pub struct Build<'a> {
    /// `.build.arch`.
    pub arch: Cow<'a, str>,
    /// `.build.resolved.manifests` when `.build.resolved` is an index,
    /// unread (the engine's reader reads it: every descriptor planned is
    /// read whole, as the jq path reads it).
    pub manifests: Option<&'a RawValue>,
    /// `.source.arches`, each architecture with its tags as read here.
    pub arches: Vec<(Cow<'a, str>, Result<ArchTags<'a>, Refused>)>,
}

/// `.tags` and `.archTags` of one `.source.arches` entry (null or absent
/// lists are empty).
pub struct ArchTags<'a> {
    pub tags: Vec<Cow<'a, str>>,
    pub arch_tags: Vec<Cow<'a, str>>,
}

/// Why the input is not read here: a field planning reads (named) has
/// another shape than it reads, or the text is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl From<serde_json::Error> for Refused {
    fn from(error: serde_json::Error) -> Self {
        Self(error.to_string())
    }
}

/// The builds of builds metadata, in input order.
pub fn read_builds(text: &str) -> Result<Vec<Build<'_>>, Refused> {
    let builds = read_whole(text, |deserializer| {
        deserializer.deserialize_map(BuildsVisitor)
    })?;
    builds.into_iter().collect()
}

/// For builds metadata as the text holds it: per top-level value, `None`
/// when it is not an object, else which of `names` it has as keys.
/// `None` overall when the text is not one strict JSON object.
pub fn top_level_keys<const N: usize>(
    text: &str,
    names: [&'static str; N],
) -> Option<Vec<Option<[bool; N]>>> {
    read_whole(text, |deserializer| {
        deserializer.deserialize_map(TopLevelKeys { names })
    })
    .ok()
}

/// Reads `text` with `read`, refusing anything after the value.
fn read_whole<'a, T>(
    text: &'a str,
    read: impl FnOnce(
        &mut serde_json::Deserializer<serde_json::de::StrRead<'a>>,
    ) -> serde_json::Result<T>,
) -> serde_json::Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = read(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Entries in first-seen order of their keys, each with the value of its
/// last occurrence (jq's objects).
struct Entries<'a, T> {
    entries: Vec<(Cow<'a, str>, T)>,
    /// Built once there are more entries than a linear search is worth.
    positions: Option<HashMap<Cow<'a, str>, usize>>,
}

impl<'a, T> Entries<'a, T> {
    /// Up to this many entries (an arch entry's ten or so) are searched.
    const LINEAR: usize = 16;

    fn new() -> Self {
        Self {
            entries: Vec::new(),
            positions: None,
        }
    }

    fn insert(&mut self, key: Cow<'a, str>, value: T) {
        if self.positions.is_none() && self.entries.len() >= Self::LINEAR {
            let positions = self.entries.iter().enumerate();
            self.positions = Some(positions.map(|(at, (key, _))| (key.clone(), at)).collect());
        }
        let known = match &self.positions {
            Some(positions) => positions.get(&key).copied(),
            None => self.entries.iter().position(|(known, _)| *known == key),
        };
        match known {
            Some(position) => self.entries[position].1 = value,
            None => {
                if let Some(positions) = &mut self.positions {
                    positions.insert(key.clone(), self.entries.len());
                }
                self.entries.push((key, value));
            }
        }
    }

    fn into_values(self) -> impl Iterator<Item = T> + use<'a, T> {
        self.entries.into_iter().map(|(_, value)| value)
    }
}

/// With serde_json's `arbitrary_precision` (on for the crate), a number
/// that is no 64-bit integer reaches `deserialize_any` as a map with this
/// one key. No object of builds metadata has it; one that did is refused.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Calls `entry` with each key of an object, which must consume the value;
/// `Ok(false)` when the "object" is a number in disguise (see
/// [`NUMBER_TOKEN`]).
fn each_entry<'de, A: MapAccess<'de>>(
    map: &mut A,
    mut entry: impl FnMut(Cow<'de, str>, &mut A) -> Result<(), A::Error>,
) -> Result<bool, A::Error> {
    while let Some(Text(key)) = map.next_key()? {
        if key == NUMBER_TOKEN {
            map.next_value::<IgnoredAny>()?;
            while map.next_key::<IgnoredAny>()?.is_some() {
                map.next_value::<IgnoredAny>()?;
            }
            return Ok(false);
        }
        entry(key, map)?;
    }
    Ok(true)
}

/// A value of the shape `T` reads, or why it is not one. Only text that is
/// not JSON is a serde error: a value of another shape is consumed whole
/// and refused, so that a later occurrence of its key can still replace it.
struct Lenient<T>(Result<T, Refused>);

/// A shape planning reads: each `from_*` returns `None` for values that are
/// not of it (a refused map or array is consumed first).
trait Shape<'de>: Sized {
    /// What planning reads here, for the refusal.
    const NAME: &'static str;

    fn from_map<A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value::<IgnoredAny>()?;
        }
        Ok(None)
    }

    fn from_seq<A: SeqAccess<'de>>(seq: &mut A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn from_str(_: Cow<'de, str>) -> Option<Self> {
        None
    }

    fn from_null() -> Option<Self> {
        None
    }

    fn from_bool(_: bool) -> Option<Self> {
        None
    }
}

impl<'de, T: Shape<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<T> LenientVisitor<T> {
    fn shaped<'de>(read: Option<T>) -> Lenient<T>
    where
        T: Shape<'de>,
    {
        Lenient(read.ok_or_else(|| Refused(format!("{} is not as planning reads it", T::NAME))))
    }
}

impl<'de, T: Shape<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        Ok(Self::shaped(T::from_map(&mut map)?))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        Ok(Self::shaped(T::from_seq(&mut seq)?))
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Self::shaped(T::from_str(Cow::Borrowed(text))))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Self::shaped(T::from_str(Cow::Owned(text.to_owned()))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Self::shaped(T::from_null()))
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Self::shaped(T::from_bool(value)))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Self::shaped(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Self::shaped(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Self::shaped(None))
    }
}

/// A string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

impl<'de> Shape<'de> for Text<'de> {
    const NAME: &'static str = "a string";
    fn from_str(text: Cow<'de, str>) -> Option<Self> {
        Some(Text(text))
    }
}

/// The top-level object: build id -> build.
struct BuildsVisitor;

impl<'de> Visitor<'de> for BuildsVisitor {
    type Value = Vec<Result<Build<'de>, Refused>>;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object of buildId -> build")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut builds = Entries::new();
        while let Some(Text(id)) = map.next_key()? {
            builds.insert(id, map.next_value::<Lenient<Build>>()?.0);
        }
        Ok(builds.into_values().collect())
    }
}

/// The values of two keys of an object, as `X` and `Y` (a repeated key's
/// last value wins; other keys are skipped); `None` when the "object" is a
/// number in disguise (see [`NUMBER_TOKEN`]). Each shape below reads the
/// one or two fields it needs with it.
#[allow(clippy::type_complexity)]
fn two_fields<'de, A, X, Y>(
    map: &mut A,
    [x_name, y_name]: [&str; 2],
) -> Result<Option<(Option<X>, Option<Y>)>, A::Error>
where
    A: MapAccess<'de>,
    X: Deserialize<'de>,
    Y: Deserialize<'de>,
{
    let (mut x, mut y) = (None, None);
    let object = each_entry(map, |key, map| {
        if key == x_name {
            x = Some(map.next_value()?);
        } else if key == y_name {
            y = Some(map.next_value()?);
        } else {
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    })?;
    Ok(object.then_some((x, y)))
}

/// [`two_fields`] for one key.
fn one_field<'de, A, X>(map: &mut A, name: &str) -> Result<Option<Option<X>>, A::Error>
where
    A: MapAccess<'de>,
    X: Deserialize<'de>,
{
    // No key equals a second `name`: everything else is skipped.
    let fields = two_fields::<A, X, IgnoredAny>(map, [name, name])?;
    Ok(fields.map(|(x, _)| x))
}

/// A field planning needs: refused when absent or refused.
fn required<T>(field: Option<Lenient<T>>, name: &str) -> Result<T, Refused> {
    field
        .ok_or_else(|| Refused(format!("{name} is missing")))?
        .0
}

impl<'de> Shape<'de> for Build<'de> {
    const NAME: &'static str = "a build";
    fn from_map<A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
        let Some((fields, source)) = two_fields(map, ["build", "source"])? else {
            return Ok(None);
        };
        let build = || -> Result<Build<'de>, Refused> {
            let fields: BuildFields = required(fields, ".build")?;
            let arches = required::<SourceArches>(source, ".source")?.0;
            Ok(Build {
                arch: fields.arch,
                manifests: fields.manifests,
                arches,
            })
        };
        Ok(build().ok())
    }
}

/// `.build`: its `arch` and, when resolved, the manifests of `resolved`.
struct BuildFields<'a> {
    arch: Cow<'a, str>,
    manifests: Option<&'a RawValue>,
}

impl<'de> Shape<'de> for BuildFields<'de> {
    const NAME: &'static str = ".build";
    fn from_map<A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
        let Some((arch, resolved)) = two_fields(map, ["arch", "resolved"])? else {
            return Ok(None);
        };
        let fields = || -> Result<BuildFields<'de>, Refused> {
            let manifests = match resolved {
                None => None,
                Some(Lenient::<Resolved>(resolved)) => resolved?.0,
            };
            Ok(BuildFields {
                arch: required::<Text>(arch, ".build.arch")?.0,
                manifests,
            })
        };
        Ok(fields().ok())
    }
}

/// `.build.resolved`: null or false (not resolved yet), or an index with
/// its `manifests`.
struct Resolved<'a>(Option<&'a RawValue>);

impl<'de> Shape<'de> for Resolved<'de> {
    const NAME: &'static str = ".build.resolved";
    fn from_null() -> Option<Self> {
        Some(Resolved(None))
    }
    fn from_bool(resolved: bool) -> Option<Self> {
        (!resolved).then_some(Resolved(None))
    }
    fn from_map<A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
        // Present in an object: its shape is the engine's reader's to check.
        let manifests: Option<Option<&RawValue>> = one_field(map, "manifests")?;
        Ok(manifests
            .flatten()
            .map(|manifests| Resolved(Some(manifests))))
    }
}

/// `.source.arches` of `.source`, each entry's tags read.
struct SourceArches<'a>(Vec<(Cow<'a, str>, Result<ArchTags<'a>, Refused>)>);

impl<'de> Shape<'de> for SourceArches<'de> {
    const NAME: &'static str = ".source";
    fn from_map<A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
        let arches = one_field(map, "arches")?;
        Ok(arches
            .and_then(|arches| required::<ArchEntries>(arches, "arches").ok())
            .map(|arches| SourceArches(arches.0)))
    }
}

struct ArchEntries<'a>(Vec<(Cow<'a, str>, Result<ArchTags<'a>, Refused>)>);

impl<'de> Shape<'de> for ArchEntries<'de> {
    const NAME: &'static str = ".source.arches";
    fn from_map<A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
        let mut entries = Entries::new();
        let object = each_entry(map, |arch, map| {
            entries.insert(arch, map.next_value::<Lenient<ArchTags>>()?.0);
            Ok(())
        })?;
        Ok(object.then_some(ArchEntries(entries.entries)))
    }
}

impl<'de> Shape<'de> for ArchTags<'de> {
    const NAME: &'static str = ".source.arches[ARCH]";
    fn from_map<A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
        let Some((tags, arch_tags)) = two_fields(map, ["tags", "archTags"])? else {
            return Ok(None);
        };
        // Absent lists are empty; refused ones refuse the entry.
        let list = |list: Option<Lenient<TagList<'de>>>| match list {
            None => Some(Vec::new()),
            Some(Lenient(list)) => list.ok().map(|list| list.0),
        };
        Ok(list(tags)
            .zip(list(arch_tags))
            .map(|(tags, arch_tags)| ArchTags { tags, arch_tags }))
    }
}

/// A list of tags: an array of strings, or null for none.
struct TagList<'a>(Vec<Cow<'a, str>>);

impl<'de> Shape<'de> for TagList<'de> {
    const NAME: &'static str = "a list of tags";
    fn from_null() -> Option<Self> {
        Some(TagList(Vec::new()))
    }
    fn from_seq<A: SeqAccess<'de>>(seq: &mut A) -> Result<Option<Self>, A::Error> {
        let mut tags = Some(Vec::new());
        while let Some(Lenient(tag)) = seq.next_element::<Lenient<Text>>()? {
            match (&mut tags, tag) {
                (Some(tags), Ok(Text(tag))) => tags.push(tag),
                _ => tags = None,
            }
        }
        Ok(tags.map(TagList))
    }
}

/// The top-level object, keeping of each value only which of `names` it
/// has as keys.
struct TopLevelKeys<const N: usize> {
    names: [&'static str; N],
}

impl<'de, const N: usize> Visitor<'de> for TopLevelKeys<N> {
    type Value = Vec<Option<[bool; N]>>;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = Entries::new();
        while let Some(Text(key)) = map.next_key()? {
            values.insert(key, map.next_value_seed(KeysOf { names: self.names })?);
        }
        Ok(values.into_values().collect())
    }
}

/// Which of `names` a value has as keys; `None` when it is no object.
struct KeysOf<const N: usize> {
    names: [&'static str; N],
}

impl<'de, const N: usize> de::DeserializeSeed<'de> for KeysOf<N> {
    type Value = Option<[bool; N]>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for KeysOf<N> {
    type Value = Option<[bool; N]>;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = [false; N];
        let object = each_entry(&mut map, |key, map| {
            if let Some(slot) = self.names.iter().position(|name| *name == key) {
                seen[slot] = true;
            }
            map.next_value::<IgnoredAny>().map(drop)
        })?;
        Ok(object.then_some(seen))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(builds: &[Build]) -> Vec<String> {
        builds
            .iter()
            .map(|build| {
                let arches: Vec<&str> = build.arches.iter().map(|(arch, _)| &**arch).collect();
                format!(
                    "{} {} {}",
                    build.arch,
                    if build.manifests.is_some() {
                        "resolved"
                    } else {
                        "-"
                    },
                    arches.join(",")
                )
            })
            .collect()
    }

    #[test]
    fn the_fields_planning_reads_are_read_and_the_rest_skipped() {
        let text = r#"{
            "b": {"buildId": "b", "build": {"img": 1, "arch": "arm64v8", "resolved": {"manifests": [{"x": [1, {"y": null}]}, 2]}},
                  "source": {"arches": {"amd64": {"tags": ["a"]}, "arm64v8": {}}, "other": [[]]}},
            "a": {"source": {"arches": {}}, "build": {"arch": "a\u006ed64", "resolved": null}}
        }"#;
        let builds = read_builds(text).expect("reads");
        assert_eq!(
            names(&builds),
            ["arm64v8 resolved amd64,arm64v8", "and64 - "]
        );
        assert!(matches!(builds[1].arch, Cow::Owned(_)), "escaped: owned");
        assert!(
            matches!(builds[0].arch, Cow::Borrowed(_)),
            "plain: borrowed"
        );
        let manifests = builds[0].manifests.expect("resolved");
        assert_eq!(manifests.get(), r#"[{"x": [1, {"y": null}]}, 2]"#);
        let tags = builds[0].arches[0].1.as_ref().expect("tags");
        assert_eq!(tags.tags, ["a"]);
        assert!(tags.arch_tags.is_empty());
    }

    /// jq's objects: the first position, the last value (a value of the
    /// wrong shape replaced by a later one is no refusal).
    #[test]
    fn repeated_keys_keep_the_first_position_and_the_last_value() {
        let text = r#"{
            "w": 1,
            "w": {"source": 2, "build": {"arch": "w"}, "source": {"arches": {}}},
            "x": {"build": {"arch": "a"}, "source": {"arches": {}}},
            "y": {"build": {"arch": "b", "arch": "c", "resolved": {"manifests": [1]}, "resolved": null},
                  "source": {"arches": {"c": {"tags": ["1"]}, "d": {}, "c": {"tags": ["2"]}}}},
            "x": {"build": {"arch": "z"}, "source": {"arches": {}}}
        }"#;
        let builds = read_builds(text).expect("reads");
        assert_eq!(names(&builds), ["w - ", "z - ", "c - c,d"]);
        let tags = builds[2].arches[0].1.as_ref().expect("tags");
        assert_eq!(tags.tags, ["2"]);
        let keys = top_level_keys(r#"{"a": 1, "b": {"k": 1}, "a": {"k": 2}}"#, ["k"]);
        assert_eq!(keys, Some(vec![Some([true]), Some([true])]));
    }

    #[test]
    fn what_the_jq_path_must_decide_is_refused() {
        for text in [
            "[]",
            "{} {}",
            r#"{"x": 1}"#,
            r#"{"x": {"source": {"arches": {}}}}"#,
            r#"{"x": {"build": {"arch": 1}, "source": {"arches": {}}}}"#,
            r#"{"x": {"build": {"arch": "a", "resolved": true}, "source": {"arches": {}}}}"#,
            r#"{"x": {"build": {"arch": "a", "resolved": {}}, "source": {"arches": {}}}}"#,
            r#"{"x": {"build": {"arch": "a"}, "source": {"arches": []}}}"#,
            r#"{"x": {"build": {"arch": "a"}, "source": {"arches": {}}}, "x": {}}"#,
            r#"{"x": {"build": {"arch": "a"}, "source": {"arches": 1.5}}}"#,
            r#"{"x": {"build": {"arch": "a"}, "source": {"arches": {}}, "y": NaN}}"#,
            "{\"x\": {\"build\": {\"arch\": \"tab\there\"}, \"source\": {\"arches\": {}}}}",
        ] {
            assert!(read_builds(text).is_err(), "{text}");
        }
        // A refused arch entry refuses only the build it belongs to.
        let text = r#"{"x": {"build": {"arch": "a"}, "source": {"arches": {"a": {"tags": [1]}, "b": 2}}}}"#;
        let builds = read_builds(text).expect("reads");
        assert!(builds[0].arches.iter().all(|(_, tags)| tags.is_err()));
    }

    #[test]
    fn top_level_keys_say_which_names_each_value_has() {
        let keys = |text| top_level_keys(text, ["build", "source"]);
        assert_eq!(
            keys(
                r#"{"a": {"build": {}, "x": 1}, "b": [1], "c": "s", "d": {"source": 1, "build": 2}}"#
            ),
            Some(vec![Some([true, false]), None, None, Some([true, true])])
        );
        assert_eq!(keys("{} {}"), None);
        assert_eq!(keys("[1]"), None);
        assert_eq!(keys("{\"a\": NaN}"), None);
    }
}
