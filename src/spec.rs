//! The names the OCI image spec, Docker and bashbrew give things: media
//! types and annotation keys, each written once.
//!
//! Every module that reads or writes a manifest uses these (the planner,
//! `lookup`'s synthesized index, `builds`, the registry client, the OCI
//! layout importer, the tests and benchmarks), so a typo cannot make one of
//! them disagree with the others. Rules *about* the names (which types are
//! indexes, what a manifest `Accept` lists) live with the code that applies
//! them, for the registry in [`crate::registry::protocol`].

/// Media types (OCI image-spec "Media Types", Docker's image manifest v2
/// schema 2).
pub mod media_type {
    /// OCI image index (multi-platform).
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image manifest (one platform).
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// Docker manifest list (Docker's multi-platform index).
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Docker image manifest, schema 2.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// OCI layer, uncompressed tar.
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    /// OCI layer, gzip-compressed tar.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// OCI layer, zstd-compressed tar.
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// Docker layer, gzip-compressed tar.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// Docker layer, uncompressed tar.
    pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
    /// Docker's foreign layer (gzip tar fetched from its `urls`, not pushed).
    pub const DOCKER_FOREIGN_LAYER_GZIP: &str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    /// OCI non-distributable layer, uncompressed tar (deprecated by
    /// image-spec 1.1, still valid to read).
    pub const OCI_NONDISTRIBUTABLE_LAYER: &str =
        "application/vnd.oci.image.layer.nondistributable.v1.tar";
    /// OCI non-distributable layer, gzip-compressed tar (deprecated).
    pub const OCI_NONDISTRIBUTABLE_LAYER_GZIP: &str =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    /// OCI non-distributable layer, zstd-compressed tar (deprecated).
    pub const OCI_NONDISTRIBUTABLE_LAYER_ZSTD: &str =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
    /// The empty descriptor's type (image-spec manifest.md, "Guidance for an
    /// Empty Descriptor"): an artifact's config that holds nothing.
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    /// An in-toto statement (the layers of BuildKit's attestation manifests).
    pub const IN_TOTO: &str = "application/vnd.in-toto+json";
    /// What registries (and we) call a blob whose type nobody said.
    pub const OCTET_STREAM: &str = "application/octet-stream";
    /// An HTML form's body (RFC 6749's OAuth2 token requests are POSTed so).
    pub const FORM: &str = "application/x-www-form-urlencoded";
}

/// Annotation keys, and the values whose meaning we rely on.
pub mod annotation {
    /// The bashbrew architecture a manifest was built for (`amd64`,
    /// `arm64v8`, ...): bashbrew's own key, which the planner filters on.
    pub const BASHBREW_ARCH: &str = "com.docker.official-images.bashbrew.arch";
    /// OCI's name of where a manifest was found or staged (`repo:tag@digest`
    /// in our indexes).
    pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
    /// BuildKit's marker of what kind of manifest this is.
    pub const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
    /// BuildKit's pointer from an attestation to the manifest it describes.
    pub const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
    /// The [`REFERENCE_TYPE`] of an attestation manifest.
    pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";
}
