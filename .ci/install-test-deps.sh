#!/bin/sh
# Installs the tools the integration tests run for real (tests/support):
# docker-registry (CNCF distribution 2.8), skopeo (independent reader),
# htpasswd from apache2-utils (bcrypt users for Basic auth), openssl (token
# server key and JWT signatures), jq (reference behaviour: Debian's jq 1.6)
# and libonig5, the one library the jq 1.7.1 peer binary
# (../shared/peers/jq-1.7.1/jq, tests/filters_jq.sh) links beyond libc;
# tzdata, the zone files of the local-time tests.
# Idempotent: prints nothing and changes nothing when all are present, runs
# `apt-get update` at most once, and only when something is missing.
set -eu

missing=""
need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need docker-registry docker-registry
need skopeo skopeo
need htpasswd apache2-utils
need jq jq
need openssl openssl
# A library has no command to look for, so it is checked by its package.
package_installed() { # package_installed PACKAGE
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
need_package() { # need_package PACKAGE
	package_installed "$1" || missing="$missing $1"
}
need_package libonig5
# The zone files localtime/strflocaltime read for TZ=Europe/Berlin and the
# like (tests/doi_jq_cli.rs), as jq's C library does.
need_package tzdata

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=sudo
	else
		echo "install-test-deps: need root (or sudo) to install:$missing" >&2
		exit 1
	fi
else
	sudo=
fi

echo "install-test-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Only update the package lists when they were never fetched or an install
# from the current ones fails (stale mirror), so a warm runner stays offline.
# shellcheck disable=SC2086 # word splitting of $missing is intended
if ! $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends $missing
fi

# Distribution's Debian service would hold port 5000 and a storage dir for
# nothing; tests start their own registries.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
	$sudo systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

still=""
for tool in docker-registry skopeo htpasswd jq openssl; do
	command -v "$tool" >/dev/null 2>&1 || still="$still $tool"
done
package_installed libonig5 || still="$still libonig5"
if [ -n "$still" ]; then
	echo "install-test-deps: still missing after install:$still" >&2
	exit 1
fi
