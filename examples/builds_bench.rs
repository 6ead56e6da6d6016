//! Benchmark of `builds`: 1,000 sources x 4 arches with parents, from a
//! local registry (every lookup over HTTP) and from a warm cache.
//!
//! `cargo run --release --example builds_bench [-- SOURCES]`
//!
//! Parents: sources 0-99 build on one of ten pinned base images (by digest),
//! every later source builds on the source 100 before it (chains ten deep,
//! so ten waves), and every tenth source also on a by-tag `tools:latest`.
//! Staging images are pushed round by round until every build resolves, as
//! a build farm would, then the two measured runs start from scratch: a
//! fresh client each time, requests counted by a proxy in front of the
//! registry.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/builds_support/mod.rs"]
mod builds_support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Map, Value};

use doi::builds::{self, BuildsOptions, BuildsRun, IndexLookup, LookupCache, StagingTemplate};
use support::{FaultProxy, Registry, RegistryAuth};

/// The binaries' allocator, so in-process figures match theirs.
#[path = "../src/bin/shared/allocator.rs"]
mod allocator;

const ARCHES: [&str; 4] = ["amd64", "arm64v8", "arm32v7", "s390x"];
const BASE_IMAGES: usize = 10;
const LEVEL_WIDTH: usize = 100;
const PUSH_THREADS: usize = 8;

fn main() {
    let count = support::count_argument(1000);
    if !support::require_registry() {
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    let url = registry.url();
    let host = proxy.host();

    let started = Instant::now();
    let base_pins: Vec<String> = (0..BASE_IMAGES)
        .map(|number| builds_support::push_image(&url, &format!("base{number}"), "1", &ARCHES))
        .collect();
    builds_support::push_image(&url, "tools", "latest", &ARCHES);
    let sources = generate_sources(count, &host, &base_pins);
    let template = StagingTemplate::new(&format!("{host}/staging-ARCH:BUILD"))
        .unwrap_or_else(|error| panic!("{error}"));
    // One image manifest per staging repository; each build gets an index.
    let staging_descriptors: HashMap<&str, Value> = ARCHES
        .iter()
        .map(|arch| {
            (
                *arch,
                builds_support::push_platform_manifest(
                    &url,
                    &format!("staging-{arch}"),
                    arch,
                    "staging",
                ),
            )
        })
        .collect();
    let mut cache = LookupCache::new();
    let mut rounds = 0;
    loop {
        let run = run_builds(&sources, &template, &cache);
        let unstaged: Vec<(String, String)> = run
            .builds
            .values()
            .filter(|build| build["build"]["resolved"].is_null())
            .map(|build| {
                let image = build["build"]["img"].as_str().unwrap_or_default();
                let tag = image.rsplit(':').next().unwrap_or_default().to_string();
                (
                    build["build"]["arch"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    tag,
                )
            })
            .collect();
        cache = run.cache;
        rounds += 1;
        if unstaged.is_empty() && run.builds.len() == count * ARCHES.len() {
            break;
        }
        push_staging(&url, &staging_descriptors, &unstaged);
        assert!(rounds <= 20, "staging did not converge");
    }
    println!(
        "setup: {count} sources x {} arches, {rounds} staging rounds, {:.1?}",
        ARCHES.len(),
        started.elapsed()
    );

    // One run of builds with `cache`: what it made, its time, its requests.
    let measured = |cache: &LookupCache| {
        proxy.reset_counts();
        let started = Instant::now();
        let run = run_builds(&sources, &template, cache);
        (run, started.elapsed(), proxy.count())
    };
    let (cold, cold_time, cold_requests) = measured(&LookupCache::new());
    println!(
        "local registry: {} builds in {:.1?}, {} lookups, {} HTTP requests",
        cold.builds.len(),
        cold_time,
        cold.registry_lookups,
        cold_requests
    );
    let (warm, warm_time, warm_requests) = measured(&cold.cache);
    println!(
        "warm cache:     {} builds in {:.1?}, {} lookups, {} HTTP requests ({} cache entries)",
        warm.builds.len(),
        warm_time,
        warm.registry_lookups,
        warm_requests,
        cold.cache.len()
    );
    assert!(
        warm.to_bytes() == cold.to_bytes(),
        "the cache changes nothing"
    );

    let started = Instant::now();
    let bytes = warm.to_bytes();
    println!(
        "printing:       {} bytes in {:.1?}",
        bytes.len(),
        started.elapsed()
    );
}

/// Runs `builds` with a fresh registry client (so its in-process cache
/// starts empty) over the given lookup cache.
fn run_builds(sources: &Value, template: &StagingTemplate, cache: &LookupCache) -> BuildsRun {
    let lookup = registry_lookup();
    builds::run(
        sources,
        template,
        cache,
        Some(lookup.as_ref()),
        &BuildsOptions::default(),
    )
    .unwrap_or_else(|error| panic!("builds failed: {error}"))
}

fn registry_lookup() -> Box<dyn IndexLookup> {
    match doi::registry::Client::from_env() {
        Ok(client) => Box::new(client),
        Err(error) => panic!("registry client: {error}"),
    }
}

fn generate_sources(count: usize, host: &str, base_pins: &[String]) -> Value {
    let mut sources = Map::new();
    for number in 0..count {
        let id = format!("{number:064x}");
        let mut parents = Map::new();
        if number < LEVEL_WIDTH {
            let base = number % BASE_IMAGES;
            parents.insert(
                format!("{host}/base{base}:1"),
                json!({"sourceId": null, "pin": base_pins[base]}),
            );
        } else {
            parents.insert(
                format!("example/level:{}", number - LEVEL_WIDTH),
                json!({"sourceId": format!("{:064x}", number - LEVEL_WIDTH), "pin": null}),
            );
        }
        if number % 10 == 0 {
            parents.insert(
                format!("{host}/tools:latest"),
                json!({"sourceId": null, "pin": null}),
            );
        }
        let arches: Map<String, Value> = ARCHES
            .iter()
            .map(|arch| {
                (
                    arch.to_string(),
                    json!({
                        "tags": [format!("example/image:{number}")],
                        "archTags": [format!("{arch}/example/image:{number}")],
                        "froms": parents.keys().collect::<Vec<_>>(),
                        "platform": builds_support::platform(arch),
                        "parents": parents.clone()
                    }),
                )
            })
            .collect();
        sources.insert(
            id.clone(),
            json!({"sourceId": id, "reproducibleGitChecksum": id, "entries": [], "arches": arches}),
        );
    }
    Value::Object(sources)
}

/// Pushes one staging index per (arch, build id), on a few threads.
fn push_staging(url: &str, descriptors: &HashMap<&str, Value>, unstaged: &[(String, String)]) {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PUSH_THREADS {
            scope.spawn(|| loop {
                let position = next.fetch_add(1, Ordering::Relaxed);
                let Some((arch, tag)) = unstaged.get(position) else {
                    break;
                };
                match descriptors.get(arch.as_str()) {
                    Some(descriptor) => {
                        builds_support::push_index(
                            url,
                            &format!("staging-{arch}"),
                            tag,
                            std::slice::from_ref(descriptor),
                        );
                    }
                    None => failures
                        .lock()
                        .map(|mut list| list.push(arch.clone()))
                        .unwrap_or(()),
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_default();
    assert!(
        failures.is_empty(),
        "no staging repository for {failures:?}"
    );
}
