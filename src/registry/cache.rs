//! The per-process cache with single-flight.
//!
//! Docker Hub counts requests, so the same question must never be asked
//! twice in one process: the first ask for a key runs the request, every
//! concurrent ask for that key waits for it and shares its answer, and later
//! asks read the stored answer. Asks for different keys never wait on each
//! other (the map lock is only held to find or insert a slot, never while a
//! request runs). A failed request is not stored: its waiters get the same
//! error (they asked at the same moment, and would fail the same way), and
//! the next ask tries again.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// A map from key to answer where each answer is computed at most once at a
/// time; see the module documentation.
pub struct SingleFlight<K, V, E> {
    slots: Mutex<HashMap<K, Arc<Slot<V, E>>>>,
}

struct Slot<V, E> {
    state: Mutex<SlotState<V, E>>,
    settled: Condvar,
}

enum SlotState<V, E> {
    InFlight,
    Ready(V),
    Failed(E),
    /// The leader panicked; waiters ask again through the map.
    Abandoned,
}

/// A poisoned lock only means another thread panicked while holding it; the
/// data (a map of finished answers) is still consistent, so keep going.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K, V, E> Default for SingleFlight<K, V, E> {
    fn default() -> Self {
        SingleFlight {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, V, E> SingleFlight<K, V, E>
where
    K: Eq + Hash + Clone,
    V: Clone,
    E: Clone,
{
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored answer for `key`, or the answer of the request in flight
    /// for it, or the result of running `compute` (which is then stored if
    /// it succeeded).
    pub fn get_or_try_insert_with<F>(&self, key: &K, compute: F) -> Result<V, E>
    where
        F: FnOnce() -> Result<V, E>,
    {
        loop {
            let (slot, leader) = {
                let mut slots = lock(&self.slots);
                match slots.get(key) {
                    Some(slot) => (Arc::clone(slot), false),
                    None => {
                        let slot = Arc::new(Slot {
                            state: Mutex::new(SlotState::InFlight),
                            settled: Condvar::new(),
                        });
                        slots.insert(key.clone(), Arc::clone(&slot));
                        (slot, true)
                    }
                }
            };
            if !leader {
                match Self::wait(&slot) {
                    Some(result) => return result,
                    None => continue,
                }
            }
            // Settle the slot even if `compute` panics, so waiters never hang.
            let guard = LeaderGuard {
                owner: self,
                key,
                slot: &slot,
                settled: false,
            };
            let result = compute();
            guard.settle(&result);
            return result;
        }
    }

    /// Waits for the leader; `None` when it panicked (ask again).
    fn wait(slot: &Slot<V, E>) -> Option<Result<V, E>> {
        let mut state = lock(&slot.state);
        loop {
            match &*state {
                SlotState::InFlight => {
                    state = slot
                        .settled
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                SlotState::Ready(value) => return Some(Ok(value.clone())),
                SlotState::Failed(error) => return Some(Err(error.clone())),
                SlotState::Abandoned => return None,
            }
        }
    }

    /// The answer for `key` if it is stored or in flight (waiting for the
    /// flight), without ever starting a request: a HEAD uses this to share a
    /// GET of the same object that is already on the wire.
    pub fn get_or_wait(&self, key: &K) -> Option<Result<V, E>> {
        let slot = lock(&self.slots).get(key).cloned()?;
        Self::wait(&slot)
    }

    /// The stored answer for `key`, without asking and without waiting for
    /// a request in flight.
    pub fn get(&self, key: &K) -> Option<V> {
        let slot = lock(&self.slots).get(key).cloned()?;
        let state = lock(&slot.state);
        match &*state {
            SlotState::Ready(value) => Some(value.clone()),
            _ => None,
        }
    }

    /// Stores an answer learned another way (a GET by tag also answers the
    /// same object by digest; a push makes a tag known). Replaces a stored
    /// answer; leaves a request in flight alone (its answer will be as good).
    pub fn insert(&self, key: K, value: V) {
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.get(&key) {
            let mut state = lock(&slot.state);
            if matches!(*state, SlotState::InFlight) {
                return;
            }
            *state = SlotState::Ready(value);
            return;
        }
        slots.insert(
            key,
            Arc::new(Slot {
                state: Mutex::new(SlotState::Ready(value)),
                settled: Condvar::new(),
            }),
        );
    }

    /// Forgets a stored answer (an expired token, an object we overwrote).
    /// A request in flight is left to finish.
    pub fn remove(&self, key: &K) {
        let mut slots = lock(&self.slots);
        let finished = slots
            .get(key)
            .is_some_and(|slot| !matches!(*lock(&slot.state), SlotState::InFlight));
        if finished {
            slots.remove(key);
        }
    }

    /// Forgets a stored answer for which `stale` says so; see [`Self::remove`].
    pub fn remove_if(&self, key: &K, stale: impl FnOnce(&V) -> bool) {
        let mut slots = lock(&self.slots);
        let remove = slots
            .get(key)
            .is_some_and(|slot| match &*lock(&slot.state) {
                SlotState::Ready(value) => stale(value),
                _ => false,
            });
        if remove {
            slots.remove(key);
        }
    }

    /// Whether no answer is stored or in flight (for the tests).
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        lock(&self.slots).is_empty()
    }
}

/// Settles the leader's slot: stores a success, or removes the slot and
/// hands the error to waiters. Dropped without `settle` (a panic in
/// `compute`), it removes the slot so waiters ask again.
struct LeaderGuard<'a, K: Eq + Hash + Clone, V: Clone, E: Clone> {
    owner: &'a SingleFlight<K, V, E>,
    key: &'a K,
    slot: &'a Arc<Slot<V, E>>,
    settled: bool,
}

impl<K: Eq + Hash + Clone, V: Clone, E: Clone> LeaderGuard<'_, K, V, E> {
    fn settle(mut self, result: &Result<V, E>) {
        {
            let mut state = lock(&self.slot.state);
            *state = match result {
                Ok(value) => SlotState::Ready(value.clone()),
                Err(error) => SlotState::Failed(error.clone()),
            };
        }
        if result.is_err() {
            self.forget();
        }
        self.slot.settled.notify_all();
        self.settled = true;
    }

    fn forget(&self) {
        let mut slots = lock(&self.owner.slots);
        if slots
            .get(self.key)
            .is_some_and(|current| Arc::ptr_eq(current, self.slot))
        {
            slots.remove(self.key);
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone, E: Clone> Drop for LeaderGuard<'_, K, V, E> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        self.forget();
        *lock(&self.slot.state) = SlotState::Abandoned;
        self.slot.settled.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn concurrent_asks_for_one_key_run_one_request() {
        let cache: Arc<SingleFlight<String, usize, String>> = Arc::new(SingleFlight::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (cache, calls, barrier) = (cache.clone(), calls.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    cache.get_or_try_insert_with(&"key".to_string(), || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        // Keep the flight open so the others surely join it.
                        thread::sleep(Duration::from_millis(50));
                        Ok(42)
                    })
                })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), Ok(42));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.get(&"key".to_string()), Some(42));
    }

    #[test]
    fn different_keys_do_not_wait_on_each_other() {
        let cache: Arc<SingleFlight<u32, u32, String>> = Arc::new(SingleFlight::new());
        let (started_sender, started_receiver) = std::sync::mpsc::channel();
        let (release_sender, release_receiver) = std::sync::mpsc::channel::<()>();
        let slow = {
            let cache = cache.clone();
            thread::spawn(move || {
                cache.get_or_try_insert_with(&1, || {
                    started_sender.send(()).unwrap();
                    release_receiver.recv().unwrap();
                    Ok(1)
                })
            })
        };
        started_receiver.recv().unwrap();
        // Key 1 is in flight and blocked; key 2 must answer regardless.
        assert_eq!(cache.get_or_try_insert_with(&2, || Ok(2)), Ok(2));
        release_sender.send(()).unwrap();
        assert_eq!(slow.join().unwrap(), Ok(1));
    }

    #[test]
    fn failures_are_shared_with_waiters_but_not_stored() {
        let cache: SingleFlight<u32, u32, String> = SingleFlight::new();
        assert_eq!(
            cache.get_or_try_insert_with(&1, || Err("boom".to_string())),
            Err("boom".to_string())
        );
        assert!(cache.is_empty());
        assert_eq!(cache.get_or_try_insert_with(&1, || Ok(7)), Ok(7));
        assert_eq!(cache.get_or_try_insert_with(&1, || Ok(8)), Ok(7));
    }

    #[test]
    fn get_or_wait_shares_a_flight_but_never_starts_one() {
        let cache: Arc<SingleFlight<u32, u32, String>> = Arc::new(SingleFlight::new());
        assert_eq!(cache.get_or_wait(&1), None);
        let (started_sender, started_receiver) = std::sync::mpsc::channel();
        let leader = {
            let cache = cache.clone();
            thread::spawn(move || {
                cache.get_or_try_insert_with(&1, || {
                    started_sender.send(()).unwrap();
                    thread::sleep(Duration::from_millis(50));
                    Ok(5)
                })
            })
        };
        started_receiver.recv().unwrap();
        assert_eq!(cache.get_or_wait(&1), Some(Ok(5)));
        assert_eq!(leader.join().unwrap(), Ok(5));
    }

    #[test]
    fn insert_and_remove() {
        let cache: SingleFlight<u32, u32, String> = SingleFlight::new();
        cache.insert(1, 10);
        assert_eq!(cache.get(&1), Some(10));
        cache.remove_if(&1, |value| *value == 11);
        assert_eq!(cache.get(&1), Some(10));
        cache.remove_if(&1, |value| *value == 10);
        assert_eq!(cache.get(&1), None);
        cache.insert(2, 20);
        cache.remove(&2);
        assert!(cache.is_empty());
    }
}
