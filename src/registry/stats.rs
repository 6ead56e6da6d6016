//! Request counters by kind.
//!
//! The whole point of the client is to send few requests, so every request
//! that leaves the process is counted here, by the innermost transport
//! layer (a retry is a request too, and is counted once more under
//! `retries`). `deploy --stats` and the tests read these numbers.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a request is, for counting; a mount is a POST but is counted apart
/// because it replaces an upload, and token fetches go to another service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    Head,
    Get,
    Put,
    Post,
    Patch,
    Delete,
    Mount,
    Token,
}

/// Live counters, shared by every transport of one client.
#[derive(Debug, Default)]
pub struct Counters {
    head: AtomicU64,
    get: AtomicU64,
    put: AtomicU64,
    post: AtomicU64,
    patch: AtomicU64,
    delete: AtomicU64,
    mount: AtomicU64,
    token_fetches: AtomicU64,
    retries: AtomicU64,
}

impl Counters {
    pub fn count(&self, kind: RequestKind) {
        let counter = match kind {
            RequestKind::Head => &self.head,
            RequestKind::Get => &self.get,
            RequestKind::Put => &self.put,
            RequestKind::Post => &self.post,
            RequestKind::Patch => &self.patch,
            RequestKind::Delete => &self.delete,
            RequestKind::Mount => &self.mount,
            RequestKind::Token => &self.token_fetches,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> RequestStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RequestStats {
            head: read(&self.head),
            get: read(&self.get),
            put: read(&self.put),
            post: read(&self.post),
            patch: read(&self.patch),
            delete: read(&self.delete),
            mount: read(&self.mount),
            token_fetches: read(&self.token_fetches),
            retries: read(&self.retries),
        }
    }
}

/// A snapshot of the counters (see [`crate::registry::Client::stats`]).
/// Every field counts requests sent, retries included; `retries` says how
/// many of them were retries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestStats {
    pub head: u64,
    pub get: u64,
    pub put: u64,
    pub post: u64,
    pub patch: u64,
    pub delete: u64,
    pub mount: u64,
    pub token_fetches: u64,
    pub retries: u64,
}

impl RequestStats {
    /// Requests sent to registries (token fetches excluded).
    pub fn registry_requests(&self) -> u64 {
        self.head + self.get + self.put + self.post + self.patch + self.delete + self.mount
    }

    /// Every request sent, token fetches included.
    pub fn total(&self) -> u64 {
        self.registry_requests() + self.token_fetches
    }

    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &RequestStats) -> RequestStats {
        RequestStats {
            head: self.head.saturating_sub(earlier.head),
            get: self.get.saturating_sub(earlier.get),
            put: self.put.saturating_sub(earlier.put),
            post: self.post.saturating_sub(earlier.post),
            patch: self.patch.saturating_sub(earlier.patch),
            delete: self.delete.saturating_sub(earlier.delete),
            mount: self.mount.saturating_sub(earlier.mount),
            token_fetches: self.token_fetches.saturating_sub(earlier.token_fetches),
            retries: self.retries.saturating_sub(earlier.retries),
        }
    }
}

impl fmt::Display for RequestStats {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} requests (HEAD {}, GET {}, PUT {}, POST {}, PATCH {}, mount {}, token {}; retries {})",
            self.total(),
            self.head,
            self.get,
            self.put,
            self.post,
            self.patch,
            self.mount,
            self.token_fetches,
            self.retries
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_differences() {
        let counters = Counters::default();
        counters.count(RequestKind::Head);
        counters.count(RequestKind::Head);
        let before = counters.snapshot();
        counters.count(RequestKind::Mount);
        counters.count(RequestKind::Token);
        counters.count_retry();
        let after = counters.snapshot();
        assert_eq!(before.head, 2);
        let delta = after.since(&before);
        assert_eq!(delta.mount, 1);
        assert_eq!(delta.registry_requests(), 1);
        assert_eq!(delta.total(), 2);
        assert_eq!(delta.retries, 1);
        assert_eq!(
            after.to_string(),
            "4 requests (HEAD 2, GET 0, PUT 0, POST 0, PATCH 0, mount 1, token 1; retries 1)"
        );
    }
}
