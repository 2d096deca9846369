//! Input rules of rules.md; each break is BAD_USER_INPUT with `field` set.

use std::sync::OnceLock;

use regex::Regex;

use crate::error::{AppError, AppResult};

pub const MAX_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 1_000;
pub const MAX_EMAIL: usize = 254;
pub const MAX_LINK: usize = 2_048;
pub const MAX_BULK: usize = 1_000;

fn handle_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-z][a-z0-9-]{0,38}$").expect("valid regex"))
}

fn sa_name_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-z0-9_-]{1,64}$").expect("valid regex"))
}

pub fn handle(field: &str, v: &str) -> AppResult<String> {
    if handle_re().is_match(v) {
        Ok(v.to_string())
    } else {
        Err(AppError::bad_input(
            &[field],
            "handle must be 1-39 chars of a-z, 0-9 and '-', starting with a letter",
        ))
    }
}

pub fn service_account_name(field: &str, v: &str) -> AppResult<String> {
    if sa_name_re().is_match(v) {
        Ok(v.to_string())
    } else {
        Err(AppError::bad_input(
            &[field],
            "name must be 1-64 chars of a-z, 0-9, '-' and '_'",
        ))
    }
}

/// Trimmed, lower-cased, a plausible address, at most 254 chars.
pub fn email(field: &str, v: &str) -> AppResult<String> {
    let e = v.trim().to_lowercase();
    let bad = || AppError::bad_input(&[field], "not a valid email address");
    if e.is_empty() || e.chars().count() > MAX_EMAIL {
        return Err(bad());
    }
    let (local, domain) = e.rsplit_once('@').ok_or_else(bad)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(e)
    } else {
        Err(bad())
    }
}

/// Control characters (Unicode Cc) are refused everywhere: they reach mail
/// headers and bodies, logs and terminals. A multi-line field keeps tab, LF
/// and CR; a single-line field (every name, a subject) keeps none of them
/// and refuses the Unicode line and paragraph separators too, and the
/// bidirectional embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069), which make a name display as something else in a mail
/// or a console ("Trojan Source"). Other format characters stay: zero-width
/// joiners build emoji and Indic and Persian words, marks (LRM/RLM) order
/// mixed-direction names.
fn forbidden_char(c: char, single_line: bool) -> bool {
    if single_line {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    } else {
        c.is_control() && !matches!(c, '\t' | '\n' | '\r')
    }
}

fn checked(field: &str, v: &str, max: usize, single_line: bool) -> AppResult<String> {
    if v.chars().count() > max {
        return Err(AppError::bad_input(
            &[field],
            format!("at most {max} characters"),
        ));
    }
    if v.chars().any(|c| forbidden_char(c, single_line)) {
        return Err(AppError::bad_input(
            &[field],
            if single_line {
                "must be one line without control characters"
            } else {
                "must not contain control characters other than tab and line breaks"
            },
        ));
    }
    Ok(v.to_string())
}

/// Multi-line text (descriptions, message bodies): tab, LF and CR allowed.
pub fn text(field: &str, v: &str, max: usize) -> AppResult<String> {
    checked(field, v, max, false)
}

/// One line of text (names, subjects): no control characters at all.
pub fn line(field: &str, v: &str, max: usize) -> AppResult<String> {
    checked(field, v, max, true)
}

/// Names and display names: 1..=100 chars after trimming, one line.
pub fn required_name(field: &str, v: &str) -> AppResult<String> {
    let t = v.trim();
    if t.is_empty() {
        return Err(AppError::bad_input(&[field], "must not be empty"));
    }
    line(field, t, MAX_NAME)
}

/// An optional name (first/last name, a token's name): at most 100 chars
/// after trimming, one line; empty is none.
pub fn optional_name(field: &str, v: Option<&str>) -> AppResult<Option<String>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => line(field, t, MAX_NAME).map(Some),
    }
}

/// Optional multi-line text (a description).
pub fn optional_text(field: &str, v: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => text(field, t, max).map(Some),
    }
}

pub fn optional_email(field: &str, v: Option<&str>) -> AppResult<Option<String>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => email(field, t).map(Some),
    }
}

/// Links must be absolute http(s) URLs (at most 2,048 chars).
pub fn optional_link(field: &str, v: Option<&str>) -> AppResult<Option<String>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => {
            let t = line(field, t, MAX_LINK)?;
            let ok = (t.starts_with("https://") || t.starts_with("http://"))
                && t.len() > "https://".len()
                && !t.chars().any(char::is_whitespace);
            if ok {
                Ok(Some(t))
            } else {
                Err(AppError::bad_input(&[field], "must be an http(s) URL"))
            }
        }
    }
}

pub fn password(field: &str, v: &str) -> AppResult<()> {
    let n = v.chars().count();
    if (10..=256).contains(&n) {
        Ok(())
    } else {
        Err(AppError::bad_input(
            &[field],
            "password must be 10 to 256 characters",
        ))
    }
}

pub fn bulk_len(field: &str, n: usize) -> AppResult<()> {
    if n > MAX_BULK {
        Err(AppError::bad_input(
            &[field],
            format!("at most {MAX_BULK} items"),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("e", "  Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "", "a", "a@b", "@b.c", "a@.c", "a b@c.d", "a@b..c", "a@-b.c",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(63));
        assert!(email("e", &long).is_ok());
    }

    #[test]
    fn control_characters() {
        for bad in [
            "a\rb",
            "a\nb",
            "a\tb",
            "a\u{7}b",
            "a\u{85}b",
            "a\u{2028}b",
            "a\0b",
            "invoice\u{202E}fdp.exe",
            "a\u{2066}b\u{2069}",
        ] {
            assert!(required_name("n", bad).is_err(), "{bad:?}");
        }
        assert!(required_name("n", "Zoë Ångström-O'Neil").is_ok());
        assert!(required_name("n", "family \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}").is_ok());
        assert!(text("b", "line one\r\nline two\tend", 100).is_ok());
        for bad in ["a\u{1b}[31m", "a\u{7f}", "a\0"] {
            assert!(text("b", bad, 100).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn handles() {
        assert!(handle("h", "a").is_ok());
        assert!(handle("h", &format!("a{}", "b".repeat(38))).is_ok());
        assert!(handle("h", &format!("a{}", "b".repeat(39))).is_err());
        assert!(handle("h", "1abc").is_err());
        assert!(handle("h", "Abc").is_err());
    }
}
