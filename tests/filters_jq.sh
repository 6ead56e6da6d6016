#!/usr/bin/env bash
# Checks filters/*.jq with the system jq (and, when the Python `jq` package is
# installed, with the jq 1.7 it bundles): the modules must reproduce the
# reference tool's conformance outputs byte for byte and behave the same on
# every jq, because the same filters run on Debian's jq and in our binary.
#
# Usage: bash tests/filters_jq.sh   (from anywhere; exits non-zero on failure)
#        JQ=target/debug/doi-jq bash tests/filters_jq.sh   (another jq-compatible
#        binary with -L; the jq 1.7 part always uses the Python binding)
# Conformance checks are skipped, with a message, when ../shared/conformance
# (relative to the crate root) is absent.
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

JQ="${JQ:-jq}"
if ! command -v "$JQ" > /dev/null; then
	echo "SKIP: filters_jq: no $JQ on PATH"
	exit 0
fi

conformance="../shared/conformance/meta-scripts"
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
else
	echo "SKIP: conformance checks: $conformance is absent"
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

# --- the same results on jq 1.7 (the Python jq package bundles it) ---
if [ -d "$conformance" ] && command -v python3 > /dev/null && python3 -c 'import jq' 2> /dev/null; then
	jq17_check() {
		local name="$1" program="$2" input="$3" expected="$4"
		if python3 - "$program" "$input" "$expected" <<-'PYTHON'; then
			# jq 1.7 through the Python binding: modules are pasted in front of
			# the program (the binding has no -L), output compared compactly.
			import json, re, subprocess, sys
			program, input_file, expected_file = sys.argv[1:4]
			import jq
			def module(name):
			    text = open(f"filters/{name}.jq").read()
			    return re.sub(r'^include "[a-z]+";[ \t]*$', "", text, flags=re.M)
			prelude = "\n".join(module(name) for name in ["sort", "validate", "oci", "deploy"])
			program = re.sub(r'^include "[a-z]+"; *', "", program)
			data = json.load(open(input_file))
			actual = jq.compile(prelude + "\n(" + program + ") | tojson").input_value(data).first()
			expected = subprocess.run(["jq", "-c", "."], stdin=open(expected_file), capture_output=True, text=True, check=True).stdout.strip()
			sys.exit(0 if actual == expected else 1)
			PYTHON
			pass "jq 1.7: $name"
		else
			fail "jq 1.7: $name"
		fi
	}
	jq17_check "deploy-amd64.out.json" "$deploy_amd64" "$conformance/builds.json" "$conformance/deploy-amd64.out.json"
	jq17_check "deploy-all.out.json" "$deploy_all" "$conformance/builds.json" "$conformance/deploy-all.out.json"
	jq17_check "oci-sort-manifests.out.json" "$sort_manifests" "$conformance/oci-sort-manifests.in.json" "$conformance/oci-sort-manifests.out.json"
	jq17_check "oci-sort-platforms.out.json" "$sort_platforms" "$scratch/platforms.shuffled.json" "$conformance/oci-sort-platforms.out.json"
else
	echo "SKIP: jq 1.7 checks: needs $conformance and the Python jq package"
fi

echo "filters_jq: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
