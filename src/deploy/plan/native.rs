//! The plan computed in Rust, for speed: the same bytes as our jq modules.
//!
//! `deploy --plan` runs over the builds metadata of every official image (a
//! multi-megabyte file, thousands of builds), and interpreting `deploy.jq`
//! costs most of that time. This module computes exactly what
//! `tagged_manifests(true; .source.arches[.build.arch].tags,
//! .source.arches[.build.arch].archTags) | deploy_objects[]` and
//! `arch_tagged_manifests($arch) | deploy_objects[]` compute, rule by rule
//! (each function below names the jq definition it mirrors), and prints the
//! objects with the same jq-exact printer.
//!
//! The jq modules stay the specification: users run them with `doi-jq`, a
//! `BASHBREW_META_SCRIPTS` directory replaces them (and then this module is
//! not used, see [`super::plan`]), and `tests/plan_equivalence.rs` proves the
//! two paths print identical bytes on the conformance data, our testdata and
//! hundreds of generated inputs.
//!
//! Only the common case is handled here: strict JSON (RFC 8259) that passes
//! [`super::check_builds`], read as [`super::fields`] reads it. Anything else
//! (a syntax error, a malformed build, jaq's JSON extensions such as `NaN` or
//! comments, a repeated key where planning looks, very deep nesting) returns
//! [`Unsupported`], and the caller runs the jq path, which either plans it
//! or names the problem exactly as it always has. Declining is always safe;
//! it only costs time.
//!
//! Manifest descriptors are read by the engine's reader ([`crate::jq::read`]),
//! so their numbers and strings are exactly the values the jq path sees.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::rc::Rc;

use crate::jq::val::{Map, Val};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use jaq_json::Num;
use serde_json::value::RawValue;

use super::fields::{self, Build};
use crate::jq::print::{self, PrintOptions};
// `media_type_dockerv2_image`, `media_type_dockerv2_list` and
// `media_type_oci_index` of `oci.jq`; the bashbrew arch `tagged_manifests`
// keeps, where a manifest was staged (`_deploy_lookup_reference`), the
// subject of an attestation (`_oci_attestation_subject`).
use crate::spec::annotation::{BASHBREW_ARCH, REFERENCE_DIGEST, REF_NAME};
use crate::spec::media_type::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX};

/// Why the input was not planned here; the caller then runs the jq path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not planned natively: {}", self.0)
    }
}

impl std::error::Error for Unsupported {}

type Result<T> = std::result::Result<T, Unsupported>;

/// Plans builds metadata (JSON text) as `deploy --plan [--arch ARCH]`
/// prints it: each deploy object as `jq --tab` prints it, with its newline.
/// [`Unsupported`] means "run the jq path" (see the module documentation).
pub fn plan(input: &[u8], arch: Option<&str>) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(input).map_err(|_| Unsupported("input is not UTF-8"))?;
    let builds =
        fields::read_builds(text).map_err(|_| Unsupported("not builds metadata as read here"))?;
    let tagged = tagged_manifests(builds, arch)?;
    // Plans run from a tenth to most of the input's length. Reserving the
    // whole length costs only address space (pages are touched as they are
    // written), where growing from a fraction touched and copied every
    // smaller buffer too: with mimalloc's transparent huge pages each
    // touched 2 MiB is a page the kernel clears.
    let mut out = Vec::with_capacity(input.len());
    for group in deploy_objects(&tagged) {
        write_deploy_object(&mut out, &group.refs, &group.manifests, &tagged);
        out.push(b'\n');
    }
    Ok(out)
}

// --- deploy.jq ---

/// Index of a distinct descriptor in [`Tagged::descriptors`].
type DescriptorId = usize;

/// Everything the plan needs of one distinct descriptor, computed once.
struct Descriptor {
    /// `.digest`.
    digest: String,
    /// `_oci_attestation_subject`.
    subject: Option<String>,
    /// Rank of the `_sort_manifests_platform_key` of its platform among all
    /// distinct keys (equal keys, equal ranks); set by [`PlatformKeys::rank`].
    rank: usize,
    /// The fields of its platform that key reads.
    platform: PlatformFields,
    /// `_deploy_lookup_reference` (null is `None`).
    reference: Option<String>,
    /// `.mediaType == media_type_dockerv2_image`.
    docker_image: bool,
    /// Where [`Tagged::texts`] holds `normalize_descriptor` without the
    /// ref.name annotation, as the index prints it.
    text: Range<usize>,
}

/// The output of `tagged_manifests`: tags in first-seen order, each with its
/// descriptors in build order.
struct Tagged<'a> {
    tags: Vec<(Cow<'a, str>, Vec<DescriptorId>)>,
    descriptors: Vec<Descriptor>,
    /// Each descriptor as `jq --tab` prints it in an index's manifests
    /// ([`DESCRIPTOR_LEVEL`]), printed as soon as it is read: the value is
    /// then freed while its memory is still in cache, to be reused by the
    /// next build's, and every object listing it copies these bytes.
    texts: Vec<u8>,
}

/// `tagged_manifests(true; .source.arches[.build.arch].tags,
/// .source.arches[.build.arch].archTags)` without an architecture, else
/// `arch_tagged_manifests($arch)`; checks every build as `check_builds`
/// does first (declining what it would refuse).
fn tagged_manifests<'a>(builds: Vec<Build<'a>>, arch: Option<&str>) -> Result<Tagged<'a>> {
    let mut tags: Vec<(Cow<str>, Vec<DescriptorId>)> = Vec::new();
    let mut tag_positions: HashMap<Cow<str>, usize> = HashMap::new();
    let (described, texts) = describe_in_parallel(&builds, arch, PARALLEL_FROM)?;
    let mut descriptors = Vec::new();
    let mut build_tags: Vec<Cow<str>> = Vec::new();
    let mut seen: HashSet<Cow<str>> = HashSet::new();
    for (mut build, described) in builds.into_iter().zip(described) {
        if build.manifests.is_none() {
            continue;
        }
        let own = build
            .arches
            .iter()
            .position(|(name, _)| *name == build.arch)
            .ok_or(Unsupported("a resolved build without .source.arches[ARCH]"))?;
        let fields::ArchTags {
            tags: own_tags,
            arch_tags,
        } = build
            .arches
            .swap_remove(own)
            .1
            .map_err(|_| Unsupported(".source.arches[ARCH] not as read here"))?;
        if arch.is_some_and(|arch| arch != build.arch) {
            continue;
        }
        let ids: Vec<DescriptorId> = (descriptors.len()..).take(described.len()).collect();
        descriptors.extend(described);
        // Each tag once per build, in first-seen order; `.. | strings` of
        // arrays of strings is their elements.
        build_tags.clear();
        seen.clear();
        let sources = match arch {
            None => vec![own_tags, arch_tags],
            Some(_) => vec![arch_tags],
        };
        for tag in sources.into_iter().flatten() {
            if seen.insert(tag.clone()) {
                build_tags.push(tag);
            }
        }
        for tag in build_tags.drain(..) {
            match tag_positions.get(&tag) {
                Some(&position) => tags[position].1.extend_from_slice(&ids),
                None => {
                    tag_positions.insert(tag.clone(), tags.len());
                    tags.push((tag, ids.clone()));
                }
            }
        }
    }
    PlatformKeys::rank(&mut descriptors)?;
    Ok(Tagged {
        tags,
        descriptors,
        texts,
    })
}

/// The descriptors each build plans (none for a build not resolved or of
/// another architecture than `arch`), described and printed, with the
/// texts they were printed into.
///
/// Reading, normalizing, printing and freeing descriptors is half of the
/// planner's work and each build's are independent of the others', so two
/// threads share it: the builds are cut in two halves of about equal
/// manifests text, the later half read by a scoped thread. Values never
/// cross threads (jq values are reference-counted, not `Send`); the
/// descriptors and their printed bytes do, and come back in build order,
/// so the plan is the same bytes however many threads read it. Builds with
/// less manifests text than `parallel_from` are read on this thread.
fn describe_in_parallel(
    builds: &[Build],
    arch: Option<&str>,
    parallel_from: usize,
) -> Result<(Vec<Vec<Descriptor>>, Vec<u8>)> {
    let weight = |build: &Build| build.manifests.map_or(0, |raw| raw.get().len());
    let total: usize = builds.iter().map(weight).sum();
    // Printed descriptors take less room than their input text (less deep,
    // without ref.name), so each buffer is one allocation, touched as it
    // is used; the first holds the second's too once joined.
    let texts = Vec::with_capacity(total);
    // Not `available_parallelism`: it reads cgroup files first, a cost of
    // the order of what it would save; on one CPU the threads take turns.
    if total < parallel_from {
        return describe_builds(builds, arch, texts);
    }
    let mut first_half = 0;
    let cut = builds
        .iter()
        .position(|build| {
            first_half += weight(build);
            first_half * 2 >= total
        })
        .map_or(builds.len(), |last| last + 1);
    let (first, second) = builds.split_at(cut);
    let second_texts = Vec::with_capacity(total - first_half);
    let (first, second) = std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("plan".to_string())
            // As deep as the main thread's, for the values being freed.
            .stack_size(8 << 20)
            .spawn_scoped(scope, || describe_builds(second, arch, second_texts));
        let first = describe_builds(first, arch, texts);
        let second = match worker {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had: this one reads the rest too.
            Err(_) => describe_builds(second, arch, Vec::new()),
        };
        (first, second)
    });
    let ((mut described, mut texts), (more, more_texts)) = (first?, second?);
    let shift = texts.len();
    texts.extend_from_slice(&more_texts);
    described.extend(more.into_iter().map(|mut descriptors| {
        for descriptor in &mut descriptors {
            descriptor.text = descriptor.text.start + shift..descriptor.text.end + shift;
        }
        descriptors
    }));
    Ok((described, texts))
}

/// Below this much manifests text (a few dozen builds) a second thread
/// costs more than it saves.
const PARALLEL_FROM: usize = 256 * 1024;

/// [`describe_in_parallel`]'s work for some builds, on this thread, printing
/// into `texts`.
fn describe_builds(
    builds: &[Build],
    arch: Option<&str>,
    mut texts: Vec<u8>,
) -> Result<(Vec<Vec<Descriptor>>, Vec<u8>)> {
    let mut described = Vec::with_capacity(builds.len());
    for build in builds {
        let Some(manifests) = build.manifests else {
            described.push(Vec::new());
            continue;
        };
        // Checked whatever the architecture, as `check_builds` does.
        let manifests = read_descriptors(manifests)?;
        let mut descriptors = Vec::new();
        if arch.is_none_or(|arch| arch == build.arch) {
            for manifest in manifests {
                let own_arch = field(&manifest, "annotations")
                    .and_then(|annotations| field(annotations, BASHBREW_ARCH))
                    .and_then(as_str);
                if own_arch != Some(&*build.arch) {
                    continue;
                }
                // Each manifest is described once per build that lists it
                // (interning equal ones cost more in hashing than it saved).
                descriptors.push(describe(manifest, &mut texts)?);
            }
        }
        described.push(descriptors);
    }
    Ok((described, texts))
}

/// The manifest descriptors of a resolved build, as the engine reads them;
/// declines unless they are an array of descriptors with the fields
/// `check_builds` requires.
fn read_descriptors(manifests: &RawValue) -> Result<Vec<Val>> {
    let value = crate::jq::read::parse_single(manifests.get().as_bytes())
        .map_err(|_| Unsupported("manifests the engine does not read"))?;
    let Val::Arr(list) = value else {
        return Err(Unsupported("manifests check_builds refuses"));
    };
    let list = Rc::try_unwrap(list).unwrap_or_else(|shared| (*shared).clone());
    if list.iter().all(descriptor_is_checked) {
        Ok(list)
    } else {
        Err(Unsupported("a descriptor check_builds refuses"))
    }
}

/// The descriptor fields `check_builds` requires.
fn descriptor_is_checked(value: &Val) -> bool {
    matches!(value, Val::Obj(_))
        && matches!(field(value, "mediaType"), Some(Val::TStr(_)))
        && matches!(field(value, "digest"), Some(Val::TStr(_)))
        && matches!(field(value, "size"), Some(Val::Num(_)))
        && matches!(field(value, "annotations"), Some(Val::Obj(_)))
        && matches!(field(value, "platform"), None | Some(Val::Obj(_)))
}

/// A deploy object: `_deploy_object` of its first tag, with the later tags
/// of the same digest list appended to `refs`.
struct Group<'t> {
    refs: Vec<&'t str>,
    manifests: Vec<DescriptorId>,
}

/// `deploy_objects[]`: per tag in first-seen order, its descriptors
/// normalized and sorted (`sort_manifests`); tags with equal sorted digest
/// lists share the object of the first.
fn deploy_objects<'t>(tagged: &'t Tagged) -> Vec<Group<'t>> {
    let descriptors = &tagged.descriptors;
    // The group of each distinct list (equal sorted digests, one group).
    let mut list_groups: HashMap<&[DescriptorId], usize> = HashMap::new();
    let mut group_positions: HashMap<Vec<&str>, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (tag, list) in &tagged.tags {
        let group = match list_groups.get(list.as_slice()) {
            Some(&group) => group,
            None => {
                let ids = sort_manifests(list, descriptors);
                let digests: Vec<&str> = ids.iter().map(|&id| &*descriptors[id].digest).collect();
                let group = match group_positions.get(&digests) {
                    Some(&group) => group,
                    None => {
                        group_positions.insert(digests, groups.len());
                        groups.push(Group {
                            refs: Vec::new(),
                            manifests: ids,
                        });
                        groups.len() - 1
                    }
                };
                list_groups.insert(list, group);
                group
            }
        };
        groups[group].refs.push(tag);
    }
    groups
}

/// The depth at which every deploy object lists its descriptors (in
/// `.data.manifests`), so each is printed once ([`Tagged::texts`]) and
/// copied into every object that lists it (most stand in two or more).
const DESCRIPTOR_LEVEL: usize = 3;

/// `_deploy_object` with all the group's refs, printed as `jq --tab` prints
/// it: the lines of the object and its `data` are written here, everything
/// in them by the printer (`tests/plan_equivalence.rs` holds the bytes to
/// the jq path's).
fn write_deploy_object(
    out: &mut Vec<u8>,
    refs: &[&str],
    manifests: &[DescriptorId],
    tagged: &Tagged,
) {
    let descriptors = &tagged.descriptors;
    let mut lookup = new_map(manifests.len());
    for &id in manifests {
        let descriptor = &descriptors[id];
        if let Some(reference) = &descriptor.reference {
            lookup.insert(text(&descriptor.digest), text(reference));
        }
    }
    let media_type = match manifests.first() {
        Some(&first) if descriptors[first].docker_image => DOCKER_MANIFEST_LIST,
        _ => OCI_INDEX,
    };
    let options = PrintOptions::tab();
    let refs = array(refs.iter().map(|reference| text(reference)).collect());
    out.extend_from_slice(b"{\n\t\"type\": \"manifest\",\n\t\"refs\": ");
    print::write_nested(out, &refs, &options, 1);
    out.extend_from_slice(b",\n\t\"lookup\": ");
    print::write_nested(out, &Val::obj(lookup), &options, 1);
    out.extend_from_slice(b",\n\t\"data\": {\n\t\t\"schemaVersion\": 2,\n\t\t\"mediaType\": ");
    print::write(out, &text(media_type), &options);
    out.extend_from_slice(b",\n\t\t\"manifests\": ");
    if manifests.is_empty() {
        out.extend_from_slice(b"[]");
    } else {
        out.push(b'[');
        for (index, &id) in manifests.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"\n\t\t\t");
            out.extend_from_slice(&tagged.texts[descriptors[id].text.clone()]);
        }
        out.extend_from_slice(b"\n\t\t]");
    }
    out.extend_from_slice(b"\n\t}\n}");
}

// --- oci.jq ---

/// Normalizes one descriptor (checked by [`descriptor_is_checked`]),
/// computes what the plan needs of it and prints it into `texts`.
fn describe(value: Val, texts: &mut Vec<u8>) -> Result<Descriptor> {
    let Val::Obj(fields) = value else {
        return Err(Unsupported("a descriptor is not an object"));
    };
    let mut normalized = normalize_descriptor(unshare(fields));
    let string = |name: &str| entry(&normalized, name).and_then(as_str);
    let digest = string("digest")
        .ok_or(Unsupported("a descriptor without a digest"))?
        .to_owned();
    let docker_image = string("mediaType") == Some(DOCKER_MANIFEST);
    let annotations = entry(&normalized, "annotations");
    let annotation = |name: &str| annotations.and_then(|annotations| field(annotations, name));
    let subject = annotation(REFERENCE_DIGEST)
        .and_then(as_str)
        .map(str::to_owned);
    // rtrimstr("@" + $digest)
    let reference = annotation(REF_NAME).and_then(as_str).map(|name| {
        let suffix = format!("@{digest}");
        name.strip_suffix(suffix.as_str())
            .unwrap_or(name)
            .to_owned()
    });
    let platform = platform_fields(entry(&normalized, "platform"));
    // The index lists it with `.annotations |=
    // del(.["org.opencontainers.image.ref.name"])` (an empty object stays).
    if let Some((_, Val::Obj(annotations))) = normalized
        .iter_mut()
        .find(|(key, _)| is_key(key, "annotations"))
    {
        Rc::make_mut(annotations).retain(|key, _| !is_key(key, REF_NAME));
    }
    let start = texts.len();
    print::write_nested(
        texts,
        &Val::obj(normalized),
        &PrintOptions::tab(),
        DESCRIPTOR_LEVEL,
    );
    Ok(Descriptor {
        digest,
        subject,
        rank: 0,
        platform,
        reference,
        docker_image,
        text: start..texts.len(),
    })
}

/// `normalize_descriptor` of an object: platform normalized, annotations in
/// key order, then `_oci_order_keys(["mediaType", "artifactType", "digest",
/// "size", "platform", "annotations"]; ["urls", "data"])`.
fn normalize_descriptor(mut fields: Map) -> Map {
    for (key, value) in fields.iter_mut() {
        match value {
            Val::Obj(platform) if is_key(key, "platform") => {
                let platform = std::mem::take(Rc::make_mut(platform));
                *value = Val::obj(normalize_platform(platform));
            }
            Val::Obj(annotations) if is_key(key, "annotations") => {
                Rc::make_mut(annotations).sort_keys();
            }
            _ => {}
        }
    }
    const FIRST: [&str; 6] = [
        "mediaType",
        "artifactType",
        "digest",
        "size",
        "platform",
        "annotations",
    ];
    const LAST: [&str; 2] = ["urls", "data"];
    let rank = |key: &Val| {
        if let Some(position) = FIRST.iter().position(|name| is_key(key, name)) {
            position
        } else if let Some(position) = LAST.iter().position(|name| is_key(key, name)) {
            FIRST.len() + 1 + position
        } else {
            FIRST.len()
        }
    };
    // Keys are unique, so one (rank, key) order gives first, rest, last.
    fields.sort_by(|left, _, right, _| (rank(left), left).cmp(&(rank(right), right)));
    fields
}

/// `normalize_platform` of an object: a missing (null or false) variant
/// becomes v7 for arm and v8 for arm64, null and false values are dropped,
/// keys come as os, architecture, variant, os.version, then the rest in code
/// point order.
fn normalize_platform(mut fields: Map) -> Map {
    let has_variant = entry(&fields, "variant").is_some_and(truthy);
    if !has_variant {
        let default = match entry(&fields, "architecture").and_then(as_str) {
            Some("arm") => Some("v7"),
            Some("arm64") => Some("v8"),
            _ => None,
        };
        // In place when the key is there (null or false), else last.
        fields.insert(text("variant"), default.map_or(Val::Null, text));
    }
    fields.retain(|_, value| truthy(value));
    const FIRST: [&str; 4] = ["os", "architecture", "variant", "os.version"];
    let rank = |key: &Val| {
        FIRST
            .iter()
            .position(|name| is_key(key, name))
            .unwrap_or(FIRST.len())
    };
    fields.sort_by(|left, _, right, _| (rank(left), left).cmp(&(rank(right), right)));
    fields
}

/// What `_sort_manifests_platform_key` reads of a platform: `.os`,
/// `.architecture`, `.variant` and `."os.version"`, each `// ""`, in a form
/// that crosses threads ([`describe_in_parallel`]; values do not).
type PlatformFields = [PlatformField; 4];

/// One of [`PlatformFields`]: a string (as every real platform's are), or
/// any other value as its compact JSON text, read back where the key is
/// made. Equal fields are equal values; equal values of other spellings
/// (`1.0`, `1.00`) are only told equal when the keys are ranked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
enum PlatformField {
    Text(String),
    Json(String),
    /// Absent, null or false: `""`.
    #[default]
    Empty,
}

impl PlatformField {
    fn of(value: Option<&Val>) -> Self {
        match value {
            None | Some(Val::Null | Val::Bool(false)) => Self::Empty,
            Some(value) => match as_str(value) {
                Some(text) => Self::Text(text.to_owned()),
                None => Self::Json(
                    String::from_utf8_lossy(&print::to_vec(value, &PrintOptions::compact()))
                        .into_owned(),
                ),
            },
        }
    }

    fn value(&self) -> Result<Val> {
        match self {
            Self::Text(string) => Ok(text(string)),
            Self::Json(json) => crate::jq::read::parse_single(json.as_bytes())
                .map_err(|_| Unsupported("a platform field that does not read back")),
            Self::Empty => Ok(text("")),
        }
    }
}

/// The [`PlatformFields`] of a normalized platform (`None`: none).
fn platform_fields(platform: Option<&Val>) -> PlatformFields {
    ["os", "architecture", "variant", "os.version"]
        .map(|name| PlatformField::of(platform.and_then(|platform| field(platform, name))))
}

/// The distinct `_sort_manifests_platform_key`s. The key reads only the
/// four fields of [`PlatformFields`], so platforms are told apart by those.
#[derive(Default)]
struct PlatformKeys {
    positions: HashMap<PlatformFields, usize>,
    keys: Vec<Val>,
}

impl PlatformKeys {
    /// The position of the key of a platform's fields.
    fn key(&mut self, fields: &PlatformFields) -> Result<usize> {
        if let Some(&position) = self.positions.get(fields) {
            return Ok(position);
        }
        let [os, architecture, variant, os_version] = [
            fields[0].value()?,
            fields[1].value()?,
            fields[2].value()?,
            fields[3].value()?,
        ];
        // `sort_split_platform`.
        let key = array(vec![
            sort_split_pref(&os, &["linux"]),
            sort_split_pref(&architecture, &["amd64", "arm64"]),
            sort_split_desc(&variant),
            sort_split_desc(&os_version),
        ]);
        self.keys.push(key);
        self.positions.insert(fields.clone(), self.keys.len() - 1);
        Ok(self.keys.len() - 1)
    }

    /// Sets each descriptor's rank of its platform's key, so that sorting
    /// compares integers; equal keys get equal ranks, as a stable `sort_by`
    /// treats them.
    fn rank(descriptors: &mut [Descriptor]) -> Result<()> {
        let mut platforms = Self::default();
        for descriptor in descriptors.iter_mut() {
            descriptor.rank = platforms.key(&descriptor.platform)?;
        }
        platforms.set_ranks(descriptors);
        Ok(())
    }

    /// Replaces each descriptor's key position by the key's rank.
    fn set_ranks(&self, descriptors: &mut [Descriptor]) {
        let mut order: Vec<usize> = (0..self.keys.len()).collect();
        order.sort_by(|&left, &right| self.keys[left].cmp(&self.keys[right]));
        let mut ranks = vec![0; self.keys.len()];
        let mut rank = 0;
        for (index, &position) in order.iter().enumerate() {
            if index > 0 && self.keys[order[index - 1]] != self.keys[position] {
                rank += 1;
            }
            ranks[position] = rank;
        }
        for descriptor in descriptors {
            descriptor.rank = ranks[descriptor.rank];
        }
    }
}

/// `sort_split_pref(preferred)` with an empty `last`: `[0, index]` for a
/// preferred value, else `[1, sort_split_natural]`.
fn sort_split_pref(value: &Val, preferred: &[&str]) -> Val {
    if let Some(index) =
        as_str(value).and_then(|value| preferred.iter().position(|name| *name == value))
    {
        return array(vec![integer(0), integer(index)]);
    }
    let natural = match as_str(value) {
        Some(string) => sort_split_natural(string),
        None => value.clone(),
    };
    array(vec![integer(1), natural])
}

/// `sort_split_natural` of a string: alternating text and digit runs,
/// starting with a text run (possibly ""); a digit run is `[count of
/// significant digits, digits without leading zeros]`.
fn sort_split_natural(string: &str) -> Val {
    let bytes = string.as_bytes();
    if !bytes.iter().any(u8::is_ascii_digit) {
        return array(vec![text(string)]);
    }
    let mut parts = Vec::new();
    if bytes[0].is_ascii_digit() {
        parts.push(text(""));
    }
    // Digits are ASCII, so every run boundary is a character boundary.
    let mut start = 0;
    while start < bytes.len() {
        let digit = bytes[start].is_ascii_digit();
        let end = (start..bytes.len())
            .find(|&at| bytes[at].is_ascii_digit() != digit)
            .unwrap_or(bytes.len());
        let run = string.get(start..end).unwrap_or_default();
        if digit {
            let significant = run.trim_start_matches('0');
            parts.push(array(vec![integer(significant.len()), text(significant)]));
        } else {
            parts.push(text(run));
        }
        start = end;
    }
    array(parts)
}

/// `sort_split_desc`: "" sorts last (`[[2]]`), strings are split naturally
/// and inverted, anything else inverted.
fn sort_split_desc(value: &Val) -> Val {
    match as_str(value) {
        Some("") => array(vec![array(vec![integer(2)])]),
        Some(string) => sort_invert(&sort_split_natural(string)),
        None => sort_invert(value),
    }
}

/// `_sort_invert`: arrays element by element; a string becomes its negated
/// code points and a terminator 1; numbers `0 - .`; null and true swap;
/// false and objects stay.
fn sort_invert(value: &Val) -> Val {
    match value {
        Val::Arr(items) => array(items.iter().map(sort_invert).collect()),
        Val::TStr(bytes) | Val::BStr(bytes) => {
            let string = String::from_utf8_lossy(bytes);
            let mut codes: Vec<Val> = string
                .chars()
                .map(|character| Val::Num(Num::Int(-(character as isize))))
                .collect();
            codes.push(integer(1));
            array(codes)
        }
        Val::Num(number) => Val::Num(Num::Int(0) - number.clone()),
        Val::Null => Val::Bool(true),
        Val::Bool(true) => Val::Null,
        other => other.clone(),
    }
}

/// `sort_attestations` over ids: every attestation (with a subject in the
/// list) right after its subject, attestations of attestations after
/// those, everything else in order; attestations never placed (a cycle) at
/// the end, grouped by subject in first-seen order.
fn sort_attestations(list: Vec<DescriptorId>, descriptors: &[Descriptor]) -> Vec<DescriptorId> {
    let present: HashSet<&str> = list.iter().map(|&id| &*descriptors[id].digest).collect();
    let subject_of = |id: DescriptorId| {
        descriptors[id]
            .subject
            .as_deref()
            .filter(|subject| present.contains(subject))
    };
    // subject -> attestations, in first-seen order of subjects; `None` once
    // placed (jq's `del(.[$digest])`).
    let mut attached: Vec<Option<Vec<DescriptorId>>> = Vec::new();
    let mut slots: HashMap<&str, usize> = HashMap::new();
    for &id in &list {
        if let Some(subject) = subject_of(id) {
            match slots.get(subject) {
                Some(&slot) => {
                    if let Some(attestations) = &mut attached[slot] {
                        attestations.push(id);
                    }
                }
                None => {
                    slots.insert(subject, attached.len());
                    attached.push(Some(vec![id]));
                }
            }
        }
    }
    if attached.is_empty() {
        return list;
    }
    let mut out = Vec::with_capacity(list.len());
    // place($descriptor), depth first, without recursion.
    let mut place = |start: DescriptorId, attached: &mut Vec<Option<Vec<DescriptorId>>>| {
        let mut take = |id: DescriptorId| {
            slots
                .get(&*descriptors[id].digest)
                .and_then(|&slot| attached[slot].take())
        };
        out.push(start);
        let mut stack: Vec<(Vec<DescriptorId>, usize)> = Vec::new();
        if let Some(attestations) = take(start) {
            stack.push((attestations, 0));
        }
        while let Some((attestations, next)) = stack.last_mut() {
            let Some(&id) = attestations.get(*next) else {
                stack.pop();
                continue;
            };
            *next += 1;
            out.push(id);
            if let Some(more) = take(id) {
                stack.push((more, 0));
            }
        }
    };
    for &id in &list {
        if subject_of(id).is_none() {
            place(id, &mut attached);
        }
    }
    out.extend(attached.into_iter().flatten().flatten());
    out
}

/// `sort_manifests` of normalized descriptors: a stable sort by platform
/// key, then `sort_attestations`.
fn sort_manifests(list: &[DescriptorId], descriptors: &[Descriptor]) -> Vec<DescriptorId> {
    let mut sorted = list.to_vec();
    sorted.sort_by_key(|&id| descriptors[id].rank);
    sort_attestations(sorted, descriptors)
}

// --- jq values ---

fn text(string: &str) -> Val {
    Val::utf8_str(string.as_bytes().to_vec())
}

fn integer(value: usize) -> Val {
    Val::Num(Num::Int(isize::try_from(value).unwrap_or(isize::MAX)))
}

fn array(items: Vec<Val>) -> Val {
    Val::Arr(items.into())
}

fn new_map(capacity: usize) -> Map {
    Map::with_capacity_and_hasher(capacity, Default::default())
}

/// jq's truthiness: everything but null and false.
fn truthy(value: &Val) -> bool {
    !matches!(value, Val::Null | Val::Bool(false))
}

fn as_str(value: &Val) -> Option<&str> {
    match value {
        Val::TStr(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

/// Whether an object key is `name` (compared as bytes: looking a key up
/// in the map would allocate a value for it).
fn is_key(key: &Val, name: &str) -> bool {
    matches!(key, Val::TStr(bytes) if **bytes == *name.as_bytes())
}

/// `.[name]` of an object's entries.
fn entry<'v>(fields: &'v Map, name: &str) -> Option<&'v Val> {
    fields
        .iter()
        .find(|(key, _)| is_key(key, name))
        .map(|(_, value)| value)
}

/// `.[name]` of a value (`None` for anything but an object).
fn field<'v>(value: &'v Val, name: &str) -> Option<&'v Val> {
    match value {
        Val::Obj(fields) => entry(fields, name),
        _ => None,
    }
}

/// The map of an object, copied only when something else shares it.
fn unshare(fields: Rc<Map>) -> Map {
    Rc::try_unwrap(fields).unwrap_or_else(|shared| (*shared).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Val {
        crate::jq::read::parse_single(text.as_bytes()).expect("json")
    }

    fn compact(value: &Val) -> String {
        String::from_utf8_lossy(&print::to_vec(value, &PrintOptions::compact())).into_owned()
    }

    /// Declining sends the input to the jq path, which plans it or names
    /// the problem; planning it here could only guess.
    #[test]
    fn what_is_not_strict_builds_metadata_is_declined() {
        assert_eq!(plan(b"{}", None), Ok(Vec::new()));
        for input in [
            &br#"{"x": NaN}"#[..],
            b"[]",
            b"{} {}",
            br#"{"x": 1}"#,
            b"\xff",
            br#"{"x": {"build": {"arch": "a", "resolved": {"manifests": [{}]}}, "source": {"arches": {"a": {}}}}}"#,
        ] {
            assert!(plan(input, None).is_err(), "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn natural_and_descending_keys_are_those_of_sort_jq() {
        // Expected values printed by `include "sort"; ...` on the engine.
        assert_eq!(
            compact(&sort_split_natural("vé10x")),
            r#"["vé",[2,"10"],"x"]"#
        );
        assert_eq!(compact(&sort_split_natural("007b")), r#"["",[1,"7"],"b"]"#);
        assert_eq!(compact(&sort_split_natural("v")), r#"["v"]"#);
        let desc = sort_split_desc(&text("vé10x"));
        assert_eq!(compact(&desc), "[[-118,-233,1],[-2,[-49,-48,1]],[-120,1]]");
        assert_eq!(compact(&sort_split_desc(&text(""))), "[[2]]");
    }

    #[test]
    fn platforms_normalize_as_oci_jq_does() {
        let Val::Obj(platform) = value(
            r#"{"z": 1, "variant": false, "os.version": null, "architecture": "arm", "os": "linux", "features": false}"#,
        ) else {
            panic!("not an object");
        };
        let normalized = Val::obj(normalize_platform(unshare(platform)));
        assert_eq!(
            compact(&normalized),
            r#"{"os":"linux","architecture":"arm","variant":"v7","z":1}"#
        );
    }

    #[test]
    fn descriptors_normalize_and_drop_their_ref_name_as_published() {
        let descriptor = value(
            r#"{"urls": ["u"], "x": 1, "size": 2, "digest": "sha256:a", "mediaType": "m",
                "annotations": {"z": "1", "org.opencontainers.image.ref.name": "r:t@sha256:a", "a": "2"},
                "platform": {"architecture": "arm64", "os": "linux"}}"#,
        );
        let mut texts = b"before".to_vec();
        let described = describe(descriptor, &mut texts).expect("described");
        assert_eq!(described.reference.as_deref(), Some("r:t"));
        let text = &texts[described.text.clone()];
        assert!(
            text.ends_with(b"\n\t\t\t}"),
            "printed at the depth of an index's manifests"
        );
        assert_eq!(
            compact(&value(std::str::from_utf8(text).expect("UTF-8"))),
            r#"{"mediaType":"m","digest":"sha256:a","size":2,"platform":{"os":"linux","architecture":"arm64","variant":"v8"},"annotations":{"a":"2","z":"1"},"x":1,"urls":["u"]}"#
        );
    }

    /// The halves read by two threads come back as one thread reads them.
    #[test]
    fn descriptors_read_in_parallel_are_those_read_in_sequence() {
        let build = |id: usize, arch: &str| {
            let descriptor = |kind: &str| {
                format!(
                    r#"{{"mediaType": "m", "digest": "sha256:{kind}{id}", "size": {id},
                        "annotations": {{"{BASHBREW_ARCH}": "{arch}", "{REF_NAME}": "r@sha256:{kind}{id}"}},
                        "platform": {{"os": "linux", "architecture": "{arch}"}}}}"#
                )
            };
            let resolved = if id.is_multiple_of(3) {
                "null".to_string()
            } else {
                format!(
                    r#"{{"manifests": [{}, {}]}}"#,
                    descriptor("a"),
                    descriptor("b")
                )
            };
            format!(
                r#""b{id}": {{"build": {{"arch": "{arch}", "resolved": {resolved}}},
                    "source": {{"arches": {{"{arch}": {{"tags": ["t{id}"]}}}}}}}}"#
            )
        };
        let entries: Vec<String> = (0..20)
            .map(|id| build(id, ["amd64", "arm64"][id % 2]))
            .collect();
        let text = format!("{{{}}}", entries.join(","));
        let builds = fields::read_builds(&text).expect("reads");
        let shown = |(described, texts): (Vec<Vec<Descriptor>>, Vec<u8>)| -> Vec<Vec<String>> {
            described
                .iter()
                .map(|descriptors| {
                    descriptors
                        .iter()
                        .map(|descriptor| {
                            let printed = String::from_utf8_lossy(&texts[descriptor.text.clone()]);
                            format!("{} {:?} {printed}", descriptor.digest, descriptor.platform)
                        })
                        .collect()
                })
                .collect()
        };
        for arch in [None, Some("arm64")] {
            let sequence = shown(describe_builds(&builds, arch, Vec::new()).expect("described"));
            let parallel = shown(describe_in_parallel(&builds, arch, 0).expect("described"));
            assert_eq!(parallel, sequence, "{arch:?}");
            assert_eq!(sequence.len(), 20);
            assert_eq!(sequence[1].len(), 2, "{arch:?}");
        }
    }

    #[test]
    fn attestations_follow_their_subjects() {
        let descriptor = |digest: &str, subject: Option<&str>| Descriptor {
            digest: digest.to_string(),
            subject: subject.map(str::to_string),
            rank: 0,
            platform: PlatformFields::default(),
            reference: None,
            docker_image: false,
            text: 0..0,
        };
        let descriptors = vec![
            descriptor("att-a", Some("a")),
            descriptor("a", None),
            descriptor("b", None),
            descriptor("att-b", Some("b")),
            descriptor("att-missing", Some("gone")),
            descriptor("att-att-a", Some("att-a")),
            descriptor("self", Some("self")),
        ];
        let order = sort_attestations((0..descriptors.len()).collect(), &descriptors);
        let names: Vec<&str> = order.iter().map(|&id| &*descriptors[id].digest).collect();
        assert_eq!(
            names,
            [
                "a",
                "att-a",
                "att-att-a",
                "b",
                "att-b",
                "att-missing",
                "self"
            ]
        );
    }
}
