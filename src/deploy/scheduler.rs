//! Runs deploy objects children-first in a pool of worker threads.
//!
//! Pushing is blocking HTTP, so the workers are the crate's thread pool
//! ([`crate::pool`]); this thread alone owns the dependency state, so there
//! are no locks around it: it hands a ready object to an idle worker, and
//! when a worker reports back it releases the objects that were waiting.
//! Ready objects start in input order, so a run with one job is exactly the
//! sequential deploy.
//!
//! An object waits for every earlier object that produces something it
//! needs: a child (or copy source) with the same digest, or the same
//! destination tag (the later object in the input must win the tag). Only
//! earlier objects count, so there are never cycles.
//!
//! A failed object's dependants (transitively) are skipped, independent ones
//! still run. When `stop` is set (Ctrl-C) nothing new starts; objects in
//! flight finish and the rest are reported as not started.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use super::input::{Content, DeployObject};
use crate::pool;

/// How an object's run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectResult {
    /// It ran; `true` when every ref ended well.
    Ran { succeeded: bool },
    /// Not run because this earlier object (0-based index) failed or was
    /// itself skipped.
    SkippedAfterFailure { failed: usize },
    /// Not run because the run was interrupted.
    NotStarted,
}

/// For each object, the 0-based indexes of the earlier objects it waits for.
pub fn dependencies(objects: &[DeployObject]) -> Vec<Vec<usize>> {
    let mut producers_by_digest: HashMap<String, Vec<usize>> = HashMap::new();
    let mut producers_by_tag: HashMap<String, Vec<usize>> = HashMap::new();
    let mut all = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        let mut needs: BTreeSet<usize> = BTreeSet::new();
        let mut wanted_digests: Vec<String> = Vec::new();
        let mut wanted_tags: Vec<String> = Vec::new();
        match &object.content {
            Content::Data(data) => {
                wanted_digests.extend(data.children.iter().map(|child| child.digest.to_string()))
            }
            Content::Copy(source) => match source.digest() {
                Some(digest) => wanted_digests.push(digest.to_string()),
                None => wanted_tags.push(source.to_string()),
            },
        }
        for reference in &object.refs {
            if reference.tag().is_some() {
                wanted_tags.push(reference.without_digest().to_string());
            }
        }
        for digest in &wanted_digests {
            if let Some(producers) = producers_by_digest.get(digest) {
                needs.extend(producers.iter().copied());
            }
        }
        for tag in &wanted_tags {
            if let Some(producers) = producers_by_tag.get(tag) {
                needs.extend(producers.iter().copied());
            }
        }
        if let Some(digest) = object.digest() {
            producers_by_digest
                .entry(digest.to_string())
                .or_default()
                .push(index);
        }
        for reference in &object.refs {
            if reference.tag().is_some() {
                producers_by_tag
                    .entry(reference.without_digest().to_string())
                    .or_default()
                    .push(index);
            }
        }
        all.push(needs.into_iter().collect());
    }
    all
}

/// Runs `work(index)` for every object with at most `jobs` at a time,
/// respecting `dependencies` (see [`dependencies`]); `work` says whether the
/// object succeeded. Returns one result per object.
pub fn run<F>(
    dependencies: &[Vec<usize>],
    jobs: usize,
    stop: &AtomicBool,
    work: F,
) -> Vec<ObjectResult>
where
    F: Fn(usize) -> bool + Sync,
{
    let count = dependencies.len();
    let mut results: Vec<Option<ObjectResult>> = vec![None; count];
    if count == 0 {
        return Vec::new();
    }
    let jobs = jobs.clamp(1, count);
    let mut waiting_on: Vec<usize> = dependencies.iter().map(Vec::len).collect();
    let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (index, needs) in dependencies.iter().enumerate() {
        for &need in needs {
            if need < count {
                dependants[need].push(index);
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..count).filter(|&index| waiting_on[index] == 0).collect();
    pool::with_workers(jobs, work, |workers| {
        loop {
            while workers.has_idle() && !stop.load(Ordering::SeqCst) {
                let Some(index) = ready.pop_first() else {
                    break;
                };
                workers.start(index);
            }
            let Some((index, finished)) = workers.next_done() else {
                break;
            };
            // A panicking push counts as a failure of its object.
            let succeeded = finished.unwrap_or(false);
            results[index] = Some(ObjectResult::Ran { succeeded });
            if succeeded {
                for &dependant in &dependants[index] {
                    if results[dependant].is_some() {
                        continue;
                    }
                    waiting_on[dependant] -= 1;
                    if waiting_on[dependant] == 0 {
                        ready.insert(dependant);
                    }
                }
            } else {
                skip_dependants(index, &dependants, &mut results, &mut ready);
            }
        }
    });

    results
        .into_iter()
        .map(|result| result.unwrap_or(ObjectResult::NotStarted))
        .collect()
}

fn skip_dependants(
    failed: usize,
    dependants: &[Vec<usize>],
    results: &mut [Option<ObjectResult>],
    ready: &mut BTreeSet<usize>,
) {
    let mut pending = vec![failed];
    while let Some(index) = pending.pop() {
        for &dependant in &dependants[index] {
            if results[dependant].is_none() {
                results[dependant] = Some(ObjectResult::SkippedAfterFailure { failed });
                ready.remove(&dependant);
                pending.push(dependant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    use std::time::Duration;

    #[test]
    fn children_run_before_parents_and_failures_skip_dependants() {
        // 0 <- 1 <- 2, 3 independent, 4 depends on 3.
        let dependencies = vec![vec![], vec![0], vec![1], vec![], vec![3]];
        let order = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        let results = run(&dependencies, 4, &stop, |index| {
            if let Ok(mut order) = order.lock() {
                order.push(index);
            }
            index != 1
        });
        assert_eq!(
            results,
            vec![
                ObjectResult::Ran { succeeded: true },
                ObjectResult::Ran { succeeded: false },
                ObjectResult::SkippedAfterFailure { failed: 1 },
                ObjectResult::Ran { succeeded: true },
                ObjectResult::Ran { succeeded: true },
            ]
        );
        let order = order.into_inner().unwrap_or_default();
        let position = |wanted| order.iter().position(|&index| index == wanted);
        assert!(position(0) < position(1));
        assert!(position(3) < position(4));
        assert_eq!(position(2), None);
    }

    #[test]
    fn one_job_runs_in_input_order() {
        let dependencies = vec![vec![], vec![], vec![0], vec![]];
        let order = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        run(&dependencies, 1, &stop, |index| {
            if let Ok(mut order) = order.lock() {
                order.push(index);
            }
            true
        });
        assert_eq!(order.into_inner().unwrap_or_default(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn the_pool_never_runs_more_than_jobs_at_once() {
        let dependencies = vec![Vec::new(); 40];
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        run(&dependencies, 3, &stop, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
            true
        });
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert!(most.load(Ordering::SeqCst) >= 2);
    }

    #[test]
    fn stop_lets_work_in_flight_finish_and_starts_nothing_new() {
        let dependencies = vec![Vec::new(); 10];
        let stop = AtomicBool::new(false);
        let results = run(&dependencies, 2, &stop, |index| {
            if index == 0 {
                stop.store(true, Ordering::SeqCst);
            }
            true
        });
        let ran = results
            .iter()
            .filter(|result| matches!(result, ObjectResult::Ran { .. }))
            .count();
        assert!(ran <= 2, "{results:?}");
        assert!(results.contains(&ObjectResult::NotStarted));
    }

    #[test]
    fn dependencies_follow_digests_and_shared_tags() {
        let input = br#"
            {"type":"blob","refs":["localhost:3000/true"],"data":"YQ=="}
            {"type":"manifest","refs":["localhost:3000/true:1"],"data":{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb","size":1},"layers":[]}}
            {"type":"blob","refs":["localhost:3000/other"],"data":"Yg=="}
            {"type":"blob","refs":["localhost:3000/mount"],"lookup":{"":"localhost:3000/true@sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"}}
            {"type":"manifest","refs":["localhost:3000/true:1"],"lookup":{"":"localhost:3000/x:y"}}
        "#;
        let objects = super::super::input::parse(input).unwrap_or_else(|errors| panic!("{errors}"));
        assert_eq!(
            dependencies(&objects),
            vec![vec![], vec![0], vec![], vec![0], vec![1]]
        );
    }
}
