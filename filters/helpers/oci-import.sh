#!/usr/bin/env bash
# oci-import.sh TARGET < build.json
#
# What the commands that our `meta` module generates for a `Builder:
# oci-import` build run ("$BASHBREW_META_SCRIPTS/helpers/oci-import.sh"
# <<<"$build" temp): imports the build's OCI image layout from the git
# cache into TARGET, validated, with an index.json naming the one
# canonical index to push. All the work is the `oci-import` binary's
# (found on PATH); this file only keeps the path the commands name.
set -Eeuo pipefail
exec oci-import "$@"
