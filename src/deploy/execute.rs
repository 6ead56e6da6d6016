//! One deploy object to all of its refs, and a whole run (or dry run) of
//! objects through the scheduler.
//!
//! An object's refs are pushed one after another by the worker that holds
//! the object: the first ref in a repository makes the children present
//! there (when the registry says they are missing), so every later ref in
//! that repository costs at most one HEAD and one PUT. A ref that fails
//! does not stop the object's other refs (they are independent tags), but
//! it fails the object, so objects that need it are skipped.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use super::input::{Content, DeployObject, ObjectKind};
use super::report::{RefOutcome, Reporter, Summary};
use super::scheduler::{self, ObjectResult};
use crate::registry::push::{Manifest, Pushed, Pusher};
use crate::registry::{Reference, RegistryError};

/// Deploys every object with `jobs` workers; returns the summary (the
/// reporter has printed each ref as it went).
pub fn deploy(
    objects: &[DeployObject],
    pusher: &Pusher,
    jobs: usize,
    stop: &AtomicBool,
    reporter: &Reporter,
) -> Summary {
    let dependencies = scheduler::dependencies(objects);
    let results = scheduler::run(&dependencies, jobs, stop, |index| {
        objects
            .get(index)
            .is_some_and(|object| deploy_object(object, pusher, reporter))
    });
    for (object, result) in objects.iter().zip(&results) {
        match result {
            ObjectResult::Ran { .. } => {}
            ObjectResult::SkippedAfterFailure { failed } => {
                let because = match objects.get(*failed) {
                    Some(failed) => format!("it needs {}, which failed", failed.name()),
                    None => "an object it needs failed".to_string(),
                };
                for reference in &object.refs {
                    reporter.skipped(reference, &because);
                }
            }
            ObjectResult::NotStarted => {
                for reference in &object.refs {
                    reporter.not_started(reference);
                }
            }
        }
    }
    reporter.finish()
}

/// Pushes one object to each of its refs; true when all succeeded.
pub fn deploy_object(object: &DeployObject, pusher: &Pusher, reporter: &Reporter) -> bool {
    let mut all_succeeded = true;
    let mut finish = |reference: &Reference, result: Result<Pushed, RegistryError>| {
        let outcome = match result {
            Ok(Pushed::Written) => RefOutcome::Pushed,
            Ok(Pushed::AlreadyThere) => RefOutcome::AlreadyThere,
            Err(error) => {
                all_succeeded = false;
                RefOutcome::Failed(one_line(&error.to_string()))
            }
        };
        reporter.finished(reference, &outcome);
    };
    match (&object.content, object.kind) {
        (Content::Data(data), ObjectKind::Manifest) => {
            let manifest = Manifest {
                bytes: Arc::from(data.bytes.as_slice()),
                digest: data.digest.clone(),
                media_type: data.media_type.clone().unwrap_or_default(),
                children: data.children.clone(),
            };
            for reference in &object.refs {
                reporter.started(reference);
                finish(
                    reference,
                    pusher.push_manifest(reference, &manifest, &object.lookup),
                );
            }
        }
        (Content::Data(data), ObjectKind::Blob) => {
            for reference in &object.refs {
                reporter.started(reference);
                finish(
                    reference,
                    pusher.push_blob(reference, &data.bytes, &data.digest),
                );
            }
        }
        (Content::Copy(source), ObjectKind::Manifest) => {
            let manifest = pusher.read_manifest(source);
            for reference in &object.refs {
                reporter.started(reference);
                let result = match &manifest {
                    Ok(manifest) => match reference.digest() {
                        Some(wanted) if *wanted != manifest.digest => Err(RegistryError::new(
                            crate::registry::ErrorKind::DigestMismatch,
                            format!(
                                "the copy source {source} is {}, not {wanted}",
                                manifest.digest
                            ),
                        )),
                        _ => pusher.push_manifest(reference, manifest, &object.lookup),
                    },
                    Err(error) => Err(error.clone()),
                };
                finish(reference, result);
            }
        }
        (Content::Copy(source), ObjectKind::Blob) => {
            // A blob object (unlike a manifest's child) is HEADed first, so
            // a re-run writes nothing and can say "already there".
            for reference in &object.refs {
                reporter.started(reference);
                let result = source
                    .digest()
                    .map(|digest| pusher.blob_is_present(reference, digest))
                    .unwrap_or(Ok(false))
                    .and_then(|present| {
                        if present {
                            Ok(Pushed::AlreadyThere)
                        } else {
                            pusher.copy_blob(reference, source, None)
                        }
                    });
                finish(reference, result);
            }
        }
    }
    all_succeeded
}

/// A ref `--dry-run` could not check.
#[derive(Clone, Debug)]
pub enum DryRunError {
    /// Asking the registry failed.
    Failed {
        reference: Reference,
        error: RegistryError,
    },
    /// The object was never looked at (a worker stopped).
    NotChecked { object: String },
}

impl std::fmt::Display for DryRunError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DryRunError::Failed { reference, error } => {
                write!(formatter, "{reference}: {}", one_line(&error.to_string()))
            }
            DryRunError::NotChecked { object } => write!(formatter, "{object}: not checked"),
        }
    }
}

impl std::error::Error for DryRunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DryRunError::Failed { error, .. } => Some(error),
            DryRunError::NotChecked { .. } => None,
        }
    }
}

/// `--dry-run`: the entries of every ref that would change, in input
/// order. Only HEADs are sent (one per ref; a copy from a tag also HEADs
/// its source). Errors are one per ref that could not be checked.
pub fn dry_run(
    objects: &[DeployObject],
    pusher: &Pusher,
    jobs: usize,
) -> Result<Vec<u8>, Vec<DryRunError>> {
    /// Per object, per ref: would it change (or why it could not be told).
    type Answers = Vec<Option<Vec<Result<bool, DryRunError>>>>;
    let answers: Mutex<Answers> = Mutex::new(vec![None; objects.len()]);
    let never = AtomicBool::new(false);
    let dependencies = vec![Vec::new(); objects.len()];
    scheduler::run(&dependencies, jobs, &never, |index| {
        let Some(object) = objects.get(index) else {
            return false;
        };
        let changes: Vec<Result<bool, DryRunError>> = object
            .refs
            .iter()
            .map(|reference| {
                would_change(object, reference, pusher).map_err(|error| DryRunError::Failed {
                    reference: reference.clone(),
                    error,
                })
            })
            .collect();
        let succeeded = changes.iter().all(Result::is_ok);
        answers.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(changes);
        succeeded
    });
    let answers = answers.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut output = Vec::new();
    let mut errors = Vec::new();
    for (object, changes) in objects.iter().zip(answers) {
        let Some(changes) = changes else {
            errors.push(DryRunError::NotChecked {
                object: object.name(),
            });
            continue;
        };
        for (reference, change) in object.refs.iter().zip(changes) {
            match change {
                Ok(true) => output.extend(super::dry_run::entry(object, reference)),
                Ok(false) => {}
                Err(error) => errors.push(error),
            }
        }
    }
    if errors.is_empty() {
        Ok(output)
    } else {
        Err(errors)
    }
}

fn would_change(
    object: &DeployObject,
    reference: &Reference,
    pusher: &Pusher,
) -> Result<bool, RegistryError> {
    match (&object.content, object.kind) {
        (Content::Data(data), ObjectKind::Manifest) => Ok(!pusher.manifest_is_current(
            reference,
            &data.digest,
            Some(data.bytes.len() as u64),
        )?),
        (Content::Data(data), ObjectKind::Blob) => {
            Ok(!pusher.blob_is_present(reference, &data.digest)?)
        }
        (Content::Copy(source), ObjectKind::Manifest) => {
            let digest = match source.digest() {
                Some(digest) => digest.clone(),
                None => match pusher.client().head_manifest(source)? {
                    Some(found) => found.digest,
                    // Nothing to copy: the deploy would fail, so it would change.
                    None => return Ok(true),
                },
            };
            Ok(!pusher.manifest_is_current(reference, &digest, None)?)
        }
        (Content::Copy(source), ObjectKind::Blob) => match source.digest() {
            Some(digest) => Ok(!pusher.blob_is_present(reference, digest)?),
            None => Ok(true),
        },
    }
}

/// Messages go on one line of the report (`oci-push`'s too).
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
