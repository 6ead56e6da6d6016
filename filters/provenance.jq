# The provenance statement of an image built on GitHub Actions.
#
# Why this module exists: an image built by a GitHub Actions workflow gets
# an in-toto statement saying which workflow, at which commit, with which
# inputs, built which image digest under which names, so anyone can check
# where an official image came from. The statement is assembled from the
# run's own context (the `github` and `runner` objects of the workflow), in
# the shape of the SLSA v1 provenance for GitHub Actions workflows
# (https://actions.github.io/buildtypes/workflow/v1).
# Written for the common subset of jq 1.6, jq 1.7 and our embedded engine.

include "meta";
include "oci";
include "validate";

# The parts of $github.workflow_ref ("OWNER/REPO/PATH@REF"): the repository
# the workflow file lives in, its path there, and the ref it was run from.
def _provenance_workflow:
  capture("^(?<repository>[^/]+/[^/]+)/(?<path>[^@]+)@(?<ref>.+)$")
  // error("github.workflow_ref must be OWNER/REPO/PATH@REF, not \(tojson)")
;

# github_actions_provenance($github; $runner; $digest): input one build.
# Output the in-toto v1 statement that the workflow run described by
# $github (the workflow's `github` context) on $runner (its `runner`
# context) built the image $digest ("sha256:...") under every name of the
# build. Only workflow_dispatch runs (the way our jobs start builds) are
# described: another event means the build was not started by us.
def github_actions_provenance($github; $runner; $digest):
  ($github | validate(.; type == "object"; "the workflow's github context: an object")) as $_
  | if $github.event_name != "workflow_dispatch" then
      error("github_actions_provenance: only workflow_dispatch runs are described, not event_name \($github.event_name | tojson)")
    else
      .
    end
  | (
      $github
      | validate(
          .server_url, .repository, .repository_id, .repository_owner_id, .ref, .sha,
          .workflow_ref, .workflow_sha, .run_id, .run_attempt;
          type == "string" and length > 0;
          "a non-empty string (github context)"
        )
    ) as $_
  | ($runner | validate(.environment; type == "string"; "the runner's environment (runner context)")) as $_
  | ($digest | validate_oci_digest | capture("^(?<algorithm>[^:]+):(?<encoded>.+)$")) as $parsed
  | ($github.workflow_ref | _provenance_workflow) as $workflow
  | .build.arch as $arch
  | (.source.arches[$arch].platformString // error("build \(.buildId): source.arches[\($arch | tojson)].platformString is missing")) as $platform
  | {
      _type: "https://in-toto.io/Statement/v1",
      subject: [
        _meta_image_names[]
        | {
            name: "pkg:docker/\(.)?platform=\($platform | @uri)",
            digest: {($parsed.algorithm): $parsed.encoded}
          }
      ],
      predicateType: "https://slsa.dev/provenance/v1",
      predicate: {
        buildDefinition: {
          buildType: "https://actions.github.io/buildtypes/workflow/v1",
          externalParameters: {
            workflow: {
              ref: $workflow.ref,
              repository: "\($github.server_url)/\($workflow.repository)",
              path: $workflow.path,
              digest: {gitCommit: $github.workflow_sha}
            },
            inputs: $github.event.inputs
          },
          internalParameters: {
            github: {
              event_name: $github.event_name,
              repository_id: $github.repository_id,
              repository_owner_id: $github.repository_owner_id,
              runner_environment: $runner.environment
            }
          },
          resolvedDependencies: [
            {
              uri: "git+\($github.server_url)/\($github.repository)@\($github.ref)",
              digest: {gitCommit: $github.sha}
            }
          ]
        },
        runDetails: {
          builder: {
            id: "\($github.server_url)/\($github.workflow_ref)"
          },
          metadata: {
            invocationId: "\($github.server_url)/\($github.repository)/actions/runs/\($github.run_id)/attempts/\($github.run_attempt)"
          }
        }
      }
    }
;
