//! Looking images up: from the cache first, else concurrently from the
//! registry, each reference at most once per run.

use std::borrow::Cow;
use std::ops::ControlFlow;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde_json::Value;

use super::cache::LookupCache;
use super::BuildsError;
use crate::pool;
use crate::registry::{Reference, RegistryError};

/// Where indexes come from when the cache does not have them.
///
/// `Sync` because lookups run on several threads at once. The answer is the
/// synthesized image index exactly as `lookup REF` prints it, `None` when the
/// image does not exist; `Err` is for everything else (network, auth, a
/// registry answering garbage) and stops the run.
pub trait IndexLookup: Sync {
    fn lookup_index(&self, reference: &Reference) -> Result<Option<Value>, RegistryError>;
}

/// Every lookup of one run, answered once each.
pub(crate) struct Lookups<'run> {
    /// `None`: offline, only the cache answers.
    registry: Option<&'run dyn IndexLookup>,
    cache: &'run LookupCache,
    jobs: usize,
    /// Cache hits are borrowed: a warm run copies nothing it does not
    /// print. (References are normalized, so equal references are one
    /// image, as their short forms, the cache's keys, are.)
    answers: HashMap<Reference, Option<Cow<'run, Value>>>,
    registry_lookups: usize,
}

impl<'run> Lookups<'run> {
    pub(crate) fn new(
        registry: Option<&'run dyn IndexLookup>,
        cache: &'run LookupCache,
        jobs: usize,
    ) -> Self {
        Self {
            registry,
            cache,
            jobs: jobs.max(1),
            answers: HashMap::new(),
            registry_lookups: 0,
        }
    }

    /// Answers every reference not answered yet: cached ones at once, the
    /// rest on up to `jobs` threads, in request order, so the failure
    /// returned is the first one in that order whatever the timing (nothing
    /// new starts after it). `needed_by(position)` names the item that
    /// needs `references[position]`, for the error message: it is written
    /// only for a failure (a run asks thousands of references).
    pub(crate) fn fetch(
        &mut self,
        references: &[&Reference],
        needed_by: impl Fn(usize) -> String,
    ) -> Result<(), BuildsError> {
        let mut missing: Vec<usize> = Vec::new();
        let mut asked = HashSet::new();
        for (position, &reference) in references.iter().enumerate() {
            if self.answers.contains_key(reference) || asked.contains(reference) {
                continue;
            }
            match self.cache.get(&reference.to_string()) {
                Some(index) => {
                    self.answers
                        .insert(reference.clone(), Some(Cow::Borrowed(index)));
                }
                None => {
                    asked.insert(reference);
                    missing.push(position);
                }
            }
        }
        let Some(&first) = missing.first() else {
            return Ok(());
        };
        let Some(registry) = self.registry else {
            return Err(BuildsError::new(format!(
                "{}: {} is not in the cache and no registry may be asked (--offline)",
                needed_by(first),
                references[first]
            )));
        };
        let mut failure = None;
        pool::ordered(
            self.jobs,
            missing.len(),
            |index| registry.lookup_index(references[missing[index]]),
            |index, answer| {
                let position = missing[index];
                let reference = references[position];
                match answer {
                    Ok(answer) => {
                        self.registry_lookups += 1;
                        self.answers
                            .insert(reference.clone(), answer.map(Cow::Owned));
                        ControlFlow::Continue(())
                    }
                    Err(error) => {
                        failure = Some(BuildsError::caused_by(
                            format!("{}: looking up {reference} failed", needed_by(position)),
                            error,
                        ));
                        ControlFlow::Break(())
                    }
                }
            },
        );
        failure.map_or(Ok(()), Err)
    }

    /// The answer for a reference already fetched: `Some(None)` is "does
    /// not exist", `None` is "never asked".
    pub(crate) fn answer(&self, reference: &Reference) -> Option<Option<&Value>> {
        self.answers.get(reference).map(|answer| answer.as_deref())
    }

    /// How many lookups went to the registry (not the cache).
    pub(crate) fn registry_lookups(&self) -> usize {
        self.registry_lookups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ErrorKind;
    use serde_json::json;
    use std::sync::Mutex;

    struct Recording {
        asked: Mutex<Vec<String>>,
    }

    impl IndexLookup for Recording {
        fn lookup_index(&self, reference: &Reference) -> Result<Option<Value>, RegistryError> {
            let reference = reference.to_string();
            self.asked.lock().unwrap().push(reference.clone());
            match reference.as_str() {
                "missing:1" => Ok(None),
                "broken:1" | "broken:2" => Err(RegistryError::new(
                    ErrorKind::InvalidResponse,
                    "registry said no",
                )),
                _ => Ok(Some(json!({"manifests": [], "ref": reference}))),
            }
        }
    }

    /// Fetches `references`, each needed by "item for REFERENCE".
    fn fetch(lookups: &mut Lookups<'_>, references: &[Reference]) -> Result<(), BuildsError> {
        let borrowed: Vec<&Reference> = references.iter().collect();
        lookups.fetch(&borrowed, |position| {
            format!("item for {}", references[position])
        })
    }

    fn parsed(references: &[&str]) -> Vec<Reference> {
        references.iter().map(|text| reference(text)).collect()
    }

    fn reference(text: &str) -> Reference {
        text.parse().unwrap()
    }

    #[test]
    fn each_reference_is_asked_once_and_cache_first() {
        let registry = Recording {
            asked: Mutex::new(Vec::new()),
        };
        let mut cache = LookupCache::new();
        cache.insert(
            "cached:1".to_string(),
            json!({"manifests": [], "from": "cache"}),
        );
        let mut lookups = Lookups::new(Some(&registry), &cache, 4);
        fetch(
            &mut lookups,
            &parsed(&["a:1", "cached:1", "a:1", "missing:1", "b:1"]),
        )
        .unwrap();
        fetch(&mut lookups, &parsed(&["a:1", "b:1", "c:1"])).unwrap();
        let mut asked = registry.asked.lock().unwrap().clone();
        asked.sort();
        assert_eq!(asked, ["a:1", "b:1", "c:1", "missing:1"]);
        assert_eq!(lookups.registry_lookups(), 4);
        assert_eq!(lookups.answer(&reference("missing:1")), Some(None));
        assert_eq!(
            lookups.answer(&reference("cached:1")).unwrap().unwrap()["from"],
            "cache"
        );
        assert_eq!(lookups.answer(&reference("never:1")), None);
    }

    #[test]
    fn first_failure_in_order_is_reported_with_who_needed_it() {
        let registry = Recording {
            asked: Mutex::new(Vec::new()),
        };
        let cache = LookupCache::new();
        let mut lookups = Lookups::new(Some(&registry), &cache, 1);
        let error = fetch(&mut lookups, &parsed(&["a:1", "broken:1", "broken:2"])).unwrap_err();
        assert_eq!(
            crate::cli::chain(&error),
            "item for broken:1: looking up broken:1 failed: registry said no"
        );
    }

    #[test]
    fn offline_names_the_missing_reference_and_who_needed_it() {
        let cache = LookupCache::new();
        let mut lookups = Lookups::new(None, &cache, 2);
        let error = fetch(&mut lookups, &parsed(&["a:1"]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "item for a:1: a:1 is not in the cache and no registry may be asked (--offline)"
        );
    }
}
