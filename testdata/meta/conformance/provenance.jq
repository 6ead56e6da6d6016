# provenance.out.json (--tab), input builds.json: the statements for the
# first built amd64 and windows-amd64 builds, as a workflow_dispatch run of
# docker-library/meta triggered with gha_payload would make them.
include "jenkins";
include "provenance";
[
  first(.[] | select(.build.resolved != null and .build.arch == "amd64")),
  first(.[] | select(.build.resolved != null and .build.arch == "windows-amd64"))
]
| map(
    gha_payload as $event
    | {
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
      } as $github
    | (.build.resolved.annotations["org.opencontainers.image.ref.name"] | split("@")[1]) as $digest
    | github_actions_provenance($github; {environment: "github-hosted"}; $digest)
  )
