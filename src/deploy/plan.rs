//! The plan: builds metadata in, deploy objects out, byte-exact with jq.
//!
//! Every tag we publish gets the digest of the exact bytes planned here, so
//! the plan is produced by our jq modules (`deploy.jq`, run by the engine in
//! [`crate::jq`]) and printed as `jq --tab` prints each object. The input is
//! checked first, in Rust, so that a malformed build is named with its field
//! instead of surfacing as a jq error deep inside the modules.
//!
//! For speed, [`plan`] computes the same bytes in Rust ([`plan_native`])
//! when the modules are the embedded ones; the jq modules stay the
//! specification, and `tests/plan_equivalence.rs` proves the two agree.

// Declared here, not in `deploy/mod.rs`, because it is part of the plan
// (it reproduces this module's output); the file sits beside this one.
#[path = "plan_native.rs"]
pub mod plan_native;

use crate::jq::print::{self, PrintOptions};
use crate::jq::{type_name as kind, CompileOptions, ModuleSearch, Program, Val};
use std::fmt;

/// The filter behind `deploy --plan` without `--arch`: every tag and
/// archTag of every resolved build (what `deploy-all.out.json` holds).
const ALL_TAGS: &str = r#"include "deploy"; tagged_manifests(true; .source.arches[.build.arch].tags, .source.arches[.build.arch].archTags) | deploy_objects[]"#;

/// The filter behind `deploy --plan --arch ARCH` (`deploy-ARCH.out.json`).
const ONE_ARCH: &str = r#"include "deploy"; arch_tagged_manifests($arch) | deploy_objects[]"#;

/// Why builds metadata could not be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The input is not JSON.
    Syntax(String),
    /// The input is JSON but not builds metadata; names the build and field.
    Shape(String),
    /// Our modules failed to load (only with a broken `BASHBREW_META_SCRIPTS`).
    Modules(String),
    /// The modules raised an error while planning.
    Filter(String),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(message) => write!(f, "builds metadata is not valid JSON: {message}"),
            Self::Shape(message) => write!(f, "not builds metadata: {message}"),
            Self::Modules(message) => write!(f, "cannot load the planning modules: {message}"),
            Self::Filter(message) => write!(f, "planning failed: {message}"),
        }
    }
}

impl std::error::Error for PlanError {}

/// A compiled planner, reusable across inputs.
pub struct Planner {
    program: Program,
}

impl Planner {
    /// Compiles the planning filter; `arch` selects the arch-specific plan.
    /// Modules come from `BASHBREW_META_SCRIPTS` when set, else embedded.
    pub fn new(arch: Option<&str>) -> Result<Self, PlanError> {
        Self::with_search(arch, ModuleSearch::from_env(Vec::new()))
    }

    /// As [`Planner::new`] with an explicit module search (tests use the
    /// embedded modules whatever the environment says).
    pub fn with_search(arch: Option<&str>, search: ModuleSearch) -> Result<Self, PlanError> {
        let (code, named) = match arch {
            Some(arch) => (
                ONE_ARCH,
                vec![("arch".to_string(), Val::from(arch.to_string()))],
            ),
            None => (ALL_TAGS, Vec::new()),
        };
        let options = CompileOptions {
            search,
            named,
            ..CompileOptions::default()
        };
        let program =
            Program::compile(code, &options).map_err(|error| PlanError::Modules(error.message))?;
        Ok(Self { program })
    }

    /// Plans parsed builds metadata into `out`: each deploy object as
    /// `jq --tab` prints it, with its newline.
    pub fn plan_value(&self, builds: Val, out: &mut Vec<u8>) -> Result<(), PlanError> {
        check_builds(&builds)?;
        let objects = self
            .program
            .run_collect(builds)
            .map_err(|error| PlanError::Filter(error.message()))?;
        let options = PrintOptions::tab();
        for object in &objects {
            print::write(out, object, &options);
            out.push(b'\n');
        }
        Ok(())
    }

    /// Plans builds metadata given as JSON text.
    pub fn plan(&self, builds: &[u8]) -> Result<Vec<u8>, PlanError> {
        let value = parse_builds(builds)?;
        let mut out = Vec::with_capacity(builds.len() / 2);
        self.plan_value(value, &mut out)?;
        Ok(out)
    }
}

/// Plans builds metadata (JSON text) with the embedded or overriding
/// modules: what `deploy --plan [--arch ARCH]` prints.
///
/// With the embedded modules this is computed natively ([`plan_native`],
/// the same bytes, many times faster). The jq modules run instead when
/// `BASHBREW_META_SCRIPTS` is set (the user's own modules must win), when
/// `DOI_PLAN_ENGINE=jq` asks for them, and for any input the native planner
/// declines (malformed builds, whose error the jq path names as always, and
/// JSON beyond RFC 8259).
pub fn plan(builds: &[u8], arch: Option<&str>) -> Result<Vec<u8>, PlanError> {
    if native_engine_selected() {
        if let Ok(planned) = plan_native::plan(builds, arch) {
            return Ok(planned);
        }
    }
    Planner::new(arch)?.plan(builds)
}

/// The environment variable that picks the planning engine: `jq` runs the
/// modules even when they are the embedded ones (to compare, or to rule the
/// native planner out).
pub const PLAN_ENGINE_VAR: &str = "DOI_PLAN_ENGINE";

/// Whether [`plan`] may use the native planner: only when the modules it
/// would run are the embedded ones it reproduces.
pub fn native_engine_selected() -> bool {
    let own_modules = std::env::var_os(crate::jq::modules::META_SCRIPTS_VAR)
        .is_some_and(|directory| !directory.is_empty());
    let jq_asked = std::env::var_os(PLAN_ENGINE_VAR).is_some_and(|engine| engine == "jq");
    !own_modules && !jq_asked
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
        Some(Err(error)) => return Err(PlanError::Syntax(error.to_string())),
        None => return Err(PlanError::Shape("the input is empty".to_string())),
    };
    match values.next() {
        None => Ok(first),
        Some(Err(error)) => Err(PlanError::Syntax(error.to_string())),
        Some(Ok(_)) => Err(PlanError::Shape(
            "more than one JSON value; expected one object of buildId -> build".to_string(),
        )),
    }
}

/// True when `value` looks like builds metadata rather than deploy objects:
/// an object whose values are objects with `build` and `source`.
pub fn looks_like_builds(value: &Val) -> bool {
    let Val::Obj(builds) = value else {
        return false;
    };
    builds.values().all(|build| {
        matches!(build, Val::Obj(fields)
            if fields.contains_key(&key("build")) && fields.contains_key(&key("source")))
    })
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

    fn planner() -> Planner {
        Planner::with_search(None, ModuleSearch::embedded_only(Vec::new()))
            .expect("embedded modules compile")
    }

    #[test]
    fn empty_object_plans_nothing() {
        assert_eq!(planner().plan(b"{}").expect("plans"), b"");
    }

    #[test]
    fn empty_input_is_named() {
        let error = planner().plan(b"  \n").expect_err("empty input refused");
        assert!(error.to_string().contains("the input is empty"), "{error}");
    }

    #[test]
    fn bad_shapes_name_the_build_and_field() {
        let cases: &[(&str, &str)] = &[
            ("[]", "expected an object of buildId -> build, not array"),
            (
                r#"{"x": 1}"#,
                r#"build "x": . must be an object, not number"#,
            ),
            (
                r#"{"x": {"source": {}}}"#,
                r#"build "x": .build must be an object, not nothing"#,
            ),
            (
                r#"{"x": {"build": {"arch": 1}}}"#,
                r#"build "x": .build.arch must be a string, not number"#,
            ),
            (
                r#"{"x": {"build": {"arch": "amd64"}, "source": {"arches": []}}}"#,
                r#"build "x": .source.arches must be an object, not array"#,
            ),
            (
                r#"{"x": {"build": {"arch": "amd64", "resolved": {"manifests": [{"mediaType": "m", "digest": "d", "size": "1", "annotations": {}}]}}, "source": {"arches": {"amd64": {"tags": ["a"]}}}}}"#,
                r#"build "x": .build.resolved.manifests[0].size must be a number, not string"#,
            ),
            (
                r#"{"x": {"build": {"arch": "amd64", "resolved": {"manifests": []}}, "source": {"arches": {"amd64": {"tags": [1]}}}}}"#,
                r#"build "x": .source.arches["amd64"].tags[] must be a string, not number"#,
            ),
            ("{", "builds metadata is not valid JSON"),
            ("{} {}", "more than one JSON value"),
        ];
        for (input, expected) in cases {
            let error = planner().plan(input.as_bytes()).expect_err(input);
            assert!(error.to_string().contains(expected), "{input}: {error}");
        }
    }

    #[test]
    fn builds_metadata_is_told_from_deploy_objects() {
        let builds = parse_builds(br#"{"id": {"build": {}, "source": {}}}"#).expect("json");
        let object = parse_builds(br#"{"type": "manifest", "refs": ["a"]}"#).expect("json");
        assert!(looks_like_builds(&builds));
        assert!(!looks_like_builds(&object));
    }
}
