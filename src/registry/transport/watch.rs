//! Nothing waits forever: the limits every transfer is held to.
//!
//! Two rules, both set by one knob (`--timeout`, `DOI_TIMEOUT`, 30 s by
//! default): no read (and no write) may wait longer than the timeout for a
//! byte (ureq enforces this one on the socket), and a transfer must move at
//! least the floor rate (1 KiB/s by default) over every window of that
//! length, so a body dripped a byte a second counts as stalled too. This
//! module holds the second rule; [`Stall`] is the error of both, and the
//! retry layer treats it like a dropped connection (tried again, then
//! reported with the limit that was hit).

use std::fmt;
use std::io::{self, Read};
use std::time::{Duration, Instant};

/// The limits of one client; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// The longest wait for any byte: connecting, the answer's head, every
    /// read of a body and every write of ours. Also the window of the floor
    /// rate.
    pub inactivity: Duration,
    /// The least a transfer must move per second, on average over each
    /// window of `inactivity`; 0 turns the floor off.
    pub floor_bytes_per_second: u64,
}

impl Timeouts {
    /// `DOI_TIMEOUT`'s default: 30 s.
    pub const DEFAULT_INACTIVITY: Duration = Duration::from_secs(30);
    /// 1 KiB/s: far below any working link, far above a drip.
    pub const DEFAULT_FLOOR_BYTES_PER_SECOND: u64 = 1024;

    /// The bytes a window must carry.
    fn floor_per_window(&self) -> u64 {
        let window = self.inactivity.as_secs_f64();
        (self.floor_bytes_per_second as f64 * window).ceil() as u64
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            inactivity: Timeouts::DEFAULT_INACTIVITY,
            floor_bytes_per_second: Timeouts::DEFAULT_FLOOR_BYTES_PER_SECOND,
        }
    }
}

/// A transfer that hit one of the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stall {
    /// Nothing arrived (or could be sent) for this long.
    Inactive { limit: Duration },
    /// Only `moved` bytes in a window of `window`, below the floor.
    BelowFloor {
        moved: u64,
        window: Duration,
        floor_bytes_per_second: u64,
    },
}

impl fmt::Display for Stall {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stall::Inactive { limit } => write!(
                formatter,
                "stalled: no data for {} (the limit set by --timeout or DOI_TIMEOUT)",
                seconds(*limit)
            ),
            Stall::BelowFloor {
                moved,
                window,
                floor_bytes_per_second,
            } => write!(
                formatter,
                "stalled: {moved} bytes in {}, below the floor of {floor_bytes_per_second} bytes/s (the window is --timeout or DOI_TIMEOUT)",
                seconds(*window)
            ),
        }
    }
}

impl std::error::Error for Stall {}

/// `30 s`, `1.5 s`.
pub fn seconds(duration: Duration) -> String {
    let value = duration.as_secs_f64();
    if value.fract() == 0.0 {
        format!("{value:.0} s")
    } else {
        format!("{value} s")
    }
}

/// The stall inside an I/O error, if that is what it is (ours, or one of
/// ureq's timeouts, which wraps itself in `io::Error`).
pub fn stall_of(error: &io::Error, timeouts: &Timeouts) -> Option<Stall> {
    if let Some(stall) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Stall>())
    {
        return Some(stall.clone());
    }
    if let Some(ureq::Error::Timeout(_)) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
    {
        return Some(Stall::Inactive {
            limit: timeouts.inactivity,
        });
    }
    (error.kind() == io::ErrorKind::TimedOut).then_some(Stall::Inactive {
        limit: timeouts.inactivity,
    })
}

/// Passes a transfer through and fails it (with [`Stall::BelowFloor`])
/// when a window of `inactivity` carried less than the floor. Reads that
/// wait are ureq's to bound, so a window is judged when a read returns.
pub struct FloorReader<R> {
    inner: R,
    timeouts: Timeouts,
    window_started: Instant,
    moved: u64,
}

impl<R: Read> FloorReader<R> {
    pub fn new(inner: R, timeouts: Timeouts) -> FloorReader<R> {
        FloorReader {
            inner,
            timeouts,
            window_started: Instant::now(),
            moved: 0,
        }
    }

    /// Counts `count` more bytes at `now`; the error once a whole window
    /// went by below the floor.
    fn note(&mut self, count: usize, now: Instant) -> Result<(), Stall> {
        self.moved = self.moved.saturating_add(count as u64);
        let window = self.timeouts.inactivity;
        if self.timeouts.floor_bytes_per_second == 0 || now - self.window_started < window {
            return Ok(());
        }
        if self.moved < self.timeouts.floor_per_window() {
            return Err(Stall::BelowFloor {
                moved: self.moved,
                window,
                floor_bytes_per_second: self.timeouts.floor_bytes_per_second,
            });
        }
        self.window_started = now;
        self.moved = 0;
        Ok(())
    }
}

impl<R: Read> Read for FloorReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        if count == 0 {
            // The end: however slow, the transfer is done.
            return Ok(0);
        }
        self.note(count, Instant::now()).map_err(io::Error::other)?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(inactivity_ms: u64, floor: u64) -> FloorReader<io::Empty> {
        FloorReader::new(
            io::empty(),
            Timeouts {
                inactivity: Duration::from_millis(inactivity_ms),
                floor_bytes_per_second: floor,
            },
        )
    }

    #[test]
    fn a_window_below_the_floor_is_a_stall() {
        let mut watch = reader(2_000, 1024);
        let start = watch.window_started;
        // A byte every 200 ms: never inactive, far below 2 KiB per 2 s.
        for step in 1..10 {
            assert_eq!(
                watch.note(1, start + Duration::from_millis(200 * step)),
                Ok(())
            );
        }
        assert_eq!(
            watch.note(1, start + Duration::from_millis(2_000)),
            Err(Stall::BelowFloor {
                moved: 10,
                window: Duration::from_secs(2),
                floor_bytes_per_second: 1024
            })
        );
    }

    #[test]
    fn a_window_at_the_floor_starts_the_next() {
        let mut watch = reader(1_000, 1024);
        let start = watch.window_started;
        assert_eq!(
            watch.note(1024, start + Duration::from_millis(1_000)),
            Ok(())
        );
        assert_eq!(watch.moved, 0);
        // The next window is judged on its own bytes.
        assert!(watch
            .note(10, start + Duration::from_millis(2_100))
            .is_err());
        // Without a floor nothing is judged.
        let mut unwatched = reader(1_000, 0);
        let start = unwatched.window_started;
        assert_eq!(unwatched.note(1, start + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn stalls_are_found_inside_io_errors_and_say_the_limit() {
        let timeouts = Timeouts {
            inactivity: Duration::from_millis(1_500),
            floor_bytes_per_second: 1024,
        };
        let ours = io::Error::other(Stall::BelowFloor {
            moved: 3,
            window: Duration::from_secs(2),
            floor_bytes_per_second: 1024,
        });
        assert_eq!(
            stall_of(&ours, &timeouts).map(|stall| stall.to_string()).as_deref(),
            Some("stalled: 3 bytes in 2 s, below the floor of 1024 bytes/s (the window is --timeout or DOI_TIMEOUT)")
        );
        let timed_out = io::Error::new(io::ErrorKind::TimedOut, "read timed out");
        assert_eq!(
            stall_of(&timed_out, &timeouts)
                .map(|stall| stall.to_string())
                .as_deref(),
            Some("stalled: no data for 1.5 s (the limit set by --timeout or DOI_TIMEOUT)")
        );
        assert_eq!(stall_of(&io::Error::other("reset"), &timeouts), None);
    }
}
