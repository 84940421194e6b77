//! The builtin grammar types of VoiceXML 2.0 Appendix P, DTMF mode.
//!
//! Each type is a small token structure (so it composes with SRGS `<ruleref uri="builtin:...">`, answers
//! partial/complete like any grammar, and can be extended by more digits) plus a function turning the matched keys
//! into the value Appendix P prescribes. The value function may still reject an input the structure accepted
//! (29 February of a common year).

use serde_json::Value;

use super::ast::Expansion;
use super::{GrammarError, Mode};

/// The builtin types (VoiceXML 2.0 Appendix P).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    /// 1 = true, 2 = false (or the `y`/`n` parameters); the value is an ECMAScript boolean.
    Boolean,
    /// `yyyymmdd`.
    Date,
    /// One or more digits; `minlength`, `maxlength`, `length`.
    Digits,
    /// Digits with `*` as the decimal point; the value is `mm.nn` (no currency code can be given by DTMF).
    Currency,
    /// Digits with `*` as the decimal point; the value is the number as a string.
    Number,
    /// Digits with `*` for "extension"; the value uses `x` for it (`8005551212x1234`).
    Phone,
    /// `hhmm`, 24-hour; the value is `hhmmh` or, for hours 01-12 that could be AM or PM, `hhmm?`.
    Time,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Digits => "digits",
            Kind::Currency => "currency",
            Kind::Number => "number",
            Kind::Phone => "phone",
            Kind::Time => "time",
        }
    }
}

/// A builtin type with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Builtin {
    pub kind: Kind,
    /// Digits: fewest digits accepted.
    min: u32,
    /// Digits: most digits accepted (`None`: no limit).
    max: Option<u32>,
    /// Boolean: the key sequence for true.
    yes: String,
    /// Boolean: the key sequence for false.
    no: String,
}

fn bad(spec: &str, what: impl std::fmt::Display) -> GrammarError {
    GrammarError::new(spec, what.to_string())
}

fn is_dtmf_key(c: char) -> bool {
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')
}

impl Builtin {
    /// Parses `digits`, `digits?minlength=2;maxlength=5`, `builtin:dtmf/digits?length=4`, `builtin:grammar/boolean`,
    /// `builtin:voice/number`... and returns the type and the mode the URI asks for.
    pub fn parse(spec: &str) -> Result<(Builtin, Mode), GrammarError> {
        let trimmed = spec.trim();
        let (mode, rest) = if let Some(rest) = trimmed.strip_prefix("builtin:") {
            if let Some(r) = rest.strip_prefix("dtmf/") {
                (Mode::Dtmf, r)
            } else if let Some(r) = rest.strip_prefix("voice/") {
                (Mode::Voice, r)
            } else if let Some(r) = rest.strip_prefix("grammar/") {
                (Mode::Dtmf, r)
            } else {
                (Mode::Dtmf, rest)
            }
        } else {
            (Mode::Dtmf, trimmed)
        };
        let (name, params) = match rest.split_once('?') {
            Some((n, p)) => (n, p),
            None => (rest, ""),
        };
        let kind = match name {
            "boolean" => Kind::Boolean,
            "date" => Kind::Date,
            "digits" => Kind::Digits,
            "currency" => Kind::Currency,
            "number" => Kind::Number,
            "phone" => Kind::Phone,
            "time" => Kind::Time,
            other => return Err(bad(spec, format!("unknown builtin type {other:?}"))),
        };
        let mut b = Builtin {
            kind,
            min: 1,
            max: None,
            yes: "1".into(),
            no: "2".into(),
        };
        let (mut minlength, mut maxlength, mut length) = (None, None, None);
        for param in params.split([';', '&']).filter(|p| !p.trim().is_empty()) {
            let (key, value) = param
                .split_once('=')
                .ok_or_else(|| bad(spec, format!("parameter {param:?} has no value")))?;
            let (key, value) = (key.trim(), value.trim());
            let number = || {
                value.parse::<u32>().map_err(|_| {
                    bad(
                        spec,
                        format!("parameter {key} must be a non-negative integer, got {value:?}"),
                    )
                })
            };
            match (kind, key) {
                (Kind::Digits, "minlength") => minlength = Some(number()?),
                (Kind::Digits, "maxlength") => maxlength = Some(number()?),
                (Kind::Digits, "length") => length = Some(number()?),
                (Kind::Boolean, "y") | (Kind::Boolean, "n") => {
                    let keys: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                    if keys.is_empty() || !keys.chars().all(is_dtmf_key) {
                        return Err(bad(
                            spec,
                            format!("parameter {key} must be dtmf keys, got {value:?}"),
                        ));
                    }
                    if key == "y" {
                        b.yes = keys;
                    } else {
                        b.no = keys;
                    }
                }
                _ => {
                    return Err(bad(
                        spec,
                        format!("unknown parameter {key:?} for builtin {}", kind.name()),
                    ))
                }
            }
        }
        if kind == Kind::Boolean && b.yes == b.no {
            return Err(bad(spec, format!("y and n are both {:?}", b.yes)));
        }
        if let Some(len) = length {
            if minlength.is_some() || maxlength.is_some() {
                return Err(bad(
                    spec,
                    "length cannot be combined with minlength/maxlength",
                ));
            }
            minlength = Some(len);
            maxlength = Some(len);
        }
        if kind == Kind::Digits {
            b.min = minlength.unwrap_or(1);
            b.max = maxlength;
            if let Some(max) = b.max {
                if max < b.min {
                    return Err(bad(
                        spec,
                        format!("maxlength {max} is below minlength {}", b.min),
                    ));
                }
                if max == 0 {
                    return Err(bad(spec, "maxlength 0 accepts no input"));
                }
                if max > 1000 {
                    return Err(bad(spec, format!("maxlength {max} is above 1000")));
                }
            }
            if b.min > 1000 {
                return Err(bad(spec, format!("minlength {} is above 1000", b.min)));
            }
        }
        Ok((b, mode))
    }

    /// A short name for messages and SISR `rules.<name>`.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The token structure the type accepts.
    pub fn expansion(&self) -> Expansion {
        let tok = |s: &str| Expansion::Token(s.to_string());
        let keys =
            |s: &str| Expansion::Seq(s.chars().map(|c| Expansion::Token(c.to_string())).collect());
        let one_of =
            |set: &str| Expansion::OneOf(set.chars().map(|c| tok(&c.to_string())).collect());
        let digit = || one_of("0123456789");
        let digits_plus = || Expansion::Repeat {
            body: Box::new(digit()),
            min: 1,
            max: None,
        };
        let repeat = |e: Expansion, n: u32| Expansion::Seq((0..n).map(|_| e.clone()).collect());
        match self.kind {
            Kind::Boolean => Expansion::OneOf(vec![keys(&self.yes), keys(&self.no)]),
            Kind::Digits => Expansion::Repeat {
                body: Box::new(digit()),
                min: self.min,
                max: self.max,
            },
            Kind::Phone => Expansion::Seq(vec![
                digits_plus(),
                Expansion::Repeat {
                    body: Box::new(Expansion::Seq(vec![tok("*"), digits_plus()])),
                    min: 0,
                    max: Some(1),
                },
            ]),
            // `12`, `12*5`, and `*5` (a fraction without its leading zero).
            Kind::Number | Kind::Currency => Expansion::OneOf(vec![
                Expansion::Seq(vec![
                    digits_plus(),
                    Expansion::Repeat {
                        body: Box::new(Expansion::Seq(vec![tok("*"), digits_plus()])),
                        min: 0,
                        max: Some(1),
                    },
                ]),
                Expansion::Seq(vec![tok("*"), digits_plus()]),
            ]),
            Kind::Date => {
                let d01_09 = Expansion::Seq(vec![tok("0"), one_of("123456789")]);
                let d10_29 = Expansion::Seq(vec![one_of("12"), digit()]);
                let days = |last: &str| {
                    let mut alts = vec![d01_09.clone(), d10_29.clone()];
                    match last {
                        "31" => alts.extend([keys("30"), keys("31")]),
                        "30" => alts.push(keys("30")),
                        _ => {}
                    }
                    Expansion::OneOf(alts)
                };
                let months =
                    |list: &[&str]| Expansion::OneOf(list.iter().map(|m| keys(m)).collect());
                Expansion::Seq(vec![
                    repeat(digit(), 4),
                    Expansion::OneOf(vec![
                        Expansion::Seq(vec![
                            months(&["01", "03", "05", "07", "08", "10", "12"]),
                            days("31"),
                        ]),
                        Expansion::Seq(vec![months(&["04", "06", "09", "11"]), days("30")]),
                        Expansion::Seq(vec![keys("02"), days("29")]),
                    ]),
                ])
            }
            Kind::Time => Expansion::Seq(vec![
                Expansion::OneOf(vec![
                    Expansion::Seq(vec![one_of("01"), digit()]),
                    Expansion::Seq(vec![tok("2"), one_of("0123")]),
                ]),
                one_of("012345"),
                digit(),
            ]),
        }
    }

    /// The Appendix P value of the keys `keys` (already accepted by [`Builtin::expansion`]); `None` rejects them.
    pub fn value(&self, keys: &str) -> Option<Value> {
        match self.kind {
            Kind::Boolean => {
                if keys == self.yes {
                    Some(Value::Bool(true))
                } else if keys == self.no {
                    Some(Value::Bool(false))
                } else {
                    None
                }
            }
            Kind::Digits => Some(Value::String(keys.to_string())),
            Kind::Currency => {
                let v = keys.replace('*', ".");
                Some(Value::String(if v.starts_with('.') {
                    format!("0{v}")
                } else {
                    v
                }))
            }
            // Appendix P, number: "the result must not use a leading zero (which would cause ECMAScript to
            // interpret it as an octal number)": `007` is `7`, `00*5` is `0.5`, `0` stays `0`.
            Kind::Number => {
                let (int, frac) = match keys.split_once('*') {
                    Some((i, f)) => (i, Some(f)),
                    None => (keys, None),
                };
                let int = int.trim_start_matches('0');
                let int = if int.is_empty() { "0" } else { int };
                Some(Value::String(match frac {
                    Some(f) => format!("{int}.{f}"),
                    None => int.to_string(),
                }))
            }
            Kind::Phone => Some(Value::String(keys.replace('*', "x"))),
            Kind::Date => {
                let year: u32 = keys.get(0..4)?.parse().ok()?;
                let month = keys.get(4..6)?;
                let day = keys.get(6..8)?;
                let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100))
                    || year.is_multiple_of(400);
                if month == "02" && day == "29" && !leap {
                    return None;
                }
                Some(Value::String(keys.to_string()))
            }
            Kind::Time => {
                let hour: u32 = keys.get(0..2)?.parse().ok()?;
                let suffix = if (1..=12).contains(&hour) { '?' } else { 'h' };
                Some(Value::String(format!("{keys}{suffix}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uri_forms_and_parameters() {
        let (b, mode) = Builtin::parse("builtin:dtmf/digits?length=4").unwrap();
        assert_eq!(
            (b.kind, b.min, b.max, mode),
            (Kind::Digits, 4, Some(4), Mode::Dtmf)
        );
        let (b, _) = Builtin::parse("digits?minlength=2;maxlength=5").unwrap();
        assert_eq!((b.min, b.max), (2, Some(5)));
        let (b, _) = Builtin::parse("boolean?y=7;n=9").unwrap();
        assert_eq!((b.yes.as_str(), b.no.as_str()), ("7", "9"));
        let (_, mode) = Builtin::parse("builtin:voice/number").unwrap();
        assert_eq!(mode, Mode::Voice);
    }

    #[test]
    fn rejects_bad_specs_naming_the_value() {
        for (spec, needle) in [
            ("builtin:doesnotexist", "doesnotexist"),
            ("digits?minlength=x", "\"x\""),
            ("digits?minlength=5;maxlength=2", "maxlength 2"),
            ("digits?length=3;minlength=1", "length"),
            ("boolean?y=1;n=1", "\"1\""),
            ("boolean?y=yes", "\"yes\""),
            ("date?length=3", "length"),
        ] {
            let err = Builtin::parse(spec).unwrap_err();
            assert!(err.to_string().contains(needle), "{spec}: {err}");
        }
    }

    #[test]
    fn values_follow_appendix_p() {
        let v = |spec: &str, keys: &str| Builtin::parse(spec).unwrap().0.value(keys);
        assert_eq!(v("boolean", "1"), Some(Value::Bool(true)));
        assert_eq!(v("boolean", "2"), Some(Value::Bool(false)));
        assert_eq!(v("currency", "12*50"), Some(Value::from("12.50")));
        assert_eq!(v("number", "3*14"), Some(Value::from("3.14")));
        assert_eq!(v("number", "*5"), Some(Value::from("0.5")));
        assert_eq!(v("number", "007"), Some(Value::from("7")));
        assert_eq!(v("number", "00*25"), Some(Value::from("0.25")));
        assert_eq!(v("number", "0"), Some(Value::from("0")));
        assert_eq!(v("number", "100"), Some(Value::from("100")));
        assert_eq!(
            v("phone", "8005551212*1234"),
            Some(Value::from("8005551212x1234"))
        );
        assert_eq!(v("time", "1430"), Some(Value::from("1430h")));
        assert_eq!(v("time", "0230"), Some(Value::from("0230?")));
        assert_eq!(v("time", "0005"), Some(Value::from("0005h")));
        assert_eq!(v("date", "20240229"), Some(Value::from("20240229")));
        assert_eq!(v("date", "20230229"), None);
        assert_eq!(v("date", "20000229"), Some(Value::from("20000229")));
        assert_eq!(v("date", "19000229"), None);
    }
}
