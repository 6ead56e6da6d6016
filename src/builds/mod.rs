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
//!   grow without bound across library changes. An offline run keeps every
//!   entry it was given: nothing can have moved since it was looked up, and
//!   the same offline command must work again.

mod cache;
mod index;
mod lookup;
mod output;
mod reference;
mod registry;
mod sources;
mod template;

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

pub use cache::LookupCache;
pub use index::IndexError;
pub use lookup::IndexLookup;
pub use template::{StagingTemplate, TEMPLATE_VARIABLE};

use index::{narrow, NarrowedIndex};
use lookup::Lookups;
use sources::{ParentKind, Sources};

use crate::registry::{Digest, Reference};

/// How many lookups run at once by default: enough to hide a registry's
/// latency, few enough not to look like a flood (the client rate-limits too).
pub const DEFAULT_JOBS: usize = 16;

/// Why a run stopped: what it was doing, naming the item and field at
/// fault, and the underlying error when there is one (`source()`; print
/// both with [`crate::cli::chain`]).
#[derive(Debug)]
pub struct BuildsError {
    context: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl BuildsError {
    pub(crate) fn new(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            source: None,
        }
    }

    pub(crate) fn caused_by(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for BuildsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.context)
    }
}

impl std::error::Error for BuildsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct BuildsRun {
    /// buildId -> build, in source file order then arch order.
    pub builds: Map<String, Value>,
    /// One line per build left out (a parent not resolvable yet), in order.
    pub notes: Vec<String>,
    /// What the cache file should hold now (see the module documentation).
    pub cache: LookupCache,
    /// Lookups sent to the registry (the rest came from the cache).
    pub registry_lookups: usize,
}

impl BuildsRun {
    /// The output as `jq --tab` prints it.
    pub fn to_bytes(&self) -> Vec<u8> {
        output::tab_json_object(&self.builds)
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

/// Reads sources metadata from a file, or stdin for `-`.
pub fn read_sources(path: &Path) -> Result<Value, BuildsError> {
    let origin = path.display();
    let bytes = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|error| BuildsError::caused_by("reading sources from stdin", error))?;
        bytes
    } else {
        std::fs::read(path)
            .map_err(|error| BuildsError::caused_by(format!("cannot read {origin}"), error))?
    };
    serde_json::from_slice(&bytes)
        .map_err(|error| BuildsError::caused_by(format!("{origin}: not JSON"), error))
}

/// Turns sources metadata into builds metadata.
///
/// `cache` answers first; `registry` is asked only for what it lacks, each
/// reference once (`None`: offline, whatever the cache lacks is an error).
/// Errors stop the run (and nothing should then be written).
pub fn run(
    sources: &Value,
    template: &StagingTemplate,
    cache: &LookupCache,
    registry: Option<&dyn IndexLookup>,
    options: &BuildsOptions,
) -> Result<BuildsRun, BuildsError> {
    let sources = Sources::parse(sources, &options.origin)?;
    let lookups = Lookups::new(registry, cache, options.jobs);
    let mut run = Run::new(&sources, template, &options.origin, lookups);
    run.fetch_image_parents()?;
    while let Some(ready) = run.ready()? {
        let wave = run.start_wave(&ready)?;
        run.finish_wave(wave)?;
    }
    let offline = registry.is_none();
    Ok(run.into_output(offline.then_some(cache)))
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

/// One (source, arch): a build if its parents resolve.
struct Candidate {
    source: usize,
    arch: usize,
    /// Per parent, the candidate it is built from (`Some`), or `None`: an
    /// image looked up, or a source with no build of this arch.
    waits_for: Vec<Option<usize>>,
}

/// A build whose id is known but whose staging image is not looked up yet.
struct Pending {
    candidate: usize,
    build_id: String,
    image: String,
    staging: Reference,
    parents: Map<String, Value>,
    resolved_parents: Map<String, Value>,
}

/// Whether a candidate's parents are all there.
enum Readiness {
    /// `parents` and `resolvedParents` of the build.
    Ready {
        parents: Map<String, Value>,
        resolved_parents: Map<String, Value>,
    },
    /// Why it cannot be built yet (a note).
    Blocked(String),
}

/// One run of [`run`], phase by phase.
struct Run<'s, 'input, 'run> {
    sources: &'s Sources<'input>,
    template: &'s StagingTemplate,
    origin: &'s str,
    /// In output order: sources in file order, each arch in order.
    candidates: Vec<Candidate>,
    states: Vec<State>,
    notes: Vec<String>,
    lookups: Lookups<'run>,
    /// What the rewritten cache keeps: by-digest parents and staging images.
    kept: Vec<Reference>,
}

impl<'s, 'input, 'run> Run<'s, 'input, 'run> {
    fn new(
        sources: &'s Sources<'input>,
        template: &'s StagingTemplate,
        origin: &'s str,
        lookups: Lookups<'run>,
    ) -> Self {
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
        let mut candidates = Vec::with_capacity(count);
        for (source, item) in sources.sources.iter().enumerate() {
            for (arch, entry) in item.arches.iter().enumerate() {
                let waits_for = entry
                    .parents
                    .iter()
                    .map(|parent| match &parent.kind {
                        ParentKind::Source { index, .. } => candidate_of(*index, entry.name),
                        ParentKind::Image { .. } => None,
                    })
                    .collect();
                candidates.push(Candidate {
                    source,
                    arch,
                    waits_for,
                });
            }
        }
        Self {
            sources,
            template,
            origin,
            states: candidates.iter().map(|_| State::Waiting).collect(),
            candidates,
            notes: Vec::new(),
            lookups,
            kept: Vec::new(),
        }
    }

    fn arch(&self, candidate: usize) -> &'s sources::Arch<'input> {
        let Candidate { source, arch, .. } = self.candidates[candidate];
        &self.sources.sources[source].arches[arch]
    }

    fn source_id(&self, candidate: usize) -> &'input str {
        self.sources.sources[self.candidates[candidate].source].id
    }

    /// `source "ID" arch "ARCH"`, for notes and errors.
    fn describe(&self, candidate: usize) -> String {
        describe(self.sources, &self.candidates, candidate)
    }

    /// Looks up every image parent at once, before the first wave.
    fn fetch_image_parents(&mut self) -> Result<(), BuildsError> {
        let mut references = Vec::new();
        // Per reference, its candidate and parent name (for an error).
        let mut needers = Vec::new();
        for candidate in 0..self.candidates.len() {
            for parent in &self.arch(candidate).parents {
                if let ParentKind::Image { reference } = &parent.kind {
                    if reference.digest().is_some() {
                        self.kept.push(reference.clone());
                    }
                    references.push(reference);
                    needers.push((candidate, parent.from));
                }
            }
        }
        let describe = |candidate| describe(self.sources, &self.candidates, candidate);
        self.lookups.fetch(&references, |position| {
            let (candidate, from) = needers[position];
            format!("{} parent {from:?}", describe(candidate))
        })
    }

    /// The candidates whose every source parent is settled, or `None` when
    /// none is left; waiting candidates that can never start are a cycle.
    fn ready(&self) -> Result<Option<Vec<usize>>, BuildsError> {
        let waiting = |candidate: usize| matches!(self.states[candidate], State::Waiting);
        let ready: Vec<usize> = (0..self.candidates.len())
            .filter(|&candidate| waiting(candidate))
            .filter(|&candidate| {
                self.candidates[candidate]
                    .waits_for
                    .iter()
                    .flatten()
                    .all(|&parent| !waiting(parent))
            })
            .collect();
        if !ready.is_empty() {
            return Ok(Some(ready));
        }
        match (0..self.candidates.len()).find(|&candidate| waiting(candidate)) {
            Some(stuck) => Err(BuildsError::new(format!(
                "{}: {}: field \"parents\": its sourceId parents form a cycle",
                self.origin,
                self.describe(stuck)
            ))),
            None => Ok(None),
        }
    }

    /// Gives each ready candidate whose parents resolve its build id and
    /// staging image; the others are dropped with a note.
    fn start_wave(&mut self, ready: &[usize]) -> Result<Vec<Pending>, BuildsError> {
        let mut wave = Vec::with_capacity(ready.len());
        for &candidate in ready {
            let (parents, resolved_parents) = match self.resolve_parents(candidate)? {
                Readiness::Ready {
                    parents,
                    resolved_parents,
                } => (parents, resolved_parents),
                Readiness::Blocked(reason) => {
                    let note = format!("skipping {}: {reason}", self.describe(candidate));
                    self.notes.push(note);
                    self.states[candidate] = State::Dropped;
                    continue;
                }
            };
            let arch = self.arch(candidate).name;
            let build_id = build_id(self.source_id(candidate), arch, &parents);
            let image = self.template.image(arch, &build_id);
            let staging = reference::parse(&image).map_err(|error| {
                BuildsError::caused_by(
                    format!(
                        "{}: {}: staging image from {TEMPLATE_VARIABLE} {:?}",
                        self.origin,
                        self.describe(candidate),
                        self.template.as_str()
                    ),
                    error,
                )
            })?;
            self.kept.push(staging.clone());
            wave.push(Pending {
                candidate,
                build_id,
                image,
                staging,
                parents,
                resolved_parents,
            });
        }
        Ok(wave)
    }

    /// Looks up the wave's staging images together and builds each.
    fn finish_wave(&mut self, wave: Vec<Pending>) -> Result<(), BuildsError> {
        let references: Vec<&Reference> = wave.iter().map(|pending| &pending.staging).collect();
        let describe = |candidate| describe(self.sources, &self.candidates, candidate);
        self.lookups.fetch(&references, |position| {
            format!("{} staging image", describe(wave[position].candidate))
        })?;
        for pending in wave {
            let resolved = match self.lookups.answer(&pending.staging) {
                Some(Some(index)) => {
                    narrow(index, self.arch(pending.candidate).name).map_err(|error| {
                        BuildsError::caused_by(
                            format!(
                                "{} staging image: the index of {} is malformed",
                                self.describe(pending.candidate),
                                pending.staging
                            ),
                            error,
                        )
                    })?
                }
                _ => None,
            };
            let candidate = pending.candidate;
            let image = pending.image.clone();
            let build = self.assemble(pending, resolved.as_ref());
            self.states[candidate] = State::Built {
                build,
                resolved,
                image,
            };
        }
        Ok(())
    }

    /// The `parents` and `resolvedParents` of a candidate, or why it cannot
    /// be built yet; `Err` is a malformed parent index.
    fn resolve_parents(&self, candidate: usize) -> Result<Readiness, BuildsError> {
        let arch = self.arch(candidate);
        let mut parents = Map::new();
        let mut resolved_parents = Map::new();
        let blocked = |reason: String| Ok(Readiness::Blocked(reason));
        for (parent, waits) in arch
            .parents
            .iter()
            .zip(&self.candidates[candidate].waits_for)
        {
            let from = parent.from;
            let narrowed = match &parent.kind {
                ParentKind::Source { id, .. } => match waits.map(|parent| &self.states[parent]) {
                    None => {
                        return blocked(format!(
                            "parent {from:?} (source {id:?}) has no {:?} build",
                            arch.name
                        ))
                    }
                    Some(State::Built {
                        resolved: Some(resolved),
                        ..
                    }) => resolved.clone(),
                    Some(State::Built { image, .. }) => {
                        return blocked(format!(
                            "parent {from:?} (source {id:?}) is not pushed yet ({image})"
                        ))
                    }
                    Some(State::Dropped | State::Waiting) => {
                        return blocked(format!("parent {from:?} (source {id:?}) was skipped"))
                    }
                },
                ParentKind::Image { reference } => match self.lookups.answer(reference) {
                    Some(Some(index)) => match narrow(index, arch.name) {
                        Ok(Some(narrowed)) => narrowed,
                        Ok(None) => {
                            return blocked(format!(
                                "parent {from:?} ({reference}) has nothing for {:?} yet",
                                arch.name
                            ))
                        }
                        Err(error) => {
                            return Err(BuildsError::caused_by(
                                format!(
                                    "{} parent {from:?}: the index of {reference} is malformed",
                                    self.describe(candidate)
                                ),
                                error,
                            ))
                        }
                    },
                    _ => {
                        return blocked(format!("parent {from:?} ({reference}) does not exist yet"))
                    }
                },
            };
            parents.insert(from.to_string(), Value::String(narrowed.first_digest));
            resolved_parents.insert(from.to_string(), narrowed.index);
        }
        Ok(Readiness::Ready {
            parents,
            resolved_parents,
        })
    }

    /// One build object, fields in the reference's order.
    fn assemble(&self, pending: Pending, resolved: Option<&NarrowedIndex>) -> Value {
        let source = &self.sources.sources[self.candidates[pending.candidate].source];
        let arch = self.arch(pending.candidate);
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
        // The source with `arches` narrowed to this arch, every other field
        // kept as it is and where it is.
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

    /// The builds in output order and the cache to write: `offline_cache`
    /// (everything an offline run was given) or what this run looked up
    /// that may be kept.
    fn into_output(self, offline_cache: Option<&LookupCache>) -> BuildsRun {
        let mut builds = Map::new();
        for state in self.states {
            if let State::Built { build, .. } = state {
                if let Some(build_id) = build.get("buildId").and_then(Value::as_str) {
                    builds.insert(build_id.to_string(), build);
                }
            }
        }
        let cache = match offline_cache {
            Some(cache) => cache.clone(),
            None => {
                let mut kept = LookupCache::new();
                for reference in &self.kept {
                    if let Some(Some(index)) = self.lookups.answer(reference) {
                        kept.insert(reference.to_string(), index.clone());
                    }
                }
                kept
            }
        };
        BuildsRun {
            builds,
            notes: self.notes,
            cache,
            registry_lookups: self.lookups.registry_lookups(),
        }
    }
}

/// [`Run::describe`], for a closure that must not borrow the whole run
/// (the lookups are borrowed mutably beside it).
fn describe(sources: &Sources<'_>, candidates: &[Candidate], candidate: usize) -> String {
    let Candidate { source, arch, .. } = candidates[candidate];
    let source = &sources.sources[source];
    format!("source {:?} arch {:?}", source.id, source.arches[arch].name)
}

/// The hex sha256 of `{"sourceId":...,"arch":...,"parents":{...}}` printed
/// compactly with its newline, as `jq -c` prints it: the reference's build
/// id, so the same inputs name the same staging image in either tool.
pub fn build_id(source_id: &str, arch: &str, parents: &Map<String, Value>) -> String {
    let mut identity = Map::new();
    identity.insert("sourceId".to_string(), Value::String(source_id.to_string()));
    identity.insert("arch".to_string(), Value::String(arch.to_string()));
    identity.insert("parents".to_string(), Value::Object(parents.clone()));
    // The registry's digest writes the hex (a format! per byte cost more
    // than the hashing).
    let digest = Digest::sha256_of(&output::compact_json(&Value::Object(identity)));
    digest.hex().to_owned()
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
        fn lookup_index(
            &self,
            reference: &Reference,
        ) -> Result<Option<Value>, crate::registry::RegistryError> {
            let reference = reference.to_string();
            if self.scramble {
                let delay = reference.bytes().map(u64::from).sum::<u64>() % 7;
                std::thread::sleep(std::time::Duration::from_millis(delay));
            }
            self.asked.lock().unwrap().push(reference.clone());
            Ok(self.indexes.get(&reference).cloned())
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
            Some(registry),
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

    /// A cache with the by-tag parent of [`golang_source`] and an entry no
    /// run needs.
    fn golang_cache() -> LookupCache {
        let mut cache = LookupCache::new();
        cache.insert(
            "golang:1.19".to_string(),
            index("golang:1.19", &[("amd64", 'f')]),
        );
        cache.insert(
            "unrelated@".to_string() + &digest('9'),
            index("unrelated", &[]),
        );
        cache
    }

    /// Source `s`, amd64, built on `golang:1.19` by tag.
    fn golang_source() -> Value {
        document(vec![source(
            "s",
            json!({"amd64": arch(json!({"golang:1.19": {"sourceId": null, "pin": null}}))}),
        )])
    }

    #[test]
    fn cache_answers_first_and_by_tag_entries_are_not_kept() {
        let cache = golang_cache();
        let registry = FakeRegistry::default();
        let document = golang_source();
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

    /// Holds down issue 14: an offline run rewrote its cache without the
    /// by-tag entries, so the same offline command then failed.
    #[test]
    fn an_offline_run_keeps_every_cache_entry_and_runs_again() {
        let mut cache = golang_cache();
        let mut parents = Map::new();
        parents.insert("golang:1.19".to_string(), Value::String(digest('f')));
        let staging = format!("staging/amd64:{}", build_id("s", "amd64", &parents));
        cache.insert(staging.clone(), index(&staging, &[("amd64", 'b')]));
        let document = golang_source();
        let template = template();
        let options = BuildsOptions::default();
        let first = run(&document, &template, &cache, None, &options).unwrap();
        assert_eq!(first.cache, cache, "every entry read is kept");
        let again = run(&document, &template, &first.cache, None, &options).unwrap();
        assert_eq!(again.to_bytes(), first.to_bytes());
        assert_eq!(again.registry_lookups, 0);
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
            Some(&registry),
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
            Some(&FakeRegistry::default()),
            &BuildsOptions::default(),
        )
        .unwrap_err();
        let error = crate::cli::chain(&error);
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
        let error = run_with(&document, &LookupCache::new(), &registry).unwrap_err();
        assert_eq!(
            crate::cli::chain(&error),
            "source \"s\" arch \"amd64\" parent \"bad:1\": the index of bad:1 is malformed: it has no \"manifests\" array"
        );
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
            Some(&registry),
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
            Some(&registry),
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
