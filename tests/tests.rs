//! The integration tests, as one test binary (ripgrep's layout): every file
//! beside this one is a module of it, so `cargo test` links the library and
//! the harness once instead of once per file. Shared helpers come first so
//! their macros are in scope for the tests below them.
//!
//! A new test file `tests/NAME.rs` is added as `mod NAME;` below.

#[macro_use]
mod plan_util;
mod builds_support;
mod deploy_library;
mod oci_util;
mod support;

mod build_modules;
mod builds_cli;
mod builds_registry;
mod cli_conventions;
mod deploy_conformance;
mod deploy_end_to_end;
mod deploy_hardening;
mod deploy_input;
mod deploy_registry;
mod doi_jq_cli;
mod filters_script;
mod harness;
mod jq_compat;
mod jq_hardening;
mod jq_suite;
mod lookup_cli;
mod oci_import;
mod oci_push;
mod oci_validate;
mod plan_conformance;
mod plan_equivalence;
mod plan_snapshots;
mod push_demo;
mod registry_auth;
mod registry_client;
mod registry_hardening;
