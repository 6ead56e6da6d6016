//! Sources metadata to builds metadata: one build per (source, arch), with
//! its parents pinned to digests and its staging image resolved.
//!
//! The output is the input of `deploy`, and must be byte for byte what the
//! reference tooling prints (`builds.json` in the conformance data), because
//! the build id is a hash of it and names the staging image.
//!
//! A run works in waves: first every image parent is looked up (all at
//! once, concurrently); then every build whose parents are all known gets
//! its id, and the staging images of that wave are looked up together; a
//! build built on another source waits for that source's wave. The output is
//! assembled in file order afterwards, so timing never changes it.
//!
//! Choices the conformance data does not show, made so that nothing is
//! deployed from a guess:
//! - `resolved` is null both when the staging image does not exist and when
//!   it has nothing for the build's arch: either way nothing can be deployed
//!   or built on yet, so dependants are dropped in both cases.
//! - A sourceId parent may come later in the file (waves, not file order,
//!   decide); one whose source has no build for the arch drops the build;
//!   sourceId parents forming a cycle are an error (they can never resolve).
//! - The rewritten cache holds what this run looked up (by digest, and the
//!   staging images that exist), not entries it did not need, so it does not
//!   grow without bound across library changes.

mod cache;
mod index;
mod lookup;
mod output;
mod reference;
mod registry;
mod sources;
mod template;

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

pub use cache::LookupCache;
pub use lookup::{CacheOnly, IndexLookup};
pub use template::{StagingTemplate, TEMPLATE_VARIABLE};

use index::{narrow, NarrowedIndex};
use lookup::Lookups;
use sources::{ParentKind, Sources};

/// How many lookups run at once by default: enough to hide a registry's
/// latency, few enough not to look like a flood (the client rate-limits too).
pub const DEFAULT_JOBS: usize = 16;

/// A one-line error naming the item and field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildsError {
    message: String,
}

impl BuildsError {
    pub(crate) fn new(message: String) -> Self {
        Self { message }
    }
}

impl fmt::Display for BuildsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for BuildsError {}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct BuildsRun {
    /// buildId -> build, in source file order then arch order.
    pub builds: Map<String, Value>,
    /// One line per build left out (a parent not resolvable yet), in order.
    pub notes: Vec<String>,
    /// What the cache file should hold now: the by-digest lookups and the
    /// staging images of this run (by-tag parents may move, so they are
    /// never kept across runs).
    pub cache: LookupCache,
    /// Lookups sent to the registry (the rest came from the cache).
    pub registry_lookups: usize,
}

impl BuildsRun {
    /// The output as `jq --tab` prints it.
    pub fn to_bytes(&self) -> Vec<u8> {
        output::tab_json(&Value::Object(self.builds.clone()))
    }
}

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct BuildsOptions {
    /// Names the sources document in errors.
    pub origin: String,
    /// Lookups in flight at once.
    pub jobs: usize,
}

impl Default for BuildsOptions {
    fn default() -> Self {
        Self {
            origin: "sources".to_string(),
            jobs: DEFAULT_JOBS,
        }
    }
}

/// The state of one candidate build during a run.
enum State {
    /// Waiting for a parent built from another source.
    Waiting,
    /// Left out; the reason went to the notes.
    Dropped,
    /// Built: its output object and its narrowed staging index, if pushed.
    Built {
        build: Value,
        resolved: Option<NarrowedIndex>,
        image: String,
    },
}

/// A build whose id is known but whose staging image is not looked up yet.
struct Pending {
    candidate: usize,
    build_id: String,
    image: String,
    image_key: String,
    parents: Map<String, Value>,
    resolved_parents: Map<String, Value>,
}

/// Turns sources metadata into builds metadata.
///
/// `cache` answers first; `registry` is asked only for what it lacks, each
/// reference once. Errors stop the run (and nothing should then be written).
pub fn run(
    sources: &Value,
    template: &StagingTemplate,
    cache: &LookupCache,
    registry: &dyn IndexLookup,
    options: &BuildsOptions,
) -> Result<BuildsRun, BuildsError> {
    let sources = Sources::parse(sources, &options.origin)?;
    // Candidates in output order: (source position, arch position).
    let candidates: Vec<(usize, usize)> = sources
        .sources
        .iter()
        .enumerate()
        .flat_map(|(source, item)| (0..item.arches.len()).map(move |arch| (source, arch)))
        .collect();
    // The first candidate of each source, so (source, arch) finds its candidate.
    let mut first_candidate = Vec::with_capacity(sources.sources.len());
    let mut count = 0;
    for source in &sources.sources {
        first_candidate.push(count);
        count += source.arches.len();
    }
    let candidate_of = |source: usize, arch: &str| {
        sources.sources[source]
            .arches
            .iter()
            .position(|item| item.name == arch)
            .map(|arch| first_candidate[source] + arch)
    };
    let describe = |candidate: usize| {
        let (source, arch) = candidates[candidate];
        format!(
            "source {:?} arch {:?}",
            sources.sources[source].id, sources.sources[source].arches[arch].name
        )
    };

    // Which candidate each source parent waits for (None: no build of that arch).
    let mut waits_for: Vec<Vec<Option<usize>>> = Vec::with_capacity(candidates.len());
    let mut image_requests = Vec::new();
    let mut kept_references = std::collections::HashSet::new();
    for (candidate, (source, arch)) in candidates.iter().enumerate() {
        let arch = &sources.sources[*source].arches[*arch];
        let mut waits = Vec::with_capacity(arch.parents.len());
        for parent in &arch.parents {
            match &parent.kind {
                ParentKind::Source { index, .. } => waits.push(candidate_of(*index, arch.name)),
                ParentKind::Image {
                    reference,
                    by_digest,
                } => {
                    waits.push(None);
                    if *by_digest {
                        kept_references.insert(reference.clone());
                    }
                    image_requests.push((
                        reference.clone(),
                        format!("{} parent {:?}", describe(candidate), parent.from),
                    ));
                }
            }
        }
        waits_for.push(waits);
    }

    let mut lookups = Lookups::new(registry, cache, options.jobs);
    lookups.fetch(&image_requests)?;

    let mut states: Vec<State> = candidates.iter().map(|_| State::Waiting).collect();
    let mut notes = Vec::new();
    loop {
        let ready: Vec<usize> = (0..candidates.len())
            .filter(|candidate| matches!(states[*candidate], State::Waiting))
            .filter(|candidate| {
                waits_for[*candidate]
                    .iter()
                    .flatten()
                    .all(|parent| !matches!(states[*parent], State::Waiting))
            })
            .collect();
        if ready.is_empty() {
            if let Some(stuck) = states
                .iter()
                .position(|state| matches!(state, State::Waiting))
            {
                return Err(BuildsError::new(format!(
                    "{}: {}: field \"parents\": its sourceId parents form a cycle",
                    options.origin,
                    describe(stuck)
                )));
            }
            break;
        }
        let mut wave = Vec::with_capacity(ready.len());
        for candidate in ready {
            match resolve_parents(
                candidate,
                &candidates,
                &sources,
                &waits_for,
                &states,
                &lookups,
            )? {
                Ok((parents, resolved_parents)) => {
                    let (source, arch) = candidates[candidate];
                    let source_id = sources.sources[source].id;
                    let arch = sources.sources[source].arches[arch].name;
                    let build_id = build_id(source_id, arch, &parents);
                    let image = template.image(arch, &build_id);
                    let image_key = reference::parse(&image)
                        .map_err(|problem| {
                            BuildsError::new(format!(
                                "{}: {}: staging image from {TEMPLATE_VARIABLE} {:?}: {problem}",
                                options.origin,
                                describe(candidate),
                                template.as_str()
                            ))
                        })?
                        .to_string();
                    kept_references.insert(image_key.clone());
                    wave.push(Pending {
                        candidate,
                        build_id,
                        image,
                        image_key,
                        parents,
                        resolved_parents,
                    });
                }
                Err(reason) => {
                    notes.push(format!("skipping {}: {reason}", describe(candidate)));
                    states[candidate] = State::Dropped;
                }
            }
        }
        let staging_requests: Vec<(String, String)> = wave
            .iter()
            .map(|pending| {
                (
                    pending.image_key.clone(),
                    format!("{} staging image", describe(pending.candidate)),
                )
            })
            .collect();
        lookups.fetch(&staging_requests)?;
        for pending in wave {
            let resolved = match lookups.answer(&pending.image_key) {
                Some(Some(index)) => {
                    narrow(index, arch_name(&sources, &candidates, pending.candidate)).map_err(
                        |problem| {
                            BuildsError::new(format!(
                                "{} staging image: the index of {} {problem}",
                                describe(pending.candidate),
                                pending.image_key
                            ))
                        },
                    )?
                }
                _ => None,
            };
            let candidate = pending.candidate;
            let image = pending.image.clone();
            let build = assemble(pending, resolved.as_ref(), &sources, &candidates);
            states[candidate] = State::Built {
                build,
                resolved,
                image,
            };
        }
    }

    let mut builds = Map::new();
    for state in states {
        if let State::Built { build, .. } = state {
            if let Some(build_id) = build.get("buildId").and_then(Value::as_str) {
                builds.insert(build_id.to_string(), build);
            }
        }
    }
    let mut kept = LookupCache::new();
    let mut kept_references: Vec<String> = kept_references.into_iter().collect();
    kept_references.sort();
    for reference in kept_references {
        if let Some(Some(index)) = lookups.answer(&reference) {
            kept.insert(reference, index.clone());
        }
    }
    Ok(BuildsRun {
        builds,
        notes,
        cache: kept,
        registry_lookups: lookups.registry_lookups(),
    })
}

fn arch_name<'input>(
    sources: &Sources<'input>,
    candidates: &[(usize, usize)],
    candidate: usize,
) -> &'input str {
    let (source, arch) = candidates[candidate];
    sources.sources[source].arches[arch].name
}

/// The `parents` and `resolvedParents` of a candidate, or (inner `Err`) why
/// it cannot be built yet. The outer `Err` is a malformed index.
#[allow(clippy::type_complexity)]
fn resolve_parents(
    candidate: usize,
    candidates: &[(usize, usize)],
    sources: &Sources<'_>,
    waits_for: &[Vec<Option<usize>>],
    states: &[State],
    lookups: &Lookups<'_>,
) -> Result<Result<(Map<String, Value>, Map<String, Value>), String>, BuildsError> {
    let (source, arch) = candidates[candidate];
    let arch = &sources.sources[source].arches[arch];
    let mut parents = Map::new();
    let mut resolved_parents = Map::new();
    for (parent, waits) in arch.parents.iter().zip(&waits_for[candidate]) {
        let narrowed = match &parent.kind {
            ParentKind::Source { id, .. } => match waits.map(|parent| &states[parent]) {
                None => {
                    return Ok(Err(format!(
                        "parent {:?} (source {id:?}) has no {:?} build",
                        parent.from, arch.name
                    )))
                }
                Some(State::Built {
                    resolved: Some(resolved),
                    ..
                }) => resolved.clone(),
                Some(State::Built { image, .. }) => {
                    return Ok(Err(format!(
                        "parent {:?} (source {id:?}) is not pushed yet ({image})",
                        parent.from
                    )))
                }
                Some(State::Dropped | State::Waiting) => {
                    return Ok(Err(format!(
                        "parent {:?} (source {id:?}) was skipped",
                        parent.from
                    )))
                }
            },
            ParentKind::Image { reference, .. } => match lookups.answer(reference) {
                Some(Some(index)) => match narrow(index, arch.name) {
                    Ok(Some(narrowed)) => narrowed,
                    Ok(None) => {
                        return Ok(Err(format!(
                            "parent {:?} ({reference}) has nothing for {:?} yet",
                            parent.from, arch.name
                        )))
                    }
                    Err(problem) => {
                        return Err(BuildsError::new(format!(
                            "source {:?} arch {:?} parent {:?}: the index of {reference} {problem}",
                            sources.sources[source].id, arch.name, parent.from
                        )))
                    }
                },
                _ => {
                    return Ok(Err(format!(
                        "parent {:?} ({reference}) does not exist yet",
                        parent.from
                    )))
                }
            },
        };
        parents.insert(
            parent.from.to_string(),
            Value::String(narrowed.first_digest.clone()),
        );
        resolved_parents.insert(parent.from.to_string(), narrowed.index);
    }
    Ok(Ok((parents, resolved_parents)))
}

/// The hex sha256 of `{"sourceId":...,"arch":...,"parents":{...}}` printed
/// compactly with its newline, as `jq -c` prints it: the reference's build
/// id, so the same inputs name the same staging image in either tool.
pub fn build_id(source_id: &str, arch: &str, parents: &Map<String, Value>) -> String {
    let mut identity = Map::new();
    identity.insert("sourceId".to_string(), Value::String(source_id.to_string()));
    identity.insert("arch".to_string(), Value::String(arch.to_string()));
    identity.insert("parents".to_string(), Value::Object(parents.clone()));
    let digest = Sha256::digest(output::compact_json(&Value::Object(identity)));
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// One build object, fields in the reference's order.
fn assemble(
    pending: Pending,
    resolved: Option<&NarrowedIndex>,
    sources: &Sources<'_>,
    candidates: &[(usize, usize)],
) -> Value {
    let (source, arch) = candidates[pending.candidate];
    let source = &sources.sources[source];
    let arch = &source.arches[arch];
    let mut build = Map::new();
    build.insert("img".to_string(), Value::String(pending.image));
    build.insert(
        "resolved".to_string(),
        resolved.map_or(Value::Null, |resolved| resolved.index.clone()),
    );
    build.insert("sourceId".to_string(), Value::String(source.id.to_string()));
    build.insert("arch".to_string(), Value::String(arch.name.to_string()));
    build.insert("parents".to_string(), Value::Object(pending.parents));
    build.insert(
        "resolvedParents".to_string(),
        Value::Object(pending.resolved_parents),
    );
    // The source with `arches` narrowed to this arch, every other field kept
    // as it is and where it is.
    let narrowed_source: Map<String, Value> = source
        .object
        .iter()
        .map(|(key, value)| {
            if key == "arches" {
                let mut arches = Map::new();
                arches.insert(arch.name.to_string(), arch.value.clone());
                (key.clone(), Value::Object(arches))
            } else {
                (key.clone(), value.clone())
            }
        })
        .collect();
    let mut object = Map::new();
    object.insert("buildId".to_string(), Value::String(pending.build_id));
    object.insert("build".to_string(), Value::Object(build));
    object.insert("source".to_string(), Value::Object(narrowed_source));
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::annotation::{BASHBREW_ARCH, REF_NAME};
    use crate::spec::media_type::{OCI_INDEX, OCI_MANIFEST};
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A registry in memory that records what it was asked, optionally
    /// answering in a scrambled order to show timing never shows.
    #[derive(Default)]
    struct FakeRegistry {
        indexes: HashMap<String, Value>,
        asked: Mutex<Vec<String>>,
        scramble: bool,
    }

    impl IndexLookup for FakeRegistry {
        fn lookup_index(&self, reference: &str) -> Result<Option<Value>, String> {
            if self.scramble {
                let delay = reference.bytes().map(u64::from).sum::<u64>() % 7;
                std::thread::sleep(std::time::Duration::from_millis(delay));
            }
            self.asked.lock().unwrap().push(reference.to_string());
            Ok(self.indexes.get(reference).cloned())
        }
    }

    impl FakeRegistry {
        fn with(mut self, reference: &str, manifests: &[(&str, char)]) -> Self {
            self.indexes
                .insert(reference.to_string(), index(reference, manifests));
            self
        }

        fn asked(&self) -> Vec<String> {
            let mut asked = self.asked.lock().unwrap().clone();
            asked.sort();
            asked
        }
    }

    fn digest(character: char) -> String {
        format!("sha256:{}", character.to_string().repeat(64))
    }

    fn index(reference: &str, manifests: &[(&str, char)]) -> Value {
        let manifests: Vec<Value> = manifests
            .iter()
            .map(|(arch, character)| {
                json!({
                    "mediaType": OCI_MANIFEST,
                    "digest": digest(*character),
                    "size": 1,
                    "annotations": {BASHBREW_ARCH: arch, REF_NAME: format!("{reference}@{}", digest(*character))}
                })
            })
            .collect();
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
    }

    fn source(id: &str, arches: Value) -> (String, Value) {
        (
            id.to_string(),
            json!({"sourceId": id, "reproducibleGitChecksum": "x", "entries": [], "arches": arches}),
        )
    }

    fn arch(parents: Value) -> Value {
        json!({"tags": ["t:1"], "parents": parents})
    }

    fn document(sources: Vec<(String, Value)>) -> Value {
        Value::Object(sources.into_iter().collect())
    }

    fn template() -> StagingTemplate {
        StagingTemplate::new("staging/ARCH:BUILD").unwrap()
    }

    fn run_with(
        document: &Value,
        cache: &LookupCache,
        registry: &FakeRegistry,
    ) -> Result<BuildsRun, BuildsError> {
        run(
            document,
            &template(),
            cache,
            registry,
            &BuildsOptions::default(),
        )
    }

    /// The build id of source `s` on amd64 with no parents, for the tests
    /// that need to push its staging image.
    const PARENTLESS_ID: &str = "c3c25ed2889443fd97555ba1dfbd2e3a1056ed5f205dfc3b79c6fc670b880bdf";

    #[test]
    fn build_id_hashes_the_compact_identity_with_a_newline() {
        assert_eq!(build_id("s", "amd64", &Map::new()), PARENTLESS_ID);
        let mut parents = Map::new();
        parents.insert("alpine:3.18".to_string(), Value::String(digest('a')));
        assert_eq!(
            build_id("s", "amd64", &parents),
            "3b51662421e7f5c9f4d25599dbef389a108fdc9fa91a9cff2fdda2ddd6b38886"
        );
    }

    #[test]
    fn one_build_per_arch_with_the_source_narrowed_and_fields_in_order() {
        let document = document(vec![source(
            "s",
            json!({"amd64": arch(json!({"scratch": {"sourceId": null, "pin": null}})), "i386": arch(json!({}))}),
        )]);
        let result = run_with(&document, &LookupCache::new(), &FakeRegistry::default()).unwrap();
        assert_eq!(result.builds.len(), 2);
        let build = &result.builds[PARENTLESS_ID];
        let keys: Vec<&String> = build.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["buildId", "build", "source"]);
        let keys: Vec<&String> = build["build"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "img",
                "resolved",
                "sourceId",
                "arch",
                "parents",
                "resolvedParents"
            ]
        );
        assert_eq!(
            build["build"]["img"],
            format!("staging/amd64:{PARENTLESS_ID}")
        );
        assert_eq!(build["build"]["resolved"], Value::Null);
        assert_eq!(
            build["build"]["parents"],
            json!({}),
            "scratch is not a parent"
        );
        let keys: Vec<&String> = build["source"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["sourceId", "reproducibleGitChecksum", "entries", "arches"]
        );
        assert_eq!(
            build["source"]["arches"],
            json!({"amd64": arch(json!({"scratch": {"sourceId": null, "pin": null}}))})
        );
        let second: Vec<&str> = result
            .builds
            .values()
            .map(|build| build["build"]["arch"].as_str().unwrap())
            .collect();
        assert_eq!(second, ["amd64", "i386"]);
        assert!(
            result.cache.is_empty(),
            "staging images not pushed are not cached"
        );
    }

    #[test]
    fn image_parents_are_narrowed_and_pinned_to_their_first_manifest() {
        let pinned_reference = format!("alpine@{}", digest('0'));
        let registry = FakeRegistry::default()
            .with(
                &pinned_reference,
                &[("amd64", 'a'), ("arm64v8", 'b'), ("amd64", 'c')],
            )
            .with("golang:1.19", &[("arm64v8", 'd'), ("amd64", 'e')]);
        let document = document(vec![source(
            "s",
            json!({"amd64": arch(json!({
                "golang:1.19": {"sourceId": null, "pin": null},
                "alpine:3.18": {"sourceId": null, "pin": digest('0')}
            }))}),
        )]);
        let result = run_with(&document, &LookupCache::new(), &registry).unwrap();
        let build = result.builds.values().next().unwrap();
        assert_eq!(
            build["build"]["parents"],
            json!({"golang:1.19": digest('e'), "alpine:3.18": digest('a')})
        );
        assert_eq!(
            build["build"]["resolvedParents"]["golang:1.19"],
            index("golang:1.19", &[("amd64", 'e')])
        );
        assert_eq!(
            build["build"]["resolvedParents"]["alpine:3.18"],
            index(&pinned_reference, &[("amd64", 'a'), ("amd64", 'c')])
        );
        let staging = build["build"]["img"].as_str().unwrap().to_string();
        assert_eq!(
            registry.asked(),
            [
                pinned_reference.clone(),
                "golang:1.19".to_string(),
                staging.clone()
            ]
        );
        // Kept across runs: the by-digest lookup (whole, not narrowed) only;
        // golang:1.19 may move and the staging image does not exist yet.
        assert_eq!(
            result.cache.references().collect::<Vec<_>>(),
            [pinned_reference.as_str()]
        );
        assert_eq!(
            result.cache.get(&pinned_reference),
            registry.indexes.get(&pinned_reference)
        );
        assert_eq!(result.registry_lookups, 3);
    }

    #[test]
    fn source_parents_use_the_parent_build_staging_image() {
        let parent_image = format!("staging/amd64:{PARENTLESS_ID}");
        let registry = FakeRegistry::default().with(&parent_image, &[("amd64", 'd')]);
        // The child comes first in the file: waves, not file order, decide.
        let document = document(vec![
            source(
                "child",
                json!({"amd64": arch(json!({"parent:1": {"sourceId": "s", "pin": null}}))}),
            ),
            source("s", json!({"amd64": arch(json!({}))})),
        ]);
        let result = run_with(&document, &LookupCache::new(), &registry).unwrap();
        let order: Vec<&str> = result
            .builds
            .values()
            .map(|build| build["build"]["sourceId"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["child", "s"], "output keeps file order");
        let child = result.builds.values().next().unwrap();
        assert_eq!(child["build"]["parents"], json!({"parent:1": digest('d')}));
        assert_eq!(
            child["build"]["resolvedParents"]["parent:1"],
            result.builds[PARENTLESS_ID]["build"]["resolved"]
        );
        assert!(
            result.cache.get(&parent_image).is_some(),
            "staging images are kept"
        );
        assert!(result.notes.is_empty());
    }

    #[test]
    fn unresolvable_parents_drop_the_build_and_its_dependants_with_notes() {
        let registry = FakeRegistry::default().with("only-arm:1", &[("arm64v8", 'a')]);
        let document = document(vec![
            source(
                "missing",
                json!({"amd64": arch(json!({"nope:1": {"sourceId": null, "pin": null}}))}),
            ),
            source(
                "wrong-arch",
                json!({"amd64": arch(json!({"only-arm:1": {"sourceId": null, "pin": null}}))}),
            ),
            source(
                "on-missing",
                json!({"amd64": arch(json!({"x:1": {"sourceId": "missing", "pin": null}}))}),
            ),
            source(
                "on-dependant",
                json!({"amd64": arch(json!({"y:1": {"sourceId": "on-missing", "pin": null}}))}),
            ),
            source("unpushed", json!({"amd64": arch(json!({}))})),
            source(
                "on-unpushed",
                json!({"amd64": arch(json!({"z:1": {"sourceId": "unpushed", "pin": null}}))}),
            ),
            source(
                "other-arch",
                json!({"amd64": arch(json!({"w:1": {"sourceId": "arm-only", "pin": null}}))}),
            ),
            source("arm-only", json!({"arm64v8": arch(json!({}))})),
        ]);
        let result = run_with(&document, &LookupCache::new(), &registry).unwrap();
        let built: Vec<&str> = result
            .builds
            .values()
            .map(|build| build["build"]["sourceId"].as_str().unwrap())
            .collect();
        assert_eq!(built, ["unpushed", "arm-only"]);
        let unpushed = result.builds.values().next().unwrap()["build"]["img"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            result.notes,
            [
                "skipping source \"missing\" arch \"amd64\": parent \"nope:1\" (nope:1) does not exist yet".to_string(),
                "skipping source \"wrong-arch\" arch \"amd64\": parent \"only-arm:1\" (only-arm:1) has nothing for \"amd64\" yet".to_string(),
                "skipping source \"other-arch\" arch \"amd64\": parent \"w:1\" (source \"arm-only\") has no \"amd64\" build".to_string(),
                "skipping source \"on-missing\" arch \"amd64\": parent \"x:1\" (source \"missing\") was skipped".to_string(),
                format!("skipping source \"on-unpushed\" arch \"amd64\": parent \"z:1\" (source \"unpushed\") is not pushed yet ({unpushed})"),
                "skipping source \"on-dependant\" arch \"amd64\": parent \"y:1\" (source \"on-missing\") was skipped".to_string(),
            ]
        );
    }

    #[test]
    fn cycles_are_an_error() {
        let document = document(vec![
            source(
                "a",
                json!({"amd64": arch(json!({"b:1": {"sourceId": "b", "pin": null}}))}),
            ),
            source(
                "b",
                json!({"amd64": arch(json!({"a:1": {"sourceId": "a", "pin": null}}))}),
            ),
        ]);
        let error = run_with(&document, &LookupCache::new(), &FakeRegistry::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "sources: source \"a\" arch \"amd64\": field \"parents\": its sourceId parents form a cycle"
        );
    }

    #[test]
    fn cache_answers_first_and_by_tag_entries_are_not_kept() {
        let mut cache = LookupCache::new();
        cache.insert(
            "golang:1.19".to_string(),
            index("golang:1.19", &[("amd64", 'f')]),
        );
        cache.insert(
            "unrelated@".to_string() + &digest('9'),
            index("unrelated", &[]),
        );
        let registry = FakeRegistry::default();
        let document = document(vec![source(
            "s",
            json!({"amd64": arch(json!({"golang:1.19": {"sourceId": null, "pin": null}}))}),
        )]);
        let result = run_with(&document, &cache, &registry).unwrap();
        let build = result.builds.values().next().unwrap();
        assert_eq!(
            build["build"]["parents"],
            json!({"golang:1.19": digest('f')})
        );
        let staging = build["build"]["img"].as_str().unwrap().to_string();
        assert_eq!(
            registry.asked(),
            [staging],
            "only the staging image was not cached"
        );
        assert!(
            result.cache.is_empty(),
            "neither the by-tag parent nor unused entries are kept"
        );
    }

    #[test]
    fn staging_images_are_asked_by_short_name_and_narrowed() {
        let image = format!("staging/amd64:{PARENTLESS_ID}");
        let registry = FakeRegistry::default().with(&image, &[("amd64", 'a'), ("i386", 'b')]);
        let document = document(vec![source("s", json!({"amd64": arch(json!({}))}))]);
        let template = StagingTemplate::new("docker.io/staging/ARCH:BUILD").unwrap();
        let result = run(
            &document,
            &template,
            &LookupCache::new(),
            &registry,
            &BuildsOptions::default(),
        )
        .unwrap();
        let build = &result.builds[PARENTLESS_ID]["build"];
        assert_eq!(
            build["img"],
            format!("docker.io/{image}"),
            "img is the template as written"
        );
        assert_eq!(build["resolved"], index(&image, &[("amd64", 'a')]));
        assert_eq!(
            result.cache.get(&image),
            registry.indexes.get(&image),
            "cached whole"
        );
    }

    #[test]
    fn a_template_yielding_a_bad_reference_is_an_error() {
        let document = document(vec![source("s", json!({"amd64": arch(json!({}))}))]);
        let template = StagingTemplate::new("staging/Upper-ARCH:BUILD").unwrap();
        let error = run(
            &document,
            &template,
            &LookupCache::new(),
            &FakeRegistry::default(),
            &BuildsOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("sources: source \"s\" arch \"amd64\": staging image from BASHBREW_STAGING_TEMPLATE \"staging/Upper-ARCH:BUILD\": invalid reference"), "{error}");
    }

    #[test]
    fn a_malformed_parent_index_is_an_error_naming_the_parent() {
        let mut registry = FakeRegistry::default();
        registry
            .indexes
            .insert("bad:1".to_string(), json!({"schemaVersion": 2}));
        let document = document(vec![source(
            "s",
            json!({"amd64": arch(json!({"bad:1": {"sourceId": null, "pin": null}}))}),
        )]);
        let error = run_with(&document, &LookupCache::new(), &registry)
            .unwrap_err()
            .to_string();
        assert_eq!(error, "source \"s\" arch \"amd64\" parent \"bad:1\": the index of bad:1 has no \"manifests\" array");
    }

    /// Holds down order depending on timing: lookups answered in a scrambled
    /// order on many threads give the same bytes as one thread.
    #[test]
    fn output_does_not_depend_on_timing() {
        let mut sources = Vec::new();
        let mut registry = FakeRegistry {
            scramble: true,
            ..FakeRegistry::default()
        };
        for number in 0..40 {
            let parent = format!("parent{number}:1");
            registry = registry.with(&parent, &[("amd64", 'a'), ("i386", 'b')]);
            sources.push(source(
                &format!("s{number}"),
                json!({"amd64": arch(json!({parent.clone(): {"sourceId": null, "pin": null}})), "i386": arch(json!({parent: {"sourceId": null, "pin": null}}))}),
            ));
        }
        let document = document(sources);
        let serial = run(
            &document,
            &template(),
            &LookupCache::new(),
            &registry,
            &BuildsOptions {
                jobs: 1,
                ..BuildsOptions::default()
            },
        )
        .unwrap();
        let parallel = run(
            &document,
            &template(),
            &LookupCache::new(),
            &registry,
            &BuildsOptions {
                jobs: 16,
                ..BuildsOptions::default()
            },
        )
        .unwrap();
        assert_eq!(serial.to_bytes(), parallel.to_bytes());
        assert_eq!(serial.builds.len(), 80);
    }
}
