//! `lookup [--parallel] [[--type manifest|blob] [--head] REF]...`: the
//! argument rules and the run, so the binary stays a thin shell.
//!
//! Options apply to the REF that follows them and are reset after it. One
//! tab-indented JSON document is printed per REF, in the order given, also
//! with `--parallel` (lookups run concurrently, printing waits for order):
//! `null` when not found; with `--head` the descriptor (plus `data` when the
//! bytes were already read in this process); with `--type manifest` the
//! manifest as stored; with `--type blob` the blob's bytes in base64; with
//! neither, the synthesized image index (see [`super::lookup`]).
//! `--timeout`, `--retry-max-wait` and `--retry-budget` (see
//! [`super::limits`]) may stand anywhere and apply to every REF.

use std::io::{self, Write};
use std::ops::ControlFlow;

use base64::Engine as _;
use serde_json::Value;

use super::client::{Client, ObjectType};
use super::error::RegistryError;
use super::limits::{parse_seconds, Limit, Limits};
use super::reference::Reference;

/// How many lookups `--parallel` runs at once unless `--jobs` says.
pub const DEFAULT_PARALLEL_JOBS: usize = 32;

/// What to print for one REF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupItem {
    pub reference: Reference,
    /// None: the synthesized index.
    pub object_type: Option<ObjectType>,
    pub head: bool,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub struct LookupArguments {
    /// Lookups at once (1 without `--parallel`).
    pub jobs: usize,
    pub items: Vec<LookupItem>,
    /// `--timeout` and the retry limits given (the environment fills in
    /// the rest).
    pub limits: Limits,
}

/// A command line `lookup` cannot run: one line saying why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl From<String> for UsageError {
    fn from(message: String) -> UsageError {
        UsageError(message)
    }
}

/// Parses the arguments after the program name. `--type manifest` may be
/// two words, `--type=manifest`, or one word with a space (as a quoted
/// shell word would give).
pub fn parse_arguments(arguments: &[String]) -> Result<LookupArguments, UsageError> {
    let mut limits = Limits::default();
    let mut parallel = false;
    let mut jobs: Option<usize> = None;
    let mut items = Vec::new();
    let mut object_type: Option<ObjectType> = None;
    let mut head = false;
    let mut index = 0;
    let parse_type = |value: &str| match value.trim() {
        "manifest" => Ok(ObjectType::Manifest),
        "blob" => Ok(ObjectType::Blob),
        other => Err(format!("--type: expected manifest or blob, got {other:?}")),
    };
    while index < arguments.len() {
        let argument = arguments[index].as_str();
        index += 1;
        if argument == "--parallel" {
            parallel = true;
        } else if argument == "--head" {
            head = true;
        } else if argument == "--type" {
            let value = arguments
                .get(index)
                .ok_or_else(|| "--type needs a value (manifest or blob)".to_string())?;
            index += 1;
            object_type = Some(parse_type(value)?);
        } else if let Some(value) = argument
            .strip_prefix("--type=")
            .or_else(|| argument.strip_prefix("--type "))
        {
            object_type = Some(parse_type(value)?);
        } else if argument == "--jobs" {
            let value = arguments
                .get(index)
                .ok_or_else(|| "--jobs needs a number".to_string())?;
            index += 1;
            jobs = Some(parse_jobs(value)?);
        } else if let Some(value) = argument.strip_prefix("--jobs=") {
            jobs = Some(parse_jobs(value)?);
        } else if let Some((limit, inline)) = limit_flag(argument) {
            let value = match inline {
                Some(value) => value,
                None => {
                    let value = arguments
                        .get(index)
                        .ok_or_else(|| format!("--{} needs a number of seconds", limit.flag()))?;
                    index += 1;
                    value.as_str()
                }
            };
            let seconds =
                parse_seconds(value).map_err(|why| format!("--{}: {why}", limit.flag()))?;
            limits.set(limit, seconds);
        } else if argument.starts_with("--") {
            return Err(UsageError(format!("unknown option {argument:?}")));
        } else {
            let reference: Reference = argument.parse().map_err(|error| format!("{error}"))?;
            if object_type == Some(ObjectType::Blob) && reference.digest().is_none() {
                return Err(UsageError(format!(
                    "{argument}: --type blob needs a reference with a digest"
                )));
            }
            items.push(LookupItem {
                reference,
                object_type: object_type.take(),
                head: std::mem::take(&mut head),
            });
        }
    }
    if head || object_type.is_some() {
        return Err(UsageError(
            "--head and --type apply to the REF after them, but no REF follows".into(),
        ));
    }
    let jobs = match (parallel, jobs) {
        (_, Some(jobs)) => jobs,
        (true, None) => DEFAULT_PARALLEL_JOBS,
        (false, None) => 1,
    };
    Ok(LookupArguments {
        jobs,
        items,
        limits,
    })
}

/// `--timeout` (and the other limits) as `--NAME` or `--NAME=VALUE`.
fn limit_flag(argument: &str) -> Option<(Limit, Option<&str>)> {
    let name = argument.strip_prefix("--")?;
    Limit::ALL.into_iter().find_map(|limit| {
        let rest = name.strip_prefix(limit.flag())?;
        match rest.strip_prefix('=') {
            Some(value) => Some((limit, Some(value))),
            None if rest.is_empty() => Some((limit, None)),
            None => None,
        }
    })
}

fn parse_jobs(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(jobs) if jobs > 0 => Ok(jobs),
        _ => Err(format!("--jobs: expected a positive number, got {value:?}")),
    }
}

/// The JSON document for one item (`null` when not found).
pub fn lookup_one(client: &Client, item: &LookupItem) -> Result<Value, RegistryError> {
    let reference = &item.reference;
    let object_type = item.object_type.unwrap_or(ObjectType::Manifest);
    if item.head {
        let Some(descriptor) = client.head(reference, object_type)? else {
            return Ok(Value::Null);
        };
        let pinned = reference
            .without_tag()
            .with_digest(descriptor.digest.clone());
        let data = client.known_bytes(&pinned, object_type);
        return Ok(descriptor.to_json(data.as_deref()));
    }
    match item.object_type {
        None => Ok(client.lookup_index(reference)?.unwrap_or(Value::Null)),
        Some(ObjectType::Manifest) => match client.get_manifest(reference)? {
            Some(object) => object.json(),
            None => Ok(Value::Null),
        },
        Some(ObjectType::Blob) => match client.get_blob(reference)? {
            Some(object) => Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(&object.bytes),
            )),
            None => Ok(Value::Null),
        },
    }
}

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// Everything printed.
    Success,
    /// Some lookups failed (their errors went to `errors`).
    Failed,
    /// The reader of the output went away; stop quietly.
    OutputClosed,
}

/// Runs every item, printing documents in order to `output` and failures
/// to `errors`; `print` renders one document (the jq printer).
pub fn run(
    client: &Client,
    arguments: &LookupArguments,
    output: &mut dyn Write,
    errors: &mut dyn Write,
    print: &dyn Fn(&Value) -> Vec<u8>,
) -> RunOutcome {
    let mut failed = false;
    let mut emit = |position: usize, result: Result<Value, RegistryError>| -> io::Result<()> {
        match result {
            Ok(value) => {
                let mut bytes = print(&value);
                bytes.push(b'\n');
                output.write_all(&bytes)?;
                if arguments.jobs == 1 {
                    output.flush()?;
                }
            }
            Err(error) => {
                failed = true;
                let _ = writeln!(
                    errors,
                    "lookup: error: {}: {error}",
                    arguments.items[position].reference
                );
            }
        }
        Ok(())
    };
    let mut written = Ok(());
    crate::pool::ordered(
        arguments.jobs,
        arguments.items.len(),
        |position| lookup_one(client, &arguments.items[position]),
        |position, result| match emit(position, result) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => {
                written = Err(error);
                ControlFlow::Break(())
            }
        },
    );
    let written = written.and_then(|()| output.flush());
    match written {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => RunOutcome::OutputClosed,
        Err(error) => {
            let _ = writeln!(errors, "lookup: error: cannot write output: {error}");
            RunOutcome::Failed
        }
        Ok(()) if failed => RunOutcome::Failed,
        Ok(()) => RunOutcome::Success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(arguments: &[&str]) -> Vec<String> {
        arguments
            .iter()
            .map(|argument| argument.to_string())
            .collect()
    }

    #[test]
    fn options_apply_to_the_next_ref_only() {
        let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let parsed = parse_arguments(&strings(&[
            "--head",
            "--type manifest",
            "a:1",
            "b",
            "--type",
            "blob",
            &format!("c@{digest}"),
            "--type=manifest",
            "--head",
            "d",
        ]))
        .unwrap();
        assert_eq!(parsed.jobs, 1);
        let shapes: Vec<(String, Option<ObjectType>, bool)> = parsed
            .items
            .iter()
            .map(|item| (item.reference.to_string(), item.object_type, item.head))
            .collect();
        assert_eq!(
            shapes,
            vec![
                ("a:1".to_string(), Some(ObjectType::Manifest), true),
                ("b".to_string(), None, false),
                (format!("c@{digest}"), Some(ObjectType::Blob), false),
                ("d".to_string(), Some(ObjectType::Manifest), true),
            ]
        );
        assert_eq!(
            parse_arguments(&strings(&["--parallel", "x"]))
                .unwrap()
                .jobs,
            DEFAULT_PARALLEL_JOBS
        );
        assert_eq!(
            parse_arguments(&strings(&["--parallel", "--jobs", "4", "x"]))
                .unwrap()
                .jobs,
            4
        );
    }

    #[test]
    fn bad_arguments_have_clear_errors() {
        let error = |arguments: &[&str]| {
            parse_arguments(&strings(arguments))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(&["--type", "config", "x"]),
            "--type: expected manifest or blob, got \"config\""
        );
        assert_eq!(
            error(&["--type"]),
            "--type needs a value (manifest or blob)"
        );
        assert_eq!(
            error(&["x", "--head"]),
            "--head and --type apply to the REF after them, but no REF follows"
        );
        assert_eq!(
            error(&["--type", "blob", "x:1"]),
            "x:1: --type blob needs a reference with a digest"
        );
        assert_eq!(error(&["--frobnicate"]), "unknown option \"--frobnicate\"");
        assert_eq!(
            error(&["Bad"]),
            "invalid reference \"Bad\": repository name \"Bad\" must be lowercase"
        );
        assert_eq!(
            error(&["--jobs", "0", "x"]),
            "--jobs: expected a positive number, got \"0\""
        );
        assert_eq!(
            error(&["--timeout", "soon", "x"]),
            "--timeout: expected a number of seconds, got \"soon\""
        );
        assert_eq!(
            error(&["x", "--retry-budget"]),
            "--retry-budget needs a number of seconds"
        );
        assert_eq!(
            error(&["--timeouts=1", "x"]),
            "unknown option \"--timeouts=1\""
        );
    }

    #[test]
    fn limits_stand_anywhere_and_apply_to_the_whole_run() {
        let parsed = parse_arguments(&strings(&[
            "a",
            "--timeout",
            "1.5",
            "--head",
            "--retry-max-wait=2",
            "b",
            "--retry-budget",
            "3",
        ]))
        .unwrap();
        assert_eq!(parsed.items.len(), 2);
        assert!(parsed.items[1].head);
        assert_eq!(
            parsed.limits,
            Limits {
                timeout: Some(std::time::Duration::from_millis(1_500)),
                retry_max_wait: Some(std::time::Duration::from_secs(2)),
                retry_budget: Some(std::time::Duration::from_secs(3)),
            }
        );
    }
}
