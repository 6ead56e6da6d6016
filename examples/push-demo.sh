#!/usr/bin/env bash
# A push from start to finish on this machine, with nothing leaving it:
#
#   cargo build --release --bins && examples/push-demo.sh
#
# 1. starts Debian's docker-registry on a free 127.0.0.1 port, its storage
#    in a temporary directory (`apt-get install docker-registry`);
# 2. writes a small library as deploy objects (a layer and a config blob,
#    an image manifest tagged 1.0, 1 and latest) and pushes it with deploy;
# 3. runs the same input with deploy --dry-run, which prints nothing: every
#    tag is already exactly what was asked;
# 4. looks the tags up (the synthesized index, then the manifest itself);
# 5. stops the registry and removes its storage, whatever happened.
#
# The binaries come from $DOI_BIN (a directory), else target/release.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${DOI_BIN:-$root/target/release}
for tool in deploy lookup; do
    if [ ! -x "$bin/$tool" ]; then
        echo "push-demo: error: $bin/$tool is missing; run: cargo build --release --bins" >&2
        exit 1
    fi
done
if ! command -v docker-registry >/dev/null; then
    echo "push-demo: error: docker-registry is missing; run: sudo apt-get install docker-registry" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/doi-push-demo.XXXXXX")
registry_pid=
cleanup() {
    if [ -n "$registry_pid" ]; then
        kill "$registry_pid" 2>/dev/null || true
        wait "$registry_pid" 2>/dev/null || true
    fi
    rm -rf -- "$work"
}
trap cleanup EXIT

# A free 127.0.0.1 port, below the kernel's ephemeral range (where other
# programs' bind-to-0 ports come from); another program may still take it
# before the registry binds it, so a start that finds it taken tries again.
start_registry() {
    local port=$((20000 + RANDOM % 12000))
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        return 1
    fi
    host=127.0.0.1:$port
    cat >"$work/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $host
EOF
    docker-registry serve "$work/config.yml" 2>"$work/registry.log" &
    registry_pid=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$registry_pid" 2>/dev/null; then
            wait "$registry_pid" 2>/dev/null || true
            registry_pid=
            return 1
        fi
        sleep 0.1
    done
    return 1
}
started=
for _ in $(seq 20); do
    if start_registry; then
        started=yes
        break
    fi
done
if [ -z "$started" ]; then
    echo "push-demo: error: docker-registry did not start:" >&2
    cat "$work/registry.log" >&2 2>/dev/null || true
    exit 1
fi
echo "== registry: docker-registry on $host, storage in $work/storage"

# The library: one layer (a real tar of one file), its config, a manifest.
sha256() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c <"$1" | tr -d ' '; }
mkdir "$work/rootfs"
echo "hello from doi-deploy" >"$work/rootfs/hello.txt"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -C "$work/rootfs" -cf "$work/layer.tar" hello.txt
layer=sha256:$(sha256 "$work/layer.tar")
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{"Cmd":["cat","/hello.txt"]}}' \
    "$layer" >"$work/config.json"
config=sha256:$(sha256 "$work/config.json")
repository=$host/demo/hello
cat >"$work/library.json" <<EOF
{"type": "blob", "refs": ["$repository@$layer"], "data": "$(base64 -w0 "$work/layer.tar")"}
{"type": "blob", "refs": ["$repository@$config"], "data": "$(base64 -w0 "$work/config.json")"}
{"type": "manifest", "refs": ["$repository:1.0", "$repository:1", "$repository:latest"], "data": {
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "$config", "size": $(size "$work/config.json")},
  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "$layer", "size": $(size "$work/layer.tar")}]
}}
EOF
echo "== deploy objects ($work/library.json):"
sed 's/"data": "[^"]*"/"data": "<base64>"/' "$work/library.json"

# Our binaries read no Docker credentials of yours for this throwaway
# registry: an empty config directory.
export DOCKER_CONFIG=$work/docker-config
mkdir "$DOCKER_CONFIG"

echo "== deploy < library.json"
"$bin/deploy" <"$work/library.json" 2>&1

echo "== deploy --dry-run < library.json (prints what would change: nothing)"
"$bin/deploy" --dry-run <"$work/library.json" >"$work/dry-run.out"
cat "$work/dry-run.out"
if [ -s "$work/dry-run.out" ]; then
    echo "push-demo: error: the dry run after the push is not empty" >&2
    exit 1
fi
echo "(empty)"

echo "== lookup $repository:latest (the synthesized index)"
"$bin/lookup" "$repository:latest"
echo "== lookup --type manifest $repository:1.0"
"$bin/lookup" --type manifest "$repository:1.0"
echo "== done; stopping the registry"
