//! Validated values: parse, don't validate. Each `parse` names the input
//! field it blames, so a client learns which argument was wrong before
//! anything reaches SQL.
//!
//! (Long only with its unit tests, at the end.)

use email_address::{EmailAddress, Options};
use icu_normalizer::ComposingNormalizerBorrowed;

use crate::error::AppError;
// The characters that make text read as something else: one rule, kept
// with the mail renderer that strips them from emails.
use crate::mail::render::is_deceptive_at;

/// One line a person typed (a name, a label): trimmed, in NFC, non-empty,
/// bounded, free of line breaks, control characters and the characters
/// that make text read as something else ([`is_deceptive_at`]: a zero-width
/// joiner or non-joiner only where a script or an emoji needs it).
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not be empty"),
        ));
    }
    optional_text(field, value, max_chars).map(|v| v.unwrap_or_default())
}

/// Like [`text`], but empty means "none".
pub fn optional_text(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<Option<String>, AppError> {
    checked(field, value, max_chars, false)
}

/// Like [`optional_text`], but lines may break: for prose such as a
/// description or a reason, where `\n` and `\t` are kept.
pub fn prose(field: &str, value: &str, max_chars: usize) -> Result<Option<String>, AppError> {
    checked(field, value, max_chars, true)
}

/// Why `chars[i]` may not stand where it does, if it may not.
fn refusal(chars: &[char], i: usize, multiline: bool) -> Option<&'static str> {
    match chars[i] {
        '\n' | '\t' if multiline => None,
        '\n' | '\r' => Some("must be a single line"),
        c if c.is_control() => Some("contains control characters"),
        _ if is_deceptive_at(chars, i) => Some("contains invisible or text-direction characters"),
        _ => None,
    }
}

fn checked(
    field: &str,
    value: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<Option<String>, AppError> {
    // NFC (UAX #15) before anything else: "é" typed as e + U+0301 is
    // stored, counted and compared as the one character "é", and the
    // joiner rules read text in NFC, as RFC 5892 does.
    let value = ComposingNormalizerBorrowed::new_nfc().normalize(value.trim());
    let chars: Vec<char> = value.chars().collect();
    if let Some(why) = (0..chars.len()).find_map(|i| refusal(&chars, i, multiline)) {
        return Err(AppError::bad_input(field, format!("{field} {why}")));
    }
    if chars.len() > max_chars {
        return Err(AppError::bad_input(
            field,
            format!("{field} is longer than {max_chars} characters"),
        ));
    }
    Ok((!value.is_empty()).then(|| value.into_owned()))
}

/// A search string: optional, bounded, no control characters.
pub fn search(field: &str, value: Option<&str>) -> Result<Option<String>, AppError> {
    match value {
        Some(v) => optional_text(field, v, 200),
        None => Ok(None),
    }
}

/// A lower-cased email address: an RFC 5322 addr-spec (as `email_address`
/// reads it, the crate lettre checks recipients with) whose domain has a
/// dot; no display name, no `[IP]` domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> Result<Self, AppError> {
        let value = text(field, value, 254)?.to_lowercase();
        let options = Options::default()
            .with_required_tld()
            .without_display_text()
            .without_domain_literal();
        match EmailAddress::parse_with_options(&value, options) {
            Ok(_) => Ok(Self(value)),
            Err(_) => Err(AppError::bad_input(field, "not a valid email address")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A URL-safe identifier: lower-case letters, digits and single hyphens,
/// 2 to 48 characters, starting and ending with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 48;

    pub fn parse(field: &str, value: &str) -> Result<Self, AppError> {
        let valid = (2..=Self::MAX_LEN).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !value.starts_with('-')
            && !value.ends_with('-')
            && !value.contains("--");
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(AppError::bad_input(
                field,
                "a slug is 2 to 48 lower-case letters, digits and single hyphens",
            ))
        }
    }

    /// Derives a slug from a name: ASCII letters and digits kept, everything
    /// else folded into single hyphens. `None` when too little is left.
    pub fn derive(name: &str) -> Option<Self> {
        let mut slug = String::new();
        for c in name.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.len() >= Self::MAX_LEN - 5 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-').to_owned();
        (slug.len() >= 2).then_some(Self(slug))
    }

    /// [`Slug::derive`], or `fallback` (a valid slug, written in the code)
    /// when the name holds too little to derive one.
    pub fn derive_or(name: &str, fallback: &'static str) -> Self {
        Self::derive(name).unwrap_or_else(|| Self(fallback.to_owned()))
    }

    /// This slug if it is free, else the first free of `slug-2`,
    /// `slug-3`, …, given the taken ones (the caller reads those matching
    /// `slug` and `slug-%` in one query).
    pub fn first_free(self, taken: &std::collections::HashSet<String>) -> Self {
        if !taken.contains(&self.0) {
            return self;
        }
        // `taken` is finite, so one of its first `len + 1` suffixes is free.
        let mut n = 2;
        loop {
            let candidate = format!("{}-{n}", self.0);
            if !taken.contains(&candidate) {
                return Self(candidate);
            }
            n += 1;
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A DNS domain such as `example.com`, lower-cased.
pub fn domain(field: &str, value: &str) -> Result<Option<String>, AppError> {
    let Some(value) = optional_text(field, value, 253)? else {
        return Ok(None);
    };
    let value = value.to_lowercase();
    let valid = value.contains('.')
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(Some(value))
    } else {
        Err(AppError::bad_input(field, "not a valid domain name"))
    }
}

/// An absolute http(s) URL without credentials, kept as the WHATWG URL
/// parser serializes it, so what is stored is what a browser would open.
pub fn url(field: &str, value: &str) -> Result<Option<String>, AppError> {
    let Some(value) = optional_text(field, value, 2048)? else {
        return Ok(None);
    };
    match url::Url::parse(&value) {
        // Credentials in a public profile URL would be shown to everyone
        // (and `https://bank.example@evil.example` misleads the reader).
        Ok(parsed)
            if matches!(parsed.scheme(), "http" | "https")
                && parsed.username().is_empty()
                && parsed.password().is_none() =>
        {
            Ok(Some(parsed.into()))
        }
        _ => Err(AppError::bad_input(field, "not an absolute http(s) URL")),
    }
}

/// The shortest and longest password accepted, in characters. NIST SP
/// 800-63B §3.1.1.2: at least 8, and allow at least 64 (we allow 256);
/// a longer one is refused, never truncated, so what the person typed is
/// what is checked at log-in (argon2 has no length limit of its own).
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 256;

/// The lowest zxcvbn score a password must reach: 3 means "safely
/// unguessable", about 10^8 guesses or more. NIST SP 800-63B §3.1.1.2 asks
/// to refuse common, dictionary and context-specific passwords rather than
/// impose composition rules; zxcvbn checks against those lists and the
/// `user_inputs` (the person's own email and name).
const PASSWORD_MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// A new password: 8 to 256 characters, no composition rules, not easily
/// guessed given `user_inputs` (the account's email and name).
pub fn password(field: &str, value: &str, user_inputs: &[&str]) -> Result<(), AppError> {
    let len = value.chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&len) {
        return Err(AppError::bad_input(
            field,
            format!("a password has {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    if value.contains('\0') {
        return Err(AppError::bad_input(field, "a password may not contain NUL"));
    }
    // The email's local part and domain count separately: "ann.smith" in a
    // password is as guessable as the whole address.
    let mut inputs: Vec<&str> = user_inputs.to_vec();
    for input in user_inputs {
        inputs.extend(
            input
                .split(['@', '.', ' ', '-', '_'])
                .filter(|p| p.len() >= 3),
        );
    }
    if zxcvbn::zxcvbn(value, &inputs).score() < PASSWORD_MIN_SCORE {
        return Err(AppError::bad_input(
            field,
            "this password is too easy to guess: use a longer phrase of unrelated words",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUTS: &[&str] = &["ann.smith@acme.example", "Ann Smith"];

    #[test]
    fn a_long_unrelated_phrase_is_a_good_password() {
        assert!(password("p", "violet tractor umbrella 42", INPUTS).is_ok());
        // No composition rules: lower-case words and spaces are enough.
        assert!(password("p", "glacier pumpkin orbit lantern", INPUTS).is_ok());
    }

    #[test]
    fn common_and_guessable_passwords_are_refused() {
        for weak in [
            "password",
            "password1",
            "12345678",
            "qwertyuiop",
            "iloveyou2",
        ] {
            assert!(password("p", weak, INPUTS).is_err(), "{weak}");
        }
    }

    #[test]
    fn a_password_made_of_the_persons_own_name_or_email_is_refused() {
        assert!(password("p", "annsmith1", INPUTS).is_err());
        assert!(password("p", "Ann Smith 1", INPUTS).is_err());
        assert!(password("p", "ann.smith@acme.example", INPUTS).is_err());
    }

    #[test]
    fn a_password_is_8_to_256_characters_and_never_truncated() {
        assert!(password("p", "x7#Qp2!", INPUTS).is_err(), "7 characters");
        let longest: String = "violet tractor umbrella 42 ".repeat(20)[..256].to_owned();
        assert!(password("p", &longest, INPUTS).is_ok());
        let too_long = format!("{longest}z");
        assert!(password("p", &too_long, INPUTS).is_err());
    }

    #[test]
    fn a_slug_is_derived_from_a_name() {
        assert_eq!(Slug::derive("Acme, Inc.").unwrap().as_str(), "acme-inc");
        assert_eq!(
            Slug::derive("  Über Größe 2 ").unwrap().as_str(),
            "ber-gr-e-2"
        );
        assert!(Slug::derive("!!").is_none());
    }

    #[test]
    fn malformed_slugs_are_rejected() {
        for bad in [
            "a",
            "-ab",
            "ab-",
            "a--b",
            "Ab",
            "a b",
            "a_b",
            &"a".repeat(49),
        ] {
            assert!(Slug::parse("slug", bad).is_err(), "{bad}");
        }
        assert!(Slug::parse("slug", "acme-2").is_ok());
        for fallback in ["org", "team"] {
            assert_eq!(
                Slug::derive_or("?!", fallback),
                Slug::parse("slug", fallback).unwrap()
            );
        }
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("email", " Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@@example.com",
            "Ann <ann@example.com>",
            "ann@[192.0.2.1]",
            "ann.@example.com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_absolute_http_and_stored_as_parsed() {
        assert_eq!(
            url("website", " https://Acme.example ").unwrap().as_deref(),
            Some("https://acme.example/")
        );
        assert_eq!(
            url("website", "http://acme.example/a?b=c#d")
                .unwrap()
                .as_deref(),
            Some("http://acme.example/a?b=c#d")
        );
        assert_eq!(url("website", "").unwrap(), None);
        for bad in [
            "acme.example",
            "/relative",
            "javascript:alert(1)",
            "ftp://acme.example",
            "https://",
            "https://user:secret@acme.example",
            "https://bank.example@evil.example",
            "https://exa mple.com",
        ] {
            assert!(url("website", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_with_nul_bytes_is_rejected() {
        assert!(text("name", "Ac\0me", 200).is_err());
        assert!(text("name", &"x".repeat(201), 200).is_err());
        assert!(text("name", "   ", 200).is_err());
    }

    #[track_caller]
    fn assert_refused(result: Result<impl std::fmt::Debug, AppError>, message: &str) {
        match result {
            Err(AppError::BadUserInput { field, message: m }) => {
                assert_eq!((field.as_str(), m.as_str()), ("name", message));
            }
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn a_name_is_one_line() {
        let injected = "Acme\n\nURGENT: verify at https://evil.example";
        for name in [injected, "Acme\r\nInc", "Acme\rInc"] {
            assert_refused(text("name", name, 200), "name must be a single line");
            assert_refused(
                optional_text("name", name, 200),
                "name must be a single line",
            );
        }
        assert_refused(
            text("name", "Acme\tInc", 200),
            "name contains control characters",
        );
        // Line breaks around a name are trimmed, not refused.
        assert_eq!(text("name", "\n Acme \n", 200).unwrap(), "Acme");
    }

    #[test]
    fn bidi_and_zero_width_characters_are_refused_in_names_and_prose() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}',
            '\u{200D}', '\u{2060}', '\u{FEFF}',
        ] {
            let name = format!("Ac{c}me");
            let message = "name contains invisible or text-direction characters";
            assert_refused(text("name", &name, 200), message);
            assert_refused(prose("name", &name, 200), message);
        }
    }

    const INVISIBLE: &str = "name contains invisible or text-direction characters";

    #[test]
    fn a_persian_name_keeps_its_zero_width_non_joiner() {
        // Ali-Reza and Ali-Akbar: the ZWNJ keeps ی (dual-joining) from
        // joining ر / ا (right-joining); "I want" as a second word.
        for name in ["علی\u{200C}رضا", "علی\u{200C}اکبر", "می\u{200C}خواهم"] {
            assert_eq!(text("name", name, 200).unwrap(), name);
            assert_eq!(prose("name", name, 200).unwrap().as_deref(), Some(name));
        }
    }

    #[test]
    fn a_zero_width_non_joiner_where_nothing_would_join_is_refused() {
        // ر does not join leftwards, so the ZWNJ in Mehr-angiz changes
        // nothing that shows; nor between Latin letters.
        for name in ["مهر\u{200C}انگیز", "Ac\u{200C}me", "علی \u{200C}رضا"] {
            assert_refused(text("name", name, 200), INVISIBLE);
        }
    }

    #[test]
    fn a_joiner_after_a_virama_is_accepted() {
        // Malayalam Karthika with the r chillu spelled ര് + ZWJ; Devanagari
        // क्ष with an explicit virama (ZWNJ) and with a half form (ZWJ).
        for name in [
            "കാര്\u{200D}ത്തിക",
            "\u{0915}\u{094D}\u{200C}\u{0937}",
            "\u{0915}\u{094D}\u{200D}\u{0937}",
        ] {
            assert_eq!(text("name", name, 200).unwrap(), name);
        }
    }

    #[test]
    fn emoji_zwj_sequences_are_accepted() {
        // Family; woman technologist with a skin tone; heart on fire and
        // rainbow flag, each with the emoji variation selector.
        for name in [
            "👨\u{200D}👩\u{200D}👧",
            "Platform 👩🏽\u{200D}💻",
            "❤\u{FE0F}\u{200D}🔥 Fans",
            "🏳\u{FE0F}\u{200D}🌈",
        ] {
            assert_eq!(text("name", name, 200).unwrap(), name);
        }
    }

    #[test]
    fn a_zero_width_joiner_outside_an_emoji_sequence_or_after_a_virama_is_refused() {
        for name in [
            "Ac\u{200D}me",
            "a\u{200D}👩",
            "👨\u{200D}a",
            "👨 \u{200D}👩",
            "علی\u{200D}رضا",
        ] {
            assert_refused(text("name", name, 200), INVISIBLE);
        }
    }

    #[test]
    fn a_joiner_at_the_start_or_end_of_a_name_is_refused() {
        for name in [
            "\u{200D}Acme",
            "Acme\u{200D}",
            " \u{200D}👨\u{200D}👩 ",
            "👨\u{200D}",
            "\u{200C}علی",
            "علی\u{200C}",
            // After a virama, but at the end: RFC 5892 would allow the
            // ZWNJ; nothing follows for either to act on.
            "\u{0915}\u{094D}\u{200C}",
            "\u{0915}\u{094D}\u{200D}",
        ] {
            assert_refused(text("name", name, 200), INVISIBLE);
            assert_refused(optional_text("name", name, 200), INVISIBLE);
            assert_refused(prose("name", name, 200), INVISIBLE);
        }
    }

    #[test]
    fn a_name_that_may_hold_joiners_still_may_not_hold_bidi_controls() {
        for name in [
            "علی\u{200C}رضا\u{202E}",
            "\u{200F}علی\u{200C}رضا",
            "👨\u{200D}👩\u{2066}",
            "👨\u{200B}\u{200D}👩",
        ] {
            assert_refused(text("name", name, 200), INVISIBLE);
        }
    }

    #[test]
    fn a_name_is_stored_in_nfc_and_its_length_counted_after_it() {
        assert_eq!(text("name", "Cafe\u{301}", 200).unwrap(), "Café");
        assert_eq!(
            prose("name", " Cafe\u{301}\nBar ", 200).unwrap().as_deref(),
            Some("Café\nBar")
        );
        // Hangul jamo compose into a syllable.
        assert_eq!(text("name", "\u{1100}\u{1161}", 200).unwrap(), "가");
        // 200 decomposed "é" are 400 characters typed, 200 stored.
        let typed = "e\u{301}".repeat(200);
        assert_eq!(text("name", &typed, 200).unwrap(), "é".repeat(200));
        assert_refused(
            text("name", &format!("{typed}e"), 200),
            "name is longer than 200 characters",
        );
    }

    #[test]
    fn prose_keeps_line_breaks_and_tabs_but_not_other_controls() {
        let description = "Builds the web app.\n\n\tOn call: weekdays.";
        assert_eq!(
            prose("description", description, 2000).unwrap().as_deref(),
            Some(description)
        );
        assert!(prose("description", "a\rb", 2000).is_err());
        assert!(prose("description", "a\u{7}b", 2000).is_err());
        assert_eq!(prose("description", " \n ", 2000).unwrap(), None);
    }

    #[test]
    fn names_in_any_script_are_accepted() {
        for name in ["Ünïcødé GmbH", "株式会社アクメ", "شركة أكمي", "Acme 🚀"]
        {
            assert_eq!(text("name", name, 200).unwrap(), name);
        }
    }
}
