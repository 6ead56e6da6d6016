//! One pool of worker threads for every job that runs blocking work (HTTP
//! requests) concurrently: `builds`' lookups, `lookup --parallel` and the
//! deploy scheduler.
//!
//! Tasks are indexes into the caller's items. The calling thread alone
//! decides what starts next ([`Workers::start`]) and receives each result as
//! it completes ([`Workers::next_done`]), so whatever state it keeps (a
//! dependency graph, an output order) needs no lock. [`ordered`] is the
//! common case on top: items start in order, results are handed over in
//! order, and the caller can stop the run at any result.
//!
//! A task that panics does not hang the run: its panic comes back as its
//! result, and [`ordered`] resumes it in the caller once the other workers
//! are told to stop.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::{mpsc, Mutex, PoisonError};
use std::thread;

/// The workers of one [`with_workers`] call, as the calling thread sees them.
pub struct Workers<R> {
    tasks: Option<mpsc::Sender<usize>>,
    done: mpsc::Receiver<(usize, thread::Result<R>)>,
    jobs: usize,
    in_flight: usize,
}

impl<R> Workers<R> {
    /// Whether a worker is free, so [`Workers::start`] runs the task at once.
    pub fn has_idle(&self) -> bool {
        self.in_flight < self.jobs
    }

    /// Starts `work(index)` on a free worker (or the first one to become
    /// free). Callers keep at most `jobs` in flight by checking
    /// [`Workers::has_idle`] first.
    pub fn start(&mut self, index: usize) {
        if let Some(tasks) = &self.tasks {
            // Workers only hang up once this sender is dropped.
            if tasks.send(index).is_ok() {
                self.in_flight += 1;
            }
        }
    }

    /// Waits for the next task to finish: its index and its result (`Err`
    /// holds a panic). `None` when nothing is in flight.
    pub fn next_done(&mut self) -> Option<(usize, thread::Result<R>)> {
        if self.in_flight == 0 {
            return None;
        }
        let finished = self.done.recv().ok()?;
        self.in_flight -= 1;
        Some(finished)
    }
}

/// Runs `drive` with `jobs` worker threads (at least one) that run `work`
/// on the indexes it starts; returns what `drive` returns once every
/// worker has stopped. Tasks still queued when `drive` returns are dropped
/// unstarted; tasks running are finished first.
pub fn with_workers<R, W, D, O>(jobs: usize, work: W, drive: D) -> O
where
    R: Send,
    W: Fn(usize) -> R + Sync,
    D: FnOnce(&mut Workers<R>) -> O,
{
    let jobs = jobs.max(1);
    let (task_sender, task_receiver) = mpsc::channel::<usize>();
    let task_receiver = Mutex::new(task_receiver);
    let (done_sender, done_receiver) = mpsc::channel();
    let work = &work;
    let task_receiver = &task_receiver;
    thread::scope(|scope| {
        for _ in 0..jobs {
            let done = done_sender.clone();
            scope.spawn(move || loop {
                let next = task_receiver
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .recv();
                let Ok(index) = next else { return };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(index)));
                if done.send((index, result)).is_err() {
                    return;
                }
            });
        }
        drop(done_sender);
        let mut workers = Workers {
            tasks: Some(task_sender),
            done: done_receiver,
            jobs,
            in_flight: 0,
        };
        let output = drive(&mut workers);
        // Hang up, so idle workers stop; the scope waits for busy ones.
        workers.tasks = None;
        output
    })
}

/// Runs `work(index)` for `0..count` on up to `jobs` threads, starting
/// tasks in index order, and calls `each(index, result)` in index order as
/// soon as that result and every earlier one are there. When `each` breaks,
/// nothing more starts and no later result is handed over (tasks already
/// running finish and are dropped). With one job, or one task, the work
/// runs on the calling thread.
pub fn ordered<R, W, E>(jobs: usize, count: usize, work: W, mut each: E)
where
    R: Send,
    W: Fn(usize) -> R + Sync,
    E: FnMut(usize, R) -> ControlFlow<()>,
{
    if jobs <= 1 || count <= 1 {
        for index in 0..count {
            if each(index, work(index)).is_break() {
                return;
            }
        }
        return;
    }
    with_workers(jobs.min(count), work, |workers| {
        let mut next = 0;
        let mut handed_over = 0;
        let mut finished: BTreeMap<usize, R> = BTreeMap::new();
        loop {
            while next < count && workers.has_idle() {
                workers.start(next);
                next += 1;
            }
            let Some((index, result)) = workers.next_done() else {
                return;
            };
            let result = result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            finished.insert(index, result);
            while let Some(result) = finished.remove(&handed_over) {
                if each(handed_over, result).is_break() {
                    return;
                }
                handed_over += 1;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Later tasks finish first (shorter sleeps); results still come in order.
    #[test]
    fn results_are_handed_over_in_order_whatever_finishes_first() {
        let mut seen = Vec::new();
        ordered(
            4,
            12,
            |index| {
                std::thread::sleep(Duration::from_millis(24 - 2 * index as u64));
                index * 10
            },
            |index, result| {
                seen.push((index, result));
                ControlFlow::Continue(())
            },
        );
        let expected: Vec<(usize, usize)> = (0..12).map(|index| (index, index * 10)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn breaking_starts_nothing_more() {
        let started = AtomicUsize::new(0);
        let mut seen = Vec::new();
        ordered(
            2,
            100,
            |index| {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
                index
            },
            |index, _| {
                seen.push(index);
                if index == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(seen, [0, 1, 2, 3]);
        assert!(started.load(Ordering::SeqCst) <= 6, "{started:?}");
    }

    #[test]
    fn never_more_than_jobs_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        ordered(
            3,
            40,
            |_| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
                running.fetch_sub(1, Ordering::SeqCst);
            },
            |_, ()| ControlFlow::Continue(()),
        );
        let most = most.load(Ordering::SeqCst);
        assert!((2..=3).contains(&most), "{most}");
    }

    #[test]
    fn one_job_runs_on_the_calling_thread_in_order() {
        let caller = std::thread::current().id();
        let mut order = Vec::new();
        ordered(
            1,
            5,
            |index| (index, std::thread::current().id()),
            |_, (index, thread)| {
                assert_eq!(thread, caller);
                order.push(index);
                ControlFlow::Continue(())
            },
        );
        assert_eq!(order, [0, 1, 2, 3, 4]);
    }

    /// A panicking task must neither hang the pool nor vanish: the caller
    /// sees the panic.
    #[test]
    fn a_panic_reaches_the_caller_without_hanging() {
        let outcome = std::panic::catch_unwind(|| {
            ordered(
                3,
                10,
                |index| {
                    if index == 4 {
                        panic!("task 4 failed");
                    }
                    index
                },
                |_, _| ControlFlow::Continue(()),
            );
        });
        assert!(outcome.is_err());
        let panicked = with_workers(
            2,
            |index| {
                if index == 1 {
                    panic!("boom");
                }
                index
            },
            |workers| {
                workers.start(0);
                workers.start(1);
                let mut panics = 0;
                while let Some((_, result)) = workers.next_done() {
                    panics += usize::from(result.is_err());
                }
                panics
            },
        );
        assert_eq!(panicked, 1);
    }
}
