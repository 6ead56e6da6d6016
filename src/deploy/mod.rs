//! Deploy: make every planned tag point at exactly the planned bytes.
//!
//! Data flows one way: stdin -> [`input`] (normalized, always-valid
//! objects; every input rule checked before anything is pushed) ->
//! [`scheduler`] (children before parents, a pool of worker threads) ->
//! [`crate::registry::push`] (the request economy: HEAD, PUT, copy the
//! children only when the registry says they are missing). [`dry_run`]
//! asks without writing; [`report`] prints progress and the summary.

pub mod input;
pub mod scheduler;
pub mod dry_run;
