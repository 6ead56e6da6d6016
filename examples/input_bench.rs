//! Deploy input validation benchmark: one deploy object with N refs, parsed
//! and normalized as `deploy` does before anything is pushed. Prints the
//! time per size and the time per ref, which stays flat when the checks
//! are linear; beside the figures issue 9 measured before the fix (the
//! pairwise duplicate check: 5.6 s for 40,000 refs, more than a minute for
//! 200,000).
//!
//! `cargo run --release --example input_bench [MAX_REFS]`

use std::time::{Duration, Instant};

use doi::deploy::input;

fn main() {
    let max: usize = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(200_000);
    println!("refs      validation   per ref    before the fix (issue 9)");
    let mut sizes = vec![10_000, 40_000, 100_000, 200_000];
    sizes.retain(|size| *size <= max);
    for size in sizes {
        let text = object(size);
        let took = best_of(3, || {
            let objects = input::parse(text.as_bytes()).unwrap_or_else(|errors| panic!("{errors}"));
            assert_eq!(objects[0].refs.len(), size);
        });
        let before = match size {
            40_000 => "5.6 s",
            200_000 => "> 60 s",
            _ => "",
        };
        println!(
            "{size:<9} {:<12} {:<10} {before}",
            format!("{took:.2?}"),
            format!("{:.0?}", took / size as u32)
        );
    }
}

/// A manifest copy with `size` distinct tags (copied, so no data is hashed
/// and the refs are the whole cost).
fn object(size: usize) -> String {
    let refs: Vec<String> = (0..size)
        .map(|index| format!("\"localhost:5000/library/repo-{}:tag-{index}\"", index % 50))
        .collect();
    format!(
        "{{\"type\":\"manifest\",\"refs\":[{}],\"lookup\":{{\"\":\"localhost:5000/staging:x\"}}}}",
        refs.join(",")
    )
}

fn best_of(rounds: usize, mut run: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}
