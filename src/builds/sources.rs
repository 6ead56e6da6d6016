//! Reading and checking sources metadata (bashbrew's `sources.json`).
//!
//! Everything is checked before the first lookup, so bad input fails at
//! once with the item and field named, not halfway through a run.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use super::reference;
use super::BuildsError;
use crate::registry::Reference;

/// The `FROM` that has no image behind it; it is never looked up and never
/// pinned (the reference leaves it out of `parents`).
pub const SCRATCH: &str = "scratch";

/// All sources, in file order.
#[derive(Debug)]
pub(crate) struct Sources<'input> {
    pub(crate) sources: Vec<Source<'input>>,
}

/// One source object.
#[derive(Debug)]
pub(crate) struct Source<'input> {
    pub(crate) id: &'input str,
    pub(crate) object: &'input Map<String, Value>,
    pub(crate) arches: Vec<Arch<'input>>,
}

/// One arch of a source: one candidate build.
#[derive(Debug)]
pub(crate) struct Arch<'input> {
    pub(crate) name: &'input str,
    pub(crate) value: &'input Value,
    /// In file order, `scratch` left out.
    pub(crate) parents: Vec<Parent<'input>>,
}

/// One parent (`FROM`) of an arch.
#[derive(Debug)]
pub(crate) struct Parent<'input> {
    pub(crate) from: &'input str,
    pub(crate) kind: ParentKind,
}

/// How a parent is resolved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParentKind {
    /// Built from another source of this file (its index in `sources`).
    Source { index: usize, id: String },
    /// An image looked up in the registry (`name@pin` when pinned).
    Image { reference: Reference },
}

impl<'input> Sources<'input> {
    /// Checks the whole document. `origin` names the file in errors.
    pub(crate) fn parse(document: &'input Value, origin: &str) -> Result<Self, BuildsError> {
        let Some(object) = document.as_object() else {
            return Err(BuildsError::new(format!(
                "{origin}: expected an object of sources by sourceId, found {}",
                kind_of(document)
            )));
        };
        let mut positions: HashMap<&str, usize> = HashMap::new();
        let mut sources = Vec::with_capacity(object.len());
        for (key, value) in object {
            let item = Item::source(origin, key);
            let Some(source) = value.as_object() else {
                return Err(BuildsError::new(format!(
                    "{item}: expected an object, found {}",
                    kind_of(value)
                )));
            };
            match source.get("sourceId") {
                Some(Value::String(id)) if id == key => {}
                Some(Value::String(id)) => {
                    return Err(BuildsError::new(format!(
                        "{item}: field \"sourceId\" is {id:?}, not its key"
                    )));
                }
                other => {
                    return Err(BuildsError::new(format!(
                        "{item}: field \"sourceId\": expected a string, found {}",
                        kind_of_field(other)
                    )));
                }
            }
            positions.insert(key.as_str(), sources.len());
            sources.push(Source {
                id: key.as_str(),
                object: source,
                arches: Vec::new(),
            });
        }
        for source in &mut sources {
            source.arches = parse_arches(source, &positions, origin)?;
        }
        Ok(Self { sources })
    }
}

fn parse_arches<'input>(
    source: &Source<'input>,
    positions: &HashMap<&str, usize>,
    origin: &str,
) -> Result<Vec<Arch<'input>>, BuildsError> {
    let item = Item::source(origin, source.id);
    let arches = match source.object.get("arches") {
        Some(Value::Object(arches)) => arches,
        other => {
            return Err(BuildsError::new(format!(
                "{item}: field \"arches\": expected an object, found {}",
                kind_of_field(other)
            )));
        }
    };
    let mut parsed = Vec::with_capacity(arches.len());
    for (name, value) in arches {
        let item = Item {
            arch: Some(name),
            ..item
        };
        if name.is_empty() {
            return Err(BuildsError::new(format!("{item}: arch name is empty")));
        }
        let parents = match value.get("parents") {
            Some(Value::Object(parents)) if value.is_object() => parents,
            other => {
                let found = if value.is_object() {
                    kind_of_field(other)
                } else {
                    kind_of(value)
                };
                let field = if value.is_object() {
                    "field \"parents\": "
                } else {
                    ""
                };
                return Err(BuildsError::new(format!(
                    "{item}: {field}expected an object, found {found}"
                )));
            }
        };
        let mut parsed_parents = Vec::with_capacity(parents.len());
        for (from, parent) in parents {
            if from == SCRATCH {
                continue;
            }
            let item = Item {
                parent: Some(from),
                ..item
            };
            parsed_parents.push(Parent {
                from: from.as_str(),
                kind: parse_parent(from, parent, positions, item)?,
            });
        }
        parsed.push(Arch {
            name: name.as_str(),
            value,
            parents: parsed_parents,
        });
    }
    Ok(parsed)
}

fn parse_parent(
    from: &str,
    parent: &Value,
    positions: &HashMap<&str, usize>,
    item: Item<'_>,
) -> Result<ParentKind, BuildsError> {
    let Some(parent) = parent.as_object() else {
        return Err(BuildsError::new(format!(
            "{item}: expected an object with \"sourceId\" and \"pin\", found {}",
            kind_of(parent)
        )));
    };
    let optional_string = |field: &str| match parent.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.as_str())),
        Some(other) => Err(BuildsError::new(format!(
            "{item}: field {field:?}: expected a string or null, found {}",
            kind_of(other)
        ))),
    };
    let source_id = optional_string("sourceId")?;
    let pin = optional_string("pin")?;
    if let Some(id) = source_id {
        return match positions.get(id) {
            Some(index) => Ok(ParentKind::Source {
                index: *index,
                id: id.to_string(),
            }),
            None => Err(BuildsError::new(format!(
                "{item}: field \"sourceId\": unknown parent sourceId {id:?} (no such source in this file)"
            ))),
        };
    }
    let parsed =
        reference::parse(from).map_err(|error| BuildsError::caused_by(item.to_string(), error))?;
    let reference = match pin {
        Some(pin) => reference::pinned(&parsed, pin)
            .map_err(|error| BuildsError::caused_by(format!("{item}: field \"pin\""), error))?,
        None => parsed,
    };
    Ok(ParentKind::Image { reference })
}

/// The item an error names (`ORIGIN: source "ID" arch "ARCH" parent
/// "FROM"`), written only when there is an error: a run checks thousands.
#[derive(Clone, Copy)]
struct Item<'a> {
    origin: &'a str,
    source: &'a str,
    arch: Option<&'a str>,
    parent: Option<&'a str>,
}

impl<'a> Item<'a> {
    fn source(origin: &'a str, source: &'a str) -> Self {
        Self {
            origin,
            source,
            arch: None,
            parent: None,
        }
    }
}

impl fmt::Display for Item<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: source {:?}", self.origin, self.source)?;
        if let Some(arch) = self.arch {
            write!(formatter, " arch {arch:?}")?;
        }
        if let Some(parent) = self.parent {
            write!(formatter, " parent {parent:?}")?;
        }
        Ok(())
    }
}

/// A JSON type name for error messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn kind_of_field(value: Option<&Value>) -> &'static str {
    value.map_or("nothing (the field is missing)", kind_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PIN: &str = "sha256:34871e7290500828b39e22294660bee86d966bc0017544e848dd9a255cdf59e0";

    fn error_of(document: Value) -> String {
        crate::cli::chain(&Sources::parse(&document, "sources.json").unwrap_err())
    }

    #[test]
    fn parents_are_classified_in_order_without_scratch() {
        let document = json!({
            "s1": {"sourceId": "s1", "arches": {"amd64": {"parents": {"scratch": {"sourceId": null, "pin": null}}}}},
            "s2": {"sourceId": "s2", "arches": {"amd64": {"parents": {
                "docker.io/library/golang:1.19": {"sourceId": null, "pin": null},
                "alpine:3.18": {"sourceId": null, "pin": PIN},
                "example:s1": {"sourceId": "s1", "pin": null}
            }}}}
        });
        let sources = Sources::parse(&document, "sources.json").unwrap();
        assert!(sources.sources[0].arches[0].parents.is_empty());
        let kinds: Vec<&ParentKind> = sources.sources[1].arches[0]
            .parents
            .iter()
            .map(|parent| &parent.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                &ParentKind::Image {
                    reference: "golang:1.19".parse().unwrap(),
                },
                &ParentKind::Image {
                    reference: format!("alpine@{PIN}").parse().unwrap(),
                },
                &ParentKind::Source {
                    index: 0,
                    id: "s1".to_string()
                },
            ]
        );
    }

    #[test]
    fn a_parent_may_be_a_later_source() {
        let document = json!({
            "s2": {"sourceId": "s2", "arches": {"amd64": {"parents": {"x:1": {"sourceId": "s1", "pin": null}}}}},
            "s1": {"sourceId": "s1", "arches": {}}
        });
        let sources = Sources::parse(&document, "sources.json").unwrap();
        assert_eq!(
            sources.sources[0].arches[0].parents[0].kind,
            ParentKind::Source {
                index: 1,
                id: "s1".to_string()
            }
        );
    }

    #[test]
    fn unknown_parent_source_id_is_an_error() {
        let error = error_of(json!({
            "s2": {"sourceId": "s2", "arches": {"amd64": {"parents": {"x:1": {"sourceId": "nope", "pin": null}}}}}
        }));
        assert_eq!(
            error,
            "sources.json: source \"s2\" arch \"amd64\" parent \"x:1\": field \"sourceId\": unknown parent sourceId \"nope\" (no such source in this file)"
        );
    }

    #[test]
    fn malformed_sources_name_the_item_and_field() {
        let cases = [
            (
                json!([]),
                "sources.json: expected an object of sources by sourceId, found an array",
            ),
            (
                json!({"a": 1}),
                "source \"a\": expected an object, found a number",
            ),
            (
                json!({"a": {}}),
                "source \"a\": field \"sourceId\": expected a string, found nothing",
            ),
            (
                json!({"a": {"sourceId": "b"}}),
                "source \"a\": field \"sourceId\" is \"b\", not its key",
            ),
            (
                json!({"a": {"sourceId": "a"}}),
                "source \"a\": field \"arches\": expected an object, found nothing",
            ),
            (
                json!({"a": {"sourceId": "a", "arches": {"amd64": []}}}),
                "arch \"amd64\": expected an object, found an array",
            ),
            (
                json!({"a": {"sourceId": "a", "arches": {"amd64": {}}}}),
                "arch \"amd64\": field \"parents\": expected an object, found nothing",
            ),
            (
                json!({"a": {"sourceId": "a", "arches": {"amd64": {"parents": {"x:1": "y"}}}}}),
                "parent \"x:1\": expected an object with \"sourceId\" and \"pin\", found a string",
            ),
            (
                json!({"a": {"sourceId": "a", "arches": {"amd64": {"parents": {"x:1": {"pin": 5}}}}}}),
                "parent \"x:1\": field \"pin\": expected a string or null, found a number",
            ),
            (
                json!({"a": {"sourceId": "a", "arches": {"amd64": {"parents": {"x:1": {"pin": "sha256:12"}}}}}}),
                "parent \"x:1\": field \"pin\": invalid digest \"sha256:12\"",
            ),
            (
                json!({"a": {"sourceId": "a", "arches": {"amd64": {"parents": {"Not A Ref": {}}}}}}),
                "parent \"Not A Ref\": invalid reference \"Not A Ref\"",
            ),
        ];
        for (document, expected) in cases {
            let error = error_of(document);
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
            assert!(!error.contains('\n'), "one line: {error:?}");
        }
    }
}
