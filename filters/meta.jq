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
  # jq refuses null as a key (`null[null]` is an error), so a build
  # without an arch has no entry rather than a bare "Cannot index null".
  .build.arch as $arch | if $arch == null then null else .source.arches[$arch] end
;

# The input build with the fields every command reads checked, so a bad
# build stops with the path of the bad field and the build's id instead of
# a bare "Cannot index ..." from deep inside a command.
def _meta_checked:
  (if type == "object" then .buildId else null end | if type == "string" then . else tojson end) as $id
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
  | validate(.build.resolvedParents; . == null or type == "object"; "an object of parent indexes, in build \($id)")
;

# The build's staging image, checked: the name build and push write to.
def _meta_checked_image:
  .buildId as $id
  | validate(.build.img; type == "string" and length > 0; "the staging image name, in build \($id)")
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

# normalize_ref_to_docker: an image reference (string) in the form the
# docker CLI and buildkit's docker-image:// take most reliably: Docker Hub
# names short (no docker.io/, no library/), and a reference pinned by digest
# without its tag (the digest decides; "name:tag@digest" is refused by some
# docker commands).
def normalize_ref_to_docker:
  sub("^(docker[.]io|index[.]docker[.]io|registry-1[.]docker[.]io)/"; "")
  | sub("^library/(?<name>[^/]+)$"; "\(.name)")
  | if test("@") then
      capture("^(?<name>[^@]*)(?<digest>@.*)$")
      | (.name | sub(":[^:/]*$"; "")) + .digest
    else
      .
    end
;

# The build's parents as [{from, ref}], in FROM order: `from` as the
# Dockerfile names it, `ref` where the pinned manifest was found (the
# manifest's ref.name from the lookup, which may be a staging repository
# for a parent built in the same run), else the parent's own name at the
# pinned digest. Parents without a digest (scratch) are not listed.
def _meta_parents:
  .build.resolvedParents as $resolved
  | [
      .build.parents // {}
      | to_entries[]
      | select(.value | type == "string" and length > 0)
      | .key as $from
      | .value as $digest
      | {
          from: $from,
          ref: (
            (
              first(
                $resolved[$from].manifests? // []
                | .[]
                | select(type == "object" and .digest == $digest)
                | .annotations["org.opencontainers.image.ref.name"]?
                | strings
              )
              // ($from | sub("@.*$"; "") | sub(":[^:/]*$"; "")) + "@" + $digest
            )
            | normalize_ref_to_docker
          )
        }
    ]
;

# Every name the image is pushed under: its tags, its architecture tags,
# then the staging image it is built as.
def _meta_image_names:
  _meta_arch as $arch
  | [($arch.tags // [])[], ($arch.archTags // [])[], .build.img | strings]
;

# Lines of one long shell command, joined so bash reads one command.
def _meta_shell_lines:
  join(" \\\n\t")
;

# unindent_and_decomment_jq($indents): a jq program kept as a string in a
# module, made fit to paste into a command: up to $indents leading tabs come
# off every line (the module's own indentation) and lines that are only a
# comment are dropped (they would only add noise to every build log).
def unindent_and_decomment_jq($indents):
  def _unindent($n):
    if $n > 0 and startswith("\t") then .[1:] | _unindent($n - 1) else . end;
  split("\n")
  | map(select(test("^[ \t]*#") | not) | _unindent($indents))
  | join("\n")
;

# The fix-up buildkit's OCI export needs before it is pushed: the export's
# index.json can list the image twice (same digest, size and type), and
# anything other than exactly one image means the build is not what we
# meant to push.
def _meta_oci_export_fixup:
  "
		.manifests |= (
			# one entry per distinct manifest
			unique_by([ .digest, .size, .mediaType ])
			# and exactly one image, or we push something nobody asked for
			| if length != 1 then
				error(\"unexpected number of manifests: \\(length)\")
			else . end
		)
	" | unindent_and_decomment_jq(1)
;

# The build's builder, checked: a builder we do not know stops the build.
def _meta_builder:
  normalized_builder as $builder
  | if IN($builder; "buildkit", "classic", "oci-import") then
      $builder
    else
      error("build \(.buildId): unknown builder \($builder | tojson) (source.entries[0].Builder; known: buildkit, classic, oci-import)")
    end
;

# pull_command: shell text that makes the build's parents available to the
# builder. Only the classic builder needs them pulled (and tagged with the
# name its Dockerfile uses); buildkit is handed every parent by digest as a
# build context, and oci-import has no parents to pull.
def pull_command:
  _meta_checked
  | if _meta_builder == "classic" then
      [
        _meta_parents[]
        | @sh "docker pull \(.ref)",
          (select(.from | test("@") | not) | @sh "docker tag \(.ref) \(.from)")
      ]
      | join("\n")
    else
      ""
    end
;

# build_command: shell text that builds the image into the form
# push_command pushes: an OCI layout in ./temp (buildkit, oci-import) or
# the image in the local docker daemon (classic).
def build_command:
  _meta_checked
  | _meta_checked_image
  | .buildId as $id
  | .build.arch as $name
  | validate(.source.arches[$name].platformString; type == "string" and length > 0; "a platform (os/arch), in build \($id)")
  | _meta_builder as $builder
  | _meta_arch as $arch
  | if $builder == "buildkit" then
      [
        (
          [
            "docker buildx build --progress=plain",
            @sh "--provenance=mode=max,builder-id=\(buildkit_provenance_builder_id)",
            if build_should_sbom then
              "--sbom=generator=\"$BASHBREW_BUILDKIT_SBOM_GENERATOR\""
            else
              empty
            end,
            "--output " + (["type=oci", "dest=temp.tar"] | @csv | @sh),
            (
              build_annotations(git_build_url)
              | to_entries[]
              | "manifest,manifest-descriptor:\(.key)=\(.value)"
              | @sh "--annotation \(.)"
            ),
            (_meta_image_names[] | @sh "--tag \(.)"),
            @sh "--platform \($arch.platformString)",
            (_meta_parents[] | "\(.from)=docker-image://\(.ref)" | @sh "--build-context \(.)"),
            "--build-arg BUILDKIT_SYNTAX=\"$BASHBREW_BUILDKIT_SYNTAX\"",
            "--build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all",
            @sh "--file \(_meta_entry.File)",
            (git_build_url | @sh)
          ]
          | _meta_shell_lines
        ),
        "mkdir temp",
        "tar -xvf temp.tar -C temp",
        "rm temp.tar",
        "jq \(_meta_oci_export_fixup | @sh) temp/index.json > temp/index.json.new",
        "mv temp/index.json.new temp/index.json"
      ]
    elif $builder == "classic" then
      [
        [
          "DOCKER_BUILDKIT=0",
          "docker build",
          (_meta_image_names[] | @sh "--tag \(.)"),
          @sh "--platform \($arch.platformString)",
          @sh "--file \(_meta_entry.File)",
          (git_build_url | @sh)
        ]
        | _meta_shell_lines
      ]
    else
      [
        "build=\(tojson | @sh)",
        "\"$BASHBREW_META_SCRIPTS/helpers/oci-import.sh\" <<<\"$build\" temp",
        if build_should_sbom then
          "# SBOM",
          "mv temp temp.orig",
          "\"$BASHBREW_META_SCRIPTS/helpers/oci-sbom.sh\" <<<\"$build\" temp.orig temp",
          "rm -rf temp.orig"
        else
          empty
        end
      ]
    end
  | join("\n")
;

# push_command: shell text that pushes what build_command made to the
# build's staging image.
def push_command:
  _meta_checked
  | _meta_checked_image
  | if _meta_builder == "classic" then
      @sh "docker push \(.build.img)"
    else
      [
        @sh "crane push temp \(.build.img)",
        "rm -rf temp"
      ]
      | join("\n")
    end
;

# commands: {pull, build, push}, the three steps of a build job in order.
def commands:
  {
    pull: pull_command,
    build: build_command,
    push: push_command
  }
;
