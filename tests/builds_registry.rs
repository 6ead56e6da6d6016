//! `builds` against a real registry (Debian's `docker-registry`), through the
//! counting fault proxy: images pushed by the test, parents by sourceId and
//! by image (with and without a pin), parents not pushed yet, and a second
//! run served entirely from the cache.

use crate::support;
use crate::support::bin;

use crate::builds_support;

use serde_json::{json, Value};

use builds_support::{push_image, push_platform_manifest};
use support::fixture::Proxied;
use support::{Fault, FaultProxy, Match, Registry, RegistryAuth};

use doi::builds::TEMPLATE_VARIABLE;
use doi::spec::annotation::{BASHBREW_ARCH, REF_NAME};

/// A registry and the counting proxy `builds` talks to (seeding goes
/// straight to the registry, so the proxy counts only what `builds` sends).
struct Setup {
    registry: Registry,
    proxy: FaultProxy,
    directory: tempfile::TempDir,
}

impl Setup {
    fn start() -> Option<Setup> {
        let Proxied { registry, proxy } = Proxied::start(RegistryAuth::None)?;
        let directory = tempfile::tempdir().expect("temp dir");
        Some(Setup {
            registry,
            proxy,
            directory,
        })
    }

    /// Where `builds` looks images up: through the proxy.
    fn host(&self) -> String {
        self.proxy.host()
    }

    fn cache(&self) -> std::path::PathBuf {
        self.directory.path().join("cache.json")
    }

    /// Runs `builds --cache CACHE SOURCES`; returns (output, notes, bytes).
    fn builds(&self, sources: &Value) -> (Value, Vec<String>, Vec<u8>) {
        let output = self.builds_output(sources);
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(output.status.success(), "builds failed: {stderr}");
        let parsed: Value = serde_json::from_slice(&output.stdout).expect("builds prints JSON");
        let notes = stderr.lines().map(str::to_string).collect();
        (parsed, notes, output.stdout)
    }

    fn builds_output(&self, sources: &Value) -> std::process::Output {
        let path = self.directory.path().join("sources.json");
        std::fs::write(&path, sources.to_string()).expect("write sources");
        bin::builds()
            .arg("--cache")
            .arg(self.cache())
            .arg(&path)
            .env(
                TEMPLATE_VARIABLE,
                format!("{}/staging-ARCH:BUILD", self.host()),
            )
            .output()
    }

    /// Pushes the staging image of every build not pushed yet, as a build
    /// farm would; returns how many were pushed.
    fn push_staging_images(&self, builds: &Value) -> usize {
        let mut pushed = 0;
        for build in builds.as_object().expect("builds is an object").values() {
            if !build["build"]["resolved"].is_null() {
                continue;
            }
            let image = build["build"]["img"].as_str().expect("img");
            let arch = build["build"]["arch"].as_str().expect("arch");
            let without_host = image
                .strip_prefix(&format!("{}/", self.host()))
                .expect("staging image on the test registry");
            let (repository, tag) = without_host.split_once(':').expect("staging tag");
            push_image(&self.registry.url(), repository, tag, &[arch]);
            pushed += 1;
        }
        pushed
    }
}

fn parent(source_id: Option<&str>, pin: Option<&str>) -> Value {
    json!({"sourceId": source_id, "pin": pin})
}

fn source(id: &str, arches: &[&str], parents: Value) -> (String, Value) {
    let arches: serde_json::Map<String, Value> = arches
        .iter()
        .map(|arch| {
            (
                arch.to_string(),
                json!({"tags": [format!("{id}:latest")], "parents": parents.clone()}),
            )
        })
        .collect();
    (
        id.to_string(),
        json!({"sourceId": id, "entries": [], "arches": arches}),
    )
}

fn by_source<'output>(
    builds: &'output Value,
    source_id: &str,
    arch: &str,
) -> Option<&'output Value> {
    builds
        .as_object()?
        .values()
        .find(|build| build["build"]["sourceId"] == source_id && build["build"]["arch"] == arch)
}

/// The digest of the manifest for `arch` in the image `repository:tag`.
fn manifest_digest(registry: &Registry, repository: &str, tag: &str, arch: &str) -> String {
    let (_, bytes) = registry
        .fetch_manifest(repository, tag)
        .expect("image was pushed");
    let index: Value = serde_json::from_slice(&bytes).expect("index JSON");
    let platform = builds_support::platform(arch);
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|manifest| manifest["platform"] == platform)
        .and_then(|manifest| manifest["digest"].as_str())
        .expect("a manifest for the arch")
        .to_string()
}

#[test]
fn parents_by_source_and_by_image_with_and_without_pin() {
    let Some(setup) = Setup::start() else { return };
    let url = setup.registry.url();
    let host = setup.host();
    push_image(&url, "base", "1", &["amd64", "arm64v8"]);
    let pinned_digest = push_image(&url, "pinned", "1", &["amd64", "arm64v8"]);
    let base = format!("{host}/base:1");
    // The tag in FROM does not exist: a pinned parent is looked up by digest.
    let pinned = format!("{host}/pinned:moved-since");
    let sources: serde_json::Map<String, Value> = [
        source("root", &["amd64", "arm64v8"], json!({ base.clone(): parent(None, None) })),
        source("pinned", &["amd64"], json!({ pinned.clone(): parent(None, Some(&pinned_digest)) })),
        source("child", &["amd64", "arm64v8"], json!({ "scratch": parent(None, None), format!("{host}/root:1"): parent(Some("root"), None) })),
        source("orphan", &["amd64"], json!({ format!("{host}/absent:1"): parent(None, None) })),
        source("orphan-child", &["amd64"], json!({ "orphan:1": parent(Some("orphan"), None) })),
        source("no-such-arch", &["s390x"], json!({ base.clone(): parent(None, None) })),
    ]
    .into_iter()
    .collect();
    let sources = Value::Object(sources);

    // Run 1: nothing staged yet. Builds on images exist (unresolved); builds
    // on other sources, on absent images, or on a missing arch are dropped.
    let (first, notes, _) = setup.builds(&sources);
    let built: Vec<(&str, &str)> = first
        .as_object()
        .unwrap()
        .values()
        .map(|build| {
            (
                build["build"]["sourceId"].as_str().unwrap(),
                build["build"]["arch"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        built,
        [("root", "amd64"), ("root", "arm64v8"), ("pinned", "amd64")]
    );
    assert_eq!(notes.len(), 5, "{notes:#?}");
    assert!(
        notes
            .iter()
            .all(|note| note.starts_with("builds: note: skipping source")),
        "{notes:#?}"
    );
    assert!(notes[0].contains(&format!("\"orphan\" arch \"amd64\": parent \"{host}/absent:1\" ({host}/absent:1) does not exist yet")), "{notes:#?}");
    assert!(notes[1].contains(&format!("\"no-such-arch\" arch \"s390x\": parent \"{base}\" ({base}) has nothing for \"s390x\" yet")), "{notes:#?}");
    assert!(
        notes[2].contains("\"child\" arch \"amd64\": parent")
            && notes[2].contains("is not pushed yet"),
        "{notes:#?}"
    );
    assert!(
        notes[3].contains("\"child\" arch \"arm64v8\""),
        "{notes:#?}"
    );
    assert!(
        notes[4].contains(
            "\"orphan-child\" arch \"amd64\": parent \"orphan:1\" (source \"orphan\") was skipped"
        ),
        "{notes:#?}"
    );

    for arch in ["amd64", "arm64v8"] {
        let root = by_source(&first, "root", arch).unwrap();
        let digest = manifest_digest(&setup.registry, "base", "1", arch);
        assert_eq!(root["build"]["parents"], json!({ base.clone(): digest }));
        let resolved = &root["build"]["resolvedParents"][&base];
        assert_eq!(
            resolved["manifests"].as_array().unwrap().len(),
            1,
            "narrowed to {arch}"
        );
        assert_eq!(resolved["manifests"][0]["annotations"][BASHBREW_ARCH], arch);
        assert_eq!(
            resolved["manifests"][0]["annotations"][REF_NAME],
            format!("{base}@{digest}")
        );
        assert_eq!(root["build"]["resolved"], Value::Null, "not staged yet");
    }
    let pinned_build = by_source(&first, "pinned", "amd64").unwrap();
    let resolved = &pinned_build["build"]["resolvedParents"][&pinned];
    assert_eq!(
        resolved["annotations"][REF_NAME],
        format!("{host}/pinned@{pinned_digest}"),
        "looked up as name@pin, tag dropped"
    );
    assert_eq!(
        pinned_build["build"]["parents"][&pinned],
        manifest_digest(&setup.registry, "pinned", "1", "amd64")
    );

    // Run 2: the roots are staged, so their children can be built.
    assert_eq!(setup.push_staging_images(&first), 3);
    let (second, notes, _) = setup.builds(&sources);
    assert_eq!(
        notes.len(),
        3,
        "orphan, orphan-child, no-such-arch: {notes:#?}"
    );
    for arch in ["amd64", "arm64v8"] {
        let root = by_source(&second, "root", arch).unwrap();
        let staged = &root["build"]["resolved"];
        assert_eq!(staged["manifests"][0]["annotations"][BASHBREW_ARCH], arch);
        let child = by_source(&second, "child", arch).unwrap();
        assert_eq!(
            child["build"]["parents"],
            json!({ format!("{host}/root:1"): staged["manifests"][0]["digest"] }),
            "a sourceId parent is pinned to its staging image"
        );
        assert_eq!(
            child["build"]["resolvedParents"][format!("{host}/root:1")],
            *staged
        );
        assert_eq!(child["build"]["resolved"], Value::Null);
    }

    // Run 3: everything staged. The cache keeps by-digest lookups and
    // staging images, never the by-tag parent.
    assert_eq!(setup.push_staging_images(&second), 2);
    let (third, _, third_bytes) = setup.builds(&sources);
    assert!(third
        .as_object()
        .unwrap()
        .values()
        .all(|build| !build["build"]["resolved"].is_null()));
    let cache: Value = serde_json::from_slice(&std::fs::read(setup.cache()).unwrap()).unwrap();
    let mut expected_keys: Vec<String> = third
        .as_object()
        .unwrap()
        .values()
        .map(|build| build["build"]["img"].as_str().unwrap().to_string())
        .collect();
    expected_keys.push(format!("{host}/pinned@{pinned_digest}"));
    expected_keys.sort();
    let keys: Vec<&String> = cache["indexes"].as_object().unwrap().keys().collect();
    assert_eq!(keys, expected_keys.iter().collect::<Vec<_>>());

    // Run 4 from that cache: only the by-tag parents (base:1, and absent:1
    // which may appear at any time) go to the registry again.
    setup.proxy.reset_counts();
    let (_, _, fourth_bytes) = setup.builds(&sources);
    assert!(fourth_bytes == third_bytes, "same output from the cache");
    let requests = setup.proxy.requests();
    assert!(!requests.is_empty());
    for (method, path) in &requests {
        assert!(
            path == "/v2/" || path.starts_with("/v2/base/") || path.starts_with("/v2/absent/"),
            "only the by-tag parents are asked again, not {method} {path}"
        );
    }
    assert_eq!(
        setup
            .proxy
            .count_matching(&Match::new("GET", "/v2/base/manifests/1")),
        1,
        "{}",
        setup.proxy.log()
    );
}

#[test]
fn second_run_is_served_entirely_from_the_cache() {
    let Some(setup) = Setup::start() else { return };
    let url = setup.registry.url();
    let host = setup.host();
    let pin = push_image(&url, "parent", "1", &["amd64", "arm32v7", "i386"]);
    // An untagged image manifest (no index): pinned by its own digest.
    let single = push_platform_manifest(&url, "single", "amd64", "x");
    let single_digest = single["digest"].as_str().unwrap().to_string();
    let sources: serde_json::Map<String, Value> = [
        source("a", &["amd64", "arm32v7", "i386"], json!({ format!("{host}/parent:1"): parent(None, Some(&pin)) })),
        source("b", &["amd64", "arm32v7", "i386"], json!({ "a:1": parent(Some("a"), None) })),
        source("c", &["amd64"], json!({ format!("{host}/single"): parent(None, Some(&single_digest)), "b:1": parent(Some("b"), None) })),
    ]
    .into_iter()
    .collect();
    let sources = Value::Object(sources);
    let mut rounds = 0;
    loop {
        let (builds, _, _) = setup.builds(&sources);
        if setup.push_staging_images(&builds) == 0 && builds.as_object().unwrap().len() == 7 {
            break;
        }
        rounds += 1;
        assert!(rounds < 5, "staging did not converge");
    }
    // A fresh cache, filled by one run that asks the registry...
    std::fs::remove_file(setup.cache()).unwrap();
    setup.proxy.reset_counts();
    let (_, notes, first) = setup.builds(&sources);
    assert!(notes.is_empty(), "{notes:#?}");
    assert!(
        setup.proxy.count() >= 9,
        "7 staging images and 2 parents: {}",
        setup.proxy.log()
    );
    // Each image was asked for once, although 3 builds share one parent.
    let mut asked = setup.proxy.requests();
    asked.retain(|(_, path)| path != "/v2/");
    let total = asked.len();
    asked.sort();
    asked.dedup();
    assert_eq!(
        asked.len(),
        total,
        "no request twice: {}",
        setup.proxy.log()
    );
    // ...then a second run that asks nothing at all.
    setup.proxy.reset_counts();
    let (_, _, second) = setup.builds(&sources);
    assert_eq!(setup.proxy.count(), 0, "{}", setup.proxy.log());
    assert!(first == second, "same bytes from the cache");
}

/// A registry error is not "not found": the run stops with one line naming
/// the build, the parent and the reference, and the cache is not touched.
#[test]
fn a_registry_error_stops_the_run_and_leaves_the_cache() {
    let Some(setup) = Setup::start() else { return };
    let host = setup.host();
    push_image(&setup.registry.url(), "base", "1", &["amd64"]);
    let cache_bytes = b"{\n\t\"indexes\": {}\n}\n".to_vec();
    std::fs::write(setup.cache(), &cache_bytes).unwrap();
    setup.proxy.inject(
        Match::new("GET", "/v2/base/manifests/"),
        Fault::status(400),
        100,
    );
    let sources: serde_json::Map<String, Value> = [source(
        "s",
        &["amd64"],
        json!({ format!("{host}/base:1"): parent(None, None) }),
    )]
    .into_iter()
    .collect();
    let output = setup.builds_output(&Value::Object(sources));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let expected = format!(
        "builds: error: source \"s\" arch \"amd64\" parent \"{host}/base:1\": looking up {host}/base:1 failed: "
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(stderr.contains("400"), "{stderr}");
    assert_eq!(std::fs::read(setup.cache()).unwrap(), cache_bytes);
}
