//! The plan: builds metadata in, deploy objects out, byte-exact with jq.
//!
//! Every tag we publish gets the digest of the exact bytes planned here, so
//! the plan is specified by our jq modules (`deploy.jq`, run by the engine
//! in [`crate::jq`]) and printed as `jq --tab` prints each object. The input
//! is checked first ([`checks`]), so that a malformed build is named with
//! its field instead of surfacing as a jq error deep inside the modules.
//!
//! For speed, [`plan`] computes the same bytes in Rust ([`native`], reading
//! only the fields it needs, [`fields`]) when the modules are the embedded
//! ones; the jq modules stay the specification, and
//! `tests/plan_equivalence.rs` proves the two agree. This module decides
//! which path runs.

mod checks;
mod fields;
pub mod native;

use crate::jq::print::{self, PrintOptions};
use crate::jq::read::ReadError;
use crate::jq::{CompileError, CompileOptions, ModuleSearch, Program, RunError, Val};
use std::fmt;

pub use checks::{check_builds, is_builds, is_builds_text, parse_builds};

/// The filter behind `deploy --plan` without `--arch`: every tag and
/// archTag of every resolved build, as the conformance README writes it
/// (`deploy-all.out.json` holds its objects as one array).
pub const ALL_TAGS_FILTER: &str = r#"include "deploy"; tagged_manifests(true; .source.arches[.build.arch].tags, .source.arches[.build.arch].archTags) | deploy_objects[]"#;

/// The filter behind `deploy --plan --arch ARCH` (`deploy-ARCH.out.json`),
/// with the architecture as `$arch`.
pub const ONE_ARCH_FILTER: &str =
    r#"include "deploy"; arch_tagged_manifests($arch) | deploy_objects[]"#;

/// Why builds metadata could not be planned.
#[derive(Debug, Clone)]
pub enum PlanError {
    /// The input is not JSON.
    Syntax(ReadError),
    /// The input is JSON but not builds metadata; names the build and field.
    Shape(String),
    /// Our modules failed to load (only with a broken `BASHBREW_META_SCRIPTS`).
    Modules(CompileError),
    /// The modules raised an error while planning.
    Filter(RunError),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The causes are the source(); `cli::chain` prints them after.
            Self::Syntax(_) => f.write_str("builds metadata is not valid JSON"),
            Self::Shape(message) => write!(f, "not builds metadata: {message}"),
            Self::Modules(_) => f.write_str("cannot load the planning modules"),
            Self::Filter(_) => f.write_str("planning failed"),
        }
    }
}

impl std::error::Error for PlanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Syntax(error) => Some(error),
            Self::Shape(_) => None,
            Self::Modules(error) => Some(error),
            Self::Filter(error) => Some(error),
        }
    }
}

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
                ONE_ARCH_FILTER,
                vec![("arch".to_string(), Val::from(arch.to_string()))],
            ),
            None => (ALL_TAGS_FILTER, Vec::new()),
        };
        let options = CompileOptions {
            search,
            named,
            ..CompileOptions::default()
        };
        let program = Program::compile(code, &options).map_err(PlanError::Modules)?;
        Ok(Self { program })
    }

    /// Plans parsed builds metadata into `out`: each deploy object as
    /// `jq --tab` prints it, with its newline.
    pub fn plan_value(&self, builds: Val, out: &mut Vec<u8>) -> Result<(), PlanError> {
        check_builds(&builds)?;
        let objects = self
            .program
            .run_collect(builds)
            .map_err(PlanError::Filter)?;
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
/// With the embedded modules this is computed natively ([`native`], the
/// same bytes, many times faster). The jq modules run instead when
/// `BASHBREW_META_SCRIPTS` is set (the user's own modules must win), when
/// `DOI_PLAN_ENGINE=jq` asks for them, and for any input the native planner
/// declines (malformed builds, whose error the jq path names as always, and
/// JSON beyond RFC 8259).
pub fn plan(builds: &[u8], arch: Option<&str>) -> Result<Vec<u8>, PlanError> {
    if native_engine_selected() {
        if let Ok(planned) = native::plan(builds, arch) {
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
            let error = crate::cli::chain(&error);
            assert!(error.contains(expected), "{input}: {error}");
        }
    }
}
