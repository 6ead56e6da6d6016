# How one build of builds metadata is pulled, built and pushed.
#
# Why this module exists: the build jobs (Jenkins, GitHub Actions) do not
# decide anything themselves; they run the shell text this module writes
# for a build, so every rule of "how an official image is built" (which
# builder, which parents at which digests, which tags, which annotations)
# lives here once and is the same on every job and every arch.
#
# Input of every function below (except normalize_ref_to_docker and
# unindent_and_decomment_jq, which take strings): one build of builds
# metadata, {buildId, build: {arch, img, parents, resolvedParents, ...},
# source: {entries: [{GitRepo, GitCommit, Directory, File, Builder, ...}],
# arches: {ARCH: {tags, archTags, lastStageFrom, platformString, ...}}}}.
#
# The commands are shell text for `bash -Eeuo pipefail`, every value quoted
# as jq's @sh does; the lines of one long command are joined with " \",
# newline, tab.
# Written for the common subset of jq 1.6, jq 1.7 and our embedded engine.

include "doi";
include "validate";

# --- reading a build ---

# The build's source entry (all entries of one source are the same
# checkout, so the first speaks for them).
def _meta_entry:
  .source.entries[0]
;

# The build's tags for its own architecture: {tags, archTags, ...}.
def _meta_arch:
  .build.arch as $arch | .source.arches[$arch]
;

# The input build with the fields every command reads checked, so a bad
# build stops with the path of the bad field and the build's id instead of
# a bare "Cannot index ..." from deep inside a command.
def _meta_checked:
  (.buildId | if type == "string" then . else tojson end) as $id
  | validate(.; type == "object"; "a build object")
  | validate(.build; type == "object"; "an object, in build \($id)")
  | validate(.build.arch; type == "string" and length > 0; "an architecture name, in build \($id)")
  | validate(.source.entries; type == "array" and length > 0; "a non-empty array of source entries, in build \($id)")
  | validate(.source.entries[0]; type == "object"; "a source entry object, in build \($id)")
  | validate(
      .source.entries[0] | .GitRepo, .GitCommit, .Directory, .File;
      type == "string" and length > 0;
      "a non-empty string, in build \($id)"
    )
  | validate(.source.entries[0].Builder; . == null or type == "string"; "a builder name, in build \($id)")
  | validate(.source.arches; type == "object"; "an object of architectures, in build \($id)")
  | .build.arch as $arch
  | validate(.source.arches[$arch]; type == "object"; "the build's architecture entry, in build \($id)")
  | validate(.source.arches[$arch] | .tags, .archTags; . == null or (type == "array" and all(.[]; type == "string")); "an array of tags, in build \($id)")
  | validate(.source.arches[$arch].lastStageFrom; . == null or type == "string"; "a parent image name, in build \($id)")
  | validate(.build.parents; . == null or type == "object"; "an object of parent digests, in build \($id)")
;

# The first tag of the build ("docker:24.0.7-cli"), or, for a build with
# only architecture tags, the first of those; null when it has none.
def _meta_first_tag:
  _meta_arch | (.tags // [])[0] // (.archTags // [])[0]
;

# "repo:tag" split into {repo, tag} (tag null when absent); a registry port
# ("localhost:5000/x") is part of the repository, not a tag.
def _meta_split_tag:
  capture("^(?<repo>.*?)(?::(?<tag>[^:/]+))?$")
  | {repo: .repo, tag: (.tag // null)}
;

# The Docker Hub page of a repository: /_/NAME for an official image,
# /r/NAMESPACE/NAME for another Hub repository, null off Hub.
def _meta_hub_url:
  if type != "string" or . == "" then
    null
  elif test("/") | not then
    "https://hub.docker.com/_/" + .
  elif test("^[^/.:]+/[^/]+$") and (startswith("localhost/") | not) then
    "https://hub.docker.com/r/" + .
  else
    null
  end
;

# normalized_builder: the entry's Builder; unset or empty means the
# classic builder on Windows (buildkit cannot build Windows images) and
# buildkit everywhere else.
def normalized_builder:
  (_meta_entry.Builder // "") as $builder
  | if $builder != "" then
      $builder
    elif .build.arch | type == "string" and startswith("windows-") then
      "classic"
    else
      "buildkit"
    end
;

# A SOURCE_DATE_EPOCH ($what says whose) as a number of whole seconds;
# anything else stops the build: a timestamp that is silently wrong would
# end up in every image's `created`.
def _meta_epoch($what):
  if type == "number" then
    .
  elif type == "string" and test("^[0-9]+$") then
    tonumber
  else
    error("\($what) must be a whole number of seconds since 1970, not \(tojson)")
  end
  | if . >= 0 and . == floor and . < 253402300800 then
      .
    else
      error("\($what) must be a whole number of seconds from 1970 to 9999, not \(tojson)")
    end
;

# When the build's image was made, as %FT%TZ: an oci-import build's layout
# was made at its source entry's SOURCE_DATE_EPOCH; anything we build now
# takes the environment's SOURCE_DATE_EPOCH (reproducible builds), else now.
def _meta_created:
  _meta_entry.SOURCE_DATE_EPOCH as $entry
  | .buildId as $id
  | ($ENV.SOURCE_DATE_EPOCH // "") as $environment
  | if normalized_builder == "oci-import" and $entry != null then
      $entry | _meta_epoch("SOURCE_DATE_EPOCH of build \($id)'s source entry")
    elif $environment != "" then
      $environment | _meta_epoch("SOURCE_DATE_EPOCH (environment)")
    else
      now | floor
    end
  | strftime("%FT%TZ")
;

# --- public interface ---

# needs_build: true for a build that has no image yet.
def needs_build:
  .build.resolved == null
;

# git_build_url: the build context as docker takes it from git:
# REPO#COMMIT:DIRECTORY (a commit, not a branch, so the build is pinned).
def git_build_url:
  _meta_entry | "\(.GitRepo)#\(.GitCommit):\(.Directory)"
;

# build_annotations($buildUrl): the OCI annotations of the build's image
# manifest (and its descriptor), in the order they are written; keys whose
# value is null or empty are left out (a FROM scratch image has no
# base.digest). $buildUrl is what the image was built from.
def build_annotations($buildUrl):
  _meta_checked
  | _meta_arch as $arch
  | (_meta_first_tag | if . == null then {} else _meta_split_tag end) as $first
  | {
      "org.opencontainers.image.source": $buildUrl,
      "org.opencontainers.image.revision": _meta_entry.GitCommit,
      "org.opencontainers.image.created": _meta_created,
      "org.opencontainers.image.version": $first.tag,
      "org.opencontainers.image.url": ($first.repo | _meta_hub_url),
      "com.docker.official-images.bashbrew.arch": .build.arch,
      "org.opencontainers.image.base.name": $arch.lastStageFrom,
      "org.opencontainers.image.base.digest": (
        if $arch.lastStageFrom == null then null else .build.parents[$arch.lastStageFrom] end
      )
    }
  | with_entries(select(.value != null and .value != ""))
;

# build_annotations: as build_annotations/1 with what the builder builds
# from: the git build context for a Dockerfile build, and for oci-import
# (whose directory is an image layout, not a context) the repository, with
# the commit in `revision`.
def build_annotations:
  build_annotations(
    if normalized_builder == "oci-import" then _meta_entry.GitRepo else git_build_url end
  )
;
