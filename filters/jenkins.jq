# What the Jenkins jobs decide: which builds each arch queues, when a
# failing build is tried again, what a GitHub Actions build is triggered
# with, and how arch-specific tags are deployed.
#
# Why this module exists: the jobs run on many machines and must agree; a
# queue decided in Groovy on one and in shell on another would drift. The
# jobs only run these filters and act on what they print.
# Written for the common subset of jq 1.6, jq 1.7 and our embedded engine.

include "meta";
include "validate";

# BASHBREW_ARCH, which names the arch a job works for; a job for "no
# arch" must not quietly queue or deploy nothing.
def _jenkins_arch:
  $ENV.BASHBREW_ARCH // ""
  | if . == "" then error("BASHBREW_ARCH is not set (the architecture this job works for)") else . end
;

# Every build of builds metadata (an object buildId -> build, or an array
# of builds), checked to be a build of some architecture.
def _jenkins_builds:
  validate(.; type == "object" or type == "array"; "builds metadata: an object of builds")
  | validate(
      .[];
      type == "object" and (.build | type) == "object" and (.build.arch | type) == "string";
      "a build with a build.arch"
    )
  | .[]
;

# crane_deploy_commands: input builds metadata. Output: one shell command
# per architecture tag of BASHBREW_ARCH's built builds, in first-seen
# order, publishing the staged index there: `crane copy` when one build
# claims the tag, `crane index append ... --flatten` (one index of all
# their images) when several do.
def crane_deploy_commands:
  _jenkins_arch as $arch
  | reduce (
      _jenkins_builds
      | select(.build.arch == $arch and .build.resolved != null)
      | (.buildId | tostring) as $id
      | (
          .build.resolved.annotations["org.opencontainers.image.ref.name"]?
          | if type == "string" and test("@") then
              .
            else
              error("build \($id): build.resolved.annotations has no org.opencontainers.image.ref.name with a digest to deploy from")
            end
        ) as $source
      | (.source.arches[$arch].archTags // [])[]
      | [., $source]
    ) as [$tag, $source] ({};
      if has($tag) then
        if .[$tag] | index([$source]) then . else .[$tag] = .[$tag] + [$source] end
      else
        .[$tag] = [$source]
      end
    )
  | to_entries[]
  | .key as $tag
  | .value
  | if length == 1 then
      @sh "crane copy \(.[0]) \($tag)"
    else
      ([@sh "crane index append --tag \($tag)"] + map(@sh "--manifest \(.)") + ["--flatten"])
      | join(" ")
    end
;

# windows_version: the Windows Server release ("2019", "2022", ...) a
# Windows build's base image runs on, from the os.version of its pinned
# last-stage parent (else any pinned parent); a build of another
# architecture, or a Windows build number we do not know, is an error: the
# answer picks the machine it builds on.
def windows_version:
  .buildId as $id
  | .build.arch as $arch
  | if ($arch | type) != "string" or ($arch | startswith("windows-") | not) then
      error("build \($id): windows_version of a build for \($arch | tojson), not for Windows")
    else
      .
    end
  | .source.arches[$arch].lastStageFrom as $last
  | .build.resolvedParents as $resolved
  | [
      .build.parents // {}
      | to_entries
      | (map(select(.key == $last)) + map(select(.key != $last)))[]
      | .key as $from
      | .value as $digest
      | $resolved[$from].manifests? // []
      | .[]
      | select(type == "object" and .digest == $digest)
      | .platform["os.version"]?
      | strings
    ][0] as $version
  | if $version == null then
      error("build \($id): no pinned parent manifest has a platform os.version to tell its Windows version")
    else
      ($version | capture("^10[.]0[.](?<build>[0-9]+)([.]|$)").build? // "") as $build
      | {"14393": "2016", "17763": "2019", "20348": "2022", "26100": "2025"}[$build]
      // error("build \($id): Windows os.version \($version | tojson) is no Windows Server release we know")
    end
;

# gha_payload: input one build. Output the body of a workflow_dispatch
# request that builds it on GitHub Actions: the branch to run, and the
# inputs (the Windows version chooses the runner).
def gha_payload:
  {
    ref: "main",
    inputs: (
      {
        buildId: .buildId,
        bashbrewArch: .build.arch,
        firstTag: _meta_first_tag
      }
      + if .build.arch | type == "string" and startswith("windows-") then
          {windowsVersion: windows_version}
        else
          {}
        end
    )
  }
;

# get_arch_queue($arch): input builds metadata. Output the array of $arch's
# builds that need building, in input order, each with an `identifier`
# (its first tag) for the job to show.
def get_arch_queue($arch):
  [
    _jenkins_builds
    | select(.build.arch == $arch and needs_build)
    | .identifier = (_meta_first_tag // .buildId)
  ]
;

# get_arch_queue: the queue of BASHBREW_ARCH.
def get_arch_queue:
  get_arch_queue(_jenkins_arch)
;

# How long to wait before trying a build again that was tried $count times:
# the first retry at once, then 1, 2, 4, 8, 16 hours, and 32 at most, so a
# build that keeps failing costs a few runs a day instead of every run.
def _jenkins_retry_delay:
  [0, 0, 1, 2, 4, 8, 16, 32][if . < 7 then . else 7 end] * 3600
;

# jobs_record($pastJobs; $now): input a queue (get_arch_queue). Output the
# record of its jobs (an object buildId -> {count, lastTime, identifier,
# skip}; any other fields of a past record are kept), given the record of
# the previous run and the time now (seconds): a job whose retry delay
# (by its count) has not passed since lastTime is skipped and keeps its
# count; any other job runs and counts one more attempt. lastTime is kept:
# the job sets it when it actually starts the build.
def jobs_record($pastJobs; $now):
  ($now | validate(.; type == "number"; "the time now: seconds since 1970")) as $_
  | ($pastJobs | validate(.; . == null or type == "object"; "the past jobs record: an object of jobs")) as $_
  | reduce (
      .[]
      | (.buildId | tostring) as $id
      | (.identifier // _meta_first_tag // $id) as $identifier
      | ($pastJobs // {})[$id] // {count: 0, lastTime: null}
      | validate(.; type == "object"; "the past job of build \($id): an object")
      | validate(.count; type == "number" and . >= 0 and . == floor; "the attempt count of build \($id): a whole number")
      | validate(.lastTime; . == null or type == "number"; "the last start time of build \($id): seconds since 1970, or null")
      | (.lastTime != null and $now < .lastTime + (.count | _jenkins_retry_delay)) as $skip
      | .count = (if $skip then .count else .count + 1 end)
      | .identifier = $identifier
      | .skip = $skip
      | [$id, .]
    ) as [$id, $job] ({}; .[$id] = $job)
;

# filter_skips_queue($newJobs): input a queue. Output the builds of it that
# $newJobs (jobs_record's output) does not skip.
def filter_skips_queue($newJobs):
  map(select(($newJobs[.buildId | tostring].skip // false) | not))
;
