//! The local time zone, as jq 1.7.1 sees it through the C library.
//!
//! jq calls `localtime_r`, which reads `TZ` (a zone file's name, or a
//! POSIX rule) or else `/etc/localtime`; the library forbids `unsafe`, so
//! the zone comes from jiff (already built in for jaq), which reads the
//! same sources. What jq prints of a zone is narrower than what it
//! knows: `strftime` and `strflocaltime` fill a `struct tm` from a
//! broken-down time and leave its zone fields empty, so `%Z` is the C
//! library's `tzname[0]`, the zone's standard-time name, even in summer,
//! and `%z` is `+0000` (that part [`super::time`] writes).

use jiff::tz::{Dst, TimeZone, TimeZoneOffsetInfo};
use jiff::Timestamp;

/// The local zone, and whether it is a POSIX rule ([`read_zone`]).
fn local() -> Result<(TimeZone, bool), String> {
    read(|local| local.zone.clone())
}

/// A zone as read for one value of `TZ`, with its `tzname[0]`.
struct Local {
    tz: Option<std::ffi::OsString>,
    zone: Result<(TimeZone, bool), String>,
    standard: String,
}

/// `f` of the zone `TZ` names, read again only when `TZ` changes (as
/// glibc's `tzset` does).
fn read<T>(f: impl FnOnce(&Local) -> T) -> T {
    thread_local! {
        static READ: std::cell::RefCell<Option<Local>> = const { std::cell::RefCell::new(None) };
    }
    let tz = std::env::var_os("TZ");
    READ.with(|read| {
        let mut read = read.borrow_mut();
        if read.as_ref().is_some_and(|local| local.tz != tz) {
            *read = None;
        }
        let local = read.get_or_insert_with(|| {
            let zone = read_zone(tz.as_deref());
            let standard = match &zone {
                Ok((zone, _)) => standard(zone, Timestamp::now()).abbreviation().to_string(),
                Err(name) => name.clone(),
            };
            Local { tz, zone, standard }
        });
        f(local)
    })
}

/// The zone `TZ` names, as glibc reads it: unset, the system's zone;
/// empty, UTC; a zone file's name, that zone; else a POSIX rule (`true`
/// beside it). A name that is neither is UTC under the name of its
/// leading letters (3 at least, else none): the `Err`.
fn read_zone(tz: Option<&std::ffi::OsStr>) -> Result<(TimeZone, bool), String> {
    let Some(tz) = tz else {
        return Ok((TimeZone::try_system().unwrap_or(TimeZone::UTC), false));
    };
    let tz = tz.to_string_lossy();
    let name = tz.trim_start_matches(':');
    if name.is_empty() {
        return Ok((TimeZone::UTC, false));
    }
    if let Ok(zone) = TimeZone::get(name) {
        return Ok((zone, false));
    }
    TimeZone::posix(name).map(|zone| (zone, true)).map_err(|_| {
        let letters: String = name.chars().take_while(char::is_ascii_alphabetic).collect();
        if letters.len() >= 3 {
            letters
        } else {
            String::new()
        }
    })
}

/// The Gregorian calendar repeats every 400 years, weekdays and all.
const CYCLE: i64 = 146_097 * 86_400;

/// Seconds east of UTC at `seconds` since the epoch. An instant beyond
/// the years jiff holds (±9999) is moved by whole 400-year cycles into
/// them: the C library applies a zone's last rule to any year, and a rule
/// (the last Sunday of March, say) falls on the same day in both. Before
/// 1970, glibc gives a POSIX rule's offset of the epoch's instant.
pub(super) fn offset_at(seconds: i64) -> i64 {
    let Ok((zone, posix)) = local() else { return 0 };
    let (min, max) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    let cycles = if seconds > max {
        -((seconds - max) / CYCLE + 1)
    } else if seconds < min {
        (min - seconds) / CYCLE + 1
    } else {
        0
    };
    let moved = seconds.saturating_add(cycles.saturating_mul(CYCLE));
    let instant = Timestamp::from_second(moved).unwrap_or(Timestamp::UNIX_EPOCH);
    let instant = if posix && seconds < 0 {
        Timestamp::UNIX_EPOCH
    } else {
        instant
    };
    i64::from(zone.to_offset(instant).seconds())
}

/// The zone's standard time near `instant`: then, or half a year on.
fn standard(zone: &TimeZone, instant: Timestamp) -> TimeZoneOffsetInfo<'_> {
    let later = instant
        .checked_add(jiff::SignedDuration::from_hours(24 * 183))
        .unwrap_or(instant);
    let info = zone.to_offset_info(instant);
    if info.dst() == Dst::No {
        return info;
    }
    let later = zone.to_offset_info(later);
    if later.dst() == Dst::No {
        later
    } else {
        info
    }
}

/// `tzname[0]` after `tzset`: the standard-time abbreviation of the local
/// zone.
pub(super) fn standard_name() -> String {
    read(|local| local.standard.clone())
}
