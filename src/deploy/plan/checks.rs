//! What builds metadata must look like: the one rule that tells it from
//! deploy objects, and the shape checks that name the build and field at
//! fault before the jq modules would fail somewhere inside.

use super::fields;
use super::PlanError;
use crate::jq::print::{self, PrintOptions};
use crate::jq::{type_name as kind, Val};

/// The keys every build has (`builds` writes them; a deploy object, with
/// `type` and `refs`, never does).
const BUILD_KEYS: [&str; 3] = ["buildId", "build", "source"];

/// The rule: stdin is builds metadata when it is one non-empty object whose
/// every value is a build, an object with all of [`BUILD_KEYS`]. `values`
/// says, per value of that object, which of them it has (`None`: it is no
/// object).
fn builds_rule(values: impl IntoIterator<Item = Option<[bool; 3]>>) -> bool {
    let mut any = false;
    for value in values {
        if value != Some([true; 3]) {
            return false;
        }
        any = true;
    }
    any
}

/// Whether stdin, read as its JSON values, is builds metadata (else it is
/// deploy objects).
pub fn is_builds(values: &[Val]) -> bool {
    let [Val::Obj(builds)] = values else {
        return false;
    };
    builds_rule(builds.values().map(|build| match build {
        Val::Obj(fields) => Some(BUILD_KEYS.map(|name| fields.contains_key(&key(name)))),
        _ => None,
    }))
}

/// [`is_builds`] decided from the text without building any value (builds
/// metadata is megabytes); `None` when the text is not one strict JSON
/// object, and then only the parsed values can tell.
pub fn is_builds_text(input: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(input).ok()?;
    fields::top_level_keys(text, BUILD_KEYS).map(builds_rule)
}

/// Exactly one JSON value: builds metadata is one object.
pub fn parse_builds(text: &[u8]) -> Result<Val, PlanError> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(PlanError::Shape(
            "the input is empty; expected one object of buildId -> build".to_string(),
        ));
    }
    let mut values = crate::jq::read::parse_many(text);
    let first = match values.next() {
        Some(Ok(value)) => value,
        Some(Err(error)) => return Err(PlanError::Syntax(error)),
        None => return Err(PlanError::Shape("the input is empty".to_string())),
    };
    match values.next() {
        None => Ok(first),
        Some(Err(error)) => Err(PlanError::Syntax(error)),
        Some(Ok(_)) => Err(PlanError::Shape(
            "more than one JSON value; expected one object of buildId -> build".to_string(),
        )),
    }
}

fn key(name: &str) -> Val {
    Val::from(name.to_string())
}

fn field<'v>(object: &'v Val, name: &str) -> Option<&'v Val> {
    match object {
        Val::Obj(fields) => fields.get(&key(name)),
        _ => None,
    }
}

fn text(value: &Val) -> String {
    match value {
        Val::TStr(bytes) | Val::BStr(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => {
            String::from_utf8_lossy(&print::to_vec(other, &PrintOptions::compact())).into_owned()
        }
    }
}

/// Checks the fields the planner reads, naming the build and the field of
/// the first problem: `build "ID": .build.arch must be a string, not number`.
pub fn check_builds(builds: &Val) -> Result<(), PlanError> {
    let Val::Obj(entries) = builds else {
        return Err(PlanError::Shape(format!(
            "expected an object of buildId -> build, not {}",
            kind(builds)
        )));
    };
    for (id, build) in entries.iter() {
        let name = text(id);
        let fail = |path: &str, expected: &str, found: Option<&Val>| {
            let found = found.map_or("nothing", kind);
            PlanError::Shape(format!(
                "build {name:?}: {path} must be {expected}, not {found}"
            ))
        };
        if !matches!(build, Val::Obj(_)) {
            return Err(fail(".", "an object", Some(build)));
        }
        let inner = field(build, "build");
        if !matches!(inner, Some(Val::Obj(_))) {
            return Err(fail(".build", "an object", inner));
        }
        let inner = inner.unwrap_or(&Val::Null);
        let arch = field(inner, "arch");
        let Some(Val::TStr(arch)) = arch else {
            return Err(fail(".build.arch", "a string", arch));
        };
        let arch = String::from_utf8_lossy(arch).into_owned();
        let source = field(build, "source");
        if !matches!(source, Some(Val::Obj(_))) {
            return Err(fail(".source", "an object", source));
        }
        let arches = source.and_then(|source| field(source, "arches"));
        if !matches!(arches, Some(Val::Obj(_))) {
            return Err(fail(".source.arches", "an object", arches));
        }
        let resolved = field(inner, "resolved");
        match resolved {
            None | Some(Val::Null) | Some(Val::Bool(false)) => continue,
            Some(Val::Obj(_)) => {}
            other => return Err(fail(".build.resolved", "an image index or null", other)),
        }
        let this_arch = arches.and_then(|arches| field(arches, &arch));
        if !matches!(this_arch, Some(Val::Obj(_))) {
            return Err(fail(
                &format!(".source.arches[{arch:?}]"),
                "an object",
                this_arch,
            ));
        }
        for list in ["tags", "archTags"] {
            match this_arch.and_then(|entry| field(entry, list)) {
                None | Some(Val::Null) => {}
                Some(Val::Arr(items)) => {
                    if let Some(item) = items.iter().find(|item| !matches!(item, Val::TStr(_))) {
                        return Err(fail(
                            &format!(".source.arches[{arch:?}].{list}[]"),
                            "a string",
                            Some(item),
                        ));
                    }
                }
                other => {
                    return Err(fail(
                        &format!(".source.arches[{arch:?}].{list}"),
                        "an array",
                        other,
                    ))
                }
            }
        }
        let manifests = resolved.and_then(|index| field(index, "manifests"));
        let Some(Val::Arr(manifests)) = manifests else {
            return Err(fail(".build.resolved.manifests", "an array", manifests));
        };
        for (position, descriptor) in manifests.iter().enumerate() {
            let at = |name: &str| format!(".build.resolved.manifests[{position}].{name}");
            if !matches!(descriptor, Val::Obj(_)) {
                return Err(fail(
                    &format!(".build.resolved.manifests[{position}]"),
                    "an object",
                    Some(descriptor),
                ));
            }
            for name in ["mediaType", "digest"] {
                let value = field(descriptor, name);
                if !matches!(value, Some(Val::TStr(_))) {
                    return Err(fail(&at(name), "a string", value));
                }
            }
            let size = field(descriptor, "size");
            if !matches!(size, Some(Val::Num(_))) {
                return Err(fail(&at("size"), "a number", size));
            }
            let annotations = field(descriptor, "annotations");
            if !matches!(annotations, Some(Val::Obj(_))) {
                return Err(fail(&at("annotations"), "an object", annotations));
            }
            let platform = field(descriptor, "platform");
            if !matches!(platform, None | Some(Val::Obj(_))) {
                return Err(fail(&at("platform"), "an object", platform));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<Val> {
        crate::jq::read::parse_many(text.as_bytes())
            .collect::<Result<_, _>>()
            .expect("json")
    }

    #[test]
    fn builds_are_told_from_deploy_objects_alike_from_text_and_values() {
        for (text, builds) in [
            (
                r#"{"x": {"buildId": "x", "build": {}, "source": {}}}"#,
                true,
            ),
            (
                r#"{"x": {"buildId": "x", "build": {}, "source": {}}, "y": 1}"#,
                false,
            ),
            (r#"{"x": {"build": {}, "source": {}}}"#, false),
            (r#"{"type": "manifest", "refs": ["a"]}"#, false),
            ("{}", false),
        ] {
            assert_eq!(is_builds(&values(text)), builds, "{text}");
            assert_eq!(is_builds_text(text.as_bytes()), Some(builds), "{text}");
        }
        // A stream, or text beyond strict JSON: only the values tell.
        assert_eq!(is_builds_text(b"{} {}"), None);
        assert!(!is_builds(&values("{} {}")));
        assert_eq!(is_builds_text(b"[1, 2"), None);
    }
}
