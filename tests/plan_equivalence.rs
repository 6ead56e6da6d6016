//! Proof that the native planner (`doi::deploy::plan::native`) prints
//! exactly the bytes of the jq modules it replaces for speed.
//!
//! The jq modules are the specification; the native planner is only allowed
//! to exist because these tests run both on the same inputs and compare the
//! bytes: the conformance builds (every tag, and `--arch` for every
//! architecture in it), every builds file of our `testdata/`, and several
//! hundred builds inputs from a seeded generator that varies everything the
//! modules treat specially (see [`Generator`]). The native planner may
//! decline an input (the jq path then plans it); it must never plan one the
//! jq path refuses, and on the generator's well-formed inputs it must not
//! decline at all (or the comparison would prove nothing).
//!
//! On a difference the test prints the seed, the architecture, the input
//! shrunk to the fewest builds that still differ, and the first differing
//! lines side by side.

use crate::plan_util;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;

use crate::support::bin;
use doi::deploy::plan::{native as plan_native, Planner};
use doi::jq::ModuleSearch;
use doi::spec::annotation::{
    ATTESTATION_MANIFEST, BASHBREW_ARCH, REFERENCE_DIGEST, REFERENCE_TYPE, REF_NAME,
};
use doi::spec::media_type::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use plan_util::{conformance, crate_root, side_by_side, success};

/// Generated inputs checked by [`generated_inputs_plan_identically`].
const GENERATED_INPUTS: u64 = 320;

/// The jq path, with the embedded modules whatever the environment says;
/// planners are compiled once per architecture.
#[derive(Default)]
struct JqPlanners {
    planners: HashMap<Option<String>, Planner>,
}

impl JqPlanners {
    fn plan(&mut self, input: &[u8], arch: Option<&str>) -> Result<Vec<u8>, String> {
        let planner = self
            .planners
            .entry(arch.map(str::to_string))
            .or_insert_with(|| {
                Planner::with_search(arch, ModuleSearch::embedded_only(Vec::new()))
                    .expect("the embedded modules compile")
            });
        planner.plan(input).map_err(|error| error.to_string())
    }
}

/// How the two paths compared on one input.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Both planned it, to the same bytes.
    Identical,
    /// The native planner declined; the jq path decides (plans or refuses).
    Declined(&'static str),
    /// The native planner planned something the jq path refuses or plans
    /// differently: the bug these tests exist to catch.
    Different { native: String, jq: String },
}

fn compare(jq: &mut JqPlanners, input: &[u8], arch: Option<&str>) -> Verdict {
    let native = plan_native::plan(input, arch);
    let expected = jq.plan(input, arch);
    match (native, expected) {
        (Err(declined), _) => Verdict::Declined(declined.0),
        (Ok(native), Ok(expected)) if native == expected => Verdict::Identical,
        (Ok(native), expected) => Verdict::Different {
            native: String::from_utf8_lossy(&native).into_owned(),
            jq: match expected {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(error) => format!("(the jq path refuses the input: {error})\n"),
            },
        },
    }
}

/// Asserts the native planner plans `input` (it must not decline) and that
/// its bytes are the jq path's.
fn assert_identical(jq: &mut JqPlanners, what: &str, input: &[u8], arch: Option<&str>) {
    match compare(jq, input, arch) {
        Verdict::Identical => {}
        Verdict::Declined(reason) => {
            panic!("{what} (arch {arch:?}): the native planner declined: {reason}")
        }
        Verdict::Different { native, jq } => panic!(
            "{what} (arch {arch:?}): the native plan differs from the jq modules'\n{}",
            side_by_side(&jq, &native)
        ),
    }
}

/// The distinct `.build.arch` values of a builds input, in input order.
fn arches_of(input: &[u8]) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(input).expect("builds JSON");
    let mut arches: Vec<String> = Vec::new();
    for build in value
        .as_object()
        .into_iter()
        .flat_map(|builds| builds.values())
    {
        if let Some(arch) = build.pointer("/build/arch").and_then(|arch| arch.as_str()) {
            if !arches.iter().any(|known| known == arch) {
                arches.push(arch.to_string());
            }
        }
    }
    arches
}

#[test]
fn conformance_builds_plan_identically() {
    let Some(input) = conformance("builds.json") else {
        return;
    };
    let mut jq = JqPlanners::default();
    assert_identical(&mut jq, "conformance builds.json", &input, None);
    let arches = arches_of(&input);
    assert!(arches.len() >= 5, "expected many arches, got {arches:?}");
    for arch in &arches {
        assert_identical(&mut jq, "conformance builds.json", &input, Some(arch));
    }
    assert_identical(
        &mut jq,
        "conformance builds.json",
        &input,
        Some("no-such-arch"),
    );
}

/// Every JSON file under `testdata/` that is builds metadata (an object of
/// objects with `build` and `source`).
fn testdata_builds() -> Vec<(String, Vec<u8>)> {
    fn walk(directory: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(directory) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "json")
            {
                found.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&crate_root().join("testdata"), &mut paths);
    paths.sort();
    let mut builds = Vec::new();
    for path in paths {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        let is_builds = value.as_object().is_some_and(|object| {
            object.values().all(|build| {
                build.get("build").is_some_and(serde_json::Value::is_object)
                    && build.get("source").is_some()
            })
        });
        if is_builds {
            let name = path
                .strip_prefix(crate_root())
                .unwrap_or(&path)
                .display()
                .to_string();
            builds.push((name, bytes));
        }
    }
    builds
}

#[test]
fn testdata_builds_plan_identically() {
    let inputs = testdata_builds();
    let names: Vec<&str> = inputs.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names.iter().any(|name| name.ends_with("windows.json"))
            && names
                .iter()
                .any(|name| name.ends_with("deploy/builds.json")),
        "testdata builds files not found: {names:?}"
    );
    let mut jq = JqPlanners::default();
    for (name, input) in &inputs {
        assert_identical(&mut jq, name, input, None);
        for arch in arches_of(input) {
            assert_identical(&mut jq, name, input, Some(&arch));
        }
    }
}

/// Inputs `check_builds` refuses (or that are not JSON): the native planner
/// must decline each, so the jq path names the problem as it always has.
#[test]
fn malformed_inputs_are_left_to_the_jq_path() {
    let good_build = |tags: &str, size: &str| {
        format!(
            r#"{{"x": {{"buildId": "x", "build": {{"arch": "amd64", "resolved": {{"manifests": [{{"mediaType": "m", "digest": "d", "size": {size}, "annotations": {{}}}}]}}}}, "source": {{"arches": {{"amd64": {{"tags": {tags}}}}}}}}}}}"#
        )
    };
    let cases = [
        String::new(),
        " \n".to_string(),
        "[]".to_string(),
        "{".to_string(),
        "{} {}".to_string(),
        "{} x".to_string(),
        r#"{"x": 1}"#.to_string(),
        r#"{"x": {"source": {}}}"#.to_string(),
        r#"{"x": {"build": {"arch": 1}}}"#.to_string(),
        r#"{"x": {"build": {"arch": "amd64"}}}"#.to_string(),
        r#"{"x": {"build": {"arch": "amd64"}, "source": {}}}"#.to_string(),
        r#"{"x": {"build": {"arch": "amd64"}, "source": {"arches": []}}}"#.to_string(),
        r#"{"x": {"build": {"arch": "amd64", "resolved": true}, "source": {"arches": {}}}}"#
            .to_string(),
        r#"{"x": {"build": {"arch": "amd64", "resolved": {}}, "source": {"arches": {}}}}"#
            .to_string(),
        r#"{"x": {"build": {"arch": "amd64", "resolved": {}}, "source": {"arches": {"amd64": {}}}}}"#
            .to_string(),
        good_build(r#"["a", ["nested"]]"#, "1"),
        good_build(r#"["a", {"in": "object"}]"#, "1"),
        good_build(r#"{"a": "b"}"#, "1"),
        good_build(r#""a""#, "1"),
        good_build(r#"["a"]"#, r#""1""#),
        good_build(r#"["a"]"#, "NaN"),
        good_build(r#"["a"]"#, "1 # a comment"),
        good_build(r#"["a\ud800"]"#, "1"),
        good_build(r#"["a",]"#, "1"),
    ];
    let mut jq = JqPlanners::default();
    for input in &cases {
        for arch in [None, Some("amd64")] {
            match compare(&mut jq, input.as_bytes(), arch) {
                Verdict::Declined(_) => {}
                other => panic!("{input:?} (arch {arch:?}): expected a decline, got {other:?}"),
            }
        }
        assert!(
            jq.plan(input.as_bytes(), None).is_err()
                || input.contains("\\ud800")
                || input.contains('#')
                || input.contains("NaN"),
            "{input:?}: the jq path plans this"
        );
    }
    // The sanity check of the cases themselves: a well-formed one plans.
    let good = good_build(r#"["a"]"#, "1");
    assert_identical(&mut jq, "the well-formed case", good.as_bytes(), None);
}

#[test]
fn errors_are_the_jq_paths_one_line_errors() {
    // Through the binary: `deploy --plan` prints check_builds' message.
    let input = br#"{"x": {"buildId": "x", "build": {"arch": "amd64", "resolved": {"manifests": []}}, "source": {"arches": {"amd64": {"tags": [1]}}}}}"#;
    for engine in ["native", "jq"] {
        let output = bin::deploy().run_with(
            &["--plan"],
            input,
            &[("DOI_PLAN_ENGINE", OsStr::new(engine))],
        );
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr,
            "deploy: error: not builds metadata: build \"x\": .source.arches[\"amd64\"].tags[] must be a string, not number\n",
            "engine {engine}"
        );
    }
}

// --- the generator ---

/// SplitMix64: a tiny, well-mixed, seedable generator (written here so that
/// a seed means the same input on every machine and version).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len())]
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut text = String::new();
        while text.len() < digits {
            let _ = write!(text, "{:016x}", self.next());
        }
        text.truncate(digits);
        text
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            items.swap(index, self.below(index + 1));
        }
    }
}

/// A JSON value as the generator writes it: numbers keep their text, object
/// keys may repeat (jq keeps the first position and the last value).
#[derive(Clone, Debug)]
enum Gen {
    Null,
    Bool(bool),
    Number(String),
    Text(String),
    Array(Vec<Gen>),
    Object(Vec<(String, Gen)>),
}

fn text(value: impl AsRef<str>) -> Gen {
    Gen::Text(value.as_ref().to_string())
}

fn number(value: impl ToString) -> Gen {
    Gen::Number(value.to_string())
}

fn object(entries: Vec<(&str, Gen)>) -> Gen {
    Gen::Object(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

fn strings(values: &[String]) -> Gen {
    Gen::Array(values.iter().map(text).collect())
}

/// How one input is laid out: the same values must plan the same whatever
/// the whitespace and however strings are escaped.
struct Layout {
    indent: Option<&'static str>,
    /// Percent of non-ASCII characters written as `\u` escapes.
    escape_unicode: usize,
    /// Percent of `/` written as `\/`.
    escape_solidus: usize,
}

fn write_string(out: &mut String, value: &str, layout: &Layout, random: &mut Random) {
    out.push('"');
    for character in value.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if random.chance(layout.escape_solidus) => out.push_str("\\/"),
            '\n' if random.chance(50) => out.push_str("\\n"),
            '\t' if random.chance(50) => out.push_str("\\t"),
            control if u32::from(control) < 0x20 => {
                if random.chance(50) {
                    let _ = write!(out, "\\u{:04x}", u32::from(control));
                } else {
                    let _ = write!(out, "\\u{:04X}", u32::from(control));
                }
            }
            other if !other.is_ascii() && random.chance(layout.escape_unicode) => {
                let mut units = [0u16; 2];
                for unit in other.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

fn write_json(out: &mut String, value: &Gen, layout: &Layout, random: &mut Random, level: usize) {
    let newline = |out: &mut String, level: usize| {
        if let Some(indent) = layout.indent {
            out.push('\n');
            for _ in 0..level {
                out.push_str(indent);
            }
        }
    };
    let colon = if layout.indent.is_some() { ": " } else { ":" };
    match value {
        Gen::Null => out.push_str("null"),
        Gen::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
        Gen::Number(literal) => out.push_str(literal),
        Gen::Text(value) => write_string(out, value, layout, random),
        Gen::Array(items) if items.is_empty() => out.push_str("[]"),
        Gen::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_json(out, item, layout, random, level + 1);
            }
            newline(out, level);
            out.push(']');
        }
        Gen::Object(entries) if entries.is_empty() => out.push_str("{}"),
        Gen::Object(entries) => {
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_string(out, key, layout, random);
                out.push_str(colon);
                write_json(out, item, layout, random, level + 1);
            }
            newline(out, level);
            out.push('}');
        }
    }
}

/// bashbrew architectures: (name, platform os, architecture, variant).
const ARCHES: &[(&str, &str, &str, Option<&str>)] = &[
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

/// Windows os.version values, in no particular order (several per input,
/// so the descending natural order of sort_split_desc decides).
const WINDOWS_VERSIONS: &[&str] = &[
    "10.0.17763.5122",
    "10.0.20348.2113",
    "10.0.20348.10",
    "10.0.14393.6452",
    "10.0.17763.5576",
    "10.0.26100.1",
    "6.3.9600",
    "10.0.20348.2113-beta",
    "10.0.020348.9",
    "10.00.17763.1",
];

/// Extra variants, to exercise natural and descending ordering.
/// Leading zeros ("v08") compare as their value in sort_split_natural.
const VARIANTS: &[&str] = &[
    "v8.0", "v9", "v10", "v2", "v3", "v8.1", "rva20u64", "power9", "", "v08", "v010", "v007", "8",
    "0010", "é1", "v8a", "v8ab",
];

const REPOSITORIES: &[&str] = &[
    "busybox",
    "docker",
    "notary",
    "hello-world",
    "golang",
    "caddy",
    "ümlaut",
    "emoji-😀",
];

/// Sizes: plain integers mostly, then what jq 1.7 prints as written (big
/// integers, decimals, exponents, negative zero).
const ODD_NUMBERS: &[&str] = &[
    "123456789012345678901234567890",
    "9007199254740993",
    "18446744073709551616",
    "1.5",
    "2.50",
    "1e3",
    "1E+3",
    "1.0e-7",
    "-0",
    "0",
    "0.0001",
    "-12",
];

/// Annotation values with unicode and control characters.
const ODD_TEXTS: &[&str] = &[
    "tab\there",
    "line\nbreak",
    "nul\u{0}byte",
    "bell\u{7}",
    "del\u{7f}",
    "é and ü",
    "汉字",
    "😀 emoji",
    "quote \" and backslash \\",
    "slash / path",
    "\u{2028}separator",
    "",
];

/// Generates builds inputs that vary everything the modules treat
/// specially: every bashbrew architecture, platforms with and without
/// variant and os.version (several Windows versions), extra platform fields,
/// null and false values, Docker v2 and OCI media types, attestations (with
/// and without their subject in the list, of attestations, of themselves),
/// another architecture's manifest in a build's index, unresolved builds
/// (null, false, missing), missing or odd ref.name annotations, tags shared
/// and repeated across builds (and repeated within one, and spelled with
/// different escapes), unicode and control characters, big and decimal
/// numbers, unknown descriptor fields (urls, data, artifactType, nested
/// objects), repeated object keys and key orders, and every layout.
struct Generator {
    random: Random,
    digests: Vec<String>,
    /// Earlier builds' manifest lists, by arch (copied to make builds whose
    /// tags share one object).
    manifests_by_arch: HashMap<String, Vec<Gen>>,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self {
            random: Random(seed),
            digests: Vec::new(),
            manifests_by_arch: HashMap::new(),
        }
    }

    fn digest(&mut self) -> String {
        let digest = format!("sha256:{}", self.random.hex(64));
        self.digests.push(digest.clone());
        digest
    }

    fn size(&mut self) -> Gen {
        if self.random.chance(12) {
            number(self.random.pick(ODD_NUMBERS))
        } else {
            number(300 + self.random.below(40_000))
        }
    }

    /// Shuffles an object's keys sometimes, and repeats one sometimes (with
    /// a throwaway first value, so the last value wins).
    fn scramble(&mut self, value: Gen) -> Gen {
        let Gen::Object(mut entries) = value else {
            return value;
        };
        if self.random.chance(30) {
            self.random.shuffle(&mut entries);
        }
        if !entries.is_empty() && self.random.chance(8) {
            let index = self.random.below(entries.len());
            let key = entries[index].0.clone();
            entries.insert(index, (key, text("overwritten by the later key")));
        }
        Gen::Object(entries)
    }

    /// A value for an unknown field: nested, with odd numbers and texts.
    fn extra_value(&mut self, depth: usize) -> Gen {
        match self.random.below(if depth > 2 { 5 } else { 7 }) {
            0 => Gen::Null,
            1 => Gen::Bool(self.random.chance(50)),
            2 => number(self.random.pick(ODD_NUMBERS)),
            3 => text(self.random.pick(ODD_TEXTS)),
            4 => number(self.random.below(1000)),
            5 => Gen::Array(
                (0..self.random.below(3))
                    .map(|_| self.extra_value(depth + 1))
                    .collect(),
            ),
            _ => {
                let count = self.random.below(3);
                let entries = (0..count)
                    .map(|index| {
                        let key = if index == 0 { "z" } else { "a" };
                        (key.to_string(), self.extra_value(depth + 1))
                    })
                    .collect();
                self.scramble(Gen::Object(entries))
            }
        }
    }

    fn platform(&mut self, arch: &str) -> Gen {
        let &(_, os, architecture, variant) = ARCHES
            .iter()
            .find(|(name, ..)| *name == arch)
            .unwrap_or(&ARCHES[0]);
        let mut entries = vec![("architecture", text(architecture)), ("os", text(os))];
        match variant {
            // arm and arm64 without a variant (or with null or false) get
            // the default v7 / v8.
            Some("v7" | "v8") if self.random.chance(25) => match self.random.below(3) {
                0 => {}
                1 => entries.push(("variant", Gen::Null)),
                _ => entries.push(("variant", Gen::Bool(false))),
            },
            Some(variant) => entries.push(("variant", text(variant))),
            None if self.random.chance(10) => {
                entries.push(("variant", text(self.random.pick(VARIANTS))))
            }
            None => {}
        }
        if os == "windows" {
            entries.push(("os.version", text(self.random.pick(WINDOWS_VERSIONS))));
            if self.random.chance(30) {
                entries.push(("os.features", strings(&["win32k".to_string()])));
            }
        } else if self.random.chance(5) {
            entries.push(("os.version", text(self.random.pick(VARIANTS))));
        }
        if self.random.chance(10) {
            entries.push(("os.version", Gen::Null));
        }
        if self.random.chance(10) {
            entries.push((
                "features",
                strings(&["sse4".to_string(), "avx".to_string()]),
            ));
        }
        if self.random.chance(10) {
            entries.push(("x-extra", self.extra_value(0)));
        }
        if self.random.chance(5) {
            entries.push(("x-false", Gen::Bool(false)));
        }
        if self.random.chance(4) {
            // A field the sort keys read, with a value of another type (a
            // later repeat of the key, which wins): sort_split_pref and
            // sort_split_desc then order by jq's order of values.
            let field = *self
                .random
                .pick(&["os", "architecture", "variant", "os.version"]);
            let odd = match self.random.below(9) {
                0 => number(7),
                1 => number("1.5"),
                2 => number("-0"),
                3 => number("123456789012345678901234567890"),
                4 => Gen::Bool(true),
                5 => Gen::Array(vec![text("a"), number(1)]),
                6 => object(vec![("b", number(1))]),
                7 => Gen::Array(Vec::new()),
                _ => object(Vec::new()),
            };
            entries.push((field, odd));
        }
        self.scramble(object(entries))
    }

    fn annotations(&mut self, entries: Vec<(&str, Gen)>) -> Gen {
        let mut entries = entries;
        if self.random.chance(20) {
            entries.push(("org.opencontainers.image.version", text("1.36.1")));
        }
        if self.random.chance(15) {
            entries.push(("x.odd", text(self.random.pick(ODD_TEXTS))));
        }
        if self.random.chance(5) {
            entries.push(("x.null", Gen::Null));
        }
        if self.random.chance(5) {
            entries.push(("Ä.upper", text("sorted by code point")));
        }
        self.scramble(object(entries))
    }

    /// The staging reference of a manifest (usually `name@digest`).
    fn reference(&mut self, arch: &str, build_id: &str, digest: &str) -> Option<Gen> {
        match self.random.below(100) {
            0..=79 => Some(text(format!(
                "oisupport/staging-{arch}:{build_id}@{digest}"
            ))),
            80..=86 => Some(text(format!("oisupport/staging-{arch}:{build_id}"))),
            87..=89 => Some(text(format!("@{digest}"))),
            90..=91 => Some(number(42)),
            _ => None,
        }
    }

    fn descriptor(&mut self, arch: &str, build_id: &str, digest: &str) -> Gen {
        let media_type = match self.random.below(100) {
            0..=59 => OCI_MANIFEST,
            60..=89 => DOCKER_MANIFEST,
            _ => OCI_INDEX,
        };
        let mut annotations = vec![(BASHBREW_ARCH, text(arch))];
        if let Some(reference) = self.reference(arch, build_id, digest) {
            annotations.push((REF_NAME, reference));
        }
        let mut entries = vec![
            ("mediaType", text(media_type)),
            ("digest", text(digest)),
            ("size", self.size()),
            ("annotations", self.annotations(annotations)),
        ];
        if !self.random.chance(5) {
            entries.push(("platform", self.platform(arch)));
        }
        if self.random.chance(8) {
            entries.push((
                "urls",
                strings(&[format!("https://example.com/{}", self.random.hex(6))]),
            ));
        }
        if self.random.chance(8) {
            entries.push(("data", text("e30=")));
        }
        if self.random.chance(8) {
            entries.push(("artifactType", text("application/vnd.example+json")));
        }
        if self.random.chance(8) {
            entries.push(("x-unknown", self.extra_value(0)));
        }
        if self.random.chance(4) {
            entries.push(("aaa-null", Gen::Null));
        }
        self.scramble(object(entries))
    }

    /// An attestation of `subject` (`None`: of itself, a cycle).
    fn attestation(&mut self, arch: &str, build_id: &str, subject: Option<&str>) -> (String, Gen) {
        let digest = self.digest();
        let subject = subject.unwrap_or(&digest).to_string();
        let mut annotations = vec![
            (BASHBREW_ARCH, text(arch)),
            (REFERENCE_DIGEST, text(&subject)),
            (REFERENCE_TYPE, text(ATTESTATION_MANIFEST)),
        ];
        if let Some(reference) = self.reference(arch, build_id, &digest) {
            annotations.push((REF_NAME, reference));
        }
        let platform = object(vec![
            ("architecture", text("unknown")),
            ("os", text("unknown")),
        ]);
        let descriptor = object(vec![
            ("mediaType", text(OCI_MANIFEST)),
            ("digest", text(&digest)),
            ("size", self.size()),
            ("annotations", self.annotations(annotations)),
            ("platform", self.scramble(platform)),
        ]);
        (digest, self.scramble(descriptor))
    }

    /// The manifests of one build's index.
    fn manifests(&mut self, arch: &str, build_id: &str) -> Vec<Gen> {
        if self.random.chance(12) {
            if let Some(previous) = self.manifests_by_arch.get(arch) {
                return previous.clone();
            }
        }
        let mut manifests = Vec::new();
        let images = if self.random.chance(15) { 2 } else { 1 };
        for _ in 0..images {
            let digest = if self.random.chance(4) && !self.digests.is_empty() {
                // The same digest as another manifest, different content.
                self.random.pick(&self.digests).clone()
            } else {
                self.digest()
            };
            manifests.push(self.descriptor(arch, build_id, &digest));
            if self.random.chance(70) {
                let subject = if self.random.chance(10) {
                    format!("sha256:{}", self.random.hex(64))
                } else {
                    digest.clone()
                };
                let (attestation, descriptor) = self.attestation(arch, build_id, Some(&subject));
                manifests.push(descriptor);
                if self.random.chance(8) {
                    let (_, nested) = self.attestation(arch, build_id, Some(&attestation));
                    manifests.push(nested);
                }
                if self.random.chance(3) {
                    let (_, own) = self.attestation(arch, build_id, None);
                    manifests.push(own);
                }
            }
        }
        if self.random.chance(10) {
            // Another architecture's image in this build's index.
            let (other, ..) = *self.random.pick(ARCHES);
            let digest = self.digest();
            manifests.push(self.descriptor(other, build_id, &digest));
        }
        if self.random.chance(5) {
            // No bashbrew.arch annotation at all.
            let digest = self.digest();
            manifests.push(object(vec![
                ("mediaType", text(OCI_MANIFEST)),
                ("digest", text(&digest)),
                ("size", number(1)),
                ("annotations", object(vec![])),
            ]));
        }
        if self.random.chance(40) {
            self.random.shuffle(&mut manifests);
        }
        self.manifests_by_arch
            .insert(arch.to_string(), manifests.clone());
        manifests
    }

    /// Tags of a build: shared ones (latest, a major version) across
    /// builds, repeated ones, unicode ones.
    fn tags(&mut self, repository: &str, version: &str) -> Vec<String> {
        let major = version.split('.').next().unwrap_or(version);
        let mut tags = vec![
            format!("{repository}:{version}"),
            format!("{repository}:{major}"),
        ];
        if self.random.chance(50) {
            tags.push(format!("{repository}:latest"));
        }
        if self.random.chance(10) {
            tags.push(format!("{repository}:{major}"));
        }
        if self.random.chance(5) {
            tags.push(format!("{repository}:ü-{version}"));
        }
        if self.random.chance(5) {
            tags.push("shared:across-repositories".to_string());
        }
        tags
    }

    /// One build: (id, value, arch).
    fn build(&mut self, repository: &str, version: &str, arch: &str) -> (String, Gen) {
        let build_id = self.random.hex(64);
        let tags = self.tags(repository, version);
        let namespace = arch.replace("windows-", "winamd64-");
        let arch_tags: Vec<String> = tags
            .iter()
            .map(|tag| format!("{namespace}/{tag}"))
            .collect();
        let mut arch_entry = vec![
            (
                "tags",
                if self.random.chance(5) {
                    Gen::Null
                } else {
                    strings(&tags)
                },
            ),
            (
                "froms",
                strings(&["alpine:3.18".to_string(), "scratch".to_string()]),
            ),
            ("platformString", text(format!("linux/{arch}"))),
            (
                "parents",
                object(vec![(
                    "alpine:3.18",
                    object(vec![("sourceId", Gen::Null), ("pin", text("sha256:00"))]),
                )]),
            ),
        ];
        if !self.random.chance(5) {
            arch_entry.push(("archTags", strings(&arch_tags)));
        }
        let mut arches = vec![(arch, self.scramble(object(arch_entry)))];
        if self.random.chance(30) {
            // Another architecture's entry in the same source.
            let (other, ..) = *self.random.pick(ARCHES);
            if other != arch {
                let other_tags = vec![format!("{repository}:other-{other}")];
                arches.push((other, object(vec![("tags", strings(&other_tags))])));
            }
        }
        let resolved = match self.random.below(100) {
            0..=3 => Some(Gen::Null),
            4..=6 => Some(Gen::Bool(false)),
            7..=8 => None,
            _ => {
                let manifests = self.manifests(arch, &build_id);
                Some(self.scramble(object(vec![
                    ("schemaVersion", number(2)),
                    ("mediaType", text(OCI_INDEX)),
                    ("manifests", Gen::Array(manifests)),
                    (
                        "annotations",
                        object(vec![(
                            REF_NAME,
                            text(format!("oisupport/staging-{arch}:{build_id}")),
                        )]),
                    ),
                ])))
            }
        };
        let unresolved = !matches!(resolved, Some(Gen::Object(_)));
        if unresolved && self.random.chance(50) {
            // Unresolved builds need no entry for their own architecture.
            arches.retain(|(name, _)| *name != arch);
        }
        let mut build = vec![
            ("img", text(format!("oisupport/staging-{arch}:{build_id}"))),
            ("sourceId", text(self.random.hex(64))),
            ("arch", text(arch)),
            ("parents", object(vec![("alpine:3.18", text("sha256:11"))])),
        ];
        if let Some(resolved) = resolved {
            build.push(("resolved", resolved));
        }
        let source = object(vec![
            ("sourceId", text(self.random.hex(64))),
            (
                "entries",
                Gen::Array(vec![object(vec![
                    ("GitRepo", text("https://github.com/docker-library/x.git")),
                    ("Directory", text(version)),
                    ("SOURCE_DATE_EPOCH", number(1_700_741_054)),
                ])]),
            ),
            ("arches", self.scramble(object(arches))),
        ]);
        let value = object(vec![
            ("buildId", text(&build_id)),
            ("build", self.scramble(object(build))),
            ("source", self.scramble(source)),
        ]);
        (build_id, self.scramble(value))
    }

    /// The builds of one input, in order.
    fn builds(&mut self) -> Vec<(String, Gen)> {
        let mut builds = Vec::new();
        let repositories = 1 + self.random.below(3);
        for _ in 0..repositories {
            let repository = *self.random.pick(REPOSITORIES);
            let versions = 1 + self.random.below(3);
            for version_index in 0..versions {
                let version = format!("{}.{}", 1 + version_index, self.random.below(20));
                let mut arches: Vec<&str> = ARCHES.iter().map(|(name, ..)| *name).collect();
                self.random.shuffle(&mut arches);
                let count = 1 + self.random.below(5);
                for arch in arches.into_iter().take(count) {
                    builds.push(self.build(repository, &version, arch));
                }
            }
        }
        if !builds.is_empty() && self.random.chance(5) {
            // A repeated build id: the later value wins, at the first position.
            let (id, _) = builds[self.random.below(builds.len())].clone();
            let (_, replacement) = builds[self.random.below(builds.len())].clone();
            builds.push((id, replacement));
        }
        builds
    }

    fn layout(&mut self) -> Layout {
        Layout {
            indent: *self.random.pick(&[None, Some("\t"), Some("  "), Some(" ")]),
            escape_unicode: *self.random.pick(&[0, 30, 100]),
            escape_solidus: *self.random.pick(&[0, 20]),
        }
    }
}

/// The text of a builds input (an object of id -> build).
fn builds_text(builds: &[(String, Gen)], layout: &Layout, random: &mut Random) -> String {
    let entries = builds.to_vec();
    let mut out = String::new();
    write_json(&mut out, &Gen::Object(entries), layout, random, 0);
    out.push('\n');
    out
}

/// One generated input: the builds, and the text they were written as.
fn generated(seed: u64) -> (Vec<(String, Gen)>, String) {
    let mut generator = Generator::new(seed);
    let builds = generator.builds();
    let layout = generator.layout();
    let mut random = Random(seed ^ 0x5EED);
    let text = builds_text(&builds, &layout, &mut random);
    (builds, text)
}

/// The fewest builds (removing one at a time) for which the two paths
/// still differ, written plainly, with the report of that difference: what
/// a failure shows. When the difference needs the original layout (an
/// escape, say), the original input and its report are kept.
fn shrink(
    jq: &mut JqPlanners,
    builds: Vec<(String, Gen)>,
    arch: Option<&str>,
    original: (String, String),
) -> (String, String) {
    let layout = Layout {
        indent: Some("\t"),
        escape_unicode: 0,
        escape_solidus: 0,
    };
    let report = |jq: &mut JqPlanners, builds: &[(String, Gen)]| {
        let text = builds_text(builds, &layout, &mut Random(0));
        match compare(jq, text.as_bytes(), arch) {
            Verdict::Different { native, jq } => Some((text, side_by_side(&jq, &native))),
            _ => None,
        }
    };
    let mut builds = builds;
    let Some(mut smallest) = report(jq, &builds) else {
        return original;
    };
    let mut index = 0;
    while index < builds.len() {
        let mut fewer = builds.clone();
        fewer.remove(index);
        match report(jq, &fewer) {
            Some(found) => {
                builds = fewer;
                smallest = found;
            }
            None => index += 1,
        }
    }
    smallest
}

#[test]
fn generated_inputs_plan_identically() {
    let mut jq = JqPlanners::default();
    let mut planned_objects = 0usize;
    let mut arch_runs = 0usize;
    for seed in 0..GENERATED_INPUTS {
        let (builds, input) = generated(seed);
        let mut arches = vec![None];
        let present = arches_of(input.as_bytes());
        let mut random = Random(seed.wrapping_mul(31));
        for _ in 0..3 {
            if !present.is_empty() {
                arches.push(Some(random.pick(&present).clone()));
            }
        }
        if random.chance(10) {
            arches.push(Some("no-such-arch".to_string()));
        }
        let mut distinct: Vec<Option<String>> = Vec::new();
        for arch in arches {
            if !distinct.contains(&arch) {
                distinct.push(arch);
            }
        }
        let arches = distinct;
        for arch in &arches {
            arch_runs += 1;
            match compare(&mut jq, input.as_bytes(), arch.as_deref()) {
                Verdict::Identical => {}
                Verdict::Declined(reason) => panic!(
                    "seed {seed}, arch {arch:?}: the native planner declined a generated input ({reason})\n{input}"
                ),
                Verdict::Different { native, jq: expected } => {
                    let original = (input.clone(), side_by_side(&expected, &native));
                    let (minimal, report) =
                        shrink(&mut jq, builds.clone(), arch.as_deref(), original);
                    panic!(
                        "seed {seed}, arch {arch:?}: the native plan differs from the jq modules'\n\
                         smallest input that differs:\n{minimal}\n{report}"
                    );
                }
            }
        }
        planned_objects += plan_native::plan(input.as_bytes(), None)
            .map(|plan| {
                plan.split(|&byte| byte == b'\n')
                    .filter(|line| *line == b"}")
                    .count()
            })
            .unwrap_or(0);
    }
    println!(
        "{GENERATED_INPUTS} generated inputs, {arch_runs} plans compared, {planned_objects} deploy objects"
    );
    assert!(
        planned_objects > GENERATED_INPUTS as usize * 3,
        "the generator makes too few deploy objects to prove much"
    );
}

#[test]
fn the_generator_is_deterministic_and_varied() {
    assert_eq!(generated(7).1, generated(7).1);
    assert_ne!(generated(7).1, generated(8).1);
    let all: String = (0..40).map(|seed| generated(seed).1).collect();
    for needle in [
        "windows",
        "os.version",
        DOCKER_MANIFEST,
        REFERENCE_DIGEST,
        "\"resolved\": null",
        "123456789012345678901234567890",
        "\\u",
        "artifactType",
        "\"urls\"",
        "\"variant\": false",
    ] {
        let compact_needle = needle.replace(": ", ":");
        assert!(
            all.contains(needle) || all.contains(&compact_needle),
            "the generator never writes {needle}"
        );
    }
}

// --- which engine runs ---

/// A copy of our modules whose deploy objects say where they came from.
fn modified_modules() -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("temporary directory");
    for name in ["deploy.jq", "oci.jq", "sort.jq", "validate.jq"] {
        let source = crate_root().join("filters").join(name);
        let mut code = std::fs::read_to_string(&source)
            .unwrap_or_else(|error| panic!("{}: {error}", source.display()));
        if name == "deploy.jq" {
            assert!(code.contains(r#"type: "manifest","#));
            code = code.replace(r#"type: "manifest","#, r#"type: "from-user-modules","#);
        }
        std::fs::write(directory.path().join(name), code).expect("module written");
    }
    directory
}

fn testdata_input() -> Vec<u8> {
    let path = crate_root().join("testdata/builds/plan/attestations.json");
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn bashbrew_meta_scripts_selects_the_jq_path() {
    let modules = modified_modules();
    let input = testdata_input();
    let plain = success(
        "deploy --plan",
        &bin::deploy().run_with(&["--plan"], &input, &[]),
    );
    assert!(plain.contains(r#""type": "manifest""#));
    let overridden = success(
        "deploy --plan with BASHBREW_META_SCRIPTS",
        &bin::deploy().run_with(
            &["--plan"],
            &input,
            &[("BASHBREW_META_SCRIPTS", modules.path().as_os_str())],
        ),
    );
    assert_eq!(
        overridden,
        plain.replace(r#""type": "manifest""#, r#""type": "from-user-modules""#),
        "the user's modules must plan, and only that change may show"
    );
    let overridden_arch = success(
        "deploy --plan --arch amd64 with BASHBREW_META_SCRIPTS",
        &bin::deploy().run_with(
            &["--plan", "--arch", "amd64"],
            &input,
            &[("BASHBREW_META_SCRIPTS", modules.path().as_os_str())],
        ),
    );
    assert!(overridden_arch.contains(r#""type": "from-user-modules""#));
}

#[test]
fn plan_engine_jq_runs_the_modules_with_the_same_bytes() {
    let input = testdata_input();
    for arguments in [&["--plan"][..], &["--plan", "--arch", "amd64"][..]] {
        let native = success(
            "deploy --plan",
            &bin::deploy().run_with(arguments, &input, &[]),
        );
        let jq = success(
            "deploy --plan with DOI_PLAN_ENGINE=jq",
            &bin::deploy().run_with(arguments, &input, &[("DOI_PLAN_ENGINE", OsStr::new("jq"))]),
        );
        assert!(!native.is_empty());
        assert_eq!(native, jq, "{arguments:?}");
    }
}
