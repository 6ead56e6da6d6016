# Deploy planning: which index goes to which tags.
#
# Why this module exists: every build of an official image is pushed to a
# staging repository first; publishing means pushing, for every public tag,
# an index listing the right per-architecture manifests from those builds.
# This turns builds metadata into that plan, deduplicated so that tags that
# end up with the same manifests share one pushed index (one object, many
# refs), and with a `lookup` so the pusher knows where each manifest lives.
# Linear in the size of the builds metadata: planning runs over thousands of
# builds (a 4 MB file), and both engines copy a whole `reduce` accumulator
# when it is still referenced during an update, which turned naive spellings
# quadratic (many seconds).  So every per-item computation happens in the
# reduce's generator, and the body is only
# `if has($k) then .[$k] = .[$k] + $x else .[$k] = $x end`
# (jq 1.6 also copies on every `+=`, `|=` and on `//` reading the accumulator).
# Written for the common subset of jq 1.6, jq 1.7 and our embedded engine.

include "oci";

# tagged_manifests(builds_selector; tags_extractor): input is builds
# metadata (an object buildId -> build).  Output is an object tag ->
# [descriptors], tags in first-seen order, descriptors in build order.
# A build takes part when `.build.resolved` is set and `builds_selector`
# (given the build) yields a truthy value; every string `tags_extractor`
# (given the build) yields, at any depth, is a tag of that build.  A tag gets
# the build's resolved manifests whose bashbrew.arch annotation is the
# build's own architecture, so one architecture's image can never be
# published under another's tags.
def tagged_manifests(builds_selector; tags_extractor):
  reduce (
    .[]
    | select(type == "object" and (.build | type) == "object" and .build.resolved)
    | select(any(builds_selector; .))
    | . as $build
    | $build.build.arch as $arch
    | [
        $build.build.resolved.manifests
        | arrays[]
        | select(
            ($arch | type) == "string"
            and (.annotations | type) == "object"
            and .annotations["com.docker.official-images.bashbrew.arch"] == $arch
          )
      ] as $manifests
    # each tag once per build, in first-seen order
    | (reduce ($build | tags_extractor | .. | strings) as $tag ({}; .[$tag] = true) | keys_unsorted[])
    | [., $manifests]
  ) as [$tag, $manifests] ({};
    if has($tag) then .[$tag] = .[$tag] + $manifests else .[$tag] = $manifests end
  )
;

# arch_tagged_manifests($arch): the architecture-specific repositories
# (amd64/docker, arm64v8/busybox, ...): only builds for $arch, tagged with
# their archTags.
def arch_tagged_manifests($arch):
  tagged_manifests(.build.arch == $arch; .source.arches[.build.arch].archTags)
;

# The registry reference a manifest was staged under, without its own
# "@digest" (the digest is the lookup key already), or null.
def _deploy_lookup_reference:
  .digest as $digest
  | if ($digest | type) == "string" and (.annotations | type) == "object" and (.annotations["org.opencontainers.image.ref.name"] | type) == "string" then
      .annotations["org.opencontainers.image.ref.name"] | rtrimstr("@" + $digest)
    else
      null
    end
;

# One deploy object for the first tag of a group; later tags with the same
# sorted digest list are appended to its refs.
def _deploy_object($tag; $manifests):
  {
    type: "manifest",
    refs: [$tag],
    lookup: (
      reduce $manifests[] as $manifest ({};
        ($manifest | _deploy_lookup_reference) as $reference
        | if $reference != null then .[$manifest.digest] = $reference else . end
      )
    ),
    data: {
      schemaVersion: 2,
      mediaType: (
        if $manifests[0].mediaType == media_type_dockerv2_image then
          media_type_dockerv2_list
        else
          media_type_oci_index
        end
      ),
      manifests: [
        $manifests[]
        | if (.annotations | type) == "object" then
            .annotations = (.annotations | del(.["org.opencontainers.image.ref.name"]))
          else
            .
          end
      ]
    }
  }
;

# deploy_objects: input is the output of tagged_manifests.  Output is an
# array of deploy objects, in first-seen tag order:
#   {type: "manifest", refs: [tags], lookup: {digest: reference},
#    data: {schemaVersion: 2, mediaType, manifests: [descriptors]}}
# Each tag's descriptors are normalized and put in the published order
# (sort_manifests); tags whose sorted digest lists are equal share one object.
# The index is a Docker manifest list when its first manifest is a Docker v2
# image manifest (clients that only know Docker media types must keep working),
# else an OCI index.  The ref.name annotation only says where the manifest was
# staged, so it moves from the data to `lookup`.
def deploy_objects:
  . as $tagged
  # Tags share lists (every tag of a build), lists share descriptors (the
  # per-architecture repositories) and descriptors share a few platforms, so
  # each distinct one is normalized or keyed once: this is what sort_manifests
  # over map(normalize_descriptor) does, without redoing the same work per tag.
  | (reduce ($tagged | keys_unsorted[] as $tag | [$tag, ($tagged[$tag] | tojson)]) as [$tag, $key] ({}; .[$tag] = $key)) as $list_keys
  | (reduce ($tagged | keys_unsorted[] as $tag | [$list_keys[$tag], $tagged[$tag]]) as [$key, $list] ({}; .[$key] = $list)) as $lists
  | (reduce ($lists[][] | [tojson, .]) as [$key, $descriptor] ({}; .[$key] = $descriptor)) as $descriptors
  | (
      reduce ($descriptors | keys_unsorted[] as $key | [$key, ($descriptors[$key] | normalize_descriptor)])
        as [$key, $normalized] ({}; .[$key] = $normalized)
    ) as $normalized
  | (reduce ($normalized[] | .platform | [tojson, .]) as [$key, $platform] ({}; .[$key] = $platform)) as $platforms
  | (
      reduce ($platforms | keys_unsorted[] as $key | [$key, ({platform: $platforms[$key]} | _sort_manifests_platform_key)])
        as [$key, $sort_key] ({}; .[$key] = $sort_key)
    ) as $platform_keys
  | (
      reduce (
        $lists
        | keys_unsorted[] as $key
        | [
            $key,
            (
              [$lists[$key][] | $normalized[tojson]]
              | sort_by($platform_keys[.platform | tojson])
              | sort_attestations
            )
          ]
      ) as [$key, $sorted] ({}; .[$key] = $sorted)
    ) as $sorted_lists
  # Refs and manifests per group in two flat reduces: updating a nested path
  # of the accumulator (`.[$group].refs = ...`) copied the whole accumulator
  # on every repeated group (273 MB peak on a 7 MB input instead of 74 MB).
  | (
      reduce ($tagged | keys_unsorted[] as $tag | [$tag, ($sorted_lists[$list_keys[$tag]] | map(.digest) | tojson)])
        as [$tag, $group] ({}; if has($group) then .[$group] = .[$group] + [$tag] else .[$group] = [$tag] end)
    ) as $group_refs
  | (
      reduce ($sorted_lists[] | [(map(.digest) | tojson), .])
        as [$group, $manifests] ({}; if has($group) then . else .[$group] = $manifests end)
    ) as $group_manifests
  | [
      $group_refs
      | keys_unsorted[] as $group
      | _deploy_object($group_refs[$group][0]; $group_manifests[$group])
      | .refs = $group_refs[$group]
    ]
;
