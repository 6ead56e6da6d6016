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
pub mod deploy;
pub mod jq;
pub mod oci;
pub mod registry;

/// Evaluating jq allocates and frees small values all the time (a profile
/// of planning showed 40% of instructions in glibc's malloc and free);
/// mimalloc halves that, for every binary and test of the crate.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
