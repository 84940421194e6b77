//! VoiceXML event names and how `<catch event="...">` matches them (2.0 §5.2.4).

/// Whether a catch's `event` attribute (space-separated names; empty = every event) matches a thrown event.
///
/// Matching is by prefix on whole dot-separated tokens: `error.badfetch` catches `error.badfetch.http.404` but not
/// `error.badfetchx`; a trailing dot is ignored; `.` alone matches everything.
pub fn catches(event_attr: &str, thrown: &str) -> bool {
    let mut any = false;
    for name in event_attr.split_whitespace() {
        any = true;
        if name == "." {
            return true;
        }
        let name = name.trim_end_matches('.');
        if thrown == name
            || (thrown.starts_with(name) && thrown.as_bytes().get(name.len()) == Some(&b'.'))
        {
            return true;
        }
    }
    !any
}

/// The name a catch's counter is kept under for a thrown event (2.0 §5.2.2: counters are incremented against the
/// full event name and every prefix of it): the longest name of `event_attr` that matches `thrown`, without a
/// trailing dot; the full thrown name for a catch-all (no name, or `.`). `None` when the catch does not match.
pub fn counted_as<'a>(event_attr: &'a str, thrown: &'a str) -> Option<&'a str> {
    let mut best: Option<&str> = None;
    let mut any = false;
    for name in event_attr.split_whitespace() {
        any = true;
        if name == "." {
            return Some(thrown);
        }
        let name = name.trim_end_matches('.');
        if catches(name, thrown) && best.is_none_or(|b| name.len() > b.len()) {
            best = Some(name);
        }
    }
    if any {
        best
    } else {
        Some(thrown)
    }
}

/// The names an occurrence of `thrown` counts for: every dot-separated prefix of it, then the name itself
/// (`a.b.c` counts for `a`, `a.b` and `a.b.c`), 2.0 §5.2.2.
pub fn counted_names(thrown: &str) -> impl Iterator<Item = &str> {
    thrown
        .match_indices('.')
        .map(move |(i, _)| &thrown[..i])
        .filter(|p| !p.is_empty())
        .chain(std::iter::once(thrown))
}

/// The event a catch shorthand element stands for (`<noinput>` = `<catch event="noinput">`).
pub fn shorthand(element: &str) -> Option<&'static str> {
    match element {
        "error" => Some("error"),
        "help" => Some("help"),
        "noinput" => Some("noinput"),
        "nomatch" => Some("nomatch"),
        _ => None,
    }
}

/// Parses a CSS2 time (`5s`, `500ms`, `2.5s`) as used by VoiceXML timeouts (2.0 §6.5).
pub fn parse_time(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    let (num, mul) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    let v: f64 = num.trim().parse().ok()?;
    if v.is_nan() || v < 0.0 || !v.is_finite() {
        return None;
    }
    Some(std::time::Duration::from_micros((v * mul * 1000.0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matching_on_tokens() {
        assert!(catches("error.badfetch", "error.badfetch.http.404"));
        assert!(catches("error", "error.semantic"));
        assert!(catches("error.", "error.semantic"));
        assert!(!catches("error.bad", "error.badfetch"));
        assert!(catches("", "anything"));
        assert!(catches("nomatch noinput", "noinput"));
        assert!(!catches("nomatch", "noinput"));
        assert!(catches(".", "x.y"));
    }

    #[test]
    fn counters_are_kept_per_prefix() {
        assert_eq!(
            counted_names("error.badfetch.http.404").collect::<Vec<_>>(),
            [
                "error",
                "error.badfetch",
                "error.badfetch.http",
                "error.badfetch.http.404"
            ]
        );
        assert_eq!(counted_names("x").collect::<Vec<_>>(), ["x"]);
        assert_eq!(counted_as("error", "error.semantic"), Some("error"));
        assert_eq!(counted_as("error. foo", "error.semantic"), Some("error"));
        assert_eq!(
            counted_as("error error.semantic", "error.semantic"),
            Some("error.semantic")
        );
        assert_eq!(counted_as("", "a.b"), Some("a.b"));
        assert_eq!(counted_as(".", "a.b"), Some("a.b"));
        assert_eq!(counted_as("nomatch", "noinput"), None);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("5s"), Some(std::time::Duration::from_secs(5)));
        assert_eq!(
            parse_time("250ms"),
            Some(std::time::Duration::from_millis(250))
        );
        assert_eq!(
            parse_time("2.5s"),
            Some(std::time::Duration::from_millis(2500))
        );
        assert_eq!(parse_time("5"), None);
        assert_eq!(parse_time("-1s"), None);
    }
}
