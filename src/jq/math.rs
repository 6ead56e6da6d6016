//! jq 1.7.1's math builtins, with its C library's rules.
//!
//! jq calls the C library's function of the same name on doubles and
//! refuses anything else as "X number required", in `try` as in the
//! error line; jaq's natives say "cannot use X as number". Where the C
//! library's answer differs from the obvious one, it is taken here:
//! `gamma` is `lgamma`, `nearbyint` and `rint` round halves to even, an
//! integer argument (`ldexp`, `jn`) is the double cast to `int` (on x86
//! anything out of range or NaN becomes `INT_MIN`), and `logb`,
//! `significand`, `frexp`, `modf`, `fmin`/`fmax` keep glibc's zeros,
//! infinities and NaNs. Rust's float methods call the same C library on
//! this target where they exist; the rest come from `libm`, which may
//! differ from glibc in a last digit.

use super::value::{describe, Value};
use super::{Data, Val};
use jaq_core::native::{bome, run, v, Fun};
use jaq_core::{Cv, Error, RunPtr, ValXs};

type Native = (&'static str, Box<[jaq_core::Bind]>, RunPtr<Data>);

/// jaq's jq-defined math builtins, which would shadow the natives below
/// (a definition wins over a native) and are dropped from the prelude.
pub(super) const REPLACED: &[(&str, usize)] = &[
    ("logb", 0),
    ("significand", 0),
    ("pow10", 0),
    ("drem", 2),
    ("scalb", 2),
    ("gamma", 0),
];

/// The input, or the value argument, as a double, or jq's refusal.
fn number(value: &Value) -> Result<f64, Error<Value>> {
    match &value.0 {
        Val::Num(_) => Ok(Val::as_f64(&value.0).unwrap_or(f64::NAN)),
        other => Err(Error::new(Value(Val::from(format!(
            "{} number required",
            describe(other)
        ))))),
    }
}

/// C's `(int)` of a double as x86 computes it (`cvttsd2si`, on the
/// machines jq runs on): truncated toward zero, and `INT_MIN` for NaN and
/// whatever does not fit once truncated.
pub(super) fn c_int(value: f64) -> i32 {
    if value.is_nan() || value <= -2_147_483_649.0 || value >= 2_147_483_648.0 {
        i32::MIN
    } else {
        value as i32
    }
}

fn unary(cv: Cv<'_, Data>, f: fn(f64) -> f64) -> ValXs<'_, Value> {
    bome(number(&cv.1).map(|x| Value::from(f(x))))
}

/// `name(a; b)`: jq checks the first argument, then the second, and
/// ignores the input.
fn binary(mut cv: Cv<'_, Data>, f: fn(f64, f64) -> f64) -> ValXs<'_, Value> {
    let b = cv.0.pop_var();
    let a = cv.0.pop_var();
    bome(number(&a).and_then(|a| Ok(Value::from(f(a, number(&b)?)))))
}

/// A unary function whose result is a pair (`frexp`, `modf`, `lgamma_r`).
fn pair(cv: Cv<'_, Data>, f: fn(f64) -> (f64, f64)) -> ValXs<'_, Value> {
    bome(number(&cv.1).map(|x| {
        let (first, second) = f(x);
        [first, second].into_iter().map(Value::from).collect()
    }))
}

fn logb(x: f64) -> f64 {
    if x == 0.0 {
        f64::NEG_INFINITY
    } else if !x.is_finite() {
        x.abs()
    } else {
        f64::from(libm::ilogb(x))
    }
}

fn significand(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        x
    } else {
        libm::scalbn(x, -libm::ilogb(x))
    }
}

fn frexp(x: f64) -> (f64, f64) {
    if !x.is_finite() {
        return (x, 0.0);
    }
    let (mantissa, exponent) = libm::frexp(x);
    (mantissa, f64::from(exponent))
}

/// `[fraction, integer part]`, the fraction of an infinity a signed zero.
fn modf(x: f64) -> (f64, f64) {
    if x.is_infinite() {
        return (0.0f64.copysign(x), x);
    }
    let integer = x.trunc();
    ((x - integer).copysign(x), integer)
}

/// `[lgamma, sign of gamma]`; glibc's sign of a pole is that of the zero
/// or +1.
fn lgamma_r(x: f64) -> (f64, f64) {
    let (value, sign) = libm::lgamma_r(x);
    let sign = if x == 0.0 && x.is_sign_negative() {
        -1
    } else if x <= 0.0 && x == x.floor() {
        1
    } else {
        sign
    };
    (value, f64::from(sign))
}

/// glibc's `scalb`: a fractional exponent is NaN, an infinite one
/// scales to infinity or zero (and `0 * inf` is NaN).
fn scalb(x: f64, exponent: f64) -> f64 {
    if x.is_nan() || exponent.is_nan() {
        f64::NAN
    } else if exponent.is_infinite() {
        match (exponent > 0.0, x == 0.0) {
            (true, true) => f64::NAN,
            (true, false) => x * f64::INFINITY,
            (false, _) if x.is_infinite() => f64::NAN,
            (false, _) => x * 0.0,
        }
    } else if exponent != exponent.trunc() {
        f64::NAN
    } else {
        libm::scalbn(x, exponent.clamp(-65536.0, 65536.0) as i32)
    }
}

/// glibc's `fmax` and `fmin` on x86: the first argument unless the second
/// is strictly beyond it (so `fmax(-0; 0)` is -0), NaN losing to a number.
fn fmax(x: f64, y: f64) -> f64 {
    if x.is_nan() || y > x {
        y
    } else {
        x
    }
}

fn fmin(x: f64, y: f64) -> f64 {
    if x.is_nan() || y < x {
        y
    } else {
        x
    }
}

/// jq 1.7.1's math natives (ours come before jaq's, so these win;
/// `floor`, `ceil` and `round` are compat.rs's, which keep integers).
pub(super) fn natives() -> Vec<Fun<Data>> {
    macro_rules! unary {
        ($($name:literal => $f:expr),* $(,)?) => {
            [$(($name, v(0), (|cv| unary(cv, $f)) as RunPtr<Data>)),*]
        };
    }
    macro_rules! binary {
        ($($name:literal => $f:expr),* $(,)?) => {
            [$(($name, v(2), (|cv| binary(cv, $f)) as RunPtr<Data>)),*]
        };
    }
    let unaries: [Native; 37] = unary![
        "acos" => f64::acos, "acosh" => libm::acosh, "asin" => f64::asin,
        "asinh" => libm::asinh, "atan" => f64::atan, "atanh" => libm::atanh,
        "cbrt" => f64::cbrt, "cos" => f64::cos, "cosh" => f64::cosh,
        "erf" => libm::erf, "erfc" => libm::erfc, "exp" => f64::exp,
        "exp10" => libm::exp10, "exp2" => f64::exp2, "expm1" => f64::exp_m1,
        "fabs" => f64::abs, "gamma" => libm::lgamma, "j0" => libm::j0,
        "j1" => libm::j1, "lgamma" => libm::lgamma, "log" => f64::ln,
        "log10" => f64::log10, "log1p" => f64::ln_1p, "log2" => f64::log2,
        "logb" => logb, "nearbyint" => f64::round_ties_even,
        "rint" => f64::round_ties_even, "significand" => significand,
        "sin" => f64::sin, "sinh" => f64::sinh, "sqrt" => f64::sqrt,
        "tan" => f64::tan, "tanh" => f64::tanh, "tgamma" => libm::tgamma,
        "trunc" => f64::trunc, "y0" => libm::y0, "y1" => libm::y1,
    ];
    let binaries: [Native; 14] = binary![
        "atan2" => f64::atan2, "copysign" => f64::copysign,
        "drem" => libm::remainder, "fdim" => libm::fdim, "fmax" => fmax,
        "fmin" => fmin, "fmod" => |x, y| x % y, "hypot" => f64::hypot,
        "nextafter" => libm::nextafter, "pow" => f64::powf,
        "remainder" => libm::remainder, "scalb" => scalb,
        "ldexp" => |x, n| libm::scalbn(x, c_int(n)),
        "scalbln" => |x, n| libm::scalbn(x, c_int(n)),
    ];
    let others: [Native; 7] = [
        ("frexp", v(0), |cv| pair(cv, frexp)),
        ("modf", v(0), |cv| pair(cv, modf)),
        ("lgamma_r", v(0), |cv| pair(cv, lgamma_r)),
        ("jn", v(2), |cv| binary(cv, |n, x| libm::jn(c_int(n), x))),
        ("yn", v(2), |cv| binary(cv, |n, x| libm::yn(c_int(n), x))),
        ("fma", v(3), |mut cv| {
            let c = cv.0.pop_var();
            let b = cv.0.pop_var();
            let a = cv.0.pop_var();
            let fused = || Ok(Value::from(number(&a)?.mul_add(number(&b)?, number(&c)?)));
            bome(fused())
        }),
        // jq 1.7.1 built against a C library without `pow10`.
        ("pow10", v(0), |_| {
            let message = "Error: pow10/0 not found at build time";
            bome(Err(Error::new(Value(Val::from(message.to_string())))))
        }),
    ];
    unaries
        .into_iter()
        .chain(binaries)
        .chain(others)
        .map(run::<Data>)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_library_s_edges() {
        assert_eq!(c_int(1e10), i32::MIN);
        assert_eq!(c_int(f64::NAN), i32::MIN);
        assert_eq!(c_int(-2.7), -2);
        assert_eq!(logb(0.0), f64::NEG_INFINITY);
        assert_eq!(logb(5e-324), -1074.0);
        assert!(significand(-0.0).is_sign_negative());
        assert_eq!(significand(-0.75), -1.5);
        assert_eq!(frexp(f64::INFINITY), (f64::INFINITY, 0.0));
        assert_eq!(modf(-2.5), (-0.5, -2.0));
        assert!(modf(f64::NEG_INFINITY).0.is_sign_negative());
        assert_eq!(lgamma_r(-0.0).1, -1.0);
        assert_eq!(lgamma_r(-1.0).1, 1.0);
        assert_eq!(lgamma_r(-2.5).1, -1.0);
        assert!(scalb(1.0, 2.5).is_nan());
        assert_eq!(scalb(3.0, 2.0), 12.0);
        assert!(fmax(-0.0, 0.0).is_sign_negative());
        assert!(!fmin(0.0, -0.0).is_sign_negative());
        assert_eq!(fmax(f64::NAN, 1.0), 1.0);
    }
}
