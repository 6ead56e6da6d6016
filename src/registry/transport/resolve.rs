//! Host names resolved once a minute per host, not once per request.
//!
//! ureq resolves the host of every request before it looks in its pool for
//! an open connection, and once a resolve timeout is set (ours is, so a
//! hung DNS server cannot stall us) its resolver runs every lookup on a
//! thread of its own. That was a thread spawned and joined per request:
//! over 10,000 HEADs of `lookup_bench`, 4,148 threads instead of 149, and
//! the client's CPU per request doubled, taken from the registry it
//! shares the cores with. [`CachingResolver`] keeps what ureq's resolver
//! found for each `host:port`, so only the first request to a host (and
//! one a minute after that) waits on a lookup, still within the timeout.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long resolved addresses are used before the name is looked up
/// again: long enough that a burst of requests shares one lookup, short
/// enough that a registry moving to new addresses is followed within a
/// minute, as a long push goes on.
const KEEP: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(crate) struct CachingResolver {
    lookup: DefaultResolver,
    found: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl CachingResolver {
    /// The addresses for `key` found within [`KEEP`] of `now`, or those
    /// `look_up` finds (kept only when it succeeds: a failure is tried
    /// afresh by the next request).
    fn cached(
        &self,
        key: &str,
        now: Instant,
        look_up: impl FnOnce() -> Result<ResolvedSocketAddrs, ureq::Error>,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if let Some((found_at, addresses)) = self.table().get(key) {
            if now.saturating_duration_since(*found_at) < KEEP {
                return Ok(addresses.clone());
            }
        }
        // Looked up outside the lock: one slow name must not hold up
        // requests to the others.
        let addresses = look_up()?;
        self.table()
            .insert(key.to_string(), (now, addresses.clone()));
        Ok(addresses)
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, ResolvedSocketAddrs)>> {
        // A panic elsewhere cannot leave the table half-written (each
        // change is one insert), so a poisoned lock is still good.
        self.found
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let look_up = || self.lookup.resolve(uri, config, timeout);
        // ureq's own name for the place a request goes; a URI without one
        // is ureq's to refuse.
        match uri
            .scheme()
            .zip(uri.authority())
            .and_then(|(scheme, authority)| DefaultResolver::host_and_port(scheme, authority))
        {
            Some(key) => self.cached(&key, Instant::now(), look_up),
            None => look_up(),
        }
    }
}

impl fmt::Debug for CachingResolver {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CachingResolver")
            .field("hosts", &self.table().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::net::SocketAddr;

    fn addresses(text: &str) -> ResolvedSocketAddrs {
        let mut found = CachingResolver::default().empty();
        found.push(text.parse::<SocketAddr>().expect("address"));
        found
    }

    #[test]
    fn a_host_is_looked_up_once_while_its_addresses_are_fresh() {
        let resolver = CachingResolver::default();
        let lookups = Cell::new(0);
        let look_up = |answer: &'static str| {
            lookups.set(lookups.get() + 1);
            Ok(addresses(answer))
        };
        let start = Instant::now();
        for step in 0..3 {
            let found = resolver
                .cached(
                    "registry.test:5000",
                    start + Duration::from_secs(step),
                    || look_up("127.0.0.1:5000"),
                )
                .expect("resolved");
            assert_eq!(found[0], "127.0.0.1:5000".parse::<SocketAddr>().unwrap());
        }
        assert_eq!(lookups.get(), 1);
        // Another port is another place.
        resolver
            .cached("registry.test:5001", start, || look_up("127.0.0.1:5001"))
            .expect("resolved");
        assert_eq!(lookups.get(), 2);
        // A minute on, the name is looked up again, and its new address used.
        let moved = resolver
            .cached("registry.test:5000", start + KEEP, || {
                look_up("127.0.0.2:5000")
            })
            .expect("resolved");
        assert_eq!(moved[0], "127.0.0.2:5000".parse::<SocketAddr>().unwrap());
        assert_eq!(lookups.get(), 3);
    }

    #[test]
    fn a_failed_lookup_is_not_kept() {
        let resolver = CachingResolver::default();
        let now = Instant::now();
        let failed = resolver.cached("nowhere.test:80", now, || Err(ureq::Error::HostNotFound));
        assert!(matches!(failed, Err(ureq::Error::HostNotFound)));
        let found = resolver
            .cached("nowhere.test:80", now, || Ok(addresses("127.0.0.1:80")))
            .expect("the next request looks up again");
        assert_eq!(found.len(), 1);
    }
}
