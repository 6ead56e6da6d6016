//! Rate limit and retries, the layer that keeps us from adding to an
//! outage, and from waiting on one forever.
//!
//! Every attempt first takes a token from the host's bucket. A 429 empties
//! the bucket and is retried after `Retry-After` (seconds or an HTTP-date;
//! at least the minimum delay, at most the cap per wait); 500, 502, 503,
//! 504, dropped connections and stalls are retried too, but a request is
//! tried at most [`MAX_SERVER_ERROR_TRIES`] times on those and the last
//! answer is returned (the caller turns it into an error with the
//! registry's explanation). No request is retried sooner than the minimum
//! delay (one second by default) after its previous attempt, and no request
//! waits more than its budget in all (five minutes by default): a wait that
//! would pass it fails the request with
//! [`ErrorKind::RetryBudgetExhausted`], naming the registry's request and
//! what it asked for. Bodies are shared bytes or reopenable sources, so a
//! retried upload sends the same bytes again.

use std::sync::Arc;
use std::time::Duration;

use super::rate_limit::TokenBucket;
use super::watch::seconds;
use super::{Request, Response, Transport};
use crate::registry::error::{ErrorKind, RegistryError};
use crate::registry::protocol::{
    header, is_retryable_server_status, MAX_RATE_LIMITED_TRIES, MAX_SERVER_ERROR_TRIES,
};
use crate::registry::stats::Counters;

/// How long to wait between attempts, and in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The minimum wait before any retry (one second: "a request is retried
    /// at most once a second").
    pub minimum_delay: Duration,
    /// The longest single wait (`--retry-max-wait`, `DOI_RETRY_MAX_WAIT`;
    /// 60 s): a registry asking for more gets this, and is asked again.
    pub maximum_delay: Duration,
    /// The longest a request may wait in all, over every retry
    /// (`--retry-budget`, `DOI_RETRY_BUDGET`; 5 minutes).
    pub budget: Duration,
}

impl RetryPolicy {
    pub const DEFAULT_MAXIMUM_DELAY: Duration = Duration::from_secs(60);
    pub const DEFAULT_BUDGET: Duration = Duration::from_secs(300);
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            minimum_delay: Duration::from_secs(1),
            maximum_delay: RetryPolicy::DEFAULT_MAXIMUM_DELAY,
            budget: RetryPolicy::DEFAULT_BUDGET,
        }
    }
}

pub struct RetryLayer {
    inner: Arc<dyn Transport>,
    bucket: Option<Arc<TokenBucket>>,
    policy: RetryPolicy,
    counters: Option<Arc<Counters>>,
}

/// Why a request is about to wait, for the error when it may not.
enum Reason {
    /// The registry said how long (`Retry-After`), with this status.
    Asked { status: u16, asked: Duration },
    /// A failure we back off from on our own.
    Failed(String),
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

    fn retry_after(response: &Response) -> Option<Duration> {
        parse_retry_after(
            response.header(header::RETRY_AFTER)?,
            std::time::SystemTime::now(),
        )
    }

    /// The wait before the next attempt: what was asked, within the
    /// minimum and the cap per wait.
    fn wait(&self, requested: Option<Duration>) -> Duration {
        requested
            .unwrap_or(self.policy.minimum_delay)
            .max(self.policy.minimum_delay)
            .min(self.policy.maximum_delay.max(self.policy.minimum_delay))
    }

    fn reason(response: &Response) -> Reason {
        match Self::retry_after(response) {
            Some(asked) => Reason::Asked {
                status: response.status,
                asked,
            },
            None => Reason::Failed(format!("{} answers", response.status)),
        }
    }

    /// The error of a request that may not wait `delay` more, having
    /// waited `waited`.
    fn over_budget(
        &self,
        request: &Request,
        reason: &Reason,
        waited: Duration,
        delay: Duration,
    ) -> RegistryError {
        let why = match reason {
            Reason::Asked { status, asked } => format!(
                "the registry answered {status} and asked to wait {} more (Retry-After)",
                seconds(*asked)
            ),
            Reason::Failed(failure) => {
                format!("after {failure}, a retry would wait {}", seconds(delay))
            }
        };
        RegistryError::for_request(
            ErrorKind::RetryBudgetExhausted,
            request.method,
            &request.url,
            format!(
                "gave up: {why}, past this request's wait budget of {} ({} waited already; --retry-budget, DOI_RETRY_BUDGET)",
                seconds(self.policy.budget),
                seconds(waited)
            ),
        )
    }
}

/// Attempts so far, by what failed them.
#[derive(Default)]
struct Tries {
    server_failures: u32,
    rate_limited: u32,
}

/// What to do after an attempt.
enum Step {
    /// Hand the outcome to the caller (an answer, or a failure not retried).
    Answer,
    /// Sleep this long, then try again.
    Wait(Duration),
    /// Give up with this error (the budget would be passed).
    Fail(RegistryError),
}

impl RetryLayer {
    /// The rule of the module documentation for one attempt's `outcome`,
    /// after `waited` in all.
    fn next_step(
        &self,
        request: &Request,
        outcome: &Result<Response, RegistryError>,
        tries: &mut Tries,
        waited: Duration,
    ) -> Step {
        let (delay, reason) = match outcome {
            Ok(response) if response.status == 429 => {
                if let Some(bucket) = &self.bucket {
                    bucket.empty();
                }
                tries.rate_limited += 1;
                if tries.rate_limited >= MAX_RATE_LIMITED_TRIES {
                    return Step::Answer;
                }
                (
                    self.wait(Self::retry_after(response)),
                    Self::reason(response),
                )
            }
            Ok(response) if is_retryable_server_status(response.status) => {
                tries.server_failures += 1;
                if tries.server_failures >= MAX_SERVER_ERROR_TRIES {
                    return Step::Answer;
                }
                (
                    self.wait(Self::retry_after(response)),
                    Self::reason(response),
                )
            }
            Err(error) if matches!(error.kind(), ErrorKind::Connection | ErrorKind::Stalled) => {
                tries.server_failures += 1;
                if tries.server_failures >= MAX_SERVER_ERROR_TRIES {
                    return Step::Answer;
                }
                (self.wait(None), Reason::Failed(error.to_string()))
            }
            _ => return Step::Answer,
        };
        if waited + delay > self.policy.budget {
            return Step::Fail(self.over_budget(request, &reason, waited, delay));
        }
        Step::Wait(delay)
    }
}

impl Transport for RetryLayer {
    fn send(&self, request: &Request) -> Result<Response, RegistryError> {
        let mut tries = Tries::default();
        let mut waited = Duration::ZERO;
        loop {
            if let Some(bucket) = &self.bucket {
                bucket.acquire();
            }
            let outcome = self.inner.send(request);
            match self.next_step(request, &outcome, &mut tries, waited) {
                Step::Answer => return outcome,
                Step::Fail(error) => return Err(error),
                Step::Wait(delay) => {
                    std::thread::sleep(delay);
                    waited += delay;
                    if let Some(counters) = &self.counters {
                        counters.count_retry();
                    }
                }
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
    let days = u64::try_from(crate::calendar::days_from_civil(
        i64::try_from(year).ok()?,
        month,
        i64::try_from(day).ok()?,
    ))
    .ok()?;
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
            budget: Duration::from_secs(60),
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

    fn asking(status: u16, retry_after: &str) -> Result<Response, RegistryError> {
        let mut headers = ::ureq::http::HeaderMap::new();
        if let Ok(value) = retry_after.parse() {
            headers.insert(header::RETRY_AFTER, value);
        }
        Ok(Response {
            status,
            headers,
            body: ResponseBody::Bytes(Vec::new()),
            url: "http://localhost/v2/".into(),
        })
    }

    fn policy_layer(maximum_delay: Duration, budget: Duration) -> RetryLayer {
        let scripted = Arc::new(Scripted {
            statuses: Mutex::new(Vec::new()),
            attempts: Mutex::new(0),
        });
        let policy = RetryPolicy {
            minimum_delay: Duration::from_secs(1),
            maximum_delay,
            budget,
        };
        RetryLayer::new(scripted, None, policy)
    }

    /// Issue 9: a registry asking for an hour got ten minutes a wait, ten
    /// times over.
    #[test]
    fn retry_after_is_honoured_up_to_the_cap_per_wait() {
        let retry = policy_layer(Duration::from_secs(60), Duration::from_secs(300));
        let mut tries = Tries::default();
        let wait = |outcome, tries: &mut Tries| match retry.next_step(
            &request(),
            &outcome,
            tries,
            Duration::ZERO,
        ) {
            Step::Wait(delay) => delay,
            _ => panic!("expected a wait"),
        };
        assert_eq!(
            wait(asking(429, "3600"), &mut tries),
            Duration::from_secs(60)
        );
        assert_eq!(wait(asking(429, "7"), &mut tries), Duration::from_secs(7));
        assert_eq!(
            wait(asking(429, "0"), &mut tries),
            Duration::from_secs(1),
            "at least the minimum"
        );
        assert_eq!(wait(asking(503, "30"), &mut tries), Duration::from_secs(30));
    }

    #[test]
    fn a_wait_past_the_budget_fails_naming_the_request_and_what_was_asked() {
        let retry = policy_layer(Duration::from_secs(60), Duration::from_secs(300));
        let mut tries = Tries::default();
        let step = retry.next_step(
            &request(),
            &asking(429, "120"),
            &mut tries,
            Duration::from_secs(250),
        );
        let Step::Fail(error) = step else {
            panic!("expected the budget to end it")
        };
        assert_eq!(error.kind(), ErrorKind::RetryBudgetExhausted);
        assert_eq!(
            error.to_string(),
            "GET http://localhost/v2/: gave up: the registry answered 429 and asked to wait 120 s more (Retry-After), past this request's wait budget of 300 s (250 s waited already; --retry-budget, DOI_RETRY_BUDGET)"
        );
        // Within the budget the same answer is a wait.
        let step = retry.next_step(
            &request(),
            &asking(429, "120"),
            &mut tries,
            Duration::from_secs(200),
        );
        assert!(matches!(step, Step::Wait(delay) if delay == Duration::from_secs(60)));
    }

    #[test]
    fn the_budget_ends_a_real_loop() {
        let scripted = Arc::new(Scripted {
            statuses: Mutex::new(vec![503; 2]),
            attempts: Mutex::new(0),
        });
        let policy = RetryPolicy {
            minimum_delay: Duration::from_millis(5),
            maximum_delay: Duration::from_millis(5),
            budget: Duration::from_millis(7),
        };
        let retry = RetryLayer::new(scripted.clone(), None, policy);
        let error = match retry.send(&request()) {
            Err(error) => error,
            Ok(response) => panic!("expected the budget to end it, got {}", response.status),
        };
        assert_eq!(error.kind(), ErrorKind::RetryBudgetExhausted);
        assert_eq!(*scripted.attempts.lock().unwrap(), 2);
    }

    #[test]
    fn other_statuses_are_not_retried() {
        let (scripted, retry, _) = layer(vec![404]);
        assert_eq!(retry.send(&request()).unwrap().status, 404);
        assert_eq!(*scripted.attempts.lock().unwrap(), 1);
    }
}
