#!/usr/bin/env bash
# oci-validate.sh [--quiet] LAYOUT
#
# Validates an OCI image layout down to every layer (see `oci-validate
# --help`), under the path scripts expect in "$BASHBREW_META_SCRIPTS/helpers".
# All the work is the `oci-validate` binary's (found on PATH).
set -Eeuo pipefail
exec oci-validate "$@"
