//! Benchmark: `oci-validate` on a generated layout with over 1 GiB of gzip
//! layers, against the cost floor of reading every `diff_id` at all.
//!
//! The floor is what any validator must at least do: `gzip -dc LAYER |
//! sha256sum` for each layer (the uncompressed digest) plus `sha256sum` of
//! every blob (the stored digests), run by the shell one after the other.
//! The target is at most 1.25 times the floor's wall time, with a peak
//! resident set under 64 MiB whatever the layer size (layers are streamed,
//! hashed compressed and uncompressed in one pass).
//!
//! Run: `cargo run --release --example oci_validate_bench [TOTAL_MIB]
//! [LAYERS]` (default 1100 MiB of compressed layers in 4 layers). The
//! layout is generated under a temporary directory with deterministic
//! content that compresses about 2:1 (half pseudo-random bytes, half
//! text), then each side runs 3 times under `/usr/bin/time` and the best
//! run is printed. `oci-validate` runs as a child process of this program
//! (the same library call the binary makes), so its peak memory is its
//! own.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use doi::registry::Digest;
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// The binaries' allocator, so in-process figures match theirs.
#[path = "../src/bin/shared/allocator.rs"]
mod allocator;

const RUNS: usize = 3;
const FILE_SIZE: u64 = 8 * 1024 * 1024;

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    if arguments.get(1).map(String::as_str) == Some("--validate") {
        // The measured child: what `oci-validate --quiet LAYOUT` does.
        let layout = PathBuf::from(&arguments[2]);
        match doi::oci::validate_layout(&layout, &mut |_| {}) {
            Ok(_) => std::process::exit(0),
            Err(error) => {
                eprintln!("oci-validate: error: {error}");
                std::process::exit(1);
            }
        }
    }
    let total_mib: u64 = arguments
        .get(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1100);
    let layers: u64 = arguments.get(2).and_then(|v| v.parse().ok()).unwrap_or(4);
    for tool in ["gzip", "sha256sum", "/usr/bin/time", "sh"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool} >/dev/null")])
            .status()
            .map(|status| !status.success())
            .unwrap_or(true)
        {
            eprintln!("oci_validate_bench: {tool} is not installed; nothing to measure");
            return;
        }
    }
    let directory = tempfile::tempdir().expect("temporary directory");
    let layout = directory.path().join("layout");
    eprintln!("oci_validate_bench: generating {layers} layers, {total_mib} MiB of gzip in all...");
    let generated = generate(&layout, total_mib * 1024 * 1024, layers).expect("layout generated");

    let layer_list: Vec<String> = generated
        .layer_files
        .iter()
        .map(|path| format!("'{}'", path.display()))
        .collect();
    let floor_script = format!(
        "set -e; for layer in {}; do gzip -dc \"$layer\" | sha256sum >/dev/null; done; sha256sum '{}'/blobs/sha256/* >/dev/null",
        layer_list.join(" "),
        layout.display()
    );
    let me = std::env::current_exe().expect("own path");
    let floor = best_of(|| measure(Command::new("sh").args(["-c", &floor_script])));
    let ours = best_of(|| measure(Command::new(&me).arg("--validate").arg(&layout)));

    let gib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0 * 1024.0);
    println!(
        "oci_validate_bench: {layers} gzip layers, {:.2} GiB compressed, {:.2} GiB uncompressed ({:.2}:1), best of {RUNS}",
        gib(generated.compressed),
        gib(generated.uncompressed),
        generated.uncompressed as f64 / generated.compressed as f64
    );
    println!(
        "{:<40} {:>8} {:>10} {:>10} {:>12}",
        "", "wall s", "user s", "sys s", "peak RSS"
    );
    for (name, run) in [
        ("floor: gzip -dc | sha256sum, sha256sum", &floor),
        ("oci-validate", &ours),
    ] {
        println!(
            "{name:<40} {:>8.2} {:>10.2} {:>10.2} {:>8.1} MiB",
            run.wall,
            run.user,
            run.system,
            run.max_rss_kib as f64 / 1024.0
        );
    }
    println!(
        "ratio oci-validate / floor: wall {:.2}x (target <= 1.25x), cpu {:.2}x; oci-validate peak RSS {:.1} MiB (target < 64 MiB)",
        ours.wall / floor.wall,
        (ours.user + ours.system) / (floor.user + floor.system),
        ours.max_rss_kib as f64 / 1024.0
    );
}

#[derive(Clone, Copy, Debug)]
struct Run {
    wall: f64,
    user: f64,
    system: f64,
    max_rss_kib: u64,
}

fn best_of(mut run: impl FnMut() -> Run) -> Run {
    let mut best: Option<Run> = None;
    for _ in 0..RUNS {
        let result = run();
        if best.is_none_or(|best| result.wall < best.wall) {
            best = Some(result);
        }
    }
    best.expect("at least one run")
}

/// Runs the command under `/usr/bin/time` (which counts its waited-for
/// children too) and reads wall, user and system seconds and peak RSS.
fn measure(command: &mut Command) -> Run {
    let report = tempfile::NamedTempFile::new().expect("report file");
    let program = command.get_program().to_owned();
    let arguments: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%e %U %S %M", "-o"])
        .arg(report.path())
        .arg(&program)
        .args(&arguments)
        .status()
        .expect("command runs");
    assert!(status.success(), "{program:?} failed");
    let text = std::fs::read_to_string(report.path()).expect("time report");
    let fields: Vec<&str> = text.split_whitespace().collect();
    let number = |index: usize| {
        fields[fields.len() - 4 + index]
            .parse::<f64>()
            .unwrap_or(0.0)
    };
    Run {
        wall: number(0),
        user: number(1),
        system: number(2),
        max_rss_kib: number(3) as u64,
    }
}

struct Generated {
    layer_files: Vec<PathBuf>,
    compressed: u64,
    uncompressed: u64,
}

/// Deterministic content that does not compress to nothing: each 4 KiB
/// block is 2 KiB of xorshift bytes and 2 KiB of words.
struct Content {
    state: u64,
    remaining: u64,
    block: Vec<u8>,
    position: usize,
}

impl Content {
    fn new(seed: u64, size: u64) -> Content {
        Content {
            state: seed | 1,
            remaining: size,
            block: Vec::new(),
            position: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn refill(&mut self) {
        const WORDS: [&str; 16] = [
            "layer ",
            "busybox ",
            "config ",
            "digest ",
            "manifest ",
            "index ",
            "blob ",
            "sha256 ",
            "platform ",
            "linux ",
            "amd64 ",
            "tar ",
            "gzip ",
            "official ",
            "image ",
            "docker ",
        ];
        self.block.clear();
        while self.block.len() < 2048 {
            let value = self.next();
            self.block.extend_from_slice(&value.to_le_bytes());
        }
        while self.block.len() < 4096 {
            let word = WORDS[(self.next() % 16) as usize];
            self.block.extend_from_slice(word.as_bytes());
        }
        self.block.truncate(4096);
        self.position = 0;
    }
}

impl Read for Content {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        if self.position == self.block.len() {
            self.refill();
        }
        let count = buffer
            .len()
            .min(self.block.len() - self.position)
            .min(self.remaining as usize);
        buffer[..count].copy_from_slice(&self.block[self.position..self.position + count]);
        self.position += count;
        self.remaining -= count as u64;
        Ok(count)
    }
}

/// Counts and hashes what is written through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.count += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex_digest(hasher: Sha256) -> String {
    let bytes = hasher.finalize();
    format!(
        "sha256:{}",
        bytes
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    )
}

fn write_blob(layout: &Path, bytes: &[u8]) -> io::Result<String> {
    let digest = Digest::sha256_of(bytes);
    std::fs::write(layout.join("blobs/sha256").join(digest.hex()), bytes)?;
    Ok(digest.to_string())
}

/// Writes an image layout of one image with `layer_count` gzip layers of
/// about `total / layer_count` compressed bytes each, streaming.
fn generate(layout: &Path, total: u64, layer_count: u64) -> io::Result<Generated> {
    std::fs::create_dir_all(layout.join("blobs/sha256"))?;
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    let per_layer = total / layer_count;
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    let mut layer_files = Vec::new();
    let (mut compressed, mut uncompressed) = (0, 0);
    for layer in 0..layer_count {
        let staging = layout.join(format!("layer-{layer}.tmp"));
        let file = HashingWriter {
            inner: BufWriter::new(File::create(&staging)?),
            hasher: Sha256::new(),
            count: 0,
        };
        let gzip = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let tar_stream = HashingWriter {
            inner: gzip,
            hasher: Sha256::new(),
            count: 0,
        };
        let mut builder = tar::Builder::new(tar_stream);
        let mut file_number = 0u64;
        while builder.get_ref().inner.get_ref().count < per_layer {
            let mut header = tar::Header::new_gnu();
            header.set_size(FILE_SIZE);
            header.set_mode(0o644);
            header.set_mtime(1_700_000_000);
            header.set_cksum();
            let name = format!("data/{layer}/file-{file_number:05}");
            let seed = layer * 1_000_003 + file_number + 1;
            builder.append_data(&mut header, name, Content::new(seed, FILE_SIZE))?;
            file_number += 1;
        }
        let tar_stream = builder.into_inner()?;
        let diff_id = hex_digest(tar_stream.hasher);
        uncompressed += tar_stream.count;
        let mut file = tar_stream.inner.finish()?;
        file.flush()?;
        let digest = hex_digest(file.hasher);
        compressed += file.count;
        let blob = layout.join("blobs/sha256").join(&digest[7..]);
        std::fs::rename(&staging, &blob)?;
        layers.push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": digest,
            "size": file.count,
        }));
        diff_ids.push(diff_id);
        layer_files.push(blob);
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))?;
    let config_digest = write_blob(layout, &config)?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers,
    }))?;
    let manifest_digest = write_blob(layout, &manifest)?;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "platform": {"architecture": "amd64", "os": "linux"},
        }],
    }))?;
    std::fs::write(layout.join("index.json"), index)?;
    Ok(Generated {
        layer_files,
        compressed,
        uncompressed,
    })
}
