//! The lookup cache file: `{"indexes": {reference: synthesized index}}`.
//!
//! The same shape as the reference tooling's `cache-builds.json`, so either
//! tool can read the other's file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value};

use super::output::tab_json;
use super::reference;
use super::BuildsError;

/// Synthesized image indexes by reference (in the printed short form).
///
/// A `BTreeMap` because the file is written with its keys sorted (as
/// `cache-builds.json` is), which also keeps it stable across runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LookupCache {
    indexes: BTreeMap<String, Value>,
}

impl LookupCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a cache file; a missing one is an empty cache (it is created
    /// after a successful run). Anything unreadable is an error, and the
    /// file is not touched, so a bad cache never loses what it held.
    pub fn load(path: &Path) -> Result<Self, BuildsError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(&bytes, &path.display().to_string()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::new()),
            Err(error) => Err(BuildsError::caused_by(
                format!("cannot read cache {}", path.display()),
                error,
            )),
        }
    }

    /// Parses cache bytes; `origin` names the file in errors.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Self, BuildsError> {
        let corrupt = |problem: String| {
            BuildsError::new(format!(
                "cache {origin} is corrupt ({problem}); it was left untouched: fix or remove it"
            ))
        };
        let document: Value = serde_json::from_slice(bytes).map_err(|error| {
            BuildsError::caused_by(
                format!(
                    "cache {origin} is corrupt (not JSON); it was left untouched: fix or remove it"
                ),
                error,
            )
        })?;
        let Some(indexes) = document.get("indexes").and_then(Value::as_object) else {
            return Err(corrupt(
                "expected an object with an \"indexes\" object".to_string(),
            ));
        };
        let mut cache = Self::new();
        for (key, index) in indexes {
            let reference = reference::parse(key).map_err(|error| {
                BuildsError::caused_by(
                    format!("cache {origin} is corrupt (key {key:?}); it was left untouched: fix or remove it"),
                    error,
                )
            })?;
            let is_index = index
                .as_object()
                .is_some_and(|object| object.get("manifests").is_some_and(Value::is_array));
            if !is_index {
                return Err(corrupt(format!(
                    "indexes[{key:?}] is not an image index with a \"manifests\" array"
                )));
            }
            cache.indexes.insert(reference.to_string(), index.clone());
        }
        Ok(cache)
    }

    /// The cached index for a reference in short form.
    pub fn get(&self, reference: &str) -> Option<&Value> {
        self.indexes.get(reference)
    }

    /// Records an index under a reference in short form.
    pub fn insert(&mut self, reference: String, index: Value) {
        self.indexes.insert(reference, index);
    }

    /// How many indexes are held.
    pub fn len(&self) -> usize {
        self.indexes.len()
    }

    /// Whether no index is held.
    pub fn is_empty(&self) -> bool {
        self.indexes.is_empty()
    }

    /// The references held, sorted.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.indexes.keys().map(String::as_str)
    }

    /// The file's bytes, as `jq --tab` prints it, keys sorted.
    pub fn to_bytes(&self) -> Vec<u8> {
        let indexes: Map<String, Value> = self
            .indexes
            .iter()
            .map(|(key, index)| (key.clone(), index.clone()))
            .collect();
        let mut document = Map::new();
        document.insert("indexes".to_string(), Value::Object(indexes));
        tab_json(&Value::Object(document))
    }

    /// Writes the file through a temporary sibling and a rename, so a crash
    /// or a full disk leaves either the old cache or the new one, never half.
    pub fn save(&self, path: &Path) -> Result<(), BuildsError> {
        let failed = |error: std::io::Error| {
            BuildsError::caused_by(format!("cannot write cache {}", path.display()), error)
        };
        let mut temporary_name = path.as_os_str().to_owned();
        temporary_name.push(format!(".tmp-{}", std::process::id()));
        let temporary = Path::new(&temporary_name);
        let written = std::fs::File::create(temporary).and_then(|mut file| {
            file.write_all(&self.to_bytes())?;
            file.sync_all()
        });
        if let Err(error) = written.and_then(|()| std::fs::rename(temporary, path)) {
            let _ = std::fs::remove_file(temporary);
            return Err(failed(error));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_normalized() {
        let cache = LookupCache::parse(
            br#"{"indexes": {"zz:1": {"manifests": []}, "docker.io/library/alpine:3": {"manifests": []}}}"#,
            "test",
        )
        .unwrap();
        assert_eq!(cache.references().collect::<Vec<_>>(), ["alpine:3", "zz:1"]);
        assert_eq!(
            String::from_utf8(cache.to_bytes()).unwrap(),
            "{\n\t\"indexes\": {\n\t\t\"alpine:3\": {\n\t\t\t\"manifests\": []\n\t\t},\n\t\t\"zz:1\": {\n\t\t\t\"manifests\": []\n\t\t}\n\t}\n}\n"
        );
    }

    #[test]
    fn corrupt_caches_are_errors_naming_the_problem() {
        for (bytes, expected) in [
            (&b"{"[..], "not JSON"),
            (b"[]", "\"indexes\" object"),
            (b"{\"indexes\": []}", "\"indexes\" object"),
            (
                b"{\"indexes\": {\"Bad Ref\": {\"manifests\": []}}}",
                "key \"Bad Ref\"",
            ),
            (b"{\"indexes\": {\"a:1\": null}}", "indexes[\"a:1\"]"),
            (
                b"{\"indexes\": {\"a:1\": {\"manifests\": {}}}}",
                "indexes[\"a:1\"]",
            ),
        ] {
            let error = crate::cli::chain(&LookupCache::parse(bytes, "cache.json").unwrap_err());
            assert!(error.contains("cache cache.json is corrupt"), "{error}");
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }

    #[test]
    fn missing_file_is_empty_and_save_creates_it() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("cache.json");
        let mut cache = LookupCache::load(&path).unwrap();
        assert!(cache.is_empty());
        cache.insert("a:1".to_string(), json!({"manifests": []}));
        cache.save(&path).unwrap();
        assert_eq!(LookupCache::load(&path).unwrap(), cache);
        let names: Vec<_> = std::fs::read_dir(directory.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }
}
