# Everything the build-side modules say about each build of builds metadata,
# one compact line per build: tests/build_modules.rs runs it on doi-jq and
# on jq 1.7.1 and compares the bytes, then checks each answer against the
# rules the conformance files pin down. Run with SOURCE_DATE_EPOCH set.
include "doi";
include "meta";
include "jenkins";
include "provenance";

# The github context of a workflow_dispatch run of docker-library/meta
# started with $event (as provenance.out.json was made).
def github($event):
  {
    event: $event,
    event_name: "workflow_dispatch",
    ref: "refs/heads/\($event.ref)",
    repository: "docker-library/meta",
    repository_id: "1234",
    repository_owner_id: "5678",
    run_attempt: "2",
    run_id: "9001",
    server_url: "https://github.com",
    sha: "0123456789abcdef0123456789abcdef01234567",
    workflow_sha: "0123456789abcdef0123456789abcdef01234567",
    workflow_ref: "docker-library/meta/.github/workflows/build.yml@refs/heads/\($event.ref)"
  }
;

.[]
| {
    buildId,
    needs_build: needs_build,
    normalized_builder: normalized_builder,
    git_build_url: git_build_url,
    build_should_sbom: build_should_sbom,
    build_should_sign: build_should_sign,
    build_annotations: build_annotations,
    commands: commands,
    gha_payload: gha_payload,
    provenance: (
      if .build.resolved == null then
        null
      else
        (.build.resolved.annotations["org.opencontainers.image.ref.name"] | split("@")[1]) as $digest
        | github_actions_provenance(github(gha_payload); {environment: "github-hosted"}; $digest)
      end
    )
  }
