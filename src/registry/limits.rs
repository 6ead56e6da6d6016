//! How long the client waits: the inactivity timeout and the retry limits,
//! as `lookup`, `deploy` and `builds` take them (flags over environment
//! variables over defaults), in one place so the three binaries agree.
//!
//! - `--timeout SECONDS` / `DOI_TIMEOUT` (30): the longest wait for any
//!   byte from a registry, and the window of the floor rate (a transfer
//!   slower than 1 KiB/s over such a window is stalled too). A stall is
//!   retried, then reported.
//! - `--retry-max-wait SECONDS` / `DOI_RETRY_MAX_WAIT` (60): the longest
//!   single wait before a retry, whatever `Retry-After` asks.
//! - `--retry-budget SECONDS` / `DOI_RETRY_BUDGET` (300): the longest one
//!   request may wait in all before it fails, naming what it asked for.
//!
//! Seconds may have a fraction (`0.5`).

use std::time::Duration;

use super::client::ClientConfig;
use super::error::{ErrorKind, RegistryError};

/// The `--help` text that says how the binaries wait.
pub const HELP: &str = "Waiting on registries: no read waits longer than --timeout (DOI_TIMEOUT, 30 s) for a byte, and a transfer slower than 1 KiB/s over that long is stalled too; a stall, a dropped connection or a 5xx is tried 3 times in all. Retry-After is honoured up to --retry-max-wait (DOI_RETRY_MAX_WAIT, 60 s) a wait; a request that would wait more than --retry-budget (DOI_RETRY_BUDGET, 300 s) in all fails, naming what it asked for. Seconds may have a fraction.";

pub const TIMEOUT_VARIABLE: &str = "DOI_TIMEOUT";
pub const RETRY_MAX_WAIT_VARIABLE: &str = "DOI_RETRY_MAX_WAIT";
pub const RETRY_BUDGET_VARIABLE: &str = "DOI_RETRY_BUDGET";

/// The flags, for `#[command(flatten)]` in a binary (lookup, whose
/// arguments are positional, parses the same names itself with
/// [`Limits::set`]).
#[derive(clap::Args, Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// Longest wait for any byte from a registry; a transfer below 1 KiB/s
    /// over this long is stalled too [env: DOI_TIMEOUT; default: 30]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// Longest single wait before a retry, whatever Retry-After asks [env:
    /// DOI_RETRY_MAX_WAIT; default: 60]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub retry_max_wait: Option<Duration>,
    /// Longest one request may wait for retries in all before it fails
    /// [env: DOI_RETRY_BUDGET; default: 300]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub retry_budget: Option<Duration>,
}

/// One of the flags, by its long name (without `--`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Timeout,
    RetryMaxWait,
    RetryBudget,
}

impl Limit {
    pub const ALL: [Limit; 3] = [Limit::Timeout, Limit::RetryMaxWait, Limit::RetryBudget];

    pub fn flag(self) -> &'static str {
        match self {
            Limit::Timeout => "timeout",
            Limit::RetryMaxWait => "retry-max-wait",
            Limit::RetryBudget => "retry-budget",
        }
    }

    pub fn variable(self) -> &'static str {
        match self {
            Limit::Timeout => TIMEOUT_VARIABLE,
            Limit::RetryMaxWait => RETRY_MAX_WAIT_VARIABLE,
            Limit::RetryBudget => RETRY_BUDGET_VARIABLE,
        }
    }
}

impl Limits {
    /// What the environment sets; a value that is no number of seconds is
    /// an error naming the variable.
    pub fn from_env() -> Result<Limits, RegistryError> {
        let mut limits = Limits::default();
        for limit in Limit::ALL {
            if let Ok(text) = std::env::var(limit.variable()) {
                if !text.is_empty() {
                    let value = parse_seconds(&text).map_err(|why| {
                        RegistryError::new(
                            ErrorKind::Configuration,
                            format!("{}={text:?}: {why}", limit.variable()),
                        )
                    })?;
                    limits.set(limit, value);
                }
            }
        }
        Ok(limits)
    }

    pub fn set(&mut self, limit: Limit, value: Duration) {
        let slot = match limit {
            Limit::Timeout => &mut self.timeout,
            Limit::RetryMaxWait => &mut self.retry_max_wait,
            Limit::RetryBudget => &mut self.retry_budget,
        };
        *slot = Some(value);
    }

    /// Writes what is set into `config`.
    pub fn apply(&self, config: &mut ClientConfig) {
        if let Some(timeout) = self.timeout {
            config.timeouts.inactivity = timeout;
        }
        if let Some(wait) = self.retry_max_wait {
            config.retry.maximum_delay = wait;
        }
        if let Some(budget) = self.retry_budget {
            config.retry.budget = budget;
        }
    }

    /// The client configuration of a binary: the environment
    /// ([`ClientConfig::from_env`]) with these flags over it.
    pub fn client_config(&self) -> Result<ClientConfig, RegistryError> {
        let mut config = ClientConfig::from_env()?;
        self.apply(&mut config);
        Ok(config)
    }
}

/// A positive number of seconds, a fraction allowed (at most a day: a
/// longer wait is a typo, not a plan).
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds, got {text:?}"))?;
    if !(value > 0.0 && value <= 86_400.0) {
        return Err(format!(
            "expected more than 0 and at most 86400 seconds, got {text:?}"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_positive_numbers() {
        assert_eq!(parse_seconds("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        for bad in ["0", "-1", "x", "", "NaN", "inf", "1e9"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_seconds("soon").unwrap_err(),
            "expected a number of seconds, got \"soon\""
        );
    }

    #[test]
    fn flags_win_over_the_environment_and_reach_the_config() {
        let environment = Limits {
            timeout: Some(Duration::from_secs(5)),
            retry_budget: Some(Duration::from_secs(9)),
            ..Limits::default()
        };
        let mut flags = Limits::default();
        flags.set(Limit::Timeout, Duration::from_secs(2));
        flags.set(Limit::RetryMaxWait, Duration::from_secs(1));
        let mut config = ClientConfig::default();
        environment.apply(&mut config);
        flags.apply(&mut config);
        assert_eq!(config.timeouts.inactivity, Duration::from_secs(2));
        assert_eq!(config.retry.maximum_delay, Duration::from_secs(1));
        assert_eq!(config.retry.budget, Duration::from_secs(9));
        let defaults = ClientConfig::default();
        assert_eq!(defaults.timeouts.inactivity, Duration::from_secs(30));
        assert_eq!(defaults.timeouts.floor_bytes_per_second, 1024);
        assert_eq!(defaults.retry.maximum_delay, Duration::from_secs(60));
        assert_eq!(defaults.retry.budget, Duration::from_secs(300));
    }
}
