#!/usr/bin/env bash
# Checks filters/*.jq with the system jq (Debian's jq 1.6) and then with jq
# 1.7.1 (../shared/peers/jq-1.7.1/jq): the modules must reproduce the
# reference tool's conformance outputs byte for byte and behave the same on
# every jq, because the same filters run on Debian's jq, on jq 1.7 and in our
# binary.
#
# Usage: bash tests/filters_jq.sh   (from anywhere; exits non-zero on failure)
#        JQ=target/debug/doi-jq bash tests/filters_jq.sh   (another
#        jq-compatible binary with -L)
# Environment: JQ (the jq to check, default `jq`), JQ17 (the jq 1.7.1 for the
# second pass, default ../shared/peers/jq-1.7.1/jq; empty: no second pass),
# CONFORMANCE (default ../shared/conformance/meta-scripts, both relative to
# the crate root).
# A missing jq, jq 1.7.1 or conformance folder is a SKIP with a message on a
# developer's machine, but a FAIL when CI is set (non-empty): CI installs
# everything (.ci/install-test-deps.sh), so a skip there would hide a broken
# setup.
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

JQ="${JQ:-jq}"
JQ17="${JQ17-../shared/peers/jq-1.7.1/jq}"
conformance="${CONFORMANCE:-../shared/conformance/meta-scripts}"
programs="testdata/meta/conformance"

# unavailable WHAT: a skip on a developer's machine, a failure under CI.
unavailable() {
	if [ -n "${CI:-}" ]; then
		echo "FAIL: $1 (CI is set, so this is a failure, not a skip)"
		return 1
	fi
	echo "SKIP: $1"
}

if ! command -v "$JQ" > /dev/null; then
	unavailable "filters_jq: no $JQ on PATH (.ci/install-test-deps.sh installs jq)"
	exit
fi
echo "filters_jq: checking with $JQ"
# Nothing of the caller's environment may change what the modules print.
unset BASHBREW_ARCH SOURCE_DATE_EPOCH BASHBREW_META_SCRIPTS

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }

# expect_bytes NAME EXPECTED_FILE JQ_ARGS...: jq's stdout must equal the file.
expect_bytes() {
	local name="$1" expected="$2"
	shift 2
	if "$JQ" "$@" > "$scratch/out" 2> "$scratch/err" && cmp -s "$scratch/out" "$expected"; then
		pass "$name"
	else
		fail "$name"
		head -c 2000 "$scratch/err"
		cmp "$scratch/out" "$expected" | head -5
	fi
}

# expect_output NAME EXPECTED_TEXT PROGRAM [INPUT_JSON]: compact output of
# PROGRAM (modules in filters/ on the search path) must be EXPECTED_TEXT.
expect_output() {
	local name="$1" expected="$2" program="$3" input="${4:-null}"
	local actual
	actual="$(printf '%s' "$input" | "$JQ" -c -L filters "$program" 2>&1)"
	if [ "$actual" = "$expected" ]; then
		pass "$name"
	else
		fail "$name"
		printf '  expected: %s\n  actual:   %s\n' "$expected" "$actual"
	fi
}

# expect_error NAME EXPECTED_SUBSTRING PROGRAM [INPUT_JSON]: PROGRAM must fail
# and its error message must contain EXPECTED_SUBSTRING.
expect_error() {
	local name="$1" expected="$2" program="$3" input="${4:-null}"
	local actual status
	actual="$(printf '%s' "$input" | "$JQ" -c -L filters "$program" 2>&1)"
	status=$?
	if [ "$status" -ne 0 ] && [[ "$actual" == *"$expected"* ]]; then
		pass "$name"
	else
		fail "$name"
		printf '  expected an error containing: %s\n  got (exit %s): %s\n' "$expected" "$status" "$actual"
	fi
}

# The platform matrix the reference's oci-sort-platforms output was made
# from: every platform once without a variant (spelled as missing, null and
# with a false field, all of which normalize away) and once per variant.
platform_matrix='
def variants:
  {
    amd64: ["v1", "v2", "v3", "v4"],
    arm64: ["v8", "v9", "v8.0", "v9.0", "v8.1", "v9.5"],
    arm: ["v5", "v6", "v7", "v8"],
    riscv64: ["rva20u64", "rva22u64"],
    ppc64le: ["power8", "power9", "power10"]
  }[.] // [];
def expand:
  ., ({variant: null} + .), (. + {features: false}),
  ((.architecture | variants[]) as $variant | {variant: $variant} + .);
({os: "linux"} | {architecture: ("386", "amd64", "arm", "arm64", "mips64le", "ppc64le", "riscv64", "s390x")} + . | expand),
({architecture: ("amd64", "arm64")} + {os: "windows", "os.version": ("10.0.20348.2340", "10.0.19042.1889", "10.0.19041.1415", "10.0.18363.1556", "10.0.18362.1256", "10.0.17763.5576", "10.0.17134.1305", "10.0.16299.1087", "10.0.14393.6796")} | expand),
({"os.version": ("12.1", "13.1"), architecture: ("amd64", "arm64"), os: "freebsd"} | expand),
{architecture: "unknown", os: "unknown"}
'
"$JQ" -n -c "$platform_matrix" > "$scratch/platforms.lines"
if command -v shuf > /dev/null; then
	shuf "$scratch/platforms.lines" | "$JQ" -s . > "$scratch/platforms.shuffled.json"
else
	sort -R "$scratch/platforms.lines" | "$JQ" -s . > "$scratch/platforms.shuffled.json"
fi
tac "$scratch/platforms.lines" | "$JQ" -s . > "$scratch/platforms.reversed.json"

deploy_all='include "deploy"; tagged_manifests(true; .source.arches[.build.arch].tags, .source.arches[.build.arch].archTags) | deploy_objects'
deploy_amd64='include "deploy"; arch_tagged_manifests("amd64") | deploy_objects'
sort_manifests='include "oci"; map(normalize_descriptor) | sort_manifests'
sort_platforms='include "oci"; map(normalize_platform) | unique | sort_by(sort_split_platform)'

# --- conformance: byte-exact reference outputs ---
if [ -d "$conformance" ]; then
	expect_bytes "deploy-amd64.out.json" "$conformance/deploy-amd64.out.json" \
		--tab -L filters "$deploy_amd64" "$conformance/builds.json"
	expect_bytes "deploy-all.out.json" "$conformance/deploy-all.out.json" \
		--tab -L filters "$deploy_all" "$conformance/builds.json"
	expect_bytes "oci-sort-manifests.out.json" "$conformance/oci-sort-manifests.out.json" \
		--tab -L filters "$sort_manifests" "$conformance/oci-sort-manifests.in.json"
	expect_bytes "oci-sort-platforms.out.json (shuffled matrix)" "$conformance/oci-sort-platforms.out.json" \
		--tab -L filters "$sort_platforms" "$scratch/platforms.shuffled.json"
	expect_bytes "oci-sort-platforms.out.json (reversed matrix)" "$conformance/oci-sort-platforms.out.json" \
		--tab -L filters "$sort_platforms" "$scratch/platforms.reversed.json"
	# every resolved index in the reference's builds passes our validator
	expect_output "validate_oci_index accepts every resolved build index" '55' \
		'include "oci"; [.[] | .build.resolved | select(.) | validate_oci_index({requireMediaType: true, mediaTypes: [media_types_index]})] | length' \
		"$(cat "$conformance/builds.json")"
	expect_output "validate_oci_index accepts every planned deploy index" '65' \
		'include "oci"; [.[] | .data | validate_oci_index({requireMediaType: true, mediaTypes: [media_types_index], manifestMediaTypes: [media_types_image]})] | length' \
		"$(cat "$conformance/deploy-all.out.json")"
	# the build side (meta, jenkins, provenance): the programs the
	# conformance README describes, kept in testdata/meta/conformance/
	SOURCE_DATE_EPOCH=0 expect_bytes "meta-commands.out.sh" "$conformance/meta-commands.out.sh" \
		-r -L filters -f "$programs/meta-commands.jq" "$conformance/builds.json"
	expect_bytes "oci-import.out.sh" "$conformance/oci-import.out.sh" \
		-r -L filters -f "$programs/oci-import.jq" "$conformance/builds.json"
	expect_bytes "meta-queue.out.json" "$conformance/meta-queue.out.json" \
		--tab -L filters -f "$programs/meta-queue.jq" "$conformance/meta-queue.in.json"
	expect_bytes "provenance.out.json" "$conformance/provenance.out.json" \
		--tab -L filters -f "$programs/provenance.jq" "$conformance/builds.json"
	# doi's SBOM list is the reference's sbom-subset.txt, in its order
	expect_output "doi: the SBOM repositories are sbom-subset.txt" 'true' \
		'include "doi"; _doi_sbom_repositories == (. / "\n" | map(select(. != "")))' \
		"$("$JQ" -Rs . < "$conformance/sbom-subset.txt")"
else
	unavailable "conformance checks: $conformance is absent" || failed=$((failed + 1))
fi

# --- sort.jq ---
expect_output "sort_split_natural orders digit runs numerically" \
	'["v1","v2","v9","v10","v10.1","v100"]' \
	'include "sort"; ["v10","v9","v100","v1","v10.1","v2"] | sort_by(sort_split_natural)'
expect_output "sort_split_natural keeps digit runs longer than a double exactly" \
	'["12345678901234567890","12345678901234567891"]' \
	'include "sort"; ["12345678901234567891","12345678901234567890"] | sort_by(sort_split_natural)'
expect_output "sort_split_desc: newest first, prefix first, empty last" \
	'["v10","v9","v9.5","v9.0","v8",""]' \
	'include "sort"; ["","v8","v9.0","v9","v10","v9.5"] | sort_by(sort_split_desc)'
expect_output "sort_split_desc puts the empty string last, also after digit-led strings" \
	'["v1","10","9",""]' \
	'include "sort"; ["","9","v1","10"] | sort_by(sort_split_desc)'
expect_output "sort_split_desc inverts plain strings and numbers" \
	'[["b",1],["ab",3],["ab",2],["a",9]]' \
	'include "sort"; [["a",9],["ab",2],["b",1],["ab",3]] | sort_by((.[0] | sort_split_desc), (.[1] | sort_split_desc))'
expect_output "sort_split_pref/1: preferred first in list order, rest natural" \
	'["amd64","arm64","386","arm","s390x"]' \
	'include "sort"; ["s390x","arm","arm64","386","amd64"] | sort_by(sort_split_pref("amd64", "arm64"))'
expect_output "sort_split_pref/2: last values go to the end in list order" \
	'["linux","freebsd","windows","unknown","other"]' \
	'include "sort"; ["other","windows","unknown","linux","freebsd"] | sort_by(sort_split_pref("linux"; "unknown", "other"))'
expect_output "sort_split_pref compares whole array values, not sub-arrays" \
	'[[1,2],[1],[2]]' \
	'include "sort"; [[2],[1],[1,2]] | sort_by(sort_split_pref([1,2]))'

# --- validate.jq ---
expect_output "validate passes its input through" '{"a":[1,2]}' \
	'include "validate"; validate(.a[]; type == "number") | validate(.a; length == 2; "two items") | validate(type == "object")' '{"a":[1,2]}'
expect_error "validate names the failing path and value" \
	'invalid value at ["a",1]: "x" (expected a number)' \
	'include "validate"; validate(.a[]; type == "number"; "a number")' '{"a":[1,"x"]}'
expect_error "validate reports errors raised by the condition" \
	'invalid value at ["m"]: "q" (expected a value that passes the validation check; the check raised: ' \
	'include "validate"; validate(.m; .x)' '{"m":"q"}'
expect_error "validate explains unreachable paths" \
	'validation could not reach the values to check' \
	'include "validate"; validate(.a[]; true)' '{"a":"s"}'
expect_error "validate/1 checks the input itself at path []" \
	'invalid value at []: 3' \
	'include "validate"; validate(. < 2)' '3'
expect_output "an error after validate is not swallowed by jq 1.6's try" '["caught: later"]' \
	'include "validate"; [try (validate(.a; true) | error("later")) catch "caught: \(.)"]' '{"a":1}'
expect_output "validate_IN accepts listed values" '"b"' \
	'include "validate"; validate_IN(.m; "a", "b") | .m' '{"m":"b"}'
expect_error "validate_IN lists the allowed values" \
	'invalid value at ["m"]: "x" (expected one of ["a","b"])' \
	'include "validate"; validate_IN(.m; "a", "b")' '{"m":"x"}'
expect_error "validate_IN/1 checks the input" 'invalid value at []: 3' \
	'include "validate"; validate_IN(1, 2)' '3'
expect_output "validate_length accepts listed lengths" '"ab"' \
	'include "validate"; validate_length(2, 4)' '"ab"'
expect_error "validate_length rejects other lengths and non-containers" \
	'invalid value at ["n"]: 5 (expected a string, array or object of length 1)' \
	'include "validate"; validate_length(.n; 1)' '{"n":5}'
expect_output "validate_one accepts exactly one alternative" '{"s":"1"}' \
	'include "validate"; validate_one(.s; type == "number", type == "string")' '{"s":"1"}'
expect_error "validate_one rejects two alternatives holding" \
	'invalid value at ["s"]: 1 (expected exactly one of the alternatives to hold)' \
	'include "validate"; validate_one(.s; type == "number", . == 1)' '{"s":1}'

# --- oci.jq ---
sha="sha256:$(printf '%064d' 0)"
descriptor='{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'"$sha"'","size":1}'
expect_output "media type groups" \
	'["application/vnd.oci.image.index.v1+json","application/vnd.docker.distribution.manifest.list.v2+json"]' \
	'include "oci"; [media_types_index]'
expect_output "media_types_layer has the four layer types" '4' 'include "oci"; [media_types_layer] | length'
expect_output "normalize_platform: defaults, drops unset, orders keys" \
	'[{"os":"linux","architecture":"arm","variant":"v7","os.version":"1","a":1,"z":1},{"os":"linux","architecture":"arm64","variant":"v8"},{"os":"linux","architecture":"amd64"}]' \
	'include "oci"; map(normalize_platform)' \
	'[{"z":1,"os.version":"1","architecture":"arm","a":1,"os":"linux","variant":false},{"architecture":"arm64","os":"linux","variant":null},{"architecture":"amd64","os":"linux","features":null}]'
expect_output "normalize_descriptor orders keys and annotations" \
	'{"mediaType":"m/t","artifactType":"a/t","digest":"d","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"},"annotations":{"a":"1","b":"2"},"other":true,"urls":["u"],"data":""}' \
	'include "oci"; normalize_descriptor' \
	'{"data":"","urls":["u"],"other":true,"annotations":{"b":"2","a":"1"},"platform":{"architecture":"arm64","os":"linux"},"size":1,"digest":"d","artifactType":"a/t","mediaType":"m/t"}'
expect_output "normalize_manifest orders top-level keys and normalizes descriptors" \
	'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"c/c","digest":"d","size":1},"layers":[{"mediaType":"l/l","digest":"e","size":2}],"annotations":{"a":"1","b":"2"}}' \
	'include "oci"; normalize_manifest' \
	'{"annotations":{"b":"2","a":"1"},"layers":[{"size":2,"digest":"e","mediaType":"l/l"}],"config":{"size":1,"mediaType":"c/c","digest":"d"},"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}'
expect_output "sort_attestations keeps orphans and attestations of attestations" \
	'["o","s","a1","a2"]' \
	'include "oci"; map({digest: .[0]} + if .[1] then {annotations: {"vnd.docker.reference.digest": .[1]}} else {} end) | sort_attestations | map(.digest)' \
	'[["a2","a1"],["o","missing"],["a1","s"],["s",null]]'
expect_output "validate_oci_digest accepts sha256 and other algorithms" '["'"$sha"'","multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"]' \
	'include "oci"; map(validate_oci_digest)' '["'"$sha"'","multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"]'
expect_error "validate_oci_digest rejects uppercase sha256" \
	'(expected a sha256 digest: 64 lowercase hexadecimal digits)' \
	'include "oci"; validate_oci_digest' "\"sha256:$(printf '%064d' 0 | tr 0 A)\""
expect_error "validate_oci_digest rejects a missing algorithm" \
	'invalid value at []: "abc" (expected an OCI digest (algorithm:encoded))' \
	'include "oci"; validate_oci_digest' '"abc"'
expect_output "validate_oci_descriptor accepts a minimal descriptor" '1' \
	'include "oci"; validate_oci_descriptor | .size' "$descriptor"
expect_error "validate_oci_descriptor rejects a negative size" \
	'invalid value at ["size"]: -1 (expected descriptor size: a non-negative integer)' \
	'include "oci"; .size = -1 | validate_oci_descriptor' "$descriptor"
expect_error "validate_oci_descriptor rejects a bad media type" \
	'invalid value at ["mediaType"]: "not a media type"' \
	'include "oci"; .mediaType = "not a media type" | validate_oci_descriptor' "$descriptor"
expect_error "validate_oci_descriptor checks the platform" \
	'invalid value at ["platform","os"]: null (expected platform os: a string)' \
	'include "oci"; .platform = {architecture: "amd64"} | validate_oci_descriptor' "$descriptor"
expect_error "validate_oci_annotations_haver wants string values" \
	'invalid value at ["annotations","n"]: 1 (expected an annotation value: a string)' \
	'include "oci"; validate_oci_annotations_haver' '{"annotations":{"s":"x","n":1}}'
expect_error "validate_oci_subject_haver validates the subject descriptor" \
	'invalid value at ["subject","digest"]: null' \
	'include "oci"; validate_oci_subject_haver' '{"subject":{"mediaType":"a/b","size":1}}'
expect_output "validate_oci_index accepts an OCI index" '1' \
	'include "oci"; {schemaVersion: 2, mediaType: media_type_oci_index, manifests: [.]} | validate_oci_index | .manifests | length' "$descriptor"
expect_error "validate_oci_index names the bad manifest" \
	'invalid value at ["manifests",1,"size"]: "1"' \
	'include "oci"; {schemaVersion: 2, manifests: [., (.size = "1")]} | validate_oci_index' "$descriptor"
expect_error "validate_oci_index rejects schemaVersion 1" \
	'invalid value at ["schemaVersion"]: 1 (expected schemaVersion 2)' \
	'include "oci"; {schemaVersion: 1, manifests: []} | validate_oci_index' "$descriptor"
expect_error "validate_oci_index refuses Docker lists unless allowed" \
	'(expected index mediaType: one of ["application/vnd.oci.image.index.v1+json"])' \
	'include "oci"; {schemaVersion: 2, mediaType: media_type_dockerv2_list, manifests: []} | validate_oci_index' "$descriptor"
expect_output "validate_oci_index/1 mediaTypes option allows Docker lists" '2' \
	'include "oci"; {schemaVersion: 2, mediaType: media_type_dockerv2_list, manifests: []} | validate_oci_index({mediaTypes: [media_types_index]}) | .schemaVersion' "$descriptor"
expect_error "validate_oci_index/1 requireMediaType" \
	'invalid value at ["mediaType"]: null' \
	'include "oci"; {schemaVersion: 2, manifests: []} | validate_oci_index({requireMediaType: true})' "$descriptor"
expect_error "validate_oci_index/1 manifestMediaTypes" \
	'invalid value at ["manifests",0,"mediaType"]: "application/vnd.oci.image.manifest.v1+json"' \
	'include "oci"; {schemaVersion: 2, manifests: [.]} | validate_oci_index({manifestMediaTypes: [media_type_dockerv2_image]})' "$descriptor"
expect_error "validate_oci_index/1 rejects options that are not an object" \
	'validation options must be an object' \
	'include "oci"; {schemaVersion: 2, manifests: []} | validate_oci_index([])' "$descriptor"
expect_output "validate_oci_image accepts an OCI image manifest" '2' \
	'include "oci"; {schemaVersion: 2, mediaType: media_type_oci_image, config: (.mediaType = media_type_oci_config), layers: [.mediaType = media_type_oci_layer_gzip]} | validate_oci_image({configMediaTypes: [media_types_config], layerMediaTypes: [media_types_layer]}) | .schemaVersion' "$descriptor"
expect_error "validate_oci_image requires layers" \
	'invalid value at ["layers"]: null (expected layers: an array of descriptors)' \
	'include "oci"; {schemaVersion: 2, config: .} | validate_oci_image' "$descriptor"
expect_error "validate_oci_image requires artifactType with an empty config" \
	'invalid value at ["artifactType"]: null (expected artifactType: required when config is the empty descriptor)' \
	'include "oci"; {schemaVersion: 2, config: (.mediaType = "application/vnd.oci.empty.v1+json"), layers: []} | validate_oci_image' "$descriptor"
expect_error "validate_oci_image/1 layerMediaTypes" \
	'invalid value at ["layers",0,"mediaType"]' \
	'include "oci"; {schemaVersion: 2, config: ., layers: [.]} | validate_oci_image({layerMediaTypes: [media_types_layer]})' "$descriptor"
expect_output "validate_oci_layout_file accepts 1.0.0" '"1.0.0"' \
	'include "oci"; validate_oci_layout_file | .imageLayoutVersion' '{"imageLayoutVersion":"1.0.0"}'
expect_error "validate_oci_layout_file rejects other versions" \
	'invalid value at ["imageLayoutVersion"]: "1.1.0"' \
	'include "oci"; validate_oci_layout_file' '{"imageLayoutVersion":"1.1.0"}'

# --- deploy.jq ---
builds='{
  "b1": {"build": {"arch": "amd64", "resolved": {"manifests": [
      {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": "sha256:1", "size": 1, "platform": {"os": "linux", "architecture": "amd64"},
       "annotations": {"com.docker.official-images.bashbrew.arch": "amd64", "org.opencontainers.image.ref.name": "staging:b1@sha256:1"}},
      {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": "sha256:x", "size": 1, "platform": {"os": "linux", "architecture": "arm64"},
       "annotations": {"com.docker.official-images.bashbrew.arch": "arm64v8", "org.opencontainers.image.ref.name": "staging:b1@sha256:x"}}]}},
         "source": {"arches": {"amd64": {"tags": ["img:1", "img:latest", "img:1"], "archTags": ["amd64/img:1"]}}}},
  "b2": {"build": {"arch": "arm64v8", "resolved": null},
         "source": {"arches": {"arm64v8": {"tags": ["img:1"], "archTags": ["arm64v8/img:1"]}}}},
  "b3": {"build": {"arch": "arm64v8", "resolved": {"manifests": [
      {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": "sha256:3", "size": 1, "platform": {"os": "linux", "architecture": "arm64"},
       "annotations": {"com.docker.official-images.bashbrew.arch": "arm64v8", "org.opencontainers.image.ref.name": "staging:b3@sha256:3"}}]}},
         "source": {"arches": {"arm64v8": {"tags": ["img:2", "img:1"], "archTags": ["arm64v8/img:1"]}}}}
}'
expect_output "tagged_manifests: arch-matched manifests, first-seen tags, each tag once per build" \
	'{"img:1":["sha256:1","sha256:3"],"img:latest":["sha256:1"],"img:2":["sha256:3"]}' \
	'include "deploy"; tagged_manifests(true; .source.arches[.build.arch].tags) | map_values(map(.digest))' "$builds"
expect_output "arch_tagged_manifests selects one architecture" \
	'{"arm64v8/img:1":["sha256:3"]}' \
	'include "deploy"; arch_tagged_manifests("arm64v8") | map_values(map(.digest))' "$builds"
expect_output "deploy_objects: shared lists share one object, Docker list type, lookup without digest" \
	'[{"refs":["img:1"],"lookup":{"sha256:1":"staging:b1","sha256:3":"staging:b3"},"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","annotations":[{"com.docker.official-images.bashbrew.arch":"amd64"},{"com.docker.official-images.bashbrew.arch":"arm64v8"}]},{"refs":["img:latest","amd64/img:1"],"lookup":{"sha256:1":"staging:b1"},"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","annotations":[{"com.docker.official-images.bashbrew.arch":"amd64"}]},{"refs":["img:2","arm64v8/img:1"],"lookup":{"sha256:3":"staging:b3"},"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","annotations":[{"com.docker.official-images.bashbrew.arch":"arm64v8"}]}]' \
	'include "deploy"; tagged_manifests(true; .source.arches[.build.arch].tags, .source.arches[.build.arch].archTags) | deploy_objects | map({refs, lookup, mediaType: .data.mediaType, annotations: [.data.manifests[].annotations]})' "$builds"
expect_output "deploy_objects: no tags, no objects" '[]' 'include "deploy"; deploy_objects' '{}'

# --- doi.jq, meta.jq, jenkins.jq, provenance.jq ---
# One build to vary: $as_arch moves it to another architecture.
d1="sha256:$(printf '%064d' 1)"
d2="sha256:$(printf '%064d' 2)"
build='{"buildId":"b1","build":{"img":"staging:b1","resolved":null,"arch":"amd64",
  "parents":{"alpine:3.19":"'"$d1"'"},
  "resolvedParents":{"alpine:3.19":{"manifests":[{"digest":"'"$d1"'","platform":{"os":"linux","architecture":"amd64"},"annotations":{"org.opencontainers.image.ref.name":"alpine@'"$d1"'"}}]}}},
  "source":{"entries":[{"GitRepo":"https://example.com/r.git","GitCommit":"c0ffee","Directory":"d","File":"Dockerfile","Builder":"","SOURCE_DATE_EPOCH":86400}],
  "arches":{"amd64":{"tags":["busybox:1.2"],"archTags":["amd64/busybox:1.2"],"lastStageFrom":"alpine:3.19","platformString":"linux/amd64"}}}}'
as_arch='def as_arch($a): .build.arch = $a | .source.arches = {($a): .source.arches.amd64};'
expect_output "build_should_sbom: SBOM repository on an SBOM arch" '[true,true,false,false]' \
	"include \"doi\"; $as_arch [build_should_sbom, (as_arch(\"riscv64\") | build_should_sbom), (as_arch(\"mips64le\") | build_should_sbom), (as_arch(\"arm32v6\") | build_should_sbom)]" "$build"
expect_output "build_should_sbom: other repositories get none; archTags name the repository too" '[false,true]' \
	'include "doi"; [(.source.arches.amd64.tags = ["docker:1"] | .source.arches.amd64.archTags = ["amd64/docker:1"] | build_should_sbom), (.source.arches.amd64.tags = [] | build_should_sbom)]' "$build"
expect_output "build_should_sign follows build_should_sbom" '[true,false]' \
	"include \"doi\"; $as_arch [build_should_sign, (as_arch(\"mips64le\") | build_should_sign)]" "$build"
expect_output "buildkit_provenance_builder_id" '"https://github.com/docker-library"' 'include "doi"; buildkit_provenance_builder_id'
expect_output "normalized_builder: empty is classic on Windows, buildkit elsewhere; a named builder stays" \
	'["buildkit","classic","oci-import","buildkit"]' \
	"include \"meta\"; $as_arch [normalized_builder, (as_arch(\"windows-amd64\") | normalized_builder), (.source.entries[0].Builder = \"oci-import\" | normalized_builder), (del(.source.entries[0].Builder) | normalized_builder)]" "$build"
expect_output "needs_build: only builds without an image" '[true,false]' \
	'include "meta"; [needs_build, (.build.resolved = {} | needs_build)]' "$build"
expect_output "normalize_ref_to_docker: short Hub names, no tag beside a digest" \
	'["alpine:3.19","tianon/true","x@sha256:1","oisupport/staging-amd64@sha256:1","localhost:5000/foo@sha256:1","localhost:5000/library/foo","library/a/b","mcr.microsoft.com/windows/servercore:ltsc2022"]' \
	'include "meta"; map(normalize_ref_to_docker)' \
	'["docker.io/library/alpine:3.19","index.docker.io/tianon/true","registry-1.docker.io/library/x:latest@sha256:1","oisupport/staging-amd64:b1@sha256:1","localhost:5000/foo:1@sha256:1","localhost:5000/library/foo","library/a/b","mcr.microsoft.com/windows/servercore:ltsc2022"]'
expect_output "unindent_and_decomment_jq: up to N tabs off, comment lines out" '"\n\ta\nb\n  c\n"' \
	'include "meta"; unindent_and_decomment_jq(2)' '"\n\t\t\ta\n\t\t# a comment\n\tb\n\t\t  c\n\t  # another\n"'
expect_output "git_build_url pins the commit" '"https://example.com/r.git#c0ffee:d"' 'include "meta"; git_build_url' "$build"
SOURCE_DATE_EPOCH=1700000000 expect_output "build_annotations: created from the environment, base digest of the last stage" \
	'{"org.opencontainers.image.source":"https://example.com/r.git#c0ffee:d","org.opencontainers.image.revision":"c0ffee","org.opencontainers.image.created":"2023-11-14T22:13:20Z","org.opencontainers.image.version":"1.2","org.opencontainers.image.url":"https://hub.docker.com/_/busybox","com.docker.official-images.bashbrew.arch":"amd64","org.opencontainers.image.base.name":"alpine:3.19","org.opencontainers.image.base.digest":"'"$d1"'"}' \
	'include "meta"; build_annotations' "$build"
SOURCE_DATE_EPOCH=1700000000 expect_output "build_annotations: oci-import uses its entry's SOURCE_DATE_EPOCH and names the repository" \
	'["https://example.com/r.git","1970-01-02T00:00:00Z"]' \
	'include "meta"; .source.entries[0].Builder = "oci-import" | build_annotations | [.["org.opencontainers.image.source"], .["org.opencontainers.image.created"]]' "$build"
expect_output "build_annotations: no tags and FROM scratch leave out version, url and base digest" \
	'["org.opencontainers.image.source","org.opencontainers.image.revision","org.opencontainers.image.created","com.docker.official-images.bashbrew.arch","org.opencontainers.image.base.name"]' \
	'include "meta"; .source.arches.amd64 |= (.tags = [] | .archTags = [] | .lastStageFrom = "scratch") | .build.parents = {} | build_annotations("u") | keys_unsorted' "$build"
expect_output "build_annotations: a namespaced repository's page is /r/" '"https://hub.docker.com/r/tianon/true"' \
	'include "meta"; .source.arches.amd64.tags = ["tianon/true:1"] | build_annotations("u") | .["org.opencontainers.image.url"]' "$build"
SOURCE_DATE_EPOCH=soon expect_error "build_annotations: a SOURCE_DATE_EPOCH that is no number stops the build" \
	'SOURCE_DATE_EPOCH (environment) must be a whole number of seconds since 1970, not "soon"' 'include "meta"; build_annotations' "$build"
SOURCE_DATE_EPOCH=0 expect_error "build_annotations: an oci-import entry's SOURCE_DATE_EPOCH is checked too" \
	"SOURCE_DATE_EPOCH of build b1's source entry must be a whole number of seconds from 1970 to 9999, not 1.5" \
	'include "meta"; .source.entries[0] |= (.Builder = "oci-import" | .SOURCE_DATE_EPOCH = 1.5) | build_annotations' "$build"
expect_error "commands: a missing field names its path and the build" \
	'invalid value at ["source","entries",0,"GitCommit"]: null (expected a non-empty string, in build b1)' \
	'include "meta"; del(.source.entries[0].GitCommit) | commands' "$build"
expect_error "commands: an unknown builder is an error, not a guess" \
	'build b1: unknown builder "kaniko" (source.entries[0].Builder; known: buildkit, classic, oci-import)' \
	'include "meta"; .source.entries[0].Builder = "kaniko" | commands' "$build"
expect_output "pull_command: classic pulls each pinned parent and tags it with its FROM name" \
	'"docker pull '"'alpine@$d1'"'\ndocker tag '"'alpine@$d1' 'alpine:3.19'"'"' \
	'include "meta"; .source.entries[0].Builder = "classic" | pull_command' "$build"
expect_output "pull_command: a FROM pinned by digest is not tagged; no ref.name means NAME@DIGEST" \
	'"docker pull '"'alpine@$d2'"'"' \
	'include "meta"; .source.entries[0].Builder = "classic" | .build.parents = {"alpine@'"$d2"'": "'"$d2"'"} | pull_command' "$build"
expect_output "pull_command: buildkit and oci-import pull nothing" '["",""]' \
	'include "meta"; [pull_command, (.source.entries[0].Builder = "oci-import" | pull_command)]' "$build"
expect_output "push_command: classic pushes from the daemon, the others push ./temp" \
	'["docker push '"'staging:b1'"'","crane push temp '"'staging:b1'"'\nrm -rf temp"]' \
	'include "meta"; [(.source.entries[0].Builder = "classic" | push_command), push_command]' "$build"
expect_output "commands: pull, build, push in that order" '["pull","build","push"]' 'include "meta"; commands | keys_unsorted' "$build"

queue='[{"buildId":"a","identifier":"x:a"},{"buildId":"b","identifier":"x:b"},{"buildId":"c","identifier":"x:c"}]'
expect_output "jobs_record: 2 hours after the third attempt the fourth may run, not a second before" \
	'[{"a":{"count":3,"lastTime":0,"identifier":"x:a","skip":true}},{"a":{"count":4,"lastTime":0,"identifier":"x:a","skip":false}}]' \
	'include "jenkins"; [.[:1] | jobs_record({a: {count: 3, lastTime: 0}}; 7199, 7200)]' "$queue"
expect_output "jobs_record: the delay stops growing at 32 hours" \
	'[true,false]' \
	'include "jenkins"; [.[:1] | jobs_record({a: {count: 20, lastTime: 1000}}; 1000 + 115199, 1000 + 115200) | .a.skip]' "$queue"
expect_output "jobs_record: a new build runs at once; fields of a past record are kept" \
	'{"a":{"count":1,"lastTime":null,"identifier":"x:a","skip":false},"b":{"count":2,"lastTime":5,"note":"n","identifier":"x:b","skip":false}}' \
	'include "jenkins"; .[:2] | jobs_record({b: {count: 1, lastTime: 5, note: "n"}}; 10)' "$queue"
expect_error "jobs_record: a bad past record names the build" \
	'invalid value at ["count"]: "3" (expected the attempt count of build a: a whole number)' \
	'include "jenkins"; jobs_record({a: {count: "3", lastTime: 0}}; 0)' "$queue"
expect_output "filter_skips_queue keeps what the record does not skip" '["a","c"]' \
	'include "jenkins"; filter_skips_queue({b: {skip: true}, c: {skip: false}}) | map(.buildId)' "$queue"
builds='{"u1":'"$build"',"u2":{"buildId":"u2","build":{"arch":"amd64","resolved":null},"source":{"arches":{"amd64":{"tags":[],"archTags":["amd64/busybox:2"]}}}},"u3":{"buildId":"u3","build":{"arch":"amd64","resolved":null},"source":{"arches":{}}},"done":{"buildId":"done","build":{"arch":"amd64","resolved":{}},"source":{}},"arm":{"buildId":"arm","build":{"arch":"arm64v8","resolved":null},"source":{}}}'
expect_output "get_arch_queue: unbuilt builds of the arch, in order, named by their first tag" \
	'[["b1","busybox:1.2"],["u2","amd64/busybox:2"],["u3","u3"]]' \
	'include "jenkins"; get_arch_queue("amd64") | map([.buildId, .identifier])' "$builds"
BASHBREW_ARCH=arm64v8 expect_output "get_arch_queue/0 is BASHBREW_ARCH's queue" '["arm"]' \
	'include "jenkins"; get_arch_queue | map(.buildId)' "$builds"
expect_error "get_arch_queue/0 needs BASHBREW_ARCH" 'BASHBREW_ARCH is not set' 'include "jenkins"; get_arch_queue' "$builds"
expect_error "get_arch_queue: a build without an arch is named" \
	'invalid value at ["x"]: {"build":{}} (expected a build with a build.arch)' \
	'include "jenkins"; get_arch_queue("amd64")' '{"x":{"build":{}}}'
windows="def on_windows(\$v): .build.arch = \"windows-amd64\" | .source.arches = {\"windows-amd64\": .source.arches.amd64} | .build.resolvedParents[\"alpine:3.19\"].manifests[0].platform[\"os.version\"] = \$v;"
expect_output "windows_version: the Windows Server release of the base image" '["2016","2019","2022","2025"]' \
	"include \"jenkins\"; $windows [on_windows(\"10.0.14393.1\", \"10.0.17763.5576\", \"10.0.20348.2340\", \"10.0.26100.1\") | windows_version]" "$build"
expect_error "windows_version: an unknown Windows build is an error" \
	'build b1: Windows os.version "10.0.19041.1" is no Windows Server release we know' \
	"include \"jenkins\"; $windows on_windows(\"10.0.19041.1\") | windows_version" "$build"
expect_error "windows_version: only for Windows builds" 'build b1: windows_version of a build for "amd64", not for Windows' \
	'include "jenkins"; windows_version' "$build"
expect_output "gha_payload: a Windows build names its runner's version" \
	'[{"ref":"main","inputs":{"buildId":"b1","bashbrewArch":"amd64","firstTag":"busybox:1.2"}},{"ref":"main","inputs":{"buildId":"b1","bashbrewArch":"windows-amd64","firstTag":"busybox:1.2","windowsVersion":"2019"}}]' \
	"include \"jenkins\"; $windows [gha_payload, (on_windows(\"10.0.17763.1\") | gha_payload)]" "$build"
deployable='{"p":{"buildId":"p","build":{"arch":"amd64","resolved":{"annotations":{"org.opencontainers.image.ref.name":"staging:p@'"$d1"'"}}},"source":{"arches":{"amd64":{"archTags":["amd64/x:1","amd64/x:shared","amd64/x:1"]}}}},
  "q":{"buildId":"q","build":{"arch":"amd64","resolved":{"annotations":{"org.opencontainers.image.ref.name":"staging:q@'"$d2"'"}}},"source":{"arches":{"amd64":{"archTags":["amd64/x:shared"]}}}},
  "r":{"buildId":"r","build":{"arch":"arm64v8","resolved":{"annotations":{"org.opencontainers.image.ref.name":"staging:r@'"$d2"'"}}},"source":{"arches":{"arm64v8":{"archTags":["arm64v8/x:1"]}}}},
  "s":{"buildId":"s","build":{"arch":"amd64","resolved":null},"source":{"arches":{"amd64":{"archTags":["amd64/x:2"]}}}}}'
BASHBREW_ARCH=amd64 expect_output "crane_deploy_commands: copy a tag one build claims (once), merge a tag several claim" \
	'["crane copy '"'staging:p@$d1' 'amd64/x:1'"'","crane index append --tag '"'amd64/x:shared' --manifest 'staging:p@$d1' --manifest 'staging:q@$d2'"' --flatten"]' \
	'include "jenkins"; [crane_deploy_commands]' "$deployable"
expect_error "crane_deploy_commands needs BASHBREW_ARCH" 'BASHBREW_ARCH is not set' 'include "jenkins"; crane_deploy_commands' "$deployable"
BASHBREW_ARCH=amd64 expect_error "crane_deploy_commands: a built build without its index reference is named" \
	'build p: build.resolved.annotations has no org.opencontainers.image.ref.name with a digest to deploy from' \
	'include "jenkins"; .p.build.resolved = {} | crane_deploy_commands' "$deployable"
github='{"event_name":"workflow_dispatch","event":{"inputs":{"buildId":"b1"}},"server_url":"https://github.com","repository":"o/r","repository_id":"1","repository_owner_id":"2","ref":"refs/heads/main","sha":"s","workflow_ref":"o/w/.github/workflows/b.yml@refs/tags/v1","workflow_sha":"ws","run_id":"3","run_attempt":"1"}'
expect_output "github_actions_provenance: the workflow comes from workflow_ref, the run from the repository" \
	'[["https://github.com/o/w",".github/workflows/b.yml","refs/tags/v1"],["git+https://github.com/o/r@refs/heads/main","https://github.com/o/r/actions/runs/3/attempts/1","https://github.com/o/w/.github/workflows/b.yml@refs/tags/v1","self-hosted"],["pkg:docker/busybox:1.2?platform=linux%2Famd64","pkg:docker/amd64/busybox:1.2?platform=linux%2Famd64","pkg:docker/staging:b1?platform=linux%2Famd64"],[{"sha256":"'"${d1#sha256:}"'"}]]' \
	'include "provenance"; github_actions_provenance('"$github"'; {environment: "self-hosted"}; "'"$d1"'")
	| [
	    (.predicate.buildDefinition.externalParameters.workflow | [.repository, .path, .ref]),
	    [.predicate.buildDefinition.resolvedDependencies[0].uri, .predicate.runDetails.metadata.invocationId, .predicate.runDetails.builder.id, .predicate.buildDefinition.internalParameters.github.runner_environment],
	    [.subject[].name],
	    [.subject[0].digest]
	  ]' "$build"
expect_error "github_actions_provenance: any event but workflow_dispatch is an error" \
	'github_actions_provenance: only workflow_dispatch runs are described, not event_name "push"' \
	'include "provenance"; github_actions_provenance('"$github"' | .event_name = "push"; {environment: "x"}; "'"$d1"'")' "$build"
expect_error "github_actions_provenance: the digest must be a digest" \
	'invalid value at []: "latest"' \
	'include "provenance"; github_actions_provenance('"$github"'; {environment: "x"}; "latest")' "$build"

# --- the same results on jq 1.7.1: this script again, with JQ17 as the jq ---
if [ -n "$JQ17" ]; then
	if [ -x "$JQ17" ] && "$JQ17" -n 1 > /dev/null 2>&1; then
		if JQ="$JQ17" JQ17="" bash "${BASH_SOURCE[0]}"; then
			pass "jq 1.7.1 ($JQ17): every check above"
		else
			fail "jq 1.7.1 ($JQ17): every check above"
		fi
	else
		unavailable "jq 1.7 checks: $JQ17 does not run (it needs ../shared/peers and libonig5; .ci/install-test-deps.sh installs libonig5)" \
			|| failed=$((failed + 1))
	fi
fi

echo "filters_jq: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
