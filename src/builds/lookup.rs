//! Looking images up: from the cache first, else concurrently from the
//! registry, each reference at most once per run.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use serde_json::Value;

use super::cache::LookupCache;
use super::BuildsError;
use crate::pool;

/// Where indexes come from when the cache does not have them.
///
/// `Sync` because lookups run on several threads at once. The answer is the
/// synthesized image index exactly as `lookup REF` prints it, `None` when the
/// image does not exist; `Err` is for everything else (network, auth, a
/// registry answering garbage) and stops the run.
pub trait IndexLookup: Sync {
    /// Looks up `reference` (in the printed short form, e.g. `alpine:3.18`
    /// or `alpine@sha256:...`).
    fn lookup_index(&self, reference: &str) -> Result<Option<Value>, String>;
}

/// A source of indexes that has none: with it, only the cache answers, and
/// anything missing from the cache stops the run with an error naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheOnly;

impl IndexLookup for CacheOnly {
    fn lookup_index(&self, reference: &str) -> Result<Option<Value>, String> {
        Err(format!(
            "{reference} is not in the cache and no registry may be asked"
        ))
    }
}

/// Every lookup of one run, answered once each.
pub(crate) struct Lookups<'run> {
    registry: &'run dyn IndexLookup,
    cache: &'run LookupCache,
    jobs: usize,
    /// Cache hits are borrowed: a warm run copies nothing it does not print.
    answers: HashMap<String, Option<Cow<'run, Value>>>,
    registry_lookups: usize,
}

impl<'run> Lookups<'run> {
    pub(crate) fn new(
        registry: &'run dyn IndexLookup,
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
    /// rest on up to `jobs` threads. `needed_by` names, for each reference,
    /// the first item that asked for it, for the error message. The first
    /// failure in the given order is returned, whatever the timing was.
    pub(crate) fn fetch(&mut self, requests: &[(String, String)]) -> Result<(), BuildsError> {
        let mut missing: Vec<&(String, String)> = Vec::new();
        let mut seen = HashSet::new();
        for request in requests {
            let reference = &request.0;
            if self.answers.contains_key(reference) || !seen.insert(reference.as_str()) {
                continue;
            }
            match self.cache.get(reference) {
                Some(index) => {
                    self.answers
                        .insert(reference.clone(), Some(Cow::Borrowed(index)));
                }
                None => missing.push(request),
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let registry = self.registry;
        let mut failure = None;
        // In request order, so the failure reported is the first one in
        // that order whatever the timing; nothing new starts after it.
        pool::ordered(
            self.jobs,
            missing.len(),
            |position| registry.lookup_index(&missing[position].0),
            |position, answer| {
                let (reference, needed_by) = missing[position];
                match answer {
                    Ok(answer) => {
                        self.registry_lookups += 1;
                        self.answers
                            .insert(reference.clone(), answer.map(Cow::Owned));
                        ControlFlow::Continue(())
                    }
                    Err(problem) => {
                        failure = Some(BuildsError::new(format!(
                            "{needed_by}: looking up {reference} failed: {problem}"
                        )));
                        ControlFlow::Break(())
                    }
                }
            },
        );
        failure.map_or(Ok(()), Err)
    }

    /// The answer for a reference already fetched: `Some(None)` is "does
    /// not exist", `None` is "never asked".
    pub(crate) fn answer(&self, reference: &str) -> Option<Option<&Value>> {
        self.answers
            .get(reference)
            .map(|answer| answer.as_ref().map(|index| index.as_ref()))
    }

    /// How many lookups went to the registry (not the cache).
    pub(crate) fn registry_lookups(&self) -> usize {
        self.registry_lookups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    struct Recording {
        asked: Mutex<Vec<String>>,
    }

    impl IndexLookup for Recording {
        fn lookup_index(&self, reference: &str) -> Result<Option<Value>, String> {
            self.asked.lock().unwrap().push(reference.to_string());
            match reference {
                "missing:1" => Ok(None),
                "broken:1" | "broken:2" => Err("registry said no".to_string()),
                _ => Ok(Some(json!({"manifests": [], "ref": reference}))),
            }
        }
    }

    fn requests(references: &[&str]) -> Vec<(String, String)> {
        references
            .iter()
            .map(|reference| (reference.to_string(), format!("item for {reference}")))
            .collect()
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
        let mut lookups = Lookups::new(&registry, &cache, 4);
        lookups
            .fetch(&requests(&["a:1", "cached:1", "a:1", "missing:1", "b:1"]))
            .unwrap();
        lookups.fetch(&requests(&["a:1", "b:1", "c:1"])).unwrap();
        let mut asked = registry.asked.lock().unwrap().clone();
        asked.sort();
        assert_eq!(asked, ["a:1", "b:1", "c:1", "missing:1"]);
        assert_eq!(lookups.registry_lookups(), 4);
        assert_eq!(lookups.answer("missing:1"), Some(None));
        assert_eq!(
            lookups.answer("cached:1").unwrap().unwrap()["from"],
            "cache"
        );
        assert_eq!(lookups.answer("never:1"), None);
    }

    #[test]
    fn first_failure_in_order_is_reported_with_who_needed_it() {
        let registry = Recording {
            asked: Mutex::new(Vec::new()),
        };
        let cache = LookupCache::new();
        let mut lookups = Lookups::new(&registry, &cache, 1);
        let error = lookups
            .fetch(&requests(&["a:1", "broken:1", "broken:2"]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "item for broken:1: looking up broken:1 failed: registry said no"
        );
    }

    #[test]
    fn cache_only_names_the_missing_reference() {
        let cache = LookupCache::new();
        let mut lookups = Lookups::new(&CacheOnly, &cache, 2);
        let error = lookups.fetch(&requests(&["a:1"])).unwrap_err().to_string();
        assert!(error.contains("a:1 is not in the cache"), "{error}");
    }
}
