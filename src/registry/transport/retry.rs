//! Rate limit and retries, the layer that keeps us from adding to an
//! outage.
//!
//! Every attempt first takes a token from the host's bucket. A 429 empties
//! the bucket and is retried after `Retry-After` (seconds or an HTTP-date; at
//! least the minimum delay); 500,
//! 502, 503, 504 and connection failures are retried too, but a request is
//! tried at most [`MAX_SERVER_ERROR_TRIES`] times on those and the last
//! answer is returned (the caller turns it into an error with the
//! registry's explanation). No request is retried sooner than the minimum
//! delay (one second by default) after its previous attempt. Bodies are
//! shared bytes or reopenable sources, so a retried upload sends the same
//! bytes again.

use std::sync::Arc;
use std::time::Duration;

use super::rate_limit::TokenBucket;
use super::{Request, Response, Transport};
use crate::registry::error::{ErrorKind, RegistryError};
use crate::registry::protocol::{
    header, is_retryable_server_status, MAX_RATE_LIMITED_TRIES, MAX_SERVER_ERROR_TRIES,
};
use crate::registry::stats::Counters;

/// How long to wait between attempts.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// The minimum wait before any retry (one second: "a request is retried
    /// at most once a second").
    pub minimum_delay: Duration,
    /// The longest `Retry-After` we honour; a registry asking for more gets
    /// this (we would rather fail than hang for an hour).
    pub maximum_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            minimum_delay: Duration::from_secs(1),
            maximum_delay: Duration::from_secs(600),
        }
    }
}

pub struct RetryLayer {
    inner: Arc<dyn Transport>,
    bucket: Option<Arc<TokenBucket>>,
    policy: RetryPolicy,
    counters: Option<Arc<Counters>>,
}

impl RetryLayer {
    pub fn new(
        inner: Arc<dyn Transport>,
        bucket: Option<Arc<TokenBucket>>,
        policy: RetryPolicy,
    ) -> RetryLayer {
        RetryLayer {
            inner,
            bucket,
            policy,
            counters: None,
        }
    }

    /// Counts retries in `counters` (the stack builder passes the client's).
    pub fn with_counters(mut self, counters: Arc<Counters>) -> RetryLayer {
        self.counters = Some(counters);
        self
    }

    fn retry_after(&self, response: &Response) -> Option<Duration> {
        parse_retry_after(
            response.header(header::RETRY_AFTER)?,
            std::time::SystemTime::now(),
        )
    }

    fn wait(&self, requested: Option<Duration>) -> Duration {
        requested
            .unwrap_or(self.policy.minimum_delay)
            .max(self.policy.minimum_delay)
            .min(self.policy.maximum_delay.max(self.policy.minimum_delay))
    }
}

impl Transport for RetryLayer {
    fn send(&self, request: &Request) -> Result<Response, RegistryError> {
        let mut server_failures = 0;
        let mut rate_limited = 0;
        loop {
            if let Some(bucket) = &self.bucket {
                bucket.acquire();
            }
            let outcome = self.inner.send(request);
            let delay = match &outcome {
                Ok(response) if response.status == 429 => {
                    if let Some(bucket) = &self.bucket {
                        bucket.empty();
                    }
                    rate_limited += 1;
                    if rate_limited >= MAX_RATE_LIMITED_TRIES {
                        return outcome;
                    }
                    self.wait(self.retry_after(response))
                }
                Ok(response) if is_retryable_server_status(response.status) => {
                    server_failures += 1;
                    if server_failures >= MAX_SERVER_ERROR_TRIES {
                        return outcome;
                    }
                    self.wait(self.retry_after(response))
                }
                Err(error) if error.kind() == ErrorKind::Connection => {
                    server_failures += 1;
                    if server_failures >= MAX_SERVER_ERROR_TRIES {
                        return outcome;
                    }
                    self.wait(None)
                }
                _ => return outcome,
            };
            std::thread::sleep(delay);
            if let Some(counters) = &self.counters {
                counters.count_retry();
            }
        }
    }
}

/// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110
/// section 10.2.3); a date in the past means "now".
fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    let now = now.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37
/// GMT`), the only HTTP-date form senders may generate.
fn parse_http_date(value: &str) -> Option<u64> {
    let mut parts = value.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let mut clock = parts
        .next()?
        .split(':')
        .map(|part| part.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT"
        || year < 1970
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm, for years >= 1970).
    let (year, month) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let day_of_year = (153 * month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = (era * 146_097 + day_of_era).checked_sub(719_468)?;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777 - 30);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        // RFC 9110's example date, 30 seconds after `now`.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date already past means retry now (the minimum delay applies).
        let later = now + Duration::from_secs(3_600);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", now),
            None
        );
    }
    use super::*;
    use crate::registry::protocol::Method;
    use crate::registry::stats::RequestKind;
    use crate::registry::transport::ResponseBody;
    use std::sync::Mutex;

    /// Answers with the scripted statuses in turn, then 200.
    struct Scripted {
        statuses: Mutex<Vec<u16>>,
        attempts: Mutex<u32>,
    }

    impl Transport for Scripted {
        fn send(&self, _request: &Request) -> Result<Response, RegistryError> {
            *self.attempts.lock().unwrap() += 1;
            let mut statuses = self.statuses.lock().unwrap();
            let status = if statuses.is_empty() {
                200
            } else {
                statuses.remove(0)
            };
            Ok(Response {
                status,
                headers: Default::default(),
                body: ResponseBody::Bytes(Vec::new()),
                url: String::new(),
            })
        }
    }

    fn layer(statuses: Vec<u16>) -> (Arc<Scripted>, RetryLayer, Arc<Counters>) {
        let scripted = Arc::new(Scripted {
            statuses: Mutex::new(statuses),
            attempts: Mutex::new(0),
        });
        let counters = Arc::new(Counters::default());
        let policy = RetryPolicy {
            minimum_delay: Duration::from_millis(1),
            maximum_delay: Duration::from_millis(5),
        };
        let retry = RetryLayer::new(scripted.clone(), None, policy).with_counters(counters.clone());
        (scripted, retry, counters)
    }

    fn request() -> Request {
        Request::new(Method::Get, RequestKind::Get, "http://localhost/v2/".into())
    }

    #[test]
    fn server_errors_are_tried_three_times_then_returned() {
        let (scripted, retry, counters) = layer(vec![503, 502, 500, 504]);
        let response = retry.send(&request()).unwrap();
        assert_eq!(response.status, 500);
        assert_eq!(*scripted.attempts.lock().unwrap(), 3);
        assert_eq!(counters.snapshot().retries, 2);
    }

    #[test]
    fn a_burst_shorter_than_three_succeeds() {
        let (scripted, retry, _) = layer(vec![503, 504]);
        assert_eq!(retry.send(&request()).unwrap().status, 200);
        assert_eq!(*scripted.attempts.lock().unwrap(), 3);
    }

    #[test]
    fn rate_limited_answers_do_not_use_up_server_tries() {
        let (scripted, retry, _) = layer(vec![429, 503, 429, 503, 429]);
        assert_eq!(retry.send(&request()).unwrap().status, 200);
        assert_eq!(*scripted.attempts.lock().unwrap(), 6);
    }

    #[test]
    fn other_statuses_are_not_retried() {
        let (scripted, retry, _) = layer(vec![404]);
        assert_eq!(retry.send(&request()).unwrap().status, 404);
        assert_eq!(*scripted.attempts.lock().unwrap(), 1);
    }
}
