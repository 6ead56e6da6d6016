#!/usr/bin/env python3
"""Writes builds.json, the builds-metadata input of tests/build_modules.rs.

Why: the conformance data has three kinds of build (buildkit, classic on
Windows, oci-import), all with tidy names. These builds are our own and cover
what it lacks: buildkit builds with an SBOM and FROM scratch, several parents
(one from a staging repository, one recorded as docker.io/library/...), names
that need shell quoting, classic builds on Linux and on Windows Server 2019,
a parent lookup with no ref.name, architecture tags only, and oci-import
builds with and without an SBOM and their own SOURCE_DATE_EPOCH. Every name
and digest is made up. Deterministic: rerun it and `git diff` shows nothing.

Run from anywhere: python3 testdata/meta/generate.py
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def digest(char):
    return "sha256:" + char * 64


def entry(repo, commit, directory, builder, file="Dockerfile", sde=None, fetch="refs/heads/master"):
    value = {
        "GitRepo": repo,
        "GitFetch": fetch,
        "GitCommit": commit,
        "Directory": directory,
        "File": file,
        "Builder": builder,
    }
    if sde is not None:
        value["SOURCE_DATE_EPOCH"] = sde
    return value


def manifest(manifest_digest, ref, platform, arch):
    annotations = {"com.docker.official-images.bashbrew.arch": arch}
    if ref:
        annotations["org.opencontainers.image.ref.name"] = ref
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest,
        "size": 1234,
        "annotations": annotations,
        "platform": platform,
    }


def index(manifests, ref=None):
    value = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }
    if ref:
        value["annotations"] = {"org.opencontainers.image.ref.name": ref}
    return value


def linux(architecture, variant=None):
    value = {"architecture": architecture, "os": "linux"}
    if variant:
        value["variant"] = variant
    return value


def windows(version):
    return {"architecture": "amd64", "os": "windows", "os.version": version, "os.features": ["win32k"]}


def build(build_id, arch, built, parents, resolved_parents, source_entry, tags, arch_tags, froms, platform_string, platform):
    img = f"oisupport/staging-{arch}:{build_id}"
    resolved = None
    if built:
        resolved = index([manifest(digest("e"), f"{img}@{digest('e')}", platform, arch)], f"{img}@{digest('f')}")
    return {
        "buildId": build_id,
        "build": {
            "img": img,
            "resolved": resolved,
            "sourceId": "src-" + build_id,
            "arch": arch,
            "parents": parents,
            "resolvedParents": resolved_parents,
        },
        "source": {
            "sourceId": "src-" + build_id,
            "reproducibleGitChecksum": "0" * 64,
            "entries": [source_entry],
            "arches": {
                arch: {
                    "tags": tags,
                    "archTags": arch_tags,
                    "froms": froms,
                    "lastStageFrom": froms[-1],
                    "platformString": platform_string,
                    "platform": platform,
                    "parents": {name: {"sourceId": None, "pin": None} for name in froms},
                }
            },
        },
    }


BUILDS = [
    # buildkit FROM scratch, an SBOM repository on an SBOM arch: the --sbom
    # flag, no base.digest, no build context
    build(
        "buildkit-scratch-sbom", "amd64", True, {}, {},
        entry("https://github.com/debuerreotype/docker-debian-artifacts.git", "a" * 40, "bookworm", "buildkit", fetch="refs/heads/dist-amd64"),
        ["debian:bookworm", "debian:12", "debian:latest"], ["amd64/debian:bookworm"], ["scratch"], "linux/amd64", linux("amd64"),
    ),
    # buildkit multi-stage: a parent from staging (ref.name with tag and
    # digest) and one recorded as docker.io/library/..., whose index lists
    # another manifest first
    build(
        "buildkit-two-parents", "arm64v8", True,
        {"golang:1.22-alpine3.19": digest("1"), "alpine:3.19": digest("2")},
        {
            "golang:1.22-alpine3.19": index(
                [manifest(digest("1"), "oisupport/staging-arm64v8:golang-build@" + digest("1"), linux("arm64", "v8"), "arm64v8")],
                "oisupport/staging-arm64v8:golang-build@" + digest("3"),
            ),
            "alpine:3.19": index(
                [
                    manifest(digest("4"), "docker.io/library/alpine@" + digest("4"), linux("arm64", "v8"), "arm64v8"),
                    manifest(digest("2"), "docker.io/library/alpine@" + digest("2"), linux("arm64", "v8"), "arm64v8"),
                ],
                "docker.io/library/alpine@" + digest("5"),
            ),
        },
        entry("https://github.com/docker-library/golang.git", "b" * 40, "1.22/alpine3.19", "buildkit"),
        ["golang:1.22.1-alpine3.19", "golang:1.22-alpine3.19"], ["arm64v8/golang:1.22.1-alpine3.19"],
        ["golang:1.22-alpine3.19", "alpine:3.19"], "linux/arm64/v8", linux("arm64", "v8"),
    ),
    # an empty Builder on Linux means buildkit; arm32v6 gets no SBOM; a
    # directory and a file name that need shell quoting
    build(
        "buildkit-quoting", "arm32v6", False, {"alpine:3.19": digest("6")},
        {"alpine:3.19": index([manifest(digest("6"), "alpine@" + digest("6"), linux("arm", "v6"), "arm32v6")], "alpine@" + digest("5"))},
        entry("https://github.com/docker-library/golang.git", "c" * 40, "odd dir/it's", "", file="Dockerfile.$HOME"),
        ["golang:1.22-alpine3.19"], ["arm32v6/golang:1.22-alpine3.19"], ["alpine:3.19"], "linux/arm/v6", linux("arm", "v6"),
    ),
    # an empty Builder on Windows means classic: two parents pulled and
    # tagged, one from staging
    build(
        "classic-windows-2022", "windows-amd64", True,
        {"mcr.microsoft.com/windows/servercore:ltsc2022": digest("7"), "docker:24-windowsservercore": digest("8")},
        {
            "mcr.microsoft.com/windows/servercore:ltsc2022": index(
                [manifest(digest("7"), "mcr.microsoft.com/windows/servercore@" + digest("7"), windows("10.0.20348.2340"), "windows-amd64")],
                "mcr.microsoft.com/windows/servercore@" + digest("9"),
            ),
            "docker:24-windowsservercore": index(
                [manifest(digest("8"), "oisupport/staging-windows-amd64:docker-build@" + digest("8"), windows("10.0.20348.2340"), "windows-amd64")],
                "oisupport/staging-windows-amd64:docker-build@" + digest("a"),
            ),
        },
        entry("https://github.com/docker-library/docker.git", "d" * 40, "24/windows/windowsservercore-ltsc2022", ""),
        ["docker:24-windowsservercore-ltsc2022-extra"], ["winamd64/docker:24-windowsservercore-ltsc2022-extra"],
        ["mcr.microsoft.com/windows/servercore:ltsc2022", "docker:24-windowsservercore"], "windows/amd64", windows("10.0.20348.2340"),
    ),
    # a Windows Server 2019 base and architecture tags only: the version
    # annotation and the queue's identifier come from those
    build(
        "classic-windows-2019", "windows-amd64", False,
        {"mcr.microsoft.com/windows/nanoserver:1809": digest("b")},
        {"mcr.microsoft.com/windows/nanoserver:1809": index([manifest(digest("b"), "mcr.microsoft.com/windows/nanoserver@" + digest("b"), windows("10.0.17763.5576"), "windows-amd64")])},
        entry("https://github.com/docker-library/golang.git", "e" * 40, "1.22/windows/nanoserver-1809", "classic"),
        [], ["winamd64/golang:1.22-nanoserver-1809"], ["mcr.microsoft.com/windows/nanoserver:1809"], "windows/amd64", windows("10.0.17763.5576"),
    ),
    # classic asked for on Linux; the parent's lookup recorded no ref.name,
    # so it is pulled by its own name at the pinned digest
    build(
        "classic-linux", "amd64", True, {"debian:bookworm-slim": digest("c")},
        {"debian:bookworm-slim": index([manifest(digest("c"), None, linux("amd64"), "amd64")])},
        entry("https://github.com/docker-library/httpd.git", "f" * 40, "2.4", "classic"),
        ["httpd:2.4"], ["amd64/httpd:2.4"], ["debian:bookworm-slim"], "linux/amd64", linux("amd64"),
    ),
    # oci-import with an SBOM (busybox on riscv64) and a SOURCE_DATE_EPOCH
    # of its own
    build(
        "oci-import-sbom", "riscv64", True, {}, {},
        entry("https://github.com/docker-library/busybox.git", "1" * 40, "latest/musl/riscv64", "oci-import", file="index.json", sde=1700000000, fetch="refs/heads/dist-riscv64"),
        ["busybox:1.36.1-musl", "busybox:musl"], ["riscv64/busybox:1.36.1-musl"], ["scratch"], "linux/riscv64", linux("riscv64"),
    ),
    # oci-import without an SBOM (mips64le) and without a SOURCE_DATE_EPOCH
    # of its own (the environment's applies)
    build(
        "oci-import-no-sbom", "mips64le", False, {}, {},
        entry("https://github.com/docker-library/busybox.git", "2" * 40, "latest/uclibc/mips64le", "oci-import", file="index.json"),
        ["busybox:1.36.1-uclibc"], ["mips64le/busybox:1.36.1-uclibc"], ["scratch"], "linux/mips64le", linux("mips64le"),
    ),
]


def main():
    builds = {value["buildId"]: value for value in BUILDS}
    with open(os.path.join(HERE, "builds.json"), "w") as output:
        json.dump(builds, output, indent="\t", ensure_ascii=False)
        output.write("\n")


if __name__ == "__main__":
    main()
