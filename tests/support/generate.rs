//! What the generated inputs of tests and benchmarks share: one seeded
//! generator and one table of bashbrew architectures.
//!
//! A seed must mean the same input on every run, machine and version, so
//! the generator is written here rather than taken from a crate whose
//! sequence may change. `examples/plan_bench.rs` includes this file alone
//! (`#[path = "../tests/support/generate.rs"]`), so it needs nothing else
//! of the harness.
#![allow(dead_code)]

/// Pseudo-random numbers from a 64-bit LCG (Knuth's MMIX constants).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // The high bits of an LCG are the well-mixed ones.
        ((self.0 >> 33) % bound as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// Fisher-Yates, with this generator.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            items.swap(index, self.below(index + 1));
        }
    }
}

/// bashbrew architectures with the platform registries report for them:
/// (name, os, architecture, variant); the Linux ones first.
pub const ARCHES: &[(&str, &str, &str, Option<&str>)] = &[
    ("amd64", "linux", "amd64", None),
    ("arm32v5", "linux", "arm", Some("v5")),
    ("arm32v6", "linux", "arm", Some("v6")),
    ("arm32v7", "linux", "arm", Some("v7")),
    ("arm64v8", "linux", "arm64", Some("v8")),
    ("i386", "linux", "386", None),
    ("mips64le", "linux", "mips64le", None),
    ("ppc64le", "linux", "ppc64le", None),
    ("riscv64", "linux", "riscv64", None),
    ("s390x", "linux", "s390x", None),
    ("windows-amd64", "windows", "amd64", None),
];
