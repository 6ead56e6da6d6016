//! OCI image layouts: validating them, importing them from git, pushing
//! them.
//!
//! Official images built with `Builder: oci-import` (busybox and friends)
//! arrive as OCI image layouts committed to a git repository. This part
//! owns that half of the pipeline: [`validate`] checks a layout from
//! `oci-layout` down through every blob (shapes by [`rules`], our jq `oci`
//! module's rules; documents as [`json`] strict JSON; blobs and layers
//! streamed by [`blob`], tar streams by [`tar`]; every path kept inside the
//! layout by [`path`]); [`import`] makes a layout from a build's git commit;
//! [`push`] sends a validated layout to registries through the registry
//! client's one write path. The binaries `oci-validate`, `oci-import` and
//! `oci-push` are thin shells over it.

pub(crate) mod blob;
pub mod git;
pub mod import;
pub mod json;
pub(crate) mod path;
pub mod push;
pub mod rules;
pub(crate) mod tar;
pub mod validate;

pub use validate::{validate_layout, Checked, DescriptorPath, LayoutError, ValidLayout};
