//! `oci-push LAYOUT REF...`: the three busybox fixtures, imported offline,
//! pushed to a real registry and read back by an independent client
//! (skopeo) and by `lookup`; the requests counted through a proxy of ours
//! (a re-push is one HEAD per REF, later repositories mount, an upload that
//! fails is retried from the layout); Basic and token auth; and a broken
//! layout or a bad REF sends nothing at all.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use doi::spec::annotation::REF_NAME;

use crate::oci_util::{self, Recipe};
use crate::support::bounded::{run_bounded, Finished};
use crate::support::{self, Fault, FaultProxy, Match, Registry, RegistryAuth};

/// Long enough that only a hang reaches it.
const DEADLINE: Duration = Duration::from_secs(120);

fn oci_push(arguments: &[&str], env: &[(&str, &str)]) -> Finished {
    run_bounded(
        env!("CARGO_BIN_EXE_oci-push"),
        arguments,
        b"",
        env,
        DEADLINE,
    )
}

/// `oci-push LAYOUT REF...` that must succeed; returns its stderr.
fn pushed(layout: &Path, refs: &[&str], env: &[(&str, &str)]) -> String {
    // --stats: the tests read the requests by kind and the retries.
    let mut arguments = vec!["--stats", layout.to_str().unwrap()];
    arguments.extend_from_slice(refs);
    let run = oci_push(&arguments, env);
    let stderr = run.stderr();
    assert_eq!(run.code(), 0, "oci-push {refs:?}: {stderr}");
    stderr
}

/// `oci-push` that must be refused: exit `code`, one line on stderr,
/// nothing on stdout; returns that line.
fn refused(arguments: &[&str], code: i32) -> String {
    let run = oci_push(arguments, &[]);
    let stderr = run.stderr();
    assert_eq!(run.code(), code, "{stderr}");
    assert!(run.output.stdout.is_empty(), "{}", run.stdout());
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("oci-push: error: "), "{stderr}");
    stderr.trim_end().to_string()
}

/// The three fixtures imported (offline, from the bundle) as the pipeline
/// imports them before a push.
struct Imported {
    fixtures: PathBuf,
    _cache: tempfile::TempDir,
    parent: tempfile::TempDir,
}

impl Imported {
    fn new() -> Option<Imported> {
        let fixtures = oci_util::fixtures()?;
        let cache = oci_util::seeded_cache(&fixtures);
        let parent = tempfile::tempdir().unwrap();
        for name in oci_util::FIXTURE_NAMES {
            oci_util::import_fixture(&fixtures, cache.path(), name, parent.path());
        }
        Some(Imported {
            fixtures,
            _cache: cache,
            parent,
        })
    }

    fn layout(&self, name: &str) -> PathBuf {
        self.parent.path().join(name)
    }

    fn canonical_index(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.fixtures.join(format!("{name}.canonical-index.json"))).unwrap()
    }

    /// The digests of fixture `name`: its canonical index, and the image
    /// manifest, config and layer below it.
    fn digests(&self, name: &str) -> [String; 4] {
        let canonical = self.canonical_index(name);
        let index: Value = serde_json::from_slice(&canonical).unwrap();
        let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
        let manifest: Value = serde_json::from_slice(&self.blob(name, manifest_digest)).unwrap();
        let digest = |descriptor: &Value| descriptor["digest"].as_str().unwrap().to_string();
        [
            oci_util::sha256(&canonical),
            manifest_digest.to_string(),
            digest(&manifest["config"]),
            digest(&manifest["layers"][0]),
        ]
    }

    /// The blob file of `digest` in fixture `name`'s layout.
    fn blob(&self, name: &str, digest: &str) -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").unwrap();
        std::fs::read(self.layout(name).join("blobs/sha256").join(hex)).unwrap()
    }
}

/// A proxy request as `METHOD KIND REPOSITORY`: KIND is `manifest`, `blob`
/// (a HEAD or GET of one), `upload` (POST or PUT of an upload) or `mount`.
fn describe(method: &str, target: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let rest = path.strip_prefix("/v2/").unwrap_or(path);
    let (repository, kind) = if let Some(at) = rest.find("/manifests/") {
        (&rest[..at], "manifest")
    } else if let Some(at) = rest.find("/blobs/uploads") {
        let kind = if query.contains("mount=") {
            "mount"
        } else {
            "upload"
        };
        (&rest[..at], kind)
    } else if let Some(at) = rest.find("/blobs/") {
        (&rest[..at], "blob")
    } else {
        ("", rest)
    };
    format!("{method} {kind} {repository}")
}

fn requests(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .records()
        .iter()
        .map(|record| describe(&record.method, &record.path))
        .collect()
}

/// What a first push of a busybox layout to a repository sends (measured
/// on distribution 2.8, which takes no single-POST uploads).
fn first_push(repository: &str) -> Vec<String> {
    [
        "HEAD manifest", // the index: not there
        "PUT manifest",  // refused: its children are missing
        "POST upload",   // the config, offered in one POST
        "PUT upload",    // the registry wants the PUT
        "HEAD blob",     // the layer (over 64 KiB): looked for first
        "POST upload",
        "PUT upload",   // streamed from the layout
        "PUT manifest", // the image manifest, by digest
        "PUT manifest", // the index again, by tag
    ]
    .iter()
    .map(|step| format!("{step} {repository}"))
    .collect()
}

/// What a push to another repository of a registry that got the layout
/// in this run sends: mounts, no bytes.
fn mounted_push(repository: &str) -> Vec<String> {
    [
        "HEAD manifest",
        "PUT manifest",
        "POST mount", // the config
        "POST mount", // the layer
        "PUT manifest",
        "PUT manifest",
    ]
    .iter()
    .map(|step| format!("{step} {repository}"))
    .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// What `lookup REF` prints for a pushed canonical index: the index with
/// `org.opencontainers.image.ref.name` added to it and to its manifest.
fn expected_lookup(canonical: &[u8], reference: &str) -> Value {
    let mut index: Value = serde_json::from_slice(canonical).unwrap();
    let index_digest = oci_util::sha256(canonical);
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    index["manifests"][0]["annotations"][REF_NAME] =
        json!(format!("{reference}@{manifest_digest}"));
    index["annotations"] = json!({ REF_NAME: format!("{reference}@{index_digest}") });
    index
}

fn lookup(reference: &str) -> Value {
    let run = run_bounded(
        env!("CARGO_BIN_EXE_lookup"),
        &[reference],
        b"",
        &[],
        DEADLINE,
    );
    assert_eq!(run.code(), 0, "lookup {reference}: {}", run.stderr());
    serde_json::from_slice(&run.output.stdout).unwrap()
}

/// `skopeo copy --all` of `docker://SOURCE` into an `oci:` directory.
fn skopeo_copy(source: &str, creds: Option<&str>) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new("skopeo");
    command.args(["copy", "--all", "--src-tls-verify=false"]);
    if let Some(creds) = creds {
        command.arg("--src-creds").arg(creds);
    }
    let output = command
        .arg(format!("docker://{source}"))
        .arg(format!("oci:{}:copied", directory.path().display()))
        .output()
        .expect("run skopeo copy");
    assert!(
        output.status.success(),
        "skopeo copy {source}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    directory
}

fn nothing_stored(registry: &Registry) -> bool {
    !registry
        .storage_path()
        .join("docker/registry/v2/repositories")
        .exists()
}

fn docker_config(host: &str, (user, password): (&str, &str)) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        directory.path().join("config.json"),
        json!({"auths": {host: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    directory
}

#[test]
fn the_three_fixtures_push_byte_exact_and_read_back() {
    if !support::require_registry() || !support::require_tools(&["skopeo"]) {
        return;
    }
    let Some(imported) = Imported::new() else {
        return;
    };
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    for name in oci_util::FIXTURE_NAMES {
        let tag = format!("{}/busybox:{name}", proxy.host());
        proxy.reset_counts();
        let log = pushed(&imported.layout(name), &[&tag], &[]);
        assert!(
            log.contains("oci-push summary: 1 pushed, 0 already there, 0 failed"),
            "{log}"
        );
        assert!(
            log.contains("oci-push: requests: 9 (HEAD 2, GET 0, PUT 5, POST 2, mount 0,"),
            "{log}"
        );
        assert_eq!(requests(&proxy), first_push("busybox"), "{}", proxy.log());

        let canonical = imported.canonical_index(name);
        assert_eq!(
            registry.skopeo_inspect_raw(&format!("busybox:{name}")),
            canonical,
            "{name}"
        );
        // Everything below the index is really there: an independent
        // client copies it out whole, byte for byte.
        let copy = skopeo_copy(&format!("{}/busybox:{name}", registry.host()), None);
        for digest in &imported.digests(name) {
            let copied = std::fs::read(copy.path().join("blobs/sha256").join(&digest[7..]))
                .unwrap_or_else(|error| panic!("{name}: {digest} not copied: {error}"));
            assert_eq!(copied, imported.blob(name, digest), "{name}: {digest}");
        }
        assert_eq!(lookup(&tag), expected_lookup(&canonical, &tag), "{name}");

        // A re-push of the unchanged layout: one HEAD, nothing written.
        proxy.reset_counts();
        let log = pushed(&imported.layout(name), &[&tag], &[]);
        assert!(
            log.contains("oci-push summary: 0 pushed, 1 already there, 0 failed"),
            "{log}"
        );
        assert_eq!(
            requests(&proxy),
            strings(&["HEAD manifest busybox"]),
            "{}",
            proxy.log()
        );
    }
}

#[test]
fn later_refs_mount_from_the_first_repository_of_their_registry() {
    if !support::require_registry() {
        return;
    }
    let Some(imported) = Imported::new() else {
        return;
    };
    let layout = imported.layout("latest-musl-amd64");
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    let other_registry = Registry::start(RegistryAuth::None);
    let other_proxy = FaultProxy::start(&other_registry.host());
    let (host, other) = (proxy.host(), other_proxy.host());

    let refs = [
        format!("{host}/first/busybox:1"),
        format!("{host}/second/busybox:1"),
        format!("{other}/elsewhere/busybox:1"),
        format!("{host}/first/busybox:2"),
    ];
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let log = pushed(&layout, &refs, &[]);
    assert!(
        log.contains("oci-push summary: 4 pushed, 0 already there, 0 failed"),
        "{log}"
    );
    let mut expected = first_push("first/busybox");
    expected.extend(mounted_push("second/busybox"));
    expected.extend(strings(&[
        "HEAD manifest first/busybox",
        "PUT manifest first/busybox",
    ]));
    assert_eq!(requests(&proxy), expected, "{}", proxy.log());
    // Another registry cannot mount: it gets the bytes.
    assert_eq!(
        requests(&other_proxy),
        first_push("elsewhere/busybox"),
        "{}",
        other_proxy.log()
    );
    assert!(
        proxy
            .records()
            .iter()
            .filter(|record| record.path.contains("mount="))
            .all(|record| record.path.contains("from=first%2Fbusybox")
                || record.path.contains("from=first/busybox")),
        "{}",
        proxy.log()
    );
    let canonical = imported.canonical_index("latest-musl-amd64");
    for reference in ["first/busybox:1", "second/busybox:1", "first/busybox:2"] {
        assert_eq!(registry.skopeo_inspect_raw(reference), canonical);
    }
    assert_eq!(
        other_registry.skopeo_inspect_raw("elsewhere/busybox:1"),
        canonical
    );
    let [_, _, _, layer] = imported.digests("latest-musl-amd64");
    assert_eq!(
        registry.fetch_blob("second/busybox", &layer),
        Some(imported.blob("latest-musl-amd64", &layer))
    );

    // Again, unchanged: one HEAD per REF, in each registry.
    proxy.reset_counts();
    other_proxy.reset_counts();
    let log = pushed(&layout, &refs, &[]);
    assert!(
        log.contains("oci-push summary: 0 pushed, 4 already there, 0 failed"),
        "{log}"
    );
    assert_eq!(
        requests(&proxy),
        strings(&[
            "HEAD manifest first/busybox",
            "HEAD manifest second/busybox",
            "HEAD manifest first/busybox",
        ]),
        "{}",
        proxy.log()
    );
    assert_eq!(
        requests(&other_proxy),
        strings(&["HEAD manifest elsewhere/busybox"])
    );

    // A tag found current is a known home too: a new repository of that
    // registry mounts from it in the same run.
    proxy.reset_counts();
    let third = format!("{host}/third/busybox:1");
    pushed(&layout, &[refs[0], &third], &[]);
    let mut expected = strings(&["HEAD manifest first/busybox"]);
    expected.extend(mounted_push("third/busybox"));
    assert_eq!(requests(&proxy), expected, "{}", proxy.log());
}

#[test]
fn an_upload_that_fails_is_sent_again_from_the_layout() {
    if !support::require_registry() {
        return;
    }
    let Some(imported) = Imported::new() else {
        return;
    };
    let name = "latest-uclibc-amd64";
    let canonical = imported.canonical_index(name);
    let [_, _, _, layer] = imported.digests(name);
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    // The streamed layer's PUT fails once: the retry reopens the file.
    proxy.inject(Match::new("PUT", &layer[7..]), Fault::status(503), 1);
    let tag = format!("{}/busybox:retried", proxy.host());
    let log = pushed(&imported.layout(name), &[&tag], &[]);
    assert!(log.contains("retries 1;"), "{log}");
    assert_eq!(proxy.pending_faults(), 0);
    assert_eq!(
        registry.fetch_blob("busybox", &layer),
        Some(imported.blob(name, &layer))
    );
    assert_eq!(registry.skopeo_inspect_raw("busybox:retried"), canonical);
}

#[test]
fn basic_and_token_auth_registries_take_the_push() {
    if !support::require_registry() || !support::require_tools(&["skopeo"]) {
        return;
    }
    let Some(imported) = Imported::new() else {
        return;
    };
    let name = "latest-glibc-amd64";
    let canonical = imported.canonical_index(name);
    for auth in [
        RegistryAuth::basic("pusher", "s3cret-basic"),
        RegistryAuth::Token,
    ] {
        let registry = Registry::start(auth.clone());
        if let Some(tokens) = registry.token_server() {
            // No anonymous tokens: the push must use the credentials.
            tokens.require_credentials(true);
        }
        let host = registry.host();
        let credentials = registry.credentials().expect("credentials");
        let config = docker_config(&host, credentials);
        let env = [("DOCKER_CONFIG", config.path().to_str().unwrap())];
        let refs = [
            format!("{host}/one/busybox:1"),
            format!("{host}/two/busybox:1"),
        ];
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        let log = pushed(&imported.layout(name), &refs, &env);
        assert!(
            !log.contains(credentials.1),
            "{auth:?}: credentials printed"
        );
        assert!(
            log.contains("oci-push summary: 2 pushed, 0 already there, 0 failed"),
            "{auth:?}: {log}"
        );
        // The second repository mounted (cross-repository scopes granted).
        assert!(log.contains("mount 2,"), "{auth:?}: {log}");
        for reference in ["one/busybox:1", "two/busybox:1"] {
            assert_eq!(
                registry.skopeo_inspect_raw(reference),
                canonical,
                "{auth:?}"
            );
        }
        skopeo_copy(
            &format!("{host}/two/busybox:1"),
            registry.skopeo_creds().as_deref(),
        );
        let log = pushed(&imported.layout(name), &refs, &env);
        assert!(
            log.contains("oci-push summary: 0 pushed, 2 already there, 0 failed"),
            "{auth:?}: {log}"
        );
        // Without credentials the registry refuses, and says so per REF.
        let anonymous = format!("{host}/one/busybox:anonymous");
        let run = oci_push(&[imported.layout(name).to_str().unwrap(), &anonymous], &[]);
        assert_eq!(run.code(), 1, "{auth:?}: {}", run.stderr());
        assert!(
            run.stderr().contains(&format!("FAILED {anonymous}")),
            "{auth:?}: {}",
            run.stderr()
        );
    }
}

#[test]
fn an_image_layout_pushes_its_image_manifest() {
    if !support::require_registry() || !support::require_tools(&["skopeo"]) {
        return;
    }
    let Some(fixtures) = oci_util::fixtures() else {
        return;
    };
    // The layout as committed: index.json names the image manifest itself.
    let cache = oci_util::seeded_cache(&fixtures);
    let parent = tempfile::tempdir().unwrap();
    let layout = parent.path().join("layout");
    oci_util::extract_fixture(cache.path(), "latest-glibc-amd64", &layout);
    let manifest = std::fs::read(layout.join("image-manifest.json")).unwrap();
    let registry = Registry::start(RegistryAuth::None);
    let tag = format!("{}/image/busybox:glibc", registry.host());
    pushed(&layout, &[&tag], &[]);
    assert_eq!(registry.skopeo_inspect_raw("image/busybox:glibc"), manifest);
    skopeo_copy(&tag, None);
    // By digest only, when the REF has no tag.
    let untagged = format!("{}/image/untagged", registry.host());
    let log = pushed(&layout, &[&untagged], &[]);
    let digest = oci_util::sha256(&manifest);
    assert!(
        log.contains(&format!("pushed {untagged}@{digest}")),
        "{log}"
    );
    assert_eq!(
        registry.skopeo_inspect_raw(&format!("image/untagged@{digest}")),
        manifest
    );
    assert!(registry.tags("image/untagged").is_empty());
}

/// The image-spec lets an image manifest leave out its own `mediaType`:
/// it is pushed as its descriptor says.
#[test]
fn a_manifest_without_its_own_media_type_goes_as_its_descriptor_says() {
    if !support::require_registry() || !support::require_tools(&["skopeo"]) {
        return;
    }
    let built = Recipe {
        manifest: Box::new(|manifest: &mut Value| {
            manifest.as_object_mut().unwrap().remove("mediaType");
        }),
        ..Recipe::default()
    }
    .build();
    let registry = Registry::start(RegistryAuth::None);
    let tag = format!("{}/untyped/image:1", registry.host());
    pushed(built.path(), &[&tag], &[]);
    let (media_type, bytes) = registry.fetch_manifest("untyped/image", "1").unwrap();
    assert_eq!(bytes, built.manifest);
    assert_eq!(media_type, doi::spec::media_type::OCI_MANIFEST);

    // The same image as the child of an index (copied children first).
    let index_json = built.path().join("index.json");
    let top: Value = serde_json::from_slice(&std::fs::read(&index_json).unwrap()).unwrap();
    let nested = oci_util::pretty(&json!({
        "schemaVersion": 2,
        "mediaType": doi::spec::media_type::OCI_INDEX,
        "manifests": top["manifests"],
    }));
    let descriptor = oci_util::add_blob(built.path(), doi::spec::media_type::OCI_INDEX, &nested);
    std::fs::write(
        &index_json,
        oci_util::pretty(&json!({"schemaVersion": 2, "manifests": [descriptor]})),
    )
    .unwrap();
    let tag = format!("{}/untyped/index:1", registry.host());
    pushed(built.path(), &[&tag], &[]);
    assert_eq!(registry.skopeo_inspect_raw("untyped/index:1"), nested);
    let digest = oci_util::sha256(&built.manifest);
    let (media_type, bytes) = registry.fetch_manifest("untyped/index", &digest).unwrap();
    assert_eq!(bytes, built.manifest);
    assert_eq!(media_type, doi::spec::media_type::OCI_MANIFEST);
}

#[test]
fn dry_runs_only_ask() {
    if !support::require_registry() {
        return;
    }
    let built = Recipe::default().build();
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    let host = proxy.host();
    let first = format!("{host}/dry/run:1");
    let second = format!("{host}/dry/run:2");
    pushed(built.path(), &[&first], &[]);
    proxy.reset_counts();
    let run = oci_push(
        &["--dry-run", built.path().to_str().unwrap(), &first, &second],
        &[],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    // A Recipe's index.json names its image manifest.
    let digest = oci_util::sha256(&built.manifest);
    assert_eq!(run.stdout(), format!("{second}@{digest}\n"));
    assert_eq!(
        requests(&proxy),
        strings(&["HEAD manifest dry/run", "HEAD manifest dry/run"])
    );
    assert_eq!(registry.tags("dry/run"), vec!["1".to_string()]);
}

#[test]
fn a_broken_layout_pushes_nothing() {
    if !support::require_registry() {
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    let tag = format!("{}/broken/layout:1", proxy.host());
    let refuse = |layout: &Path| {
        let line = refused(&[layout.to_str().unwrap(), &tag], 1);
        assert_eq!(proxy.count(), 0, "{line}: {}", proxy.log());
        assert!(nothing_stored(&registry), "{line}");
        line
    };

    // A layer that is not what its descriptor says (one byte changed).
    let corrupt = Recipe {
        layer_blob: Box::new(|blob: &mut Vec<u8>| {
            let middle = blob.len() / 2;
            blob[middle] ^= 1;
        }),
        ..Recipe::default()
    }
    .build();
    let line = refuse(corrupt.path());
    assert!(line.contains("layers[0]"), "{line}");

    // A blob missing.
    let missing = Recipe::default().build();
    let config = oci_util::sha256(&missing.config);
    std::fs::remove_file(missing.path().join("blobs/sha256").join(&config[7..])).unwrap();
    let line = refuse(missing.path());
    assert!(
        line.contains(&format!("blobs/sha256/{}", &config[7..])),
        "{line}"
    );
    assert!(line.contains("missing"), "{line}");

    // A valid layout, but with two top-level manifests: which to push?
    let two = Recipe {
        index: Box::new(|index: &mut Value| {
            let second = index["manifests"][0].clone();
            index["manifests"].as_array_mut().unwrap().push(second);
        }),
        ..Recipe::default()
    }
    .build();
    let line = refuse(two.path());
    assert!(line.contains("index.json: lists 2 manifests"), "{line}");

    // Not a layout at all.
    let nowhere = tempfile::tempdir().unwrap();
    let line = refuse(&nowhere.path().join("absent"));
    assert!(line.contains("cannot open the layout"), "{line}");
    let line = refuse(nowhere.path());
    assert!(line.contains("oci-layout"), "{line}");
}

#[test]
fn bad_refs_are_refused_before_anything_is_sent() {
    if !support::require_registry() {
        return;
    }
    let built = Recipe::default().build();
    let layout = built.path().to_str().unwrap();
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    let good = format!("{}/refs/good:1", proxy.host());

    let line = refused(&[layout, &good, "not a reference"], 2);
    assert!(
        line.contains("invalid reference \"not a reference\""),
        "{line}"
    );
    let line = refused(&[layout, &good, "refs/good:bad@tag"], 2);
    assert!(line.contains("refs/good:bad@tag"), "{line}");
    // A digest that is not the layout's manifest (here: its config's, a
    // real digest of the layout).
    let other = oci_util::sha256(&built.config);
    let pinned = format!("{}/refs/other:1@{other}", proxy.host());
    let line = refused(&[layout, &good, &pinned], 1);
    assert!(
        line.contains(&format!(
            "{pinned}: names digest {other}, but the layout's manifest is sha256:"
        )),
        "{line}"
    );
    let line = refused(&[layout], 2);
    assert!(line.contains("required"), "{line}");
    assert_eq!(proxy.count(), 0, "{}", proxy.log());
    assert!(nothing_stored(&registry));

    // A REF naming the right digest is taken as given.
    // A Recipe's index.json names its image manifest.
    let digest = oci_util::sha256(&built.manifest);
    let right = format!("{}/refs/right:1@{digest}", proxy.host());
    let log = pushed(built.path(), &[&right, &right], &[]);
    assert!(
        log.contains("oci-push summary: 1 pushed, 0 already there"),
        "the same REF twice is pushed once: {log}"
    );
}

#[test]
fn ctrl_c_starts_no_new_ref_and_still_prints_the_summary() {
    if !support::require_registry() || !support::require_tools(&["kill"]) {
        return;
    }
    let built = Recipe::default().build();
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    proxy.inject(Match::any(), Fault::Slow(Duration::from_millis(400)), 1000);
    let refs: Vec<String> = (1..=3)
        .map(|index| format!("{}/interrupted/layout:{index}", proxy.host()))
        .collect();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_oci-push"))
        .arg(built.path())
        .args(&refs)
        .env("HOME", std::env::temp_dir())
        .env_remove("DOCKER_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first REF's nine requests take over three seconds.
    std::thread::sleep(Duration::from_millis(1500));
    let signal = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(
        log.contains("oci-push: interrupted; finishing the push in flight"),
        "{log}"
    );
    assert!(
        log.contains("oci-push summary: 1 pushed, 0 already there, 0 failed, 0 skipped because of a failure, 2 not started (interrupted)"),
        "{log}"
    );
    assert_eq!(registry.tags("interrupted/layout"), vec!["1".to_string()]);
}

#[test]
fn a_big_layer_is_streamed_from_the_layout() {
    if !support::require_registry() {
        return;
    }
    // 48 MiB that do not compress, as a plain tar layer.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = vec![0u8; 48 << 20];
    for chunk in noise.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    let built = Recipe {
        layer_tar: oci_util::tar_of(&[("noise", &noise)]),
        layer_media_type: doi::spec::media_type::OCI_LAYER.to_string(),
        compress: |tar| tar.to_vec(),
        ..Recipe::default()
    }
    .build();
    drop(noise);
    let registry = Registry::start(RegistryAuth::None);
    let tag = format!("{}/big/layer:1", registry.host());
    let (status, peak_kib, stderr) = run_measured(
        env!("CARGO_BIN_EXE_oci-push"),
        &[built.path().to_str().unwrap(), &tag],
    );
    assert_eq!(status, 0, "{stderr}");
    let layer = oci_util::sha256(&built.layer);
    assert_eq!(
        registry
            .fetch_blob("big/layer", &layer)
            .map(|bytes| bytes.len()),
        Some(built.layer.len())
    );
    // Never the whole layer in memory (validating it and pushing it).
    eprintln!(
        "oci-push of a {} byte layer: peak resident memory {peak_kib} KiB",
        built.layer.len()
    );
    assert!(
        peak_kib < 40 * 1024,
        "peak resident memory {peak_kib} KiB for a {} byte layer",
        built.layer.len()
    );
}

/// Runs `binary` and returns its exit status, its peak resident memory
/// (KiB) and stderr. The peak is the child's own `VmHWM`, read while it
/// runs (the high-water mark only grows, so the last reading is the peak
/// up to the last moments): the kernel's `ru_maxrss` of a child counts the
/// memory of the process that spawned it, which here is this test binary.
fn run_measured(binary: &str, arguments: &[&str]) -> (i32, u64, String) {
    let stderr_file = tempfile::NamedTempFile::new().unwrap();
    let mut child = std::process::Command::new(binary)
        .args(arguments)
        .env("HOME", std::env::temp_dir())
        .env_remove("DOCKER_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr_file.reopen().unwrap())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let started = std::time::Instant::now();
    let mut peak_kib = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let high_water = text
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok());
            peak_kib = peak_kib.max(high_water.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("{binary} hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(stderr_file.path()).unwrap_or_default();
    let code = status
        .code()
        .unwrap_or_else(|| panic!("ended by a signal: {status:?}\n{stderr}"));
    (code, peak_kib, stderr)
}
