//! Deploy benchmark: 100 indexes over 300 tags (each version of each image
//! built for one, two or three architectures, with attestations), staged in
//! a local registry, deployed from scratch and then again with nothing to
//! do. Prints the time, the requests by kind and the requests per tag, and
//! checks them against the budget:
//!
//! - from scratch: at most one HEAD and one PUT per tag, plus one retried
//!   PUT per index whose children had to be copied, plus one copy of each
//!   missing child (each source manifest read once: one GET; its blobs
//!   mounted; one PUT);
//! - a re-run: exactly one request per tag.
//!
//! `cargo run --release --example deploy_bench [INDEXES] [JOBS]`
//! (needs `docker-registry`).

#[path = "../tests/deploy_library/mod.rs"]
mod deploy_library;
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use doi::deploy::execute;
use doi::deploy::input;
use doi::deploy::report::Reporter;
use doi::registry::push::Pusher;
use doi::registry::{Client, ClientConfig, RequestStats};

fn main() {
    if !support::require_registry() {
        return;
    }
    let mut arguments = std::env::args().skip(1);
    let indexes: usize = arguments
        .next()
        .and_then(|text| text.parse().ok())
        .unwrap_or(100);
    let jobs: usize = arguments
        .next()
        .and_then(|text| text.parse().ok())
        .unwrap_or(8);

    let registry = support::Registry::start(support::RegistryAuth::None);
    let seeding = Instant::now();
    let library = deploy_library::seed(
        &registry.url(),
        &registry.host(),
        &deploy_library::bench_spec(indexes),
    );
    let objects_json = library.deploy_objects(false);
    let stream = deploy_library::stream(&objects_json);
    let objects = match input::parse(stream.as_bytes()) {
        Ok(objects) => objects,
        Err(errors) => panic!("{errors}"),
    };
    let tags: usize = objects.iter().map(|object| object.refs.len()).sum();
    let children: usize = library.builds.len() * 2;
    let blobs = children * 2;
    println!(
        "library: {} indexes, {tags} tags, {} builds, {children} child manifests, {blobs} blobs (seeded in {:.1?})",
        objects.len(),
        library.builds.len(),
        seeding.elapsed()
    );

    let from_scratch = run(&objects, jobs, "from scratch");
    let budget = RequestStats {
        head: tags as u64,
        put: (tags + objects.len() + children) as u64,
        get: children as u64,
        mount: blobs as u64,
        ..RequestStats::default()
    };
    check(
        "from scratch",
        from_scratch.head <= budget.head
            && from_scratch.put <= budget.put
            && from_scratch.get <= budget.get
            && from_scratch.mount <= budget.mount
            && from_scratch.post == 0,
        &format!(
            "budget: HEAD <= {}, PUT <= {} ({tags} tags + {} retried + {children} child copies), GET <= {}, mount <= {}",
            budget.head,
            budget.put,
            objects.len(),
            budget.get,
            budget.mount
        ),
    );
    let again = run(&objects, jobs, "nothing to do");
    check(
        "nothing to do",
        again.registry_requests() == tags as u64 && again.head == tags as u64,
        &format!("budget: exactly {tags} requests (one HEAD per tag)"),
    );
}

/// One deploy in a fresh client (a new process would have an empty cache
/// too); prints and returns its requests.
fn run(objects: &[input::DeployObject], jobs: usize, label: &str) -> RequestStats {
    let client = Client::new(ClientConfig::default());
    let pusher = Pusher::new(client.clone());
    let total_refs = objects.iter().map(|object| object.refs.len()).sum();
    let reporter = Reporter::new(Box::new(std::io::sink()), false, total_refs, || 0);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let summary = execute::deploy(objects, &pusher, jobs, &stop, &reporter);
    let elapsed = started.elapsed();
    let stats = client.stats();
    assert!(summary.is_success(), "{summary}");
    print_run(label, jobs, total_refs, elapsed, &stats);
    println!(
        "  {}",
        summary.to_string().lines().next().unwrap_or_default()
    );
    stats
}

fn print_run(label: &str, jobs: usize, tags: usize, elapsed: Duration, stats: &RequestStats) {
    let requests = stats.registry_requests();
    println!(
        "{label} ({jobs} jobs): {:.2}s, {requests} requests = HEAD {} + GET {} + PUT {} + POST {} + mount {} (retries {}); {:.2} requests per tag; {:.0} requests/s",
        elapsed.as_secs_f64(),
        stats.head,
        stats.get,
        stats.put,
        stats.post,
        stats.mount,
        stats.retries,
        requests as f64 / tags as f64,
        requests as f64 / elapsed.as_secs_f64().max(1e-9),
    );
}

fn check(label: &str, within: bool, budget: &str) {
    println!(
        "  {label}: {} {budget}",
        if within { "WITHIN" } else { "OVER" }
    );
}
