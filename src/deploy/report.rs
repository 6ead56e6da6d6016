//! What a deploy tells the person running it, on stderr.
//!
//! Off a terminal (CI logs) every ref gets a line when it starts and when it
//! ends, so a log says exactly what happened to each tag. On a terminal the
//! scrolling lines are replaced by one progress line with the counts and the
//! request rate, and only failures are printed in full. Either way the run
//! ends with a summary: pushed, already there, failed, skipped because of a
//! failure, and (after Ctrl-C) not started, with every failure's reason.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::registry::stats::RequestStats;
use crate::registry::Reference;

/// How one ref ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefOutcome {
    /// Written to the registry.
    Pushed,
    /// The registry already had exactly these bytes there.
    AlreadyThere,
    /// Could not be pushed; the reason is one line.
    Failed(String),
}

/// The counts of a finished run, by ref.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub pushed: usize,
    pub already_there: usize,
    pub failed: usize,
    pub skipped_after_failure: usize,
    pub not_started: usize,
    /// `REF: reason`, for every failed ref.
    pub failures: Vec<String>,
    /// `REF: why`, for every ref skipped because of a failure.
    pub skipped: Vec<String>,
}

impl Summary {
    /// Whether the run did everything it was asked to.
    pub fn is_success(&self) -> bool {
        self.failed == 0 && self.skipped_after_failure == 0 && self.not_started == 0
    }

    fn finished(&self) -> usize {
        self.pushed + self.already_there + self.failed + self.skipped_after_failure
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.titled("deploy").fmt(formatter)
    }
}

/// A [`Summary`] as the program `name` prints it.
pub struct Titled<'a> {
    summary: &'a Summary,
    name: &'a str,
}

impl Summary {
    /// The summary as `NAME summary: ...` (`oci-push` reports its pushes
    /// the way `deploy` does).
    pub fn titled<'a>(&'a self, name: &'a str) -> Titled<'a> {
        Titled {
            summary: self,
            name,
        }
    }
}

impl fmt::Display for Titled<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Titled {
            summary: this,
            name,
        } = self;
        write!(
            formatter,
            "{name} summary: {} pushed, {} already there, {} failed, {} skipped because of a failure",
            this.pushed, this.already_there, this.failed, this.skipped_after_failure
        )?;
        if this.not_started > 0 {
            write!(
                formatter,
                ", {} not started (interrupted)",
                this.not_started
            )?;
        }
        for failure in &this.failures {
            write!(formatter, "\n  failed: {failure}")?;
        }
        for skipped in &this.skipped {
            write!(formatter, "\n  skipped: {skipped}")?;
        }
        Ok(())
    }
}

/// The requests a run sent, after the summary: the total, the time and
/// the rate; with `by_kind` (`--stats`) also each kind and the retries.
pub fn format_stats(stats: &RequestStats, elapsed: Duration, by_kind: bool) -> String {
    let seconds = elapsed.as_secs_f64();
    let requests = stats.registry_requests();
    let rate = if seconds > 0.0 {
        requests as f64 / seconds
    } else {
        0.0
    };
    let kinds = if by_kind {
        format!(
            " (HEAD {}, GET {}, PUT {}, POST {}, mount {}, PATCH {}, token {}); retries {}",
            stats.head,
            stats.get,
            stats.put,
            stats.post,
            stats.mount,
            stats.patch,
            stats.token_fetches,
            stats.retries,
        )
    } else {
        String::new()
    };
    format!("requests: {requests}{kinds}; {seconds:.1}s, {rate:.1} requests/s")
}

type RequestCount = dyn Fn() -> u64 + Send + Sync;

struct State {
    summary: Summary,
    in_progress: usize,
    output: Box<dyn Write + Send>,
    last_drawn: Option<Instant>,
}

/// Collects outcomes from every worker and prints them (see the module
/// documentation). Shared by reference between workers.
pub struct Reporter {
    progress_bar: bool,
    total_refs: usize,
    started_at: Instant,
    requests: Box<RequestCount>,
    state: Mutex<State>,
}

impl Reporter {
    /// `progress_bar`: draw one updating line instead of a line per event
    /// (for terminals). `requests`: the number of requests sent so far, for
    /// the rate.
    pub fn new(
        output: Box<dyn Write + Send>,
        progress_bar: bool,
        total_refs: usize,
        requests: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> Reporter {
        Reporter {
            progress_bar,
            total_refs,
            started_at: Instant::now(),
            requests: Box::new(requests),
            state: Mutex::new(State {
                summary: Summary::default(),
                in_progress: 0,
                output,
                last_drawn: None,
            }),
        }
    }

    /// A ref is being worked on.
    pub fn started(&self, reference: &Reference) {
        self.with_state(|state| {
            state.in_progress += 1;
            if !self.progress_bar {
                let _ = writeln!(state.output, "pushing {reference}");
            }
        });
        self.draw(false);
    }

    /// A ref is done.
    pub fn finished(&self, reference: &Reference, outcome: &RefOutcome) {
        self.with_state(|state| {
            state.in_progress = state.in_progress.saturating_sub(1);
            let line = match outcome {
                RefOutcome::Pushed => {
                    state.summary.pushed += 1;
                    format!("pushed {reference}")
                }
                RefOutcome::AlreadyThere => {
                    state.summary.already_there += 1;
                    format!("already there {reference}")
                }
                RefOutcome::Failed(reason) => {
                    state.summary.failed += 1;
                    state
                        .summary
                        .failures
                        .push(format!("{reference}: {reason}"));
                    format!("FAILED {reference}: {reason}")
                }
            };
            let is_failure = matches!(outcome, RefOutcome::Failed(_));
            if !self.progress_bar || is_failure {
                if self.progress_bar {
                    let _ = write!(state.output, "\r\x1b[K");
                }
                let _ = writeln!(state.output, "{line}");
            }
        });
        self.draw(false);
    }

    /// A ref was not attempted because an object it needs failed.
    pub fn skipped(&self, reference: &Reference, because: &str) {
        self.with_state(|state| {
            state.summary.skipped_after_failure += 1;
            state
                .summary
                .skipped
                .push(format!("{reference}: {because}"));
            if self.progress_bar {
                let _ = write!(state.output, "\r\x1b[K");
            }
            let _ = writeln!(state.output, "skipped {reference}: {because}");
        });
        self.draw(false);
    }

    /// A ref was not attempted because the run was interrupted.
    pub fn not_started(&self, _reference: &Reference) {
        self.with_state(|state| state.summary.not_started += 1);
    }

    /// Ends the progress line and returns the counts.
    pub fn finish(&self) -> Summary {
        self.draw(true);
        let mut summary = Summary::default();
        self.with_state(|state| {
            if self.progress_bar {
                let _ = writeln!(state.output);
            }
            summary = state.summary.clone();
        });
        summary
    }

    /// Writes a line (the summary, the stats) to the same output.
    pub fn line(&self, text: &str) {
        self.with_state(|state| {
            let _ = writeln!(state.output, "{text}");
            let _ = state.output.flush();
        });
    }

    fn with_state(&self, change: impl FnOnce(&mut State)) {
        // A worker that panicked while holding the lock must not silence
        // the rest of the report.
        let mut guard = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        change(&mut guard);
    }

    fn draw(&self, force: bool) {
        if !self.progress_bar {
            return;
        }
        let elapsed = self.started_at.elapsed();
        let requests = (self.requests)();
        self.with_state(|state| {
            // Redrawing more than ten times a second only costs time.
            let due = state
                .last_drawn
                .is_none_or(|last| last.elapsed() >= Duration::from_millis(100));
            if !force && !due {
                return;
            }
            state.last_drawn = Some(Instant::now());
            let done = state.summary.finished();
            let width = 30usize;
            let filled = (done * width)
                .checked_div(self.total_refs)
                .unwrap_or(width)
                .min(width);
            let seconds = elapsed.as_secs_f64();
            let rate = if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            };
            let _ = write!(
                state.output,
                "\r\x1b[K[{}{}] {done}/{} refs: {} pushed, {} already there, {} failed, {} skipped, {} in progress; {rate:.1} requests/s",
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.total_refs,
                state.summary.pushed,
                state.summary.already_there,
                state.summary.failed,
                state.summary.skipped_after_failure,
                state.in_progress,
            );
            let _ = state.output.flush();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// An output the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut buffer) = self.0.lock() {
                buffer.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            self.0
                .lock()
                .map(|buffer| String::from_utf8_lossy(&buffer).into_owned())
                .unwrap_or_default()
        }
    }

    #[test]
    fn lines_name_every_ref_and_the_summary_counts_them() {
        let captured = Captured::default();
        let reporter = Reporter::new(Box::new(captured.clone()), false, 3, || 0);
        let reference: Reference = "localhost:5000/foo:1".parse().unwrap();
        reporter.started(&reference);
        reporter.finished(&reference, &RefOutcome::Pushed);
        reporter.finished(&reference, &RefOutcome::AlreadyThere);
        reporter.finished(&reference, &RefOutcome::Failed("400 Bad Request".into()));
        reporter.skipped(&reference, "localhost:5000/bar failed");
        let summary = reporter.finish();
        assert_eq!(
            captured.text(),
            "pushing localhost:5000/foo:1\npushed localhost:5000/foo:1\nalready there localhost:5000/foo:1\nFAILED localhost:5000/foo:1: 400 Bad Request\nskipped localhost:5000/foo:1: localhost:5000/bar failed\n"
        );
        assert!(!summary.is_success());
        assert_eq!(
            summary.to_string(),
            "deploy summary: 1 pushed, 1 already there, 1 failed, 1 skipped because of a failure\n  failed: localhost:5000/foo:1: 400 Bad Request\n  skipped: localhost:5000/foo:1: localhost:5000/bar failed"
        );
    }

    #[test]
    fn the_progress_bar_prints_failures_in_full() {
        let captured = Captured::default();
        let reporter = Reporter::new(Box::new(captured.clone()), true, 2, || 10);
        let reference: Reference = "localhost:5000/foo:1".parse().unwrap();
        reporter.started(&reference);
        reporter.finished(&reference, &RefOutcome::Failed("boom".into()));
        reporter.finish();
        let text = captured.text();
        assert!(
            text.contains("FAILED localhost:5000/foo:1: boom\n"),
            "{text}"
        );
        assert!(text.contains("1/2 refs"), "{text}");
        assert!(!text.contains("pushing"), "{text}");
    }
}
