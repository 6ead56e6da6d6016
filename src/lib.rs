//! Publishes the Docker Official Images.
//!
//! Bashbrew metadata becomes a plan of OCI image indexes (through our jq
//! modules, run by a jq-compatible engine so the bytes match what `jq --tab`
//! would print), and the plan is pushed, with every tag, to a registry.
//!
//! Data flows one way: stdin -> [`jq`] (plan) -> [`deploy`] (normalized
//! items, scheduler) -> [`registry`]. [`builds`] produces the planner's input.
#![forbid(unsafe_code)]

pub mod builds;
pub mod calendar;
pub mod cli;
pub mod deploy;
pub mod jq;
pub mod oci;
pub(crate) mod pool;
pub mod registry;
pub mod spec;
