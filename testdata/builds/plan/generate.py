#!/usr/bin/env python3
"""Writes the builds-metadata inputs of tests/plan_snapshots.rs.

Why generated: a build's digests, staging references and tags must agree
with each other across dozens of descriptors; writing them by hand invites
typos that would test nothing. The shapes follow builds metadata (buildId ->
{buildId, build: {img, resolved, sourceId, arch, parents, resolvedParents},
source: {sourceId, reproducibleGitChecksum, entries, arches}}); every name,
digest and size is our own. Deterministic: rerun it and `git diff` shows
nothing.

Run from anywhere: python3 testdata/builds/plan/generate.py
"""

import copy
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_IMAGE = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_IMAGE = "application/vnd.docker.distribution.manifest.v2+json"

ARCH_ANNOTATION = "com.docker.official-images.bashbrew.arch"
REF_NAME = "org.opencontainers.image.ref.name"

# bashbrew architecture -> (archTags namespace, platform as registries
# report it: "architecture" before "os", as in builds metadata).
ARCHES = {
    "amd64": ("amd64", {"architecture": "amd64", "os": "linux"}),
    "arm32v5": ("arm32v5", {"architecture": "arm", "os": "linux", "variant": "v5"}),
    "arm32v6": ("arm32v6", {"architecture": "arm", "os": "linux", "variant": "v6"}),
    "arm32v7": ("arm32v7", {"architecture": "arm", "os": "linux", "variant": "v7"}),
    "arm64v8": ("arm64v8", {"architecture": "arm64", "os": "linux", "variant": "v8"}),
    "i386": ("i386", {"architecture": "386", "os": "linux"}),
    "mips64le": ("mips64le", {"architecture": "mips64le", "os": "linux"}),
    "ppc64le": ("ppc64le", {"architecture": "ppc64le", "os": "linux"}),
    "riscv64": ("riscv64", {"architecture": "riscv64", "os": "linux"}),
    "s390x": ("s390x", {"architecture": "s390x", "os": "linux"}),
    "windows-amd64": ("winamd64", {"architecture": "amd64", "os": "windows"}),
}


def sha256(*parts):
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def digest(*parts):
    return "sha256:" + sha256(*parts)


def size(*parts, low=400, high=3000):
    return low + int(sha256("size", *parts)[:8], 16) % (high - low)


class Build:
    """One build: an image of one source for one architecture."""

    def __init__(self, repository, directory, arch, tags, resolved=True,
                 media_type=OCI_IMAGE, os_version=None, attestations=1,
                 platform=None, revision_seed=""):
        self.repository = repository
        self.directory = directory
        self.arch = arch
        self.tags = tags
        self.source_id = sha256("source", repository, directory, revision_seed)
        self.build_id = sha256("build", self.source_id, arch)
        self.img = f"example/staging-{arch}:{self.build_id}"
        self.revision = sha256("revision", repository, directory, revision_seed)[:40]
        namespace, default_platform = ARCHES[arch]
        self.namespace = namespace
        self.platform = dict(platform or default_platform)
        if os_version is not None:
            self.platform["os.version"] = os_version
        self.media_type = media_type
        self.manifests = []
        self.resolved = resolved
        if resolved:
            image = self.image_descriptor()
            self.manifests.append(image)
            for number in range(attestations):
                # Registries list the attestation next to its subject, but
                # nothing guarantees the order: put it first, so the sort
                # has to move it.
                self.manifests.insert(0, self.attestation_descriptor(image["digest"], number))

    def reference(self, manifest_digest):
        return f"{self.img}@{manifest_digest}"

    def image_descriptor(self, arch=None, platform=None, seed="image"):
        arch = arch or self.arch
        manifest_digest = digest(seed, self.build_id, arch)
        return {
            "mediaType": self.media_type,
            "digest": manifest_digest,
            "size": size(seed, self.build_id, arch),
            "annotations": {
                ARCH_ANNOTATION: arch,
                REF_NAME: self.reference(manifest_digest),
                "org.opencontainers.image.revision": self.revision,
                "org.opencontainers.image.source":
                    f"https://example.org/{self.repository}.git#{self.revision}:{self.directory}",
                "org.opencontainers.image.url": f"https://example.org/_/{self.repository}",
                "org.opencontainers.image.version": self.tags[0].split(":", 1)[1],
            },
            "platform": dict(platform or self.platform),
        }

    def attestation_descriptor(self, subject, number=0):
        manifest_digest = digest("attestation", self.build_id, str(number))
        return {
            "mediaType": OCI_IMAGE,
            "digest": manifest_digest,
            "size": size("attestation", self.build_id, str(number), low=500, high=1200),
            "annotations": {
                ARCH_ANNOTATION: self.arch,
                REF_NAME: self.reference(manifest_digest),
                "vnd.docker.reference.digest": subject,
                "vnd.docker.reference.type": "attestation-manifest",
            },
            "platform": {"architecture": "unknown", "os": "unknown"},
        }

    def index(self):
        list_type = DOCKER_LIST if self.media_type == DOCKER_IMAGE else OCI_INDEX
        return {
            "schemaVersion": 2,
            "mediaType": list_type,
            "manifests": self.manifests,
            "annotations": {REF_NAME: self.reference(digest("index", self.build_id))},
        }

    def as_json(self):
        build = {"img": self.img}
        if self.resolved is not None:
            build["resolved"] = self.index() if self.resolved else None
        parent = "example/base:1"
        build.update({
            "sourceId": self.source_id,
            "arch": self.arch,
            "parents": {parent: digest("parent", parent, self.arch)},
            "resolvedParents": {},
        })
        arch_tags = [f"{self.namespace}/{tag}" for tag in self.tags]
        platform = {key: value for key, value in self.platform.items() if key != "os.version"}
        os_name, architecture = platform["os"], platform["architecture"]
        return {
            "buildId": self.build_id,
            "build": build,
            "source": {
                "sourceId": self.source_id,
                "reproducibleGitChecksum": sha256("checksum", self.source_id),
                "entries": [{
                    "GitRepo": f"https://example.org/{self.repository}.git",
                    "GitFetch": "refs/heads/main",
                    "GitCommit": self.revision,
                    "Directory": self.directory,
                    "File": "Dockerfile",
                    "Builder": "classic" if self.media_type == DOCKER_IMAGE else "buildkit",
                    "SOURCE_DATE_EPOCH": 1767225600,
                }],
                "arches": {
                    self.arch: {
                        "tags": self.tags,
                        "archTags": arch_tags,
                        "froms": [parent],
                        "lastStageFrom": parent,
                        "platformString": f"{os_name}/{architecture}",
                        "platform": platform,
                        "parents": {parent: {"sourceId": None, "pin": None}},
                    }
                },
            },
        }


def write(name, builds, replacements=()):
    text = json.dumps({build.build_id: build.as_json() for build in builds},
                      indent="\t", ensure_ascii=False) + "\n"
    for placeholder, raw in replacements:
        assert json.dumps(placeholder) in text, placeholder
        text = text.replace(json.dumps(placeholder), raw)
    json.loads(text)
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as out:
        out.write(text)


def windows():
    """Shared Windows tags over several os.version values (ltsc2025,
    ltsc2022, 1809), Docker v2 manifests, and a Linux image in `latest`."""
    builds = []
    # Natural order, not text order: 10.0.20348.987 is older than
    # 10.0.20348.2762, so in "corvid:3.1-windows" the servercore image
    # (listed later in the input) must come first.
    nanoserver = {"ltsc2022": "10.0.20348.987", "1809": "10.0.17763.6414"}
    for release, version in nanoserver.items():
        tags = [f"corvid:3.1.4-nanoserver-{release}", f"corvid:3.1-nanoserver-{release}",
                "corvid:3.1.4-nanoserver", "corvid:3.1-nanoserver", "corvid:3.1-windows"]
        builds.append(Build("corvid", f"3.1/windows/nanoserver-{release}", "windows-amd64", tags,
                            media_type=DOCKER_IMAGE, os_version=version, attestations=0))
    servercore = {
        "ltsc2025": "10.0.26100.2314",
        "ltsc2022": "10.0.20348.2762",
        "1809": "10.0.17763.6414",
    }
    for release, version in servercore.items():
        tags = [f"corvid:3.1.4-windowsservercore-{release}", f"corvid:3.1-windowsservercore-{release}",
                "corvid:3.1.4-windowsservercore", "corvid:3.1-windowsservercore",
                "corvid:windowsservercore", "corvid:3.1.4", "corvid:3.1", "corvid:latest"]
        if release == "ltsc2022":
            tags.append("corvid:3.1-windows")
        builds.append(Build("corvid", f"3.1/windows/servercore-{release}", "windows-amd64", tags,
                            media_type=DOCKER_IMAGE, os_version=version, attestations=0))
    for arch in ["amd64", "arm64v8"]:
        tags = ["corvid:3.1.4-alpine", "corvid:3.1-alpine", "corvid:3.1.4", "corvid:3.1", "corvid:latest"]
        builds.append(Build("corvid", "3.1/alpine", arch, tags))
    write("windows.json", builds)


def dockerv2():
    """Docker v2 manifests in Docker manifest lists (no attestations, the
    classic builder), one architecture built as OCI, and arm32v7 with no
    variant in its platform (normalized to v7)."""
    tags = ["heron:2.0.1", "heron:2.0", "heron:2", "heron:latest"]
    builds = []
    for arch in ["amd64", "arm32v5", "arm32v7", "i386", "ppc64le", "s390x"]:
        platform = None
        if arch == "arm32v7":
            platform = {"architecture": "arm", "os": "linux"}
        builds.append(Build("heron", "2.0/debian", arch, tags, media_type=DOCKER_IMAGE,
                            attestations=0, platform=platform))
    builds.append(Build("heron", "2.0/debian", "arm64v8", tags))
    # Tags without amd64: the first manifest after sorting is arm64's OCI
    # image (an OCI index), then only Docker ones (a Docker list).
    slim = ["heron:2.0.1-slim", "heron:2-slim"]
    builds.append(Build("heron", "2.0/slim", "arm64v8", slim))
    builds.append(Build("heron", "2.0/slim", "s390x", slim, media_type=DOCKER_IMAGE, attestations=0))
    builds.append(Build("heron", "2.0/slim-docker", "ppc64le", ["heron:2.0.1-ppc"],
                        media_type=DOCKER_IMAGE, attestations=0))
    write("dockerv2.json", builds)


def attestations():
    """Ten architectures, each image with its attestation listed before it
    (amd64 with two), so every attestation must move right after its
    subject in the sorted list."""
    tags = ["kestrel:1.36.1", "kestrel:1.36", "kestrel:1", "kestrel:latest"]
    builds = []
    order = ["s390x", "riscv64", "ppc64le", "mips64le", "i386", "arm64v8", "arm32v7",
             "arm32v6", "arm32v5", "amd64"]
    for arch in order:
        builds.append(Build("kestrel", "1.36/glibc", arch, tags,
                            attestations=2 if arch == "amd64" else 1))
    write("attestations.json", builds)


def unresolved():
    """Builds that failed (`resolved: null`) or were never attempted (no
    `resolved` at all): their tags get nothing from them, and a tag only
    they claim is not published."""
    tags = ["plover:0.9", "plover:latest"]
    builds = [
        Build("plover", "0.9", "amd64", tags),
        Build("plover", "0.9", "arm64v8", tags, resolved=False),
        Build("plover", "0.9", "s390x", tags + ["plover:0.9-s390x-only"], resolved=False),
        Build("plover", "0.9", "ppc64le", tags, resolved=None),
        Build("plover", "0.9", "riscv64", tags),
    ]
    write("unresolved.json", builds)


def other_arch():
    """A build's resolved index that also lists another architecture's
    image (and one manifest with no arch annotation): neither may reach
    this build's tags, in the full plan or in either arch plan."""
    tags = ["wren:5", "wren:latest"]
    amd64 = Build("wren", "5", "amd64", tags)
    arm64 = Build("wren", "5", "arm64v8", tags)
    bleed = amd64.image_descriptor(arch="amd64", seed="bleed")
    bleed["annotations"][REF_NAME] = arm64.reference(bleed["digest"])
    unannotated = arm64.image_descriptor(seed="unannotated")
    del unannotated["annotations"][ARCH_ANNOTATION]
    arm64.manifests.insert(1, bleed)
    arm64.manifests.append(unannotated)
    arm32 = Build("wren", "5", "arm32v7", tags)
    arm32.manifests.append(arm32.image_descriptor(
        arch="arm32v6", platform=ARCHES["arm32v6"][1], seed="v6"))
    write("other-arch.json", [amd64, arm64, arm32])


def shared_tag():
    """Two builds of one architecture claiming one tag (both images are
    published under it), a tag listed twice by one build, and two
    directories whose tag lists end up equal (one object, both refs)."""
    one = Build("finch", "1", "amd64", ["finch:1", "finch:1", "finch:shared"])
    two = Build("finch", "2", "amd64", ["finch:2", "finch:shared"])
    two_arm = Build("finch", "2", "arm64v8", ["finch:2", "finch:shared"])
    # Same images under other names: these tags share finch:2's object.
    alias = Build("finch", "2", "amd64", ["finch:two"], revision_seed="alias")
    alias_arm = Build("finch", "2", "arm64v8", ["finch:two"], revision_seed="alias")
    alias.manifests = copy.deepcopy(two.manifests)
    alias_arm.manifests = copy.deepcopy(two_arm.manifests)
    write("shared-tag.json", [one, two, two_arm, alias, alias_arm])


def unicode():
    """Unicode and control characters in annotation keys and values, and in
    one tag: jq escapes controls and DEL as \\u00XX, prints the rest as raw
    UTF-8, and sorts keys by code point."""
    build = Build("ibis", "7", "amd64", ["ibis:7", "ibis:caf\u00e9"])
    image = build.manifests[-1]
    image["annotations"].update({
        "org.example.z": "z",
        "org.example.Z": "Z",
        "org.example.\u00e9": "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e",
        "org.example.\u0001": "start\u0001of\u0002heading",
        "org.example.\u007f": "delete\u007fme",
        "org.example.\u2028": "line\u2028separator\u2029paragraph",
        "org.example.\U0001F426": "bird \U0001F426 \U0001F1EB\U0001F1F7 flag",
        "org.example.quotes": "\"quoted\" back\\slash /slash\ttab\nnewline\r\u000b\u001f",
        "org.example.escaped": "@@ESCAPED@@",
    })
    arm = Build("ibis", "7", "arm64v8", ["ibis:7", "ibis:caf\u00e9"])
    arm.manifests[-1]["annotations"]["org.example.description"] = "\u00a0nbsp \u200bzwsp \ufeffbom"
    # The same characters written as JSON escapes, surrogate pair included.
    raw = '"\\u00e9\\ud83d\\udc26\\u2028\\u0001\\u007f\\u0000\\/"'
    write("unicode.json", [build, arm], replacements=[("@@ESCAPED@@", raw)])


def big_sizes():
    """Sizes beyond 2^53 and beyond 2^64: jq 1.7 prints an unchanged number
    literal as written (jq 1.6 rounded it to a double)."""
    builds = []
    sizes = {
        "amd64": 9007199254740993,
        "arm64v8": 123456789012345678901234567890,
        "s390x": 18446744073709551616,
        "ppc64le": 0,
    }
    for arch, value in sizes.items():
        build = Build("egret", "4", arch, ["egret:4", "egret:latest"])
        build.manifests[-1]["size"] = value
        builds.append(build)
    write("big-sizes.json", builds)


def empty():
    with open(os.path.join(HERE, "empty.json"), "w", encoding="utf-8") as out:
        out.write("{}\n")


if __name__ == "__main__":
    windows()
    dockerv2()
    attestations()
    unresolved()
    other_arch()
    shared_tag()
    unicode()
    big_sizes()
    empty()
