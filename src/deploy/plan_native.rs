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
//! [`super::check_builds`]. Anything else (a syntax error, a malformed build,
//! jaq's JSON extensions such as `NaN` or comments, a lone UTF-16 surrogate
//! escape, very deep nesting) returns [`Unsupported`], and the caller runs
//! the jq path, which either plans it or names the problem exactly as it
//! always has. Declining is always safe; it only costs time.
//!
//! The input is never turned into a full tree: the fields planning reads are
//! parsed into borrowed values, everything else is only checked to be
//! well-formed JSON and skipped.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;

use jaq_json::{Map, Num, Val};

use crate::jq::print::{self, PrintOptions};
// `media_type_dockerv2_image`, `media_type_dockerv2_list` and
// `media_type_oci_index` of `oci.jq`; the bashbrew arch `tagged_manifests`
// keeps, where a manifest was staged (`_deploy_lookup_reference`), the
// subject of an attestation (`_oci_attestation_subject`).
use crate::spec::annotation::{BASHBREW_ARCH, REFERENCE_DIGEST, REF_NAME};
use crate::spec::media_type::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX};

/// Nesting deeper than this is left to the jq path, so that parsing a
/// hostile input can never exhaust the stack here.
const MAX_DEPTH: usize = 512;

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
    let builds = parse_builds(text)?;
    let tagged = tagged_manifests(builds, arch)?;
    let objects = deploy_objects(&tagged);
    // Plans run from a tenth to most of the input's length; the buffer
    // starts small and grows (reserving the whole length measured neither
    // faster nor leaner).
    let mut out = Vec::with_capacity(input.len() / 8);
    let options = PrintOptions::tab();
    for object in &objects {
        print::write(&mut out, object, &options);
        out.push(b'\n');
    }
    Ok(out)
}

/// Whether the input is builds metadata by the rule `deploy` uses to tell it
/// from deploy objects (one non-empty object whose every value is an object
/// with `buildId`, `build` and `source`), without building any value:
/// `None` when the input is not strict JSON (ask the full parser).
pub fn looks_like_builds_text(input: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(input).ok()?;
    let mut scanner = Scanner::new(text);
    scanner.whitespace();
    let mut count = 0usize;
    let mut all_builds = true;
    if scanner.peek() == Some(b'{') {
        scanner
            .object(|scanner, _| {
                count += 1;
                if scanner.peek() == Some(b'{') {
                    let mut seen = [false; 3];
                    scanner.object(|scanner, key| {
                        if let Some(slot) = ["buildId", "build", "source"]
                            .iter()
                            .position(|name| *name == key)
                        {
                            seen[slot] = true;
                        }
                        scanner.skip_value()
                    })?;
                    all_builds &= seen.iter().all(|seen| *seen);
                } else {
                    all_builds = false;
                    scanner.skip_value()?;
                }
                Ok(())
            })
            .ok()?;
        scanner.whitespace();
        if scanner.at_end() {
            return Some(count > 0 && all_builds);
        }
        // More values follow: a stream, which is never builds metadata,
        // but only if the rest is valid JSON, which the full parser says.
        return None;
    }
    None
}

// --- a strict JSON reader over borrowed text ---

/// A JSON value whose strings and number texts borrow from the input when
/// they can. Objects keep jq's key semantics: one entry per key, at the
/// position of its first occurrence, with the value of its last.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's text, exactly as written (converted by the engine's
    /// reader when printed, so it prints as the jq path prints it).
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Entries<'a>),
}

impl<'a> Json<'a> {
    /// jq's truthiness: everything but null and false.
    fn truthy(&self) -> bool {
        !matches!(self, Json::Null | Json::Bool(false))
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    fn as_object(&self) -> Option<&[(Cow<'a, str>, Json<'a>)]> {
        match self {
            Json::Object(entries) => Some(entries),
            _ => None,
        }
    }
}

/// An object's entries, in order.
type Entries<'a> = Vec<(Cow<'a, str>, Json<'a>)>;

/// `.source.arches`: each architecture with its value's unparsed text.
type ArchEntries<'a> = Vec<(Cow<'a, str>, &'a str)>;

/// `.tags` and `.archTags` of one architecture.
type ArchTags<'a> = (Vec<Cow<'a, str>>, Vec<Cow<'a, str>>);

/// `.[name]` of an object's entries.
fn get<'j, 'a>(entries: &'j [(Cow<'a, str>, Json<'a>)], name: &str) -> Option<&'j Json<'a>> {
    entries
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// Adds an entry with jq's semantics for a repeated key (first position,
/// last value); `index` is built once an object grows past a few keys.
fn insert_entry<'a>(
    entries: &mut Entries<'a>,
    index: &mut Option<HashMap<Cow<'a, str>, usize>>,
    key: Cow<'a, str>,
    value: Json<'a>,
) {
    const LINEAR: usize = 16;
    if index.is_none() && entries.len() >= LINEAR {
        *index = Some(
            entries
                .iter()
                .enumerate()
                .map(|(position, (key, _))| (key.clone(), position))
                .collect(),
        );
    }
    let existing = match index {
        Some(index) => index.get(&key).copied(),
        None => entries.iter().position(|(known, _)| *known == key),
    };
    match existing {
        Some(position) => entries[position].1 = value,
        None => {
            if let Some(index) = index {
                index.insert(key.clone(), entries.len());
            }
            entries.push((key, value));
        }
    }
}

struct Scanner<'a> {
    text: &'a str,
    position: usize,
    /// The closing brackets of the containers [`Scanner::skip_value`] is in
    /// (kept between calls to save an allocation per skipped value).
    closers: Vec<u8>,
}

/// Whether any byte of `word` is `"`, `\` or below 0x20: the bytes that end
/// the plain run of a JSON string (the classic "has zero byte" and "has
/// byte less than" word tricks, exact for this yes/no question).
fn has_string_special(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_quote = quote.wrapping_sub(ONES) & !quote;
    let zero_backslash = backslash.wrapping_sub(ONES) & !backslash;
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (zero_quote | zero_backslash | control) & HIGHS != 0
}

fn is_string_special(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            position: 0,
            closers: Vec::new(),
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.position).copied()
    }

    fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.position += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Result<()> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(Unsupported("not strict JSON"))
        }
    }

    fn slice(&self, start: usize, end: usize) -> Result<&'a str> {
        self.text
            .get(start..end)
            .ok_or(Unsupported("not strict JSON"))
    }

    /// The next `"`, `\` or control character at or after `from`.
    fn string_special(&self, mut from: usize) -> Option<usize> {
        let bytes = self.bytes();
        while let Some(chunk) = bytes.get(from..from + 8) {
            let Ok(word) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            if has_string_special(u64::from_le_bytes(word)) {
                break;
            }
            from += 8;
        }
        (from..bytes.len()).find(|&at| is_string_special(bytes[at]))
    }

    /// A string (the scanner is at its opening quote), unescaped; borrowed
    /// when it has no escapes. Refuses raw control characters and lone
    /// UTF-16 surrogate escapes (the jq path decides what those mean).
    fn string(&mut self) -> Result<Cow<'a, str>> {
        let bytes = self.bytes();
        let start = self.position + 1;
        let end = self
            .string_special(start)
            .ok_or(Unsupported("unterminated string"))?;
        if bytes[end] == b'"' {
            self.position = end + 1;
            return Ok(Cow::Borrowed(self.slice(start, end)?));
        }
        let mut owned = String::from(self.slice(start, end)?);
        let mut at = end;
        loop {
            match bytes.get(at) {
                Some(b'"') => {
                    self.position = at + 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(b'\\') => {
                    at = self.escape(at + 1, &mut owned)?;
                }
                _ => return Err(Unsupported("control character in a string")),
            }
            let next = self
                .string_special(at)
                .ok_or(Unsupported("unterminated string"))?;
            owned.push_str(self.slice(at, next)?);
            at = next;
        }
    }

    /// Decodes the escape after a backslash at `at`; returns where the
    /// string continues.
    fn escape(&self, at: usize, out: &mut String) -> Result<usize> {
        let simple = match self.bytes().get(at) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let first = self.hex4(at + 1)?;
                let (code, next) = match first {
                    0xD800..=0xDBFF => {
                        if self.bytes().get(at + 5..at + 7) != Some(b"\\u") {
                            return Err(Unsupported("lone surrogate escape"));
                        }
                        let second = self.hex4(at + 7)?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(Unsupported("lone surrogate escape"));
                        }
                        (
                            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00),
                            at + 11,
                        )
                    }
                    0xDC00..=0xDFFF => return Err(Unsupported("lone surrogate escape")),
                    _ => (first, at + 5),
                };
                out.push(char::from_u32(code).ok_or(Unsupported("bad escape"))?);
                return Ok(next);
            }
            _ => return Err(Unsupported("bad escape")),
        };
        out.push(simple);
        Ok(at + 1)
    }

    fn hex4(&self, at: usize) -> Result<u32> {
        let digits = self
            .bytes()
            .get(at..at + 4)
            .ok_or(Unsupported("bad escape"))?;
        digits.iter().try_fold(0u32, |code, &digit| {
            let value = char::from(digit)
                .to_digit(16)
                .ok_or(Unsupported("bad escape"))?;
            Ok(code * 16 + value)
        })
    }

    /// A number in RFC 8259's grammar, as its text.
    fn number(&mut self) -> Result<&'a str> {
        let start = self.position;
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.position += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Unsupported("not strict JSON")),
        }
        if self.eat(b'.') {
            self.one_or_more_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.position += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.position += 1;
            }
            self.one_or_more_digits()?;
        }
        self.slice(start, self.position)
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.position += 1;
        }
    }

    fn one_or_more_digits(&mut self) -> Result<()> {
        let start = self.position;
        self.digits();
        if self.position == start {
            return Err(Unsupported("not strict JSON"));
        }
        Ok(())
    }

    /// `null`, `true` or `false`.
    fn literal(&mut self) -> Result<Json<'a>> {
        let rest = &self.bytes()[self.position..];
        let (value, length) = if rest.starts_with(b"null") {
            (Json::Null, 4)
        } else if rest.starts_with(b"true") {
            (Json::Bool(true), 4)
        } else if rest.starts_with(b"false") {
            (Json::Bool(false), 5)
        } else {
            return Err(Unsupported("not strict JSON"));
        };
        self.position += length;
        Ok(value)
    }

    /// Calls `entry` at each value of the object the scanner is at, with its
    /// key; `entry` must consume the value.
    fn object(
        &mut self,
        mut entry: impl FnMut(&mut Self, Cow<'a, str>) -> Result<()>,
    ) -> Result<()> {
        self.expect(b'{')?;
        self.whitespace();
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(Unsupported("not strict JSON"));
            }
            let key = self.string()?;
            self.whitespace();
            self.expect(b':')?;
            self.whitespace();
            entry(self, key)?;
            self.whitespace();
            if self.eat(b',') {
                self.whitespace();
            } else {
                return self.expect(b'}');
            }
        }
    }

    /// Calls `item` at each value of the array the scanner is at; `item`
    /// must consume the value.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.expect(b'[')?;
        self.whitespace();
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            item(self)?;
            self.whitespace();
            if self.eat(b',') {
                self.whitespace();
            } else {
                return self.expect(b']');
            }
        }
    }

    /// A whole value, as a tree.
    fn value(&mut self, depth: usize) -> Result<Json<'a>> {
        if depth > MAX_DEPTH {
            return Err(Unsupported("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => {
                let mut entries = Vec::new();
                let mut index = None;
                self.object(|scanner, key| {
                    let value = scanner.value(depth + 1)?;
                    insert_entry(&mut entries, &mut index, key, value);
                    Ok(())
                })?;
                Ok(Json::Object(entries))
            }
            Some(b'[') => {
                let mut items = Vec::new();
                self.array(|scanner| {
                    items.push(scanner.value(depth + 1)?);
                    Ok(())
                })?;
                Ok(Json::Array(items))
            }
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => Ok(Json::Number(self.number()?)),
            _ => self.literal(),
        }
    }

    /// Checks that a well-formed value follows and moves past it, building
    /// nothing (iterative: any depth is fine).
    fn skip_value(&mut self) -> Result<()> {
        self.closers.clear();
        loop {
            // A value starts here.
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    self.position += 1;
                    self.whitespace();
                    let close = if open == b'{' { b'}' } else { b']' };
                    if !self.eat(close) {
                        self.closers.push(close);
                        if close == b'}' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                }
                _ => {
                    self.literal()?;
                }
            }
            // A value ended: close containers until one has a next value.
            loop {
                let Some(&close) = self.closers.last() else {
                    return Ok(());
                };
                self.whitespace();
                if self.eat(b',') {
                    self.whitespace();
                    if close == b'}' {
                        self.key()?;
                    }
                    break;
                }
                self.expect(close)?;
                self.closers.pop();
            }
        }
    }

    /// An object key and its colon, up to the value.
    fn key(&mut self) -> Result<()> {
        if self.peek() != Some(b'"') {
            return Err(Unsupported("not strict JSON"));
        }
        self.string()?;
        self.whitespace();
        self.expect(b':')?;
        self.whitespace();
        Ok(())
    }

    /// Skips a value and returns its text.
    fn skip_value_span(&mut self) -> Result<&'a str> {
        let start = self.position;
        self.skip_value()?;
        self.slice(start, self.position)
    }
}

// --- the fields of builds metadata that planning reads ---

/// What planning reads of one build.
struct Build<'a> {
    /// `.build.arch`.
    arch: Cow<'a, str>,
    /// `.build.resolved.manifests` when `.build.resolved` is truthy.
    manifests: Option<Vec<Json<'a>>>,
    /// `.source.arches`, each entry's value as unparsed text (only the
    /// build's own architecture is read).
    arches: ArchEntries<'a>,
}

/// A field's value as planning needs it, or why it is not: a value of
/// another shape is remembered rather than declined at once, because a
/// later repetition of the key replaces it (jq keeps the last value).
type Shaped<T> = Result<T>;

/// `.build.resolved`.
enum Resolved<'a> {
    /// Null or false: not resolved (skipped by planning).
    No,
    /// An index, with its `manifests` when it has them.
    Index(Option<Shaped<Vec<Json<'a>>>>),
}

/// What `.build` holds while it is read.
#[derive(Default)]
struct BuildFields<'a> {
    arch: Option<Shaped<Cow<'a, str>>>,
    resolved: Option<Shaped<Resolved<'a>>>,
}

impl<'a> Scanner<'a> {
    /// Parses a value with `parse`; when its shape is not what `parse`
    /// reads, skips it (checking it is well-formed) and returns the refusal
    /// as the value. Only malformed JSON is an error here.
    fn shaped<T>(&mut self, parse: impl FnOnce(&mut Self) -> Result<T>) -> Result<Shaped<T>> {
        let start = self.position;
        match parse(self) {
            Ok(value) => Ok(Ok(value)),
            Err(refusal) => {
                self.position = start;
                self.skip_value()?;
                Ok(Err(refusal))
            }
        }
    }
}

/// The builds in input order (a repeated build id keeps its first position
/// and its last value, as jq's objects do). Declines whatever
/// `check_builds` would refuse.
fn parse_builds(text: &str) -> Result<Vec<Build<'_>>> {
    let mut scanner = Scanner::new(text);
    scanner.whitespace();
    if scanner.peek() != Some(b'{') {
        return Err(Unsupported("the input is not one object"));
    }
    let mut builds: Vec<Shaped<Build>> = Vec::new();
    let mut positions: HashMap<Cow<str>, usize> = HashMap::new();
    scanner.object(|scanner, id| {
        let build = scanner.shaped(parse_build)?;
        match positions.get(&id) {
            Some(&position) => builds[position] = build,
            None => {
                positions.insert(id, builds.len());
                builds.push(build);
            }
        }
        Ok(())
    })?;
    scanner.whitespace();
    if !scanner.at_end() {
        return Err(Unsupported("more than one JSON value"));
    }
    builds.into_iter().collect()
}

fn parse_build<'a>(scanner: &mut Scanner<'a>) -> Result<Build<'a>> {
    if scanner.peek() != Some(b'{') {
        return Err(Unsupported("a build is not an object"));
    }
    let mut fields: Option<Shaped<BuildFields>> = None;
    let mut source: Option<Shaped<Option<Shaped<ArchEntries>>>> = None;
    scanner.object(|scanner, key| {
        match &*key {
            "build" => fields = Some(scanner.shaped(parse_build_fields)?),
            "source" => source = Some(scanner.shaped(parse_source_arches)?),
            _ => scanner.skip_value()?,
        }
        Ok(())
    })?;
    let fields = fields.ok_or(Unsupported("a build without .build"))??;
    let arch = fields
        .arch
        .ok_or(Unsupported("a build without .build.arch"))??;
    let arches = source
        .ok_or(Unsupported("a build without .source"))??
        .ok_or(Unsupported("a build without .source.arches"))??;
    let manifests = match fields.resolved {
        None => None,
        Some(resolved) => match resolved? {
            Resolved::No => None,
            Resolved::Index(manifests) => {
                Some(manifests.ok_or(Unsupported("a resolved build without manifests"))??)
            }
        },
    };
    Ok(Build {
        arch,
        manifests,
        arches,
    })
}

fn parse_build_fields<'a>(scanner: &mut Scanner<'a>) -> Result<BuildFields<'a>> {
    if scanner.peek() != Some(b'{') {
        return Err(Unsupported(".build is not an object"));
    }
    let mut fields = BuildFields::default();
    scanner.object(|scanner, key| {
        match &*key {
            "arch" => fields.arch = Some(scanner.shaped(parse_text)?),
            "resolved" => fields.resolved = Some(scanner.shaped(parse_resolved)?),
            _ => scanner.skip_value()?,
        }
        Ok(())
    })?;
    Ok(fields)
}

fn parse_text<'a>(scanner: &mut Scanner<'a>) -> Result<Cow<'a, str>> {
    if scanner.peek() != Some(b'"') {
        return Err(Unsupported("not a string"));
    }
    scanner.string()
}

fn parse_resolved<'a>(scanner: &mut Scanner<'a>) -> Result<Resolved<'a>> {
    match scanner.peek() {
        Some(b'{') => {}
        Some(b'n' | b'f') => {
            return match scanner.literal()? {
                Json::Null | Json::Bool(false) => Ok(Resolved::No),
                _ => Err(Unsupported("not strict JSON")),
            }
        }
        _ => return Err(Unsupported(".build.resolved is not an index")),
    }
    let mut manifests = None;
    scanner.object(|scanner, key| {
        if key == "manifests" {
            manifests = Some(scanner.shaped(parse_manifest_list)?);
            Ok(())
        } else {
            scanner.skip_value()
        }
    })?;
    Ok(Resolved::Index(manifests))
}

fn parse_manifest_list<'a>(scanner: &mut Scanner<'a>) -> Result<Vec<Json<'a>>> {
    if scanner.peek() != Some(b'[') {
        return Err(Unsupported(".build.resolved.manifests is not an array"));
    }
    let mut list = Vec::new();
    scanner.array(|scanner| {
        list.push(scanner.value(0)?);
        Ok(())
    })?;
    Ok(list)
}

/// `.source.arches` of a `.source` (`None` when it has none).
fn parse_source_arches<'a>(scanner: &mut Scanner<'a>) -> Result<Option<Shaped<ArchEntries<'a>>>> {
    if scanner.peek() != Some(b'{') {
        return Err(Unsupported(".source is not an object"));
    }
    let mut arches = None;
    scanner.object(|scanner, key| {
        if key == "arches" {
            arches = Some(scanner.shaped(parse_arch_entries)?);
            Ok(())
        } else {
            scanner.skip_value()
        }
    })?;
    Ok(arches)
}

fn parse_arch_entries<'a>(scanner: &mut Scanner<'a>) -> Result<ArchEntries<'a>> {
    if scanner.peek() != Some(b'{') {
        return Err(Unsupported(".source.arches is not an object"));
    }
    let mut entries = Vec::new();
    scanner.object(|scanner, arch| {
        entries.push((arch, scanner.skip_value_span()?));
        Ok(())
    })?;
    Ok(entries)
}

/// `.tags` and `.archTags` of `.source.arches[ARCH]` (text of a value
/// already checked to be well-formed).
fn parse_arch_tags(text: &str) -> Result<ArchTags<'_>> {
    let mut scanner = Scanner::new(text);
    if scanner.peek() != Some(b'{') {
        return Err(Unsupported(".source.arches[ARCH] is not an object"));
    }
    let mut tags = Ok(Vec::new());
    let mut arch_tags = Ok(Vec::new());
    scanner.object(|scanner, key| {
        match &*key {
            "tags" => tags = scanner.shaped(parse_tag_list)?,
            "archTags" => arch_tags = scanner.shaped(parse_tag_list)?,
            _ => scanner.skip_value()?,
        }
        Ok(())
    })?;
    Ok((tags?, arch_tags?))
}

/// A list of tags: an array of strings, or null for none.
fn parse_tag_list<'a>(scanner: &mut Scanner<'a>) -> Result<Vec<Cow<'a, str>>> {
    let mut list = Vec::new();
    match scanner.peek() {
        Some(b'[') => scanner.array(|scanner| {
            list.push(parse_text(scanner)?);
            Ok(())
        })?,
        Some(b'n') => {
            scanner.literal()?;
        }
        _ => return Err(Unsupported("tags are not an array")),
    }
    Ok(list)
}

/// The descriptor fields `check_builds` requires.
fn descriptor_is_checked(value: &Json) -> bool {
    let Some(fields) = value.as_object() else {
        return false;
    };
    matches!(get(fields, "mediaType"), Some(Json::String(_)))
        && matches!(get(fields, "digest"), Some(Json::String(_)))
        && matches!(get(fields, "size"), Some(Json::Number(_)))
        && matches!(get(fields, "annotations"), Some(Json::Object(_)))
        && matches!(get(fields, "platform"), None | Some(Json::Object(_)))
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
    /// distinct keys (equal keys, equal ranks).
    rank: usize,
    /// `_deploy_lookup_reference` (null is `None`).
    reference: Option<String>,
    /// `.mediaType == media_type_dockerv2_image`.
    docker_image: bool,
    /// `normalize_descriptor` without the ref.name annotation, as it is
    /// printed in the index.
    published: Val,
}

/// The output of `tagged_manifests`: tags in first-seen order, each with its
/// descriptors in build order.
struct Tagged<'a> {
    tags: Vec<(Cow<'a, str>, Vec<DescriptorId>)>,
    descriptors: Vec<Descriptor>,
}

/// `tagged_manifests(true; .source.arches[.build.arch].tags,
/// .source.arches[.build.arch].archTags)` without an architecture, else
/// `arch_tagged_manifests($arch)`; checks every build as `check_builds`
/// does first (declining what it would refuse).
fn tagged_manifests<'a>(builds: Vec<Build<'a>>, arch: Option<&str>) -> Result<Tagged<'a>> {
    let mut tags: Vec<(Cow<str>, Vec<DescriptorId>)> = Vec::new();
    let mut tag_positions: HashMap<Cow<str>, usize> = HashMap::new();
    let mut descriptors = Vec::new();
    let mut platforms = PlatformKeys::default();
    let mut build_tags: Vec<Cow<str>> = Vec::new();
    let mut seen: HashSet<Cow<str>> = HashSet::new();
    for build in builds {
        let Some(manifests) = build.manifests else {
            continue;
        };
        let entry = build
            .arches
            .iter()
            .rev()
            .find(|(name, _)| *name == build.arch)
            .ok_or(Unsupported("a resolved build without .source.arches[ARCH]"))?;
        let (own_tags, arch_tags) = parse_arch_tags(entry.1)?;
        if !manifests.iter().all(descriptor_is_checked) {
            return Err(Unsupported("a descriptor check_builds refuses"));
        }
        if arch.is_some_and(|arch| arch != build.arch) {
            continue;
        }
        let mut ids = Vec::new();
        for manifest in manifests {
            let Some(fields) = manifest.as_object() else {
                continue;
            };
            let own_arch = get(fields, "annotations")
                .and_then(Json::as_object)
                .and_then(|annotations| get(annotations, BASHBREW_ARCH));
            if own_arch.and_then(Json::as_str) != Some(&*build.arch) {
                continue;
            }
            // Each manifest is described once per build that lists it
            // (interning equal ones cost more in hashing than it saved).
            ids.push(descriptors.len());
            descriptors.push(describe(manifest, &mut platforms)?);
        }
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
    platforms.rank(&mut descriptors);
    Ok(Tagged { tags, descriptors })
}

/// A deploy object being assembled: `_deploy_object` of its first tag, with
/// the later tags of the same digest list appended to `refs`.
struct Group<'t> {
    refs: Vec<&'t str>,
    manifests: usize,
}

/// `deploy_objects[]`: per tag in first-seen order, its descriptors
/// normalized and sorted (`sort_manifests`); tags with equal sorted digest
/// lists share the object of the first.
fn deploy_objects(tagged: &Tagged) -> Vec<Val> {
    let descriptors = &tagged.descriptors;
    let mut sorted_lists: Vec<Vec<DescriptorId>> = Vec::new();
    let mut list_positions: HashMap<&[DescriptorId], usize> = HashMap::new();
    // The group of each sorted list (equal lists, equal digests).
    let mut list_groups: Vec<usize> = Vec::new();
    let mut group_positions: HashMap<Vec<&str>, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (tag, list) in &tagged.tags {
        let sorted = match list_positions.get(list.as_slice()) {
            Some(&sorted) => sorted,
            None => {
                let ids = sort_manifests(list, descriptors);
                let digests: Vec<&str> = ids.iter().map(|&id| &*descriptors[id].digest).collect();
                let group = match group_positions.get(&digests) {
                    Some(&group) => group,
                    None => {
                        group_positions.insert(digests, groups.len());
                        groups.push(Group {
                            refs: Vec::new(),
                            manifests: sorted_lists.len(),
                        });
                        groups.len() - 1
                    }
                };
                list_positions.insert(list, sorted_lists.len());
                sorted_lists.push(ids);
                list_groups.push(group);
                sorted_lists.len() - 1
            }
        };
        groups[list_groups[sorted]].refs.push(tag);
    }
    groups
        .iter()
        .map(|group| deploy_object(&group.refs, &sorted_lists[group.manifests], descriptors))
        .collect()
}

/// `_deploy_object`, with all the group's refs.
fn deploy_object(refs: &[&str], manifests: &[DescriptorId], descriptors: &[Descriptor]) -> Val {
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
    let mut data = new_map(3);
    data.insert(text("schemaVersion"), Val::Num(Num::Int(2)));
    data.insert(text("mediaType"), text(media_type));
    data.insert(
        text("manifests"),
        array(
            manifests
                .iter()
                .map(|&id| descriptors[id].published.clone())
                .collect(),
        ),
    );
    let mut object = new_map(4);
    object.insert(text("type"), text("manifest"));
    object.insert(
        text("refs"),
        array(refs.iter().map(|reference| text(reference)).collect()),
    );
    object.insert(text("lookup"), Val::obj(lookup));
    object.insert(text("data"), Val::obj(data));
    Val::obj(object)
}

// --- oci.jq ---

/// Normalizes one descriptor (checked by [`descriptor_is_checked`]) and
/// computes what the plan needs of it.
fn describe<'a>(value: Json<'a>, platforms: &mut PlatformKeys<'a>) -> Result<Descriptor> {
    let Json::Object(fields) = value else {
        return Err(Unsupported("a descriptor is not an object"));
    };
    let normalized = normalize_descriptor(fields);
    let digest = get(&normalized, "digest")
        .and_then(Json::as_str)
        .ok_or(Unsupported("a descriptor without a digest"))?
        .to_owned();
    let annotations = get(&normalized, "annotations").and_then(Json::as_object);
    let annotation = |name: &str| {
        annotations
            .and_then(|annotations| get(annotations, name))
            .and_then(Json::as_str)
    };
    let subject = annotation(REFERENCE_DIGEST).map(str::to_owned);
    // rtrimstr("@" + $digest)
    let reference = annotation(REF_NAME).map(|name| {
        let suffix = format!("@{digest}");
        name.strip_suffix(suffix.as_str())
            .unwrap_or(name)
            .to_owned()
    });
    let docker_image =
        get(&normalized, "mediaType").and_then(Json::as_str) == Some(DOCKER_MANIFEST);
    let key = platforms.key(get(&normalized, "platform"))?;
    let published = published_descriptor(&normalized)?;
    Ok(Descriptor {
        digest,
        subject,
        rank: key,
        reference,
        docker_image,
        published,
    })
}

/// `normalize_descriptor` of an object: platform normalized, annotations in
/// key order, then `_oci_order_keys(["mediaType", "artifactType", "digest",
/// "size", "platform", "annotations"]; ["urls", "data"])`.
fn normalize_descriptor<'a>(mut fields: Entries<'a>) -> Entries<'a> {
    for (key, value) in &mut fields {
        match (&**key, value) {
            ("platform", Json::Object(platform)) => {
                *platform = normalize_platform(std::mem::take(platform));
            }
            ("annotations", Json::Object(annotations)) => {
                annotations.sort_by(|(left, _), (right, _)| left.cmp(right));
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
    let rank = |key: &str| {
        if let Some(position) = FIRST.iter().position(|name| *name == key) {
            position
        } else if let Some(position) = LAST.iter().position(|name| *name == key) {
            FIRST.len() + 1 + position
        } else {
            FIRST.len()
        }
    };
    // Keys are unique, so one (rank, key) order gives first, rest, last.
    fields.sort_by(|(left, _), (right, _)| (rank(left), left).cmp(&(rank(right), right)));
    fields
}

/// `normalize_platform` of an object: a missing (null or false) variant
/// becomes v7 for arm and v8 for arm64, null and false values are dropped,
/// keys come as os, architecture, variant, os.version, then the rest in code
/// point order.
fn normalize_platform<'a>(mut fields: Entries<'a>) -> Entries<'a> {
    let has_variant = get(&fields, "variant").is_some_and(Json::truthy);
    if !has_variant {
        let default = match get(&fields, "architecture").and_then(Json::as_str) {
            Some("arm") => Some("v7"),
            Some("arm64") => Some("v8"),
            _ => None,
        };
        let variant = default.map_or(Json::Null, |variant| Json::String(Cow::Borrowed(variant)));
        match fields.iter_mut().find(|(key, _)| key == "variant") {
            Some(slot) => slot.1 = variant,
            None => fields.push((Cow::Borrowed("variant"), variant)),
        }
    }
    fields.retain(|(_, value)| value.truthy());
    const FIRST: [&str; 4] = ["os", "architecture", "variant", "os.version"];
    let rank = |key: &str| {
        FIRST
            .iter()
            .position(|name| *name == key)
            .unwrap_or(FIRST.len())
    };
    fields.sort_by(|(left, _), (right, _)| (rank(left), left).cmp(&(rank(right), right)));
    fields
}

/// The descriptor as the index lists it: `.annotations |=
/// del(.["org.opencontainers.image.ref.name"])` (an empty object stays).
fn published_descriptor(fields: &[(Cow<str>, Json)]) -> Result<Val> {
    let mut map = new_map(fields.len());
    for (key, value) in fields {
        let value = match (&**key, value) {
            ("annotations", Json::Object(annotations)) => {
                let mut kept = new_map(annotations.len());
                for (name, annotation) in annotations {
                    if name != REF_NAME {
                        kept.insert(text(name), to_val(annotation)?);
                    }
                }
                Val::obj(kept)
            }
            _ => to_val(value)?,
        };
        map.insert(text(key), value);
    }
    Ok(Val::obj(map))
}

/// The distinct `_sort_manifests_platform_key`s, one per distinct
/// normalized platform.
#[derive(Default)]
struct PlatformKeys<'a> {
    positions: HashMap<Option<Entries<'a>>, usize>,
    keys: Vec<Val>,
}

impl<'a> PlatformKeys<'a> {
    /// The position of the key of a normalized platform (`None`: none).
    fn key(&mut self, platform: Option<&Json<'a>>) -> Result<usize> {
        let platform = platform.and_then(Json::as_object).map(<[_]>::to_vec);
        if let Some(&position) = self.positions.get(&platform) {
            return Ok(position);
        }
        let key = sort_split_platform(platform.as_deref().unwrap_or(&[]))?;
        self.keys.push(key);
        self.positions.insert(platform, self.keys.len() - 1);
        Ok(self.keys.len() - 1)
    }

    /// Replaces each descriptor's key position by the key's rank, so that
    /// sorting compares integers; equal keys get equal ranks, as a stable
    /// `sort_by` treats them.
    fn rank(&self, descriptors: &mut [Descriptor]) {
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

/// `sort_split_platform` of a normalized platform's fields.
fn sort_split_platform(platform: &[(Cow<str>, Json)]) -> Result<Val> {
    let empty = Json::String(Cow::Borrowed(""));
    // `.field // ""`
    let field = |name: &str| {
        get(platform, name)
            .filter(|value| value.truthy())
            .unwrap_or(&empty)
    };
    Ok(array(vec![
        sort_split_pref(field("os"), &["linux"])?,
        sort_split_pref(field("architecture"), &["amd64", "arm64"])?,
        sort_split_desc(field("variant"))?,
        sort_split_desc(field("os.version"))?,
    ]))
}

/// `sort_split_pref(preferred)` with an empty `last`: `[0, index]` for a
/// preferred value, else `[1, sort_split_natural]`.
fn sort_split_pref(value: &Json, preferred: &[&str]) -> Result<Val> {
    if let Some(index) = value
        .as_str()
        .and_then(|value| preferred.iter().position(|name| *name == value))
    {
        return Ok(array(vec![integer(0), integer(index)]));
    }
    let natural = match value {
        Json::String(string) => sort_split_natural(string),
        other => to_val(other)?,
    };
    Ok(array(vec![integer(1), natural]))
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
fn sort_split_desc(value: &Json) -> Result<Val> {
    Ok(match value {
        Json::String(string) if string.is_empty() => array(vec![array(vec![integer(2)])]),
        Json::String(string) => sort_invert(&sort_split_natural(string)),
        other => sort_invert(&to_val(other)?),
    })
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

/// The jq value of a parsed value; numbers through the engine's reader, so
/// they print exactly as the jq path prints them.
fn to_val(value: &Json) -> Result<Val> {
    Ok(match value {
        Json::Null => Val::Null,
        Json::Bool(bool) => Val::Bool(*bool),
        // The engine's own reader, so that every literal (`-0`, big
        // integers, decimals) becomes exactly the value the jq path prints.
        Json::Number(literal) => crate::jq::read::parse_single(literal.as_bytes())
            .map_err(|_| Unsupported("a number the engine does not read"))?,
        Json::String(string) => text(string),
        Json::Array(items) => array(items.iter().map(to_val).collect::<Result<_>>()?),
        Json::Object(entries) => {
            let mut map = new_map(entries.len());
            for (key, value) in entries {
                map.insert(text(key), to_val(value)?);
            }
            Val::obj(map)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Json<'_>> {
        let mut scanner = Scanner::new(text);
        let value = scanner.value(0)?;
        if scanner.at_end() {
            Ok(value)
        } else {
            Err(Unsupported("trailing text"))
        }
    }

    fn compact(value: &Val) -> String {
        String::from_utf8_lossy(&print::to_vec(value, &PrintOptions::compact())).into_owned()
    }

    #[test]
    fn string_specials_are_found_in_every_byte_position() {
        for position in 0..8 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                let mut word = [b'a'; 8];
                word[position] = special;
                assert!(has_string_special(u64::from_le_bytes(word)));
            }
        }
        assert!(!has_string_special(u64::from_le_bytes(
            *b"abc \x7f\xc3\xa9!"
        )));
    }

    #[test]
    fn strings_unescape_and_borrow_when_plain() {
        assert_eq!(
            parse(r#""plain""#).expect("parses"),
            Json::String(Cow::Borrowed("plain"))
        );
        let Json::String(escaped) =
            parse(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00z""#).expect("parses")
        else {
            panic!("not a string");
        };
        assert_eq!(escaped, "a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1f600}z");
    }

    #[test]
    fn non_strict_json_is_declined() {
        for text in [
            "\"\\ud800\"",
            "\"\\udc00x\"",
            "\"tab\there\"",
            "01",
            "1.",
            ".5",
            "+1",
            "NaN",
            "[1,]",
            "{\"a\":1,}",
            "\"\\x41\"",
            "nul",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn skipping_checks_well_formedness() {
        for (text, ok) in [
            (r#"{"a": [1, {"b": "c"}, []], "d": {}}"#, true),
            (r#"[[[[[[]]]]]]"#, true),
            (r#"{"a" 1}"#, false),
            (r#"[1 2]"#, false),
            (r#"{"a": [}"#, false),
            (r#"{1: 2}"#, false),
        ] {
            let mut scanner = Scanner::new(text);
            let result = scanner.skip_value().map(|()| scanner.at_end());
            assert_eq!(result == Ok(true), ok, "{text}");
        }
    }

    #[test]
    fn repeated_keys_keep_the_first_position_and_the_last_value() {
        let value = parse(r#"{"a": 1, "b": 2, "a": 3}"#).expect("parses");
        assert_eq!(
            value,
            Json::Object(vec![
                (Cow::Borrowed("a"), Json::Number("3")),
                (Cow::Borrowed("b"), Json::Number("2")),
            ])
        );
        let many: Vec<String> = (0..40)
            .map(|index| format!("\"k{index}\": {index}"))
            .collect();
        let text = format!("{{{}, \"k3\": \"again\"}}", many.join(", "));
        let Json::Object(entries) = parse(&text).expect("parses") else {
            panic!("not an object");
        };
        assert_eq!(entries.len(), 40);
        assert_eq!(entries[3].1, Json::String(Cow::Borrowed("again")));
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
        let desc = sort_split_desc(&Json::String(Cow::Borrowed("vé10x"))).expect("key");
        assert_eq!(compact(&desc), "[[-118,-233,1],[-2,[-49,-48,1]],[-120,1]]");
        let empty = sort_split_desc(&Json::String(Cow::Borrowed(""))).expect("key");
        assert_eq!(compact(&empty), "[[2]]");
    }

    #[test]
    fn platforms_normalize_as_oci_jq_does() {
        let Json::Object(platform) =
            parse(r#"{"z": 1, "variant": false, "os.version": null, "architecture": "arm", "os": "linux", "features": false}"#)
                .expect("parses")
        else {
            panic!("not an object");
        };
        let normalized = Json::Object(normalize_platform(platform));
        assert_eq!(
            compact(&to_val(&normalized).expect("value")),
            r#"{"os":"linux","architecture":"arm","variant":"v7","z":1}"#
        );
    }

    #[test]
    fn attestations_follow_their_subjects() {
        let descriptor = |digest: &str, subject: Option<&str>| Descriptor {
            digest: digest.to_string(),
            subject: subject.map(str::to_string),
            rank: 0,
            reference: None,
            docker_image: false,
            published: Val::Null,
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

    #[test]
    fn builds_are_told_from_deploy_objects_without_a_tree() {
        assert_eq!(
            looks_like_builds_text(br#"{"x": {"buildId": "x", "build": {}, "source": {}}}"#),
            Some(true)
        );
        assert_eq!(
            looks_like_builds_text(br#"{"type": "manifest", "refs": ["a"]}"#),
            Some(false)
        );
        assert_eq!(looks_like_builds_text(b"{}"), Some(false));
        assert_eq!(looks_like_builds_text(b"{} {}"), None);
        assert_eq!(looks_like_builds_text(b"[1, 2"), None);
    }
}
