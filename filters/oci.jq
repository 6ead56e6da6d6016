# OCI image-spec knowledge for deploy planning.
#
# Why this module exists: the indexes we push are content-addressed, so the
# same input must always produce byte-identical JSON (same key order, same
# manifest order) or every run would push "new" indexes and churn tags. It
# also holds the spec's rules, so a malformed document is rejected with the
# path of the bad field before anything reaches a registry.
# Written for the common subset of jq 1.6, jq 1.7 and our embedded engine;
# no `+=`/`|=`/`//` on accumulators (jq 1.6 copies the whole value each time).

include "sort";
include "validate";

# --- media types (image-spec media-types.md, Docker image manifest v2.2) ---

def media_type_oci_index: "application/vnd.oci.image.index.v1+json";
def media_type_oci_image: "application/vnd.oci.image.manifest.v1+json";
def media_type_oci_config: "application/vnd.oci.image.config.v1+json";
def media_type_oci_layer: "application/vnd.oci.image.layer.v1.tar";
def media_type_oci_layer_gzip: "application/vnd.oci.image.layer.v1.tar+gzip";
def media_type_dockerv2_list: "application/vnd.docker.distribution.manifest.list.v2+json";
def media_type_dockerv2_image: "application/vnd.docker.distribution.manifest.v2+json";
def media_type_dockerv2_config: "application/vnd.docker.container.image.v1+json";
def media_type_dockerv2_layer: "application/vnd.docker.image.rootfs.diff.tar";
def media_type_dockerv2_layer_gzip: "application/vnd.docker.image.rootfs.diff.tar.gzip";

# Groups (generators, OCI first): documents that list manifests, image
# manifests, image configs, and layers.
def media_types_index: media_type_oci_index, media_type_dockerv2_list;
def media_types_image: media_type_oci_image, media_type_dockerv2_image;
def media_types_config: media_type_oci_config, media_type_dockerv2_config;
def media_types_layer:
  media_type_oci_layer, media_type_oci_layer_gzip,
  media_type_dockerv2_layer, media_type_dockerv2_layer_gzip
;

# --- normalizing (stable bytes for content-addressed documents) ---

# Rebuilds an object with the keys named in $first (in that order), then
# every other key in code point order, then the keys named in $last.
def _oci_order_keys($first; $last):
  . as $object
  | reduce ($first[], (keys - $first - $last)[], $last[]) as $key ({};
      if $object | has($key) then .[$key] = $object[$key] else . end
    )
;

# Annotations and other string maps: keys in code point order.
def _oci_sort_keys:
  . as $object | reduce keys[] as $key ({}; .[$key] = $object[$key])
;

# A platform in one spelling, so equal platforms compare (and sort, and
# dedupe) equal: null/false fields are dropped (they mean "unset"), a missing
# arm variant becomes the usual default (arm -> v7, arm64 -> v8), and keys
# come in the spec's order, then the rest in code point order.
def normalize_platform:
  if type != "object" then
    .
  else
    (
      . + {
        variant: (
          .variant
          // if .architecture == "arm" then "v7" elif .architecture == "arm64" then "v8" else null end
        )
      }
    ) as $platform
    | ["os", "architecture", "variant", "os.version"] as $first
    | reduce ($first[], (keys - $first)[]) as $key ({};
        $platform[$key] as $value
        | if $value == null or $value == false then . else .[$key] = $value end
      )
  end
;

# A descriptor with its platform normalized, annotations sorted by key and
# fields in the order the spec lists them (bulky urls/data last).
def normalize_descriptor:
  if type != "object" then
    .
  else
    (if .platform | type == "object" then .platform = (.platform | normalize_platform) else . end)
    | (if .annotations | type == "object" then .annotations = (.annotations | _oci_sort_keys) else . end)
    | _oci_order_keys(
        ["mediaType", "artifactType", "digest", "size", "platform", "annotations"];
        ["urls", "data"]
      )
  end
;

# An image manifest or index with every descriptor normalized, annotations
# sorted and fields in the spec's order.  The order of `manifests` is kept
# (it is meaningful: clients take the first match); use sort_manifests to
# reorder it.
def normalize_manifest:
  if type != "object" then
    .
  else
    (if .config | type == "object" then .config = (.config | normalize_descriptor) else . end)
    | (if .layers | type == "array" then .layers = (.layers | map(normalize_descriptor)) else . end)
    | (if .manifests | type == "array" then .manifests = (.manifests | map(normalize_descriptor)) else . end)
    | (if .subject | type == "object" then .subject = (.subject | normalize_descriptor) else . end)
    | (if .annotations | type == "object" then .annotations = (.annotations | _oci_sort_keys) else . end)
    | _oci_order_keys(
        ["schemaVersion", "mediaType", "artifactType", "config", "layers", "manifests", "subject", "annotations"];
        []
      )
  end
;

# --- ordering ---

# Sort key for a platform object: linux first, then other OSes in natural
# order; amd64 and arm64 first, then other architectures in natural order;
# newest variant and OS version first (see sort_split_desc; a missing
# variant/version sorts after the present ones).
def sort_split_platform:
  [
    (.os // "" | sort_split_pref("linux")),
    (.architecture // "" | sort_split_pref("amd64", "arm64")),
    (.variant // "" | sort_split_desc),
    (.["os.version"] // "" | sort_split_desc)
  ]
;

# The digest an attestation manifest describes (buildkit's convention), or
# null for anything else.
def _oci_attestation_subject:
  if type == "object" and (.annotations | type == "object") then
    .annotations["vnd.docker.reference.digest"] | strings
  else
    empty
  end
  // null
;

# Moves every attestation manifest to just after the manifest it describes
# (and attestations of attestations after those), keeping all other order.
# Attestations whose subject is not in the list stay where they are; nothing
# is ever dropped, even for a (content-addressing-impossible) cycle.
def sort_attestations:
  def place($descriptor):
    .out = .out + [$descriptor]
    | ($descriptor.digest) as $digest
    | if ($digest | type) == "string" and .attached[$digest] != null then
        .attached[$digest] as $attached
        | .attached = (.attached | del(.[$digest]))
        | reduce $attached[] as $attestation (.; place($attestation))
      else
        .
      end
    ;
  . as $descriptors
  | (reduce ($descriptors[] | .digest | strings) as $digest ({}; .[$digest] = true)) as $present
  | (reduce $descriptors[] as $descriptor ({};
      ($descriptor | _oci_attestation_subject) as $subject
      | if $subject == null or $present[$subject] != true then
          .
        elif has($subject) then
          .[$subject] = .[$subject] + [$descriptor]
        else
          .[$subject] = [$descriptor]
        end
    )) as $attached
  | reduce $descriptors[] as $descriptor ({out: [], attached: $attached};
      ($descriptor | _oci_attestation_subject) as $subject
      | if $subject != null and $present[$subject] then . else place($descriptor) end
    )
  | .out + [.attached[][]]
;

# A descriptor's sort_manifests key (deploy_objects computes it once per
# distinct platform).
def _sort_manifests_platform_key:
  .platform | if type == "object" then normalize_platform else {} end | sort_split_platform
;

# The order the published indexes use: a stable sort by platform (see
# sort_split_platform; platforms are normalized for the comparison only),
# then each attestation right after its subject.
def sort_manifests:
  sort_by(_sort_manifests_platform_key) | sort_attestations
;

# --- validation (image-spec v1.1: descriptor.md, manifest.md,
#     image-index.md, image-layout.md) ---
# Patterns end in `\z`, not `$`: in jq 1.7.1 (Oniguruma) `$` also matches
# before a final newline, so "sha256:<hex>\n" would pass as a digest.
# The public validators check their input; the `_at(at)` forms check the
# values at path expression `at`, so nested documents report full paths.

def _oci_media_type_pattern:
  "^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\\z"
;

def _validate_oci_media_type_at(at; $what):
  validate(at; type == "string" and test(_oci_media_type_pattern); "\($what): a media type (RFC 6838 type/subtype)")
;

# digest ::= algorithm ":" encoded; algorithm-component [a-z0-9]+ joined by
# [+._-]; encoded [a-zA-Z0-9=_-]+; the registered sha256/sha512 encodings
# are lowercase hex of 64/128 characters.
def _validate_oci_digest_at(at):
  validate(
    at;
    type == "string" and test("^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\\z");
    "an OCI digest (algorithm:encoded)"
  )
  | validate(
      at | select(startswith("sha256:"));
      test("^sha256:[a-f0-9]{64}\\z");
      "a sha256 digest: 64 lowercase hexadecimal digits"
    )
  | validate(
      at | select(startswith("sha512:"));
      test("^sha512:[a-f0-9]{128}\\z");
      "a sha512 digest: 128 lowercase hexadecimal digits"
    )
;

def _validate_oci_string_array_at(at; $what):
  validate(at; type == "array"; "\($what): an array of strings")
  | validate(at | .[]; type == "string"; "\($what): a string")
;

def _validate_oci_annotations_haver_at(at):
  validate(at | .annotations | select(. != null); type == "object"; "annotations: an object of strings")
  | validate(at | .annotations | objects | .[]; type == "string"; "an annotation value: a string")
;

def _validate_oci_platform_at(at):
  validate(at; type == "object"; "platform: an object")
  | validate(at | .architecture; type == "string"; "platform architecture: a string")
  | validate(at | .os; type == "string"; "platform os: a string")
  | validate(at | .["os.version"] | select(. != null); type == "string"; "platform os.version: a string")
  | _validate_oci_string_array_at(at | .["os.features"] | select(. != null); "platform os.features")
  | validate(at | .variant | select(. != null); type == "string"; "platform variant: a string")
  | _validate_oci_string_array_at(at | .features | select(. != null); "platform features")
;

def _validate_oci_descriptor_at(at):
  validate(at; type == "object"; "a descriptor object")
  | _validate_oci_media_type_at(at | .mediaType; "descriptor mediaType")
  | _validate_oci_digest_at(at | .digest)
  | validate(at | .size; type == "number" and . >= 0 and . == floor; "descriptor size: a non-negative integer")
  | _validate_oci_string_array_at(at | .urls | select(. != null); "descriptor urls")
  | validate(
      at | .data | select(. != null);
      type == "string" and length % 4 == 0 and test("^[A-Za-z0-9+/]*={0,2}\\z");
      "descriptor data: base64 (RFC 4648)"
    )
  | _validate_oci_media_type_at(at | .artifactType | select(. != null); "descriptor artifactType")
  | _validate_oci_platform_at(at | .platform | select(. != null))
  | _validate_oci_annotations_haver_at(at)
;

def _validate_oci_subject_haver_at(at):
  _validate_oci_descriptor_at(at | .subject | select(. != null))
;

# Options shared by validate_oci_index/1 and validate_oci_image/1.
def _validate_oci_options($defaults; $options):
  if $options == null then
    $defaults
  elif ($options | type) == "object" then
    $defaults + $options
  else
    error("validation options must be an object, got \($options | tojson)")
  end
;

def _validate_oci_document_media_type_at(at; $options; $what):
  validate(
    at | .mediaType | select($options.requireMediaType or . != null);
    . as $mediaType | any($options.mediaTypes[]; . == $mediaType);
    "\($what) mediaType: one of \($options.mediaTypes | tojson)"
  )
;

# validate_oci_index(options): an image index.  Options (all optional):
#   mediaTypes: accepted values of .mediaType (default [media_type_oci_index];
#     pass [media_types_index] to also accept Docker manifest lists)
#   requireMediaType: whether .mediaType must be present (default false: the
#     spec says SHOULD)
#   manifestMediaTypes: when set, the accepted .manifests[].mediaType values
#     (default: any well-formed media type)
def _validate_oci_index_at(at; $options):
  _validate_oci_options({mediaTypes: [media_type_oci_index], requireMediaType: false, manifestMediaTypes: null}; $options) as $options
  | validate(at; type == "object"; "an image index object")
  | validate(at | .schemaVersion; . == 2; "schemaVersion 2")
  | _validate_oci_document_media_type_at(at; $options; "index")
  | _validate_oci_media_type_at(at | .artifactType | select(. != null); "index artifactType")
  | validate(at | .manifests; type == "array"; "manifests: an array of descriptors")
  | _validate_oci_descriptor_at(at | .manifests[])
  | if $options.manifestMediaTypes == null then
      .
    else
      validate(
        at | .manifests[] | .mediaType;
        . as $mediaType | any($options.manifestMediaTypes[]; . == $mediaType);
        "manifest mediaType: one of \($options.manifestMediaTypes | tojson)"
      )
    end
  | _validate_oci_subject_haver_at(at)
  | _validate_oci_annotations_haver_at(at)
;

# validate_oci_image(options): an image manifest.  Options (all optional):
#   mediaTypes: accepted values of .mediaType (default [media_type_oci_image];
#     pass [media_types_image] to also accept Docker v2 image manifests)
#   requireMediaType: whether .mediaType must be present (default false)
#   configMediaTypes / layerMediaTypes: when set, the accepted media types of
#     .config / .layers[] (default: any well-formed media type)
def _validate_oci_image_at(at; $options):
  _validate_oci_options(
    {mediaTypes: [media_type_oci_image], requireMediaType: false, configMediaTypes: null, layerMediaTypes: null};
    $options
  ) as $options
  | validate(at; type == "object"; "an image manifest object")
  | validate(at | .schemaVersion; . == 2; "schemaVersion 2")
  | _validate_oci_document_media_type_at(at; $options; "image manifest")
  | _validate_oci_media_type_at(at | .artifactType | select(. != null); "image manifest artifactType")
  | _validate_oci_descriptor_at(at | .config)
  | validate(at | .layers; type == "array"; "layers: an array of descriptors")
  | _validate_oci_descriptor_at(at | .layers[])
  | validate(
      at | select(.config.mediaType == "application/vnd.oci.empty.v1+json") | .artifactType;
      type == "string";
      "artifactType: required when config is the empty descriptor"
    )
  | if $options.configMediaTypes == null then
      .
    else
      validate(
        at | .config.mediaType;
        . as $mediaType | any($options.configMediaTypes[]; . == $mediaType);
        "config mediaType: one of \($options.configMediaTypes | tojson)"
      )
    end
  | if $options.layerMediaTypes == null then
      .
    else
      validate(
        at | .layers[] | .mediaType;
        . as $mediaType | any($options.layerMediaTypes[]; . == $mediaType);
        "layer mediaType: one of \($options.layerMediaTypes | tojson)"
      )
    end
  | _validate_oci_subject_haver_at(at)
  | _validate_oci_annotations_haver_at(at)
;

def validate_oci_digest: _validate_oci_digest_at(.);
def validate_oci_descriptor: _validate_oci_descriptor_at(.);
def validate_oci_annotations_haver: _validate_oci_annotations_haver_at(.);
def validate_oci_subject_haver: _validate_oci_subject_haver_at(.);
def validate_oci_index($options): _validate_oci_index_at(.; $options);
def validate_oci_index: validate_oci_index({});
def validate_oci_image($options): _validate_oci_image_at(.; $options);
def validate_oci_image: validate_oci_image({});

# The oci-layout file at the root of an image layout.
def validate_oci_layout_file:
  validate(.; type == "object"; "an oci-layout object")
  | validate(.imageLayoutVersion; . == "1.0.0"; "imageLayoutVersion \"1.0.0\"")
;
