//! The filter engine: jq 1.7 semantics on top of jaq.
//!
//! jaq runs our modules fast, but it is not jq: it lacks some builtins and
//! orders or prints some things differently. Everything that makes it behave
//! like jq lives here, together with the printer that reproduces jq's bytes.

pub mod print;
