//! Paths that cannot leave their root.
//!
//! A layout (or an imported tree) names files by relative paths, and its
//! symlinks may point anywhere: `blobs/sha256/X -> /etc/shadow`, or
//! `../../other-layout/blob`. We resolve every path one component at a
//! time, following symlinks ourselves, and refuse the first step that would
//! leave the root, even one that comes back in later. The final open uses
//! `O_NOFOLLOW` and `O_NONBLOCK`, so a symlink swapped in at the last
//! moment or a fifo cannot redirect or hang the read.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one path may go through (Linux's own limit).
const MAX_SYMLINKS: usize = 40;

/// Why a path could not be used.
#[derive(Debug)]
pub enum PathError {
    /// Following `link` (which points at `target`) would leave the root.
    Escapes {
        link: PathBuf,
        target: PathBuf,
    },
    /// The path itself is absolute or climbs above the root with `..`.
    Outside {
        path: PathBuf,
    },
    TooManySymlinks {
        path: PathBuf,
    },
    NotFound {
        path: PathBuf,
    },
    NotRegularFile {
        path: PathBuf,
    },
    Io {
        path: PathBuf,
        error: io::Error,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Escapes { link, target } => write!(
                formatter,
                "symlink {} -> {} resolves outside the layout",
                link.display(),
                target.display()
            ),
            PathError::Outside { path } => {
                write!(formatter, "path {} leaves the layout", path.display())
            }
            PathError::TooManySymlinks { path } => write!(
                formatter,
                "{}: more than {MAX_SYMLINKS} symlinks to follow",
                path.display()
            ),
            PathError::NotFound { path } => write!(formatter, "{}: no such file", path.display()),
            PathError::NotRegularFile { path } => {
                write!(formatter, "{}: not a regular file", path.display())
            }
            PathError::Io { path, error } => write!(formatter, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for PathError {}

/// A directory that paths are resolved in.
#[derive(Clone, Debug)]
pub struct Root {
    /// The root with every symlink of its own resolved, so prefixes compare.
    real: PathBuf,
}

impl Root {
    pub fn new(path: &Path) -> io::Result<Root> {
        let real = fs::canonicalize(path)?;
        if !fs::metadata(&real)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        Ok(Root { real })
    }

    pub fn path(&self) -> &Path {
        &self.real
    }

    /// Resolves `relative` (components separated by `/`) inside the root:
    /// the returned path (relative to the root) has no symlink left in it.
    /// A missing final component is `NotFound`.
    pub fn resolve(&self, relative: &Path) -> Result<PathBuf, PathError> {
        let mut pending: VecDeque<OsString> = VecDeque::new();
        push_components(&mut pending, relative, 0).map_err(|_| PathError::Outside {
            path: relative.to_path_buf(),
        })?;
        let mut current = PathBuf::new();
        let mut followed = 0;
        while let Some(component) = pending.pop_front() {
            if component == ".." {
                if !current.pop() {
                    return Err(PathError::Outside {
                        path: relative.to_path_buf(),
                    });
                }
                continue;
            }
            let candidate = current.join(&component);
            let full = self.real.join(&candidate);
            let metadata = match fs::symlink_metadata(&full) {
                Ok(metadata) => metadata,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    return Err(PathError::NotFound { path: candidate })
                }
                Err(error) => {
                    return Err(PathError::Io {
                        path: candidate,
                        error,
                    })
                }
            };
            if !metadata.file_type().is_symlink() {
                current = candidate;
                continue;
            }
            followed += 1;
            if followed > MAX_SYMLINKS {
                return Err(PathError::TooManySymlinks {
                    path: relative.to_path_buf(),
                });
            }
            let target = fs::read_link(&full).map_err(|error| PathError::Io {
                path: candidate.clone(),
                error,
            })?;
            let escapes = || PathError::Escapes {
                link: candidate.clone(),
                target: target.clone(),
            };
            let mut replacement = VecDeque::new();
            if target.is_absolute() {
                // Absolute targets are followed only when they name a place
                // inside the root; the walk then restarts from the root.
                let inside = target.strip_prefix(&self.real).map_err(|_| escapes())?;
                push_components(&mut replacement, inside, 0).map_err(|_| escapes())?;
                current = PathBuf::new();
            } else {
                // A relative target must never climb above the root, even
                // on a detour.
                let depth = current.components().count();
                push_components(&mut replacement, &target, depth).map_err(|_| escapes())?;
            }
            while let Some(component) = replacement.pop_back() {
                pending.push_front(component);
            }
        }
        Ok(current)
    }

    /// Opens a regular file inside the root; returns it with its size.
    pub fn open_file(&self, relative: &Path) -> Result<(File, u64), PathError> {
        let resolved = self.resolve(relative)?;
        let full = self.real.join(&resolved);
        let io_error = |error: io::Error| PathError::Io {
            path: resolved.clone(),
            error,
        };
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&full)
            .map_err(io_error)?;
        let metadata = file.metadata().map_err(io_error)?;
        if !metadata.is_file() {
            return Err(PathError::NotRegularFile { path: resolved });
        }
        Ok((file, metadata.len()))
    }
}

/// Appends the components of `path` to `out`, refusing absolute paths and
/// any `..` that would climb above `depth` levels (the directory the path
/// is relative to).
fn push_components(out: &mut VecDeque<OsString>, path: &Path, depth: usize) -> Result<(), ()> {
    let mut level = depth as isize;
    for component in path.components() {
        match component {
            Component::Normal(name) => {
                out.push_back(name.to_os_string());
                level += 1;
            }
            Component::CurDir => {}
            Component::ParentDir => {
                level -= 1;
                if level < 0 {
                    return Err(());
                }
                out.push_back(OsString::from(".."));
            }
            Component::RootDir | Component::Prefix(_) => return Err(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, Root) {
        let directory = tempfile::tempdir().unwrap();
        let root_path = directory.path().join("layout");
        fs::create_dir_all(root_path.join("blobs/sha256")).unwrap();
        fs::write(root_path.join("file"), b"data").unwrap();
        fs::write(directory.path().join("secret"), b"secret").unwrap();
        let root = Root::new(&root_path).unwrap();
        (directory, root)
    }

    #[test]
    fn follows_symlinks_that_stay_inside() {
        let (_directory, root) = tree();
        symlink("../../file", root.path().join("blobs/sha256/a")).unwrap();
        symlink("sha256", root.path().join("blobs/alias")).unwrap();
        assert_eq!(
            root.resolve(Path::new("blobs/sha256/a")).unwrap(),
            PathBuf::from("file")
        );
        assert_eq!(
            root.resolve(Path::new("blobs/alias/a")).unwrap(),
            PathBuf::from("file")
        );
        let (_, size) = root.open_file(Path::new("blobs/alias/a")).unwrap();
        assert_eq!(size, 4);
    }

    #[test]
    fn refuses_symlinks_that_leave_even_on_a_detour() {
        let (directory, root) = tree();
        symlink("../../../secret", root.path().join("blobs/sha256/out")).unwrap();
        symlink(
            "../../../layout/file",
            root.path().join("blobs/sha256/detour"),
        )
        .unwrap();
        symlink(
            directory.path().join("secret"),
            root.path().join("absolute"),
        )
        .unwrap();
        for name in ["blobs/sha256/out", "blobs/sha256/detour", "absolute"] {
            let error = root.resolve(Path::new(name)).unwrap_err();
            assert!(
                matches!(error, PathError::Escapes { .. }),
                "{name}: {error}"
            );
        }
        for outside in ["../secret", "/etc/passwd"] {
            let error = root.resolve(Path::new(outside)).unwrap_err();
            assert!(
                matches!(error, PathError::Outside { .. }),
                "{outside}: {error}"
            );
        }
    }

    #[test]
    fn symlink_loops_and_non_files_are_errors() {
        let (_directory, root) = tree();
        symlink("loop", root.path().join("loop")).unwrap();
        assert!(matches!(
            root.resolve(Path::new("loop")),
            Err(PathError::TooManySymlinks { .. })
        ));
        assert!(matches!(
            root.open_file(Path::new("blobs")),
            Err(PathError::NotRegularFile { .. })
        ));
        assert!(matches!(
            root.open_file(Path::new("missing")),
            Err(PathError::NotFound { .. })
        ));
    }
}
