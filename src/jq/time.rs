//! jq 1.7.1's `gmtime`, `mktime` and `strftime`, on the proleptic
//! Gregorian calendar as the C library computes it.
//!
//! jq converts with `gmtime_r`, `timegm` and `strftime`, so it prints any
//! year a C `int` holds (`253402300800 | todate` is
//! `"10000-01-01T00:00:00Z"`, year 0 is `"0-..."`), formats the fields of
//! a broken-down time as given (month 14 prints as 15, weekday 9 as `?`),
//! drops fractional seconds when formatting, and keeps them in `gmtime`'s
//! seconds as `tm_sec + (t - floor(t))` (so `-1.5 | gmtime` ends in
//! `59.5`). Doubles become C `int`s and `time_t`s as an x86 conversion
//! does: truncated toward zero, NaN or out of range to the type's minimum.
//! Errors are jq's words. `localtime` and `strflocaltime` are the same
//! arithmetic at the local zone's offset ([`super::zone`]).

use super::math::c_int;
use super::Val;
use crate::calendar::{civil_from_days, days_from_civil};

fn c_time(number: f64) -> i64 {
    // 2^63: the first double past the range of an `i64`.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if number.is_nan() || !(-LIMIT..LIMIT).contains(&number) {
        i64::MIN
    } else {
        number as i64
    }
}

fn number(value: &Val) -> Option<f64> {
    match value {
        Val::Num(_) => Val::as_f64(value),
        _ => None,
    }
}

/// C's `struct tm`, the fields jq uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tm {
    /// Years since 1900.
    year: i32,
    mon: i32,
    mday: i32,
    hour: i32,
    min: i32,
    sec: i32,
    wday: i32,
    yday: i32,
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// `gmtime_r`: `None` where the year does not fit the C `int`.
fn gmtime(seconds: i64) -> Option<Tm> {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let yday = days - days_from_civil(year, 1, 1);
    Some(Tm {
        year: i32::try_from(year - 1900).ok()?,
        mon: (month - 1) as i32,
        mday: day as i32,
        hour: (of_day / 3600) as i32,
        min: (of_day / 60 % 60) as i32,
        sec: (of_day % 60) as i32,
        wday: (days + 4).rem_euclid(7) as i32,
        yday: yday as i32,
    })
}

/// `timegm`: the fields are normalized arithmetically, as C does.
fn timegm(tm: &Tm) -> i64 {
    let month = i64::from(tm.mon);
    let year = i64::from(tm.year) + 1900 + month.div_euclid(12);
    let days = days_from_civil(year, month.rem_euclid(12) + 1, 1) + i64::from(tm.mday) - 1;
    days * 86_400 + i64::from(tm.hour) * 3600 + i64::from(tm.min) * 60 + i64::from(tm.sec)
}

/// jq's "parsed datetime": an array whose first eight items are numbers.
fn broken_down(value: &Val) -> Option<Tm> {
    let Val::Arr(items) = value else {
        return None;
    };
    let mut fields = [0i32; 8];
    for (field, item) in fields
        .iter_mut()
        .zip(items.iter().chain(std::iter::repeat(&Val::Null)))
    {
        *field = c_int(number(item)?);
    }
    Some(Tm {
        year: fields[0].wrapping_sub(1900),
        mon: fields[1],
        mday: fields[2],
        hour: fields[3],
        min: fields[4],
        sec: fields[5],
        wday: fields[6],
        yday: fields[7],
    })
}

/// `gmtime`.
pub(super) fn split(value: &Val) -> Result<Val, String> {
    let Some(seconds) = number(value) else {
        return Err("gmtime() requires numeric inputs".to_string());
    };
    broken_down_at(seconds, 0)
}

/// `localtime`: `gmtime` at the local zone's offset for that instant.
pub(super) fn split_local(value: &Val) -> Result<Val, String> {
    let Some(seconds) = number(value) else {
        return Err("localtime() requires numeric inputs".to_string());
    };
    broken_down_at(seconds, super::zone::offset_at(c_time(seconds)))
}

/// The broken-down time of `seconds` since the epoch, `offset` seconds
/// east of UTC, with the fraction of a second kept in the seconds.
fn broken_down_at(seconds: f64, offset: i64) -> Result<Val, String> {
    let Some(tm) = c_time(seconds).checked_add(offset).and_then(gmtime) else {
        return Err("error converting number of seconds since epoch to datetime".to_string());
    };
    let fraction = seconds - seconds.floor();
    Ok([
        Val::from(tm.year.wrapping_add(1900) as isize),
        Val::from(tm.mon as isize),
        Val::from(tm.mday as isize),
        Val::from(tm.hour as isize),
        Val::from(tm.min as isize),
        Val::from(f64::from(tm.sec) + fraction),
        Val::from(tm.wday as isize),
        Val::from(tm.yday as isize),
    ]
    .into_iter()
    .collect())
}

pub(super) fn mktime(value: &Val) -> Result<Val, String> {
    if !matches!(value, Val::Arr(_)) {
        return Err("mktime requires array inputs".to_string());
    }
    let Some(tm) = broken_down(value) else {
        return Err("mktime requires parsed datetime inputs".to_string());
    };
    let seconds = timegm(&tm);
    if seconds == -1 {
        return Err("invalid gmtime representation".to_string());
    }
    Ok(Val::from(seconds as isize))
}

/// `strftime`.
pub(super) fn format(value: &Val, format: &Val) -> Result<Val, String> {
    format_as("strftime/1", split, value, format)
}

/// `strflocaltime`: as `strftime`, with a number taken as local time.
pub(super) fn format_local(value: &Val, format: &Val) -> Result<Val, String> {
    format_as("strflocaltime/1", split_local, value, format)
}

/// jq checks the input, then the format, then the fields, and names the
/// builtin in its messages.
fn format_as(
    name: &str,
    split: fn(&Val) -> Result<Val, String>,
    value: &Val,
    format: &Val,
) -> Result<Val, String> {
    let broken = match value {
        Val::Num(_) => split(value)?,
        Val::Arr(_) => value.clone(),
        _ => return Err(format!("{name} requires parsed datetime inputs")),
    };
    let (Val::TStr(text) | Val::BStr(text)) = format else {
        return Err(format!("{name} requires a string format"));
    };
    let Some(tm) = broken_down(&broken) else {
        return Err(format!("{name} requires parsed datetime inputs"));
    };
    // jq hands the format to C, which ends it at a NUL.
    let end = text
        .iter()
        .position(|byte| *byte == 0)
        .unwrap_or(text.len());
    let mut out = String::new();
    write_format(&mut out, &String::from_utf8_lossy(&text[..end]), &tm);
    if out.is_empty() {
        // C's strftime returns 0, which jq cannot tell from a failure.
        return Err(format!("{name}: unknown system failure"));
    }
    Ok(Val::from(out))
}

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// ISO 8601 week-based year and week of `tm` (glibc's `%G` and `%V`).
fn iso_week(tm: &Tm) -> (i64, i64) {
    let year = i64::from(tm.year) + 1900;
    let yday = i64::from(tm.yday);
    let wday = i64::from(tm.wday);
    // Days from the Monday starting this year's first ISO week.
    let week_start = |yday: i64, wday: i64| yday - (yday - wday + 382) % 7 + 3;
    let mut days = week_start(yday, wday);
    let mut iso_year = year;
    if days < 0 {
        iso_year -= 1;
        let previous = if is_leap(iso_year) { 366 } else { 365 };
        days = week_start(yday + previous, wday);
    } else {
        let length = if is_leap(year) { 366 } else { 365 };
        let next = week_start(yday - length, wday);
        if next >= 0 {
            iso_year += 1;
            days = next;
        }
    }
    (iso_year, days / 7 + 1)
}

fn write_format(out: &mut String, format: &str, tm: &Tm) {
    use std::fmt::Write;
    let mut chars = format.chars().peekable();
    while let Some(character) = chars.next() {
        if character != '%' {
            out.push(character);
            continue;
        }
        let mut pad = None;
        let mut upper = false;
        while let Some(flag @ ('-' | '_' | '0' | '^' | '#')) = chars.peek().copied() {
            match flag {
                '^' => upper = true,
                '#' => {}
                other => pad = Some(other),
            }
            chars.next();
        }
        let mut width = None;
        while let Some(digit) = chars.peek().and_then(|digit| digit.to_digit(10)) {
            width = Some(width.unwrap_or(0) * 10 + digit as usize);
            chars.next();
        }
        let Some(conversion) = chars.next() else {
            out.push('%');
            break;
        };
        let year = i64::from(tm.year) + 1900;
        let hour12 = match tm.hour % 12 {
            0 => 12,
            other => other,
        };
        let name = |names: &[&'static str], index: i32, short: bool| -> String {
            match usize::try_from(index)
                .ok()
                .and_then(|index| names.get(index))
            {
                Some(name) if short => name[..3].to_string(),
                Some(name) => (*name).to_string(),
                None => "?".to_string(),
            }
        };
        // Numbers: (value, width, the padding C uses by default).
        let numeric = |value: i64, default_width: usize, default: char| -> String {
            let width = width.unwrap_or(default_width);
            match pad.unwrap_or(default) {
                '-' => value.to_string(),
                '_' => format!("{value:>width$}"),
                _ if value < 0 => format!("-{:0>width$}", -value, width = width.saturating_sub(1)),
                _ => format!("{value:0>width$}"),
            }
        };
        let text = match conversion {
            'a' => name(&DAYS, tm.wday, true),
            'A' => name(&DAYS, tm.wday, false),
            'b' | 'h' => name(&MONTHS, tm.mon, true),
            'B' => name(&MONTHS, tm.mon, false),
            'c' => {
                let mut inner = String::new();
                write_format(&mut inner, "%a %b %e %H:%M:%S %Y", tm);
                inner
            }
            'C' => numeric(year.div_euclid(100), 2, '0'),
            'd' => numeric(tm.mday.into(), 2, '0'),
            'D' | 'x' => {
                let mut inner = String::new();
                write_format(&mut inner, "%m/%d/%y", tm);
                inner
            }
            'e' => numeric(tm.mday.into(), 2, '_'),
            'F' => {
                let mut inner = String::new();
                write_format(&mut inner, "%Y-%m-%d", tm);
                inner
            }
            'G' => numeric(iso_week(tm).0, 1, '0'),
            'g' => numeric(iso_week(tm).0.rem_euclid(100), 2, '0'),
            'H' => numeric(tm.hour.into(), 2, '0'),
            'I' => numeric(hour12.into(), 2, '0'),
            'j' => numeric(i64::from(tm.yday) + 1, 3, '0'),
            'k' => numeric(tm.hour.into(), 2, '_'),
            'l' => numeric(hour12.into(), 2, '_'),
            'm' => numeric(i64::from(tm.mon) + 1, 2, '0'),
            'M' => numeric(tm.min.into(), 2, '0'),
            'n' => "\n".to_string(),
            'p' => if tm.hour >= 12 { "PM" } else { "AM" }.to_string(),
            'P' => if tm.hour >= 12 { "pm" } else { "am" }.to_string(),
            'r' => {
                let mut inner = String::new();
                write_format(&mut inner, "%I:%M:%S %p", tm);
                inner
            }
            'R' => {
                let mut inner = String::new();
                write_format(&mut inner, "%H:%M", tm);
                inner
            }
            's' => timegm(tm).to_string(),
            'S' => numeric(tm.sec.into(), 2, '0'),
            't' => "\t".to_string(),
            'T' | 'X' => {
                let mut inner = String::new();
                write_format(&mut inner, "%H:%M:%S", tm);
                inner
            }
            'u' => numeric(if tm.wday == 0 { 7 } else { tm.wday.into() }, 1, '0'),
            'U' => numeric((i64::from(tm.yday) + 7 - i64::from(tm.wday)) / 7, 2, '0'),
            'V' => numeric(iso_week(tm).1, 2, '0'),
            'w' => numeric(tm.wday.into(), 1, '0'),
            'W' => numeric(
                (i64::from(tm.yday) + 7 - (i64::from(tm.wday) + 6).rem_euclid(7)) / 7,
                2,
                '0',
            ),
            'y' => numeric(year.rem_euclid(100), 2, '0'),
            // C adds 1900 to the `int` field in `int`s.
            'Y' => numeric(tm.year.wrapping_add(1900).into(), 1, '0'),
            'z' => "+0000".to_string(),
            'Z' => super::zone::standard_name(),
            '%' => "%".to_string(),
            other => {
                let _ = write!(out, "%{other}");
                continue;
            }
        };
        let text = if upper { text.to_uppercase() } else { text };
        let _ = write!(out, "{text:>width$}", width = width.unwrap_or(0));
    }
}

/// glibc's days before each month: a common year's row, then a leap
/// year's. Its `strptime` reads them as one table, past a row's end.
const MONTH_STARTS: [i32; 26] = [
    0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365, //
    0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366,
];

/// Month and day of the month from the day of the year, where `strptime`
/// read neither, by glibc's walk through [`MONTH_STARTS`]: a common
/// year's day 366 runs on into the leap row and ends at "month" 24, day
/// 31, as jq prints it.
fn place_day(tm: &mut Tm, row: usize, have_mon: bool, have_mday: bool) {
    let mut month = 0;
    while starts(row, month) <= tm.yday {
        month += 1;
    }
    if !have_mon {
        tm.mon = month - 1;
    }
    if !have_mday {
        tm.mday = tm.yday - starts(row, month - 1) + 1;
    }
}

/// Days before `month`, read from `row` of [`MONTH_STARTS`] on as glibc
/// reads them; before the table (month -1 of a common year) jq reads 0.
fn starts(row: usize, month: i32) -> i32 {
    match usize::try_from(row as i64 + i64::from(month)) {
        Ok(index) => MONTH_STARTS.get(index).copied().unwrap_or(i32::MAX),
        Err(_) => 0,
    }
}

/// What `strptime` read so far, as glibc's `strptime` keeps it.
struct Parsed {
    tm: Tm,
    have_wday: bool,
    have_yday: bool,
    have_mon: bool,
    have_mday: bool,
    /// A year, month or day was read: weekday and day of the year follow.
    want_xday: bool,
    /// `%U` (weeks from Sunday) or `%W` (from Monday): the week number,
    /// and whether weeks start on Monday.
    week: Option<(i32, bool)>,
    twelve_hour: bool,
    pm: Option<bool>,
}

/// `input | strptime(format)`, as jq 1.7.1 on glibc: fields nothing set
/// keep jq's markers (weekday 8, day of the year 367), and whitespace
/// left at the end comes back as a ninth item.
pub(super) fn strptime(value: &Val, format: &Val) -> Result<Val, String> {
    let (Val::TStr(input) | Val::BStr(input), Val::TStr(pattern) | Val::BStr(pattern)) =
        (value, format)
    else {
        return Err("strptime/1 requires string inputs and arguments".to_string());
    };
    let (input, pattern) = (
        String::from_utf8_lossy(input),
        String::from_utf8_lossy(pattern),
    );
    let mismatch = || format!("date \"{input}\" does not match format \"{pattern}\"");
    let mut parsed = Parsed {
        tm: Tm {
            wday: 8,
            yday: 367,
            ..Tm::default()
        },
        have_wday: false,
        have_yday: false,
        have_mon: false,
        have_mday: false,
        want_xday: false,
        week: None,
        twelve_hour: false,
        pm: None,
    };
    let rest = read_format(&input, &pattern, &mut parsed).ok_or_else(mismatch)?;
    // jq takes whatever follows the date if it starts with C's `isspace`,
    // and keeps it as a last element.
    if rest
        .bytes()
        .next()
        .is_some_and(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r'))
    {
        return Err(mismatch());
    }
    let tm = &mut parsed.tm;
    if let Some(pm) = parsed.pm.filter(|_| parsed.twelve_hour) {
        tm.hour = tm.hour % 12 + if pm { 12 } else { 0 };
    }
    let year = i64::from(tm.year) + 1900;
    let january_first = days_from_civil(year, 1, 1);
    let row = if is_leap(year) { 13 } else { 0 };
    if parsed.want_xday {
        if !parsed.have_wday {
            if parsed.have_yday && !(parsed.have_mon && parsed.have_mday) {
                place_day(tm, row, parsed.have_mon, parsed.have_mday);
            }
            // glibc counts the weekday with the common year's row and a
            // leap day from March on.
            let leap_day = i64::from(row == 13 && tm.mon >= 2);
            let days =
                january_first + i64::from(starts(0, tm.mon)) + leap_day + i64::from(tm.mday) - 1;
            tm.wday = (days + 4).rem_euclid(7) as i32;
        }
        if !parsed.have_yday {
            tm.yday = starts(row, tm.mon).saturating_add(tm.mday - 1);
        }
    }
    if let (Some((week, monday_first)), true) = (parsed.week, parsed.have_wday) {
        // glibc's week arithmetic: from the weekday of January 1st.
        let offset = i32::from(monday_first);
        let first_wday = (january_first + 4).rem_euclid(7) as i32;
        if !parsed.have_yday {
            tm.yday = (7 - (first_wday - offset)) % 7 + (week - 1) * 7 + (tm.wday - offset + 7) % 7;
        }
        if !(parsed.have_mon && parsed.have_mday) {
            place_day(tm, row, parsed.have_mon, parsed.have_mday);
        }
    }
    let mut items: Vec<Val> = [
        tm.year.wrapping_add(1900),
        tm.mon,
        tm.mday,
        tm.hour,
        tm.min,
        tm.sec,
        tm.wday,
        tm.yday,
    ]
    .into_iter()
    .map(|field| Val::from(field as isize))
    .collect();
    if !rest.is_empty() {
        items.push(Val::from(rest.to_string()));
    }
    Ok(items.into_iter().collect())
}

/// Up to `digits` digits after any spaces, within `range`.
fn read_number(
    input: &str,
    digits: usize,
    range: std::ops::RangeInclusive<i32>,
) -> Option<(i32, &str)> {
    let input = input.trim_start();
    let length = input
        .bytes()
        .take(digits)
        .take_while(u8::is_ascii_digit)
        .count();
    let value: i32 = input.get(..length)?.parse().ok()?;
    range.contains(&value).then_some((value, &input[length..]))
}

/// A name of `names` (in full or its first three letters), any case.
fn read_name<'i>(input: &'i str, names: &[&str]) -> Option<(i32, &'i str)> {
    let input = input.trim_start();
    names.iter().enumerate().find_map(|(index, name)| {
        [name.len(), 3].into_iter().find_map(|length| {
            let candidate = input.get(..length)?;
            candidate
                .eq_ignore_ascii_case(&name[..length])
                .then(|| (index as i32, &input[length..]))
        })
    })
}

/// Reads `input` by `format`; what is left of the input.
fn read_format<'i>(mut input: &'i str, format: &str, parsed: &mut Parsed) -> Option<&'i str> {
    let mut chars = format.chars();
    while let Some(character) = chars.next() {
        if character.is_whitespace() {
            input = input.trim_start();
            continue;
        }
        if character != '%' {
            input = input.strip_prefix(character)?;
            continue;
        }
        let conversion = chars.next()?;
        let composite = match conversion {
            'D' | 'x' => Some("%m/%d/%y"),
            'F' => Some("%Y-%m-%d"),
            'T' | 'X' => Some("%H:%M:%S"),
            'R' => Some("%H:%M"),
            'r' => Some("%I:%M:%S %p"),
            'c' => Some("%a %b %e %H:%M:%S %Y"),
            _ => None,
        };
        if let Some(composite) = composite {
            input = read_format(input, composite, parsed)?;
            continue;
        }
        let tm = &mut parsed.tm;
        input = match conversion {
            '%' => input.strip_prefix('%')?,
            'n' | 't' => input.trim_start(),
            'Y' => {
                let (year, rest) = read_number(input, 4, 0..=9999)?;
                tm.year = year - 1900;
                parsed.want_xday = true;
                rest
            }
            'y' => {
                let (year, rest) = read_number(input, 2, 0..=99)?;
                tm.year = if year >= 69 { year } else { year + 100 };
                parsed.want_xday = true;
                rest
            }
            'm' => {
                let (month, rest) = read_number(input, 2, 1..=12)?;
                tm.mon = month - 1;
                parsed.have_mon = true;
                parsed.want_xday = true;
                rest
            }
            'd' | 'e' => {
                let (day, rest) = read_number(input, 2, 1..=31)?;
                tm.mday = day;
                parsed.have_mday = true;
                parsed.want_xday = true;
                rest
            }
            'j' => {
                let (day, rest) = read_number(input, 3, 1..=366)?;
                tm.yday = day - 1;
                parsed.have_yday = true;
                rest
            }
            'U' | 'W' => {
                let (week, rest) = read_number(input, 2, 0..=53)?;
                parsed.week = Some((week, conversion == 'W'));
                rest
            }
            // Read, but glibc cannot place a date by it.
            'V' => read_number(input, 2, 0..=53)?.1,
            'H' | 'k' => {
                let (hour, rest) = read_number(input, 2, 0..=23)?;
                tm.hour = hour;
                parsed.twelve_hour = false;
                rest
            }
            'I' | 'l' => {
                let (hour, rest) = read_number(input, 2, 1..=12)?;
                tm.hour = hour % 12;
                parsed.twelve_hour = true;
                rest
            }
            'M' => {
                let (minute, rest) = read_number(input, 2, 0..=59)?;
                tm.min = minute;
                rest
            }
            'S' => {
                let (second, rest) = read_number(input, 2, 0..=61)?;
                tm.sec = second;
                rest
            }
            'a' | 'A' => {
                let (day, rest) = read_name(input, &DAYS)?;
                tm.wday = day;
                parsed.have_wday = true;
                rest
            }
            'b' | 'B' | 'h' => {
                let (month, rest) = read_name(input, &MONTHS)?;
                tm.mon = month;
                parsed.have_mon = true;
                parsed.want_xday = true;
                rest
            }
            'w' => {
                let (day, rest) = read_number(input, 1, 0..=6)?;
                tm.wday = day;
                parsed.have_wday = true;
                rest
            }
            'u' => {
                let (day, rest) = read_number(input, 1, 1..=7)?;
                tm.wday = day % 7;
                parsed.have_wday = true;
                rest
            }
            'p' => {
                let (half, rest) =
                    read_name(input, &["AM", "PM"]).or_else(|| read_name(input, &["am", "pm"]))?;
                parsed.pm = Some(half == 1);
                rest
            }
            's' => {
                let input = input.trim_start();
                let length = input.bytes().take_while(u8::is_ascii_digit).count();
                let seconds: i64 = input.get(..length)?.parse().ok()?;
                *tm = gmtime(seconds)?;
                parsed.have_wday = true;
                parsed.have_yday = true;
                &input[length..]
            }
            'z' => {
                let input = input.trim_start();
                match input.strip_prefix('Z') {
                    Some(rest) => rest,
                    None => {
                        let rest = input.strip_prefix(['+', '-'])?;
                        let digits = rest
                            .bytes()
                            .take_while(|byte| byte.is_ascii_digit() || *byte == b':')
                            .count();
                        (2..=5).contains(&digits).then_some(&rest[digits..])?
                    }
                }
            }
            'Z' => input.trim_start_matches(|character: char| character.is_ascii_alphabetic()),
            _ => return None,
        };
    }
    Some(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &Val) -> String {
        super::super::value::compact_text(value)
    }

    fn at(seconds: f64) -> Val {
        Val::from(seconds)
    }

    fn parse(input: &str, format: &str) -> Result<String, String> {
        strptime(
            &Val::from(input.to_string()),
            &Val::from(format.to_string()),
        )
        .map(|value| text(&value))
    }

    /// jq 1.7.1 on glibc: fields a partial format does not set keep jq's
    /// markers, or follow from the date read.
    #[test]
    fn strptime_with_partial_formats_as_jq() {
        assert_eq!(
            parse("10:20", "%H:%M"),
            Ok("[1900,0,0,10,20,0,8,367]".to_string())
        );
        assert_eq!(
            parse("2015 10", "%Y %H"),
            Ok("[2015,0,0,10,0,0,3,-1]".to_string())
        );
        assert_eq!(
            parse("2015 100", "%Y %j"),
            Ok("[2015,3,10,0,0,0,5,99]".to_string())
        );
        // glibc reads its month table past a common year's row.
        assert_eq!(
            parse("1900 366", "%Y %j"),
            Ok("[1900,24,31,0,0,0,2,365]".to_string())
        );
        // A weekday read leaves month and day as they were.
        assert_eq!(
            parse("2015 366 1", "%Y %j %w"),
            Ok("[2015,0,0,0,0,0,1,365]".to_string())
        );
        // Weeks from Sunday or Monday place a date with a weekday, with
        // or without a year; week 0 runs back before January.
        assert_eq!(
            parse("2016 0 0", "%Y %W %w"),
            Ok("[2016,0,3,0,0,0,0,2]".to_string())
        );
        assert_eq!(
            parse("2015 0 0", "%Y %U %w"),
            Ok("[2015,-1,-3,0,0,0,0,-4]".to_string())
        );
        assert_eq!(
            parse("27 0", "%U %w"),
            Ok("[1900,6,8,0,0,0,0,188]".to_string())
        );
        assert_eq!(
            parse("2015 5 3", "%Y %V %w"),
            Ok("[2015,0,0,0,0,0,3,-1]".to_string())
        );
        assert_eq!(
            parse("11 PM", "%I %p"),
            Ok("[1900,0,0,23,0,0,8,367]".to_string())
        );
        assert_eq!(
            parse("2015 ", "%Y"),
            Ok(r#"[2015,0,0,0,0,0,3,-1," "]"#.to_string())
        );
        assert_eq!(
            parse("2015x", "%Y"),
            Err(r#"date "2015x" does not match format "%Y""#.to_string())
        );
        assert_eq!(
            parse("2015-03-05T23:51:47Z", "%Y-%m-%dT%H:%M:%SZ"),
            Ok("[2015,2,5,23,51,47,4,63]".to_string())
        );
    }

    /// `jq -n '1425599507.9 | todate, gmtime'` with jq 1.7.1.
    #[test]
    fn fractional_seconds_as_jq() {
        let format_z = Val::from("%Y-%m-%dT%H:%M:%SZ".to_string());
        let todate = format(&at(1_425_599_507.9), &format_z).expect("formats");
        assert_eq!(text(&todate), r#""2015-03-05T23:51:47Z""#);
        let split_time = split(&at(1_425_599_507.9)).expect("splits");
        assert_eq!(text(&split_time), "[2015,2,5,23,51,47.90000009536743,4,63]");
        let before_epoch = split(&at(-1.5)).expect("splits");
        assert_eq!(text(&before_epoch), "[1969,11,31,23,59,59.5,3,364]");
    }

    /// Years past 9999 and year 0 print as the C library prints them.
    #[test]
    fn any_year_the_c_library_has() {
        let format_z = Val::from("%Y-%m-%dT%H:%M:%SZ".to_string());
        let late = format(&at(253_402_300_800.0), &format_z).expect("formats");
        assert_eq!(text(&late), r#""10000-01-01T00:00:00Z""#);
        let early = format(&at(-62_135_596_801.0), &format_z).expect("formats");
        assert_eq!(text(&early), r#""0-12-31T23:59:59Z""#);
        assert_eq!(
            split(&at(1e20)),
            Err("error converting number of seconds since epoch to datetime".to_string())
        );
    }

    #[test]
    fn mktime_takes_jq_parsed_datetimes() {
        let parsed = |items: &[f64]| items.iter().map(|item| Val::from(*item)).collect::<Val>();
        let seconds = mktime(&parsed(&[2015.0, 2.0, 5.0, 23.0, 51.0, 47.9, 4.0, 63.0]));
        assert_eq!(
            seconds.map(|value| text(&value)),
            Ok("1425599507".to_string())
        );
        assert_eq!(
            mktime(&parsed(&[2015.0, 2.0, 5.0, 1.0, 2.0, 3.0, 4.0])),
            Err("mktime requires parsed datetime inputs".to_string())
        );
        assert_eq!(
            mktime(&at(1.0)),
            Err("mktime requires array inputs".to_string())
        );
        // Fields are formatted as given, not normalized.
        let odd = parsed(&[2015.0, 14.0, 40.0, 30.0, 70.0, 70.0, 0.0, 0.0]);
        let format_z = Val::from("%Y-%m-%dT%H:%M:%SZ".to_string());
        assert_eq!(
            format(&odd, &format_z).map(|value| text(&value)),
            Ok(r#""2015-15-40T30:70:70Z""#.to_string())
        );
    }
}
