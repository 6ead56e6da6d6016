//! Where `include "x";` and `import "x" as y;` find their code.
//!
//! The tool must plan with nothing beside the binary, so our `filters/`
//! modules are embedded at build time. Operators still need to try a fixed
//! module without a rebuild, so a directory named by `BASHBREW_META_SCRIPTS`
//! wins over the embedded copies, and `doi-jq -L DIR` adds directories the
//! way jq's `-L` does (searched before both).

use jaq_core::load::{File, Import};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded_filters.rs"));

/// The environment variable naming a directory of `.jq` modules that
/// replaces the embedded ones.
pub const META_SCRIPTS_VAR: &str = "BASHBREW_META_SCRIPTS";

/// Identifies a loaded module, so that jaq loads each one once and can name
/// it in errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ModulePath {
    /// The program given on the command line (or by a caller).
    #[default]
    Main,
    /// The program read from a file (`-f FILE`).
    MainFile(PathBuf),
    /// One of our `filters/*.jq`, compiled into the binary.
    Embedded(&'static str),
    /// A module read from disk.
    File(PathBuf),
    /// The stand-in for several imports under one name in the module
    /// given (the `n`th such name there).
    Merged(Box<ModulePath>, usize),
}

impl ModulePath {
    /// The directory that relative `search` metadata starts from (jq
    /// resolves it relative to the importing module).
    fn directory(&self) -> Option<&Path> {
        match self {
            Self::MainFile(path) | Self::File(path) => path.parent(),
            Self::Merged(parent, _) => parent.directory(),
            Self::Main | Self::Embedded(_) => None,
        }
    }
}

impl std::fmt::Display for ModulePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Main => f.write_str("<top-level>"),
            Self::MainFile(path) | Self::File(path) => write!(f, "{}", path.display()),
            Self::Embedded(name) => write!(f, "<embedded>/{name}.jq"),
            Self::Merged(parent, _) => parent.fmt(f),
        }
    }
}

/// The ordered list of places a module name is looked up in.
#[derive(Clone, Debug, Default)]
pub struct ModuleSearch {
    /// `-L` directories, first.
    directories: Vec<PathBuf>,
    /// `BASHBREW_META_SCRIPTS`, which replaces the embedded modules.
    meta_scripts: Option<PathBuf>,
}

impl ModuleSearch {
    /// Search `directories` (jq's `-L`), then `BASHBREW_META_SCRIPTS` when
    /// set and non-empty, then the embedded modules.
    pub fn from_env(directories: Vec<PathBuf>) -> Self {
        let meta_scripts = std::env::var_os(META_SCRIPTS_VAR)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from);
        Self {
            directories,
            meta_scripts,
        }
    }

    /// Only the embedded modules (and the given directories): for callers
    /// that must not depend on the environment, such as tests.
    pub fn embedded_only(directories: Vec<PathBuf>) -> Self {
        Self {
            directories,
            meta_scripts: None,
        }
    }

    /// Finds the code of a module or data file (`extension` is `jq` or
    /// `json`).
    pub fn find(
        &self,
        import: &Import<&str, ModulePath>,
        extension: &str,
    ) -> Result<File<String, ModulePath>, String> {
        let name = *import.path;
        if name.is_empty() || Path::new(name).is_absolute() || name.split('/').any(|p| p == "..") {
            return Err(format!(
                "module path {name:?} must be relative and stay inside its search directory"
            ));
        }
        let meta_directories =
            meta_search(import)
                .into_iter()
                .map(|dir| match import.parent.directory() {
                    Some(parent) if dir.is_relative() => parent.join(dir),
                    _ => dir,
                });
        let disk = meta_directories
            .chain(self.directories.iter().cloned())
            .chain(self.meta_scripts.iter().cloned());
        for directory in disk {
            for candidate in candidates(&directory, name, extension) {
                if candidate.is_file() {
                    return std::fs::read_to_string(&candidate)
                        .map(|code| File {
                            code,
                            path: ModulePath::File(candidate.clone()),
                        })
                        .map_err(|error| format!("{}: {error}", candidate.display()));
                }
            }
        }
        if self.meta_scripts.is_none() && extension == "jq" {
            if let Some((name, code)) = EMBEDDED.iter().find(|(embedded, _)| *embedded == name) {
                return Ok(File {
                    code: (*code).to_string(),
                    path: ModulePath::Embedded(name),
                });
            }
        }
        Err(format!("module not found: {name}"))
    }
}

/// jq looks a module `a/b` up as `a/b.jq` and as `a/b/b.jq`.
fn candidates(directory: &Path, name: &str, extension: &str) -> [PathBuf; 2] {
    let last = name.rsplit('/').next().unwrap_or(name);
    [
        directory.join(format!("{name}.{extension}")),
        directory.join(name).join(format!("{last}.{extension}")),
    ]
}

/// The `{search: ...}` metadata of an import, as jq allows it (a string or
/// an array of strings).
fn meta_search(import: &Import<&str, ModulePath>) -> Vec<PathBuf> {
    use jaq_core::load::parse::Term;
    let Some(Term::Obj(entries)) = import.meta else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (key, value) in entries {
        if term_text(key) != Some("search") {
            continue;
        }
        let mut push = |term: &Term<&str>| {
            if let Some(text) = term_text(term) {
                found.push(PathBuf::from(text));
            }
        };
        match value {
            Some(Term::Arr(Some(items))) => unconcat(items, &mut push),
            Some(term) => push(term),
            None => {}
        }
    }
    found
}

fn unconcat<'t>(
    term: &'t jaq_core::load::parse::Term<&str>,
    push: &mut impl FnMut(&'t jaq_core::load::parse::Term<&str>),
) {
    use jaq_core::load::parse::{BinaryOp, Term};
    match term {
        Term::BinOp(left, BinaryOp::Comma, right) => {
            unconcat(left, push);
            unconcat(right, push);
        }
        other => push(other),
    }
}

/// The text of a plain string literal term (no interpolation, no format).
fn term_text<'s>(term: &jaq_core::load::parse::Term<&'s str>) -> Option<&'s str> {
    use jaq_core::load::{lex::StrPart, parse::Term};
    match term {
        Term::Str(None, parts) => match parts.as_slice() {
            [StrPart::Str(text)] => Some(text),
            _ => None,
        },
        _ => None,
    }
}
