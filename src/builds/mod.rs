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

mod cache;
mod index;
mod lookup;
mod output;
mod reference;
mod sources;
mod template;

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

pub use cache::LookupCache;
pub use index::ARCH_ANNOTATION;
pub use lookup::{CacheOnly, IndexLookup};
pub use template::{StagingTemplate, TEMPLATE_VARIABLE};

use index::{narrow, NarrowedIndex};
use lookup::Lookups;
use reference::ImageReference;
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
                    let image_key = ImageReference::parse(&image)
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
            let build = assemble(&pending, resolved.as_ref(), &sources, &candidates);
            states[pending.candidate] = State::Built {
                build,
                resolved,
                image: pending.image,
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
    pending: &Pending,
    resolved: Option<&NarrowedIndex>,
    sources: &Sources<'_>,
    candidates: &[(usize, usize)],
) -> Value {
    let (source, arch) = candidates[pending.candidate];
    let source = &sources.sources[source];
    let arch = &source.arches[arch];
    let mut build = Map::new();
    build.insert("img".to_string(), Value::String(pending.image.clone()));
    build.insert(
        "resolved".to_string(),
        resolved.map_or(Value::Null, |resolved| resolved.index.clone()),
    );
    build.insert("sourceId".to_string(), Value::String(source.id.to_string()));
    build.insert("arch".to_string(), Value::String(arch.name.to_string()));
    build.insert(
        "parents".to_string(),
        Value::Object(pending.parents.clone()),
    );
    build.insert(
        "resolvedParents".to_string(),
        Value::Object(pending.resolved_parents.clone()),
    );
    // The source with `arches` narrowed to this arch, every other field kept
    // in place (inserting an existing key keeps its position).
    let mut narrowed_source = source.object.clone();
    let mut arches = Map::new();
    arches.insert(arch.name.to_string(), arch.value.clone());
    narrowed_source.insert("arches".to_string(), Value::Object(arches));
    let mut object = Map::new();
    object.insert(
        "buildId".to_string(),
        Value::String(pending.build_id.clone()),
    );
    object.insert("build".to_string(), Value::Object(build));
    object.insert("source".to_string(), Value::Object(narrowed_source));
    Value::Object(object)
}
