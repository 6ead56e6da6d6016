//! Deploy: make every planned tag point at exactly the planned bytes.
//!
//! Data flows one way: stdin -> [`input`] (normalized, always-valid
//! objects; every input rule checked before anything is pushed) ->
//! [`scheduler`] (children before parents, a pool of worker threads) ->
//! [`execute`] (one object to all its refs) -> [`crate::registry::push`] (the request
//! economy: HEAD, PUT, copy the children only when the registry says they
//! are missing). [`dry_run`] asks without writing; [`report`] prints
//! progress and the summary.

pub(crate) mod dry_run;
pub mod execute;
pub mod input;
pub mod plan;
pub mod report;
pub(crate) mod scheduler;

/// Plans builds metadata into deploy objects (see [`plan`]): the plan as
/// `jq --tab` prints a stream of objects.
pub fn plan_builds(builds: &[u8], arch: Option<&str>) -> Result<Vec<u8>, plan::PlanError> {
    plan::plan(builds, arch)
}
