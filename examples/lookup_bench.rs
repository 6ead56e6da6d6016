//! Benchmark: `lookup --parallel --head` over 10,000 distinct tags of a
//! local registry, against the registry's own capacity.
//!
//! The client must not be the bottleneck: the same HEADs sent by a minimal
//! raw HTTP/1.1 loop (keep-alive connections, one per worker, nothing but
//! the request line and three headers) at the same concurrency measure what
//! the registry can answer; the target is that `lookup` takes at most 1.2
//! times as long, sending exactly one request per tag.
//!
//! Run: `cargo run --release --example lookup_bench [TAGS]` (needs Debian's
//! `docker-registry`). The lookup runs in this process through the same
//! function the `lookup` binary calls, its output rendered by the jq
//! printer and discarded.

#[path = "../tests/support/mod.rs"]
mod support;

/// The binaries' allocator, so in-process figures match theirs.
#[path = "../src/bin/shared/allocator.rs"]
mod allocator;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use doi::jq::print::{serde_to_vec, PrintOptions};
use doi::registry::lookup_command::{
    self, LookupArguments, LookupItem, RunOutcome, DEFAULT_PARALLEL_JOBS,
};
use doi::registry::{Client, ClientConfig, ObjectType, Reference};
use support::{Registry, RegistryAuth};

const REPOSITORY: &str = "bench/tags";

fn main() {
    let tags = support::count_argument(10_000);
    if !support::require_registry() {
        eprintln!("lookup_bench: docker-registry is not installed; nothing to measure");
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    eprintln!("seeding {tags} tags into {} ...", registry.host());
    let seeding = Instant::now();
    seed(&registry, tags);
    eprintln!("seeded in {:.1?}", seeding.elapsed());
    let jobs = DEFAULT_PARALLEL_JOBS;
    println!("machine: {}", machine());
    println!("tags: {tags}, concurrency: {jobs}");

    let mut raw_best = Duration::MAX;
    let mut lookup_best = Duration::MAX;
    for round in 1..=2 {
        let (raw, raw_cpu) = with_cpu(|| raw_heads(&registry.host(), tags, jobs));
        raw_best = raw_best.min(raw);
        println!(
            "round {round}: raw HEAD loop:   {:>7.3} s, {tags} requests, {:>6.0} requests/s, client CPU {:.2} s ({:.0} us/request)",
            raw.as_secs_f64(),
            tags as f64 / raw.as_secs_f64(),
            raw_cpu.as_secs_f64(),
            per_request(raw_cpu, tags as u64)
        );
        let ((time, requests), cpu) = with_cpu(|| lookup_heads(&registry.host(), tags, jobs));
        lookup_best = lookup_best.min(time);
        println!(
            "round {round}: lookup --parallel --head: {:>7.3} s, {requests} requests, {:>6.0} requests/s, client CPU {:.2} s ({:.0} us/request)",
            time.as_secs_f64(),
            requests as f64 / time.as_secs_f64(),
            cpu.as_secs_f64(),
            per_request(cpu, requests)
        );
        assert_eq!(
            requests, tags as u64,
            "lookup must send exactly one request per tag"
        );
    }
    let ratio = lookup_best.as_secs_f64() / raw_best.as_secs_f64();
    println!(
        "best: lookup {:.3} s vs raw {:.3} s: ratio {ratio:.2} (target <= 1.20)",
        lookup_best.as_secs_f64(),
        raw_best.as_secs_f64()
    );
}

/// Runs `job` and measures the CPU this process (not the registry) spent
/// on it: on 2 cores the registry needs most of them, so the client's CPU
/// is what it takes away from the registry's answers.
fn with_cpu<T>(job: impl FnOnce() -> T) -> (T, Duration) {
    let before = process_cpu();
    let result = job();
    (result, process_cpu().saturating_sub(before))
}

fn per_request(cpu: Duration, requests: u64) -> f64 {
    cpu.as_secs_f64() * 1e6 / requests.max(1) as f64
}

/// User plus system time of every thread this process ran, from
/// `/proc/self/stat` (clock ticks of 10 ms; zero where it is missing).
fn process_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which may hold spaces.
            let rest = stat.get(stat.rfind(')')? + 2..)?.to_string();
            let fields: Vec<&str> = rest.split(' ').collect();
            let user: u64 = fields.get(11)?.parse().ok()?;
            let system: u64 = fields.get(12)?.parse().ok()?;
            Some(user + system)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// One image, then `tags` tags of its index (8 seeding threads).
fn seed(registry: &Registry, tags: usize) {
    let url = registry.url();
    let image = support::seed_image(&url, REPOSITORY, "base");
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| loop {
                let number = next.fetch_add(1, Ordering::Relaxed);
                if number >= tags {
                    break;
                }
                support::seed_manifest(
                    &url,
                    REPOSITORY,
                    &format!("tag-{number}"),
                    "application/vnd.oci.image.index.v1+json",
                    &image.index_bytes,
                );
            });
        }
    });
}

/// The registry's capacity: `jobs` workers, each on one keep-alive
/// connection, sending the bare HEAD and reading the answer head.
fn raw_heads(host: &str, tags: usize, jobs: usize) -> Duration {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let stream = TcpStream::connect(host).expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let mut writer = stream.try_clone().expect("clone");
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                loop {
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    if number >= tags {
                        break;
                    }
                    write!(
                        writer,
                        "HEAD /v2/{REPOSITORY}/manifests/tag-{number} HTTP/1.1\r\nHost: {host}\r\nAccept: {}\r\nUser-Agent: raw-loop\r\n\r\n",
                        doi::registry::protocol::MANIFEST_ACCEPT
                    )
                    .expect("send");
                    let mut status_checked = false;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).expect("read") == 0 {
                            panic!("the registry closed the connection");
                        }
                        if !status_checked {
                            assert!(line.starts_with("HTTP/1.1 200"), "raw HEAD answered {line}");
                            status_checked = true;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                }
            });
        }
    });
    started.elapsed()
}

/// `lookup --parallel --head` over every tag, in this process; returns the
/// time and the requests the client sent.
fn lookup_heads(host: &str, tags: usize, jobs: usize) -> (Duration, u64) {
    let client = Client::new(ClientConfig {
        docker_config_dir: Some(std::env::temp_dir().join("lookup-bench-no-docker-config")),
        ..ClientConfig::default()
    });
    let items: Vec<LookupItem> = (0..tags)
        .map(|number| LookupItem {
            reference: format!("{host}/{REPOSITORY}:tag-{number}")
                .parse::<Reference>()
                .expect("reference"),
            object_type: Some(ObjectType::Manifest),
            head: true,
        })
        .collect();
    let arguments = LookupArguments {
        jobs,
        items,
        limits: Default::default(),
    };
    let options = PrintOptions::tab();
    let print = |value: &serde_json::Value| serde_to_vec(value, &options);
    let mut output = Vec::with_capacity(tags * 200);
    let mut errors = Vec::new();
    let started = Instant::now();
    let outcome = lookup_command::run(&client, &arguments, &mut output, &mut errors, &print);
    let elapsed = started.elapsed();
    assert_eq!(
        outcome,
        RunOutcome::Success,
        "{}",
        String::from_utf8_lossy(&errors)
    );
    let printed = output.iter().filter(|&&byte| byte == b'\n').count();
    assert!(printed >= tags, "one document per tag");
    (elapsed, client.stats().total())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    format!("{cores} cores, {cpu}")
}
