//! Validated values: parse, don't validate. Each `parse` names the input
//! field it blames, so a client learns which argument was wrong before
//! anything reaches SQL.

use email_address::{EmailAddress, Options};

use crate::error::AppError;

/// Text a person typed: trimmed, non-empty, bounded, free of NUL and other
/// control characters.
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
    let value = value.trim();
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AppError::bad_input(
            field,
            format!("{field} contains control characters"),
        ));
    }
    if value.chars().count() > max_chars {
        return Err(AppError::bad_input(
            field,
            format!("{field} is longer than {max_chars} characters"),
        ));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
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

    /// This slug if it is free, else the first free of `slug-2`,
    /// `slug-3`, …, given the taken ones (the caller reads those matching
    /// `slug` and `slug-%` in one query).
    pub fn first_free(self, taken: &std::collections::HashSet<String>) -> Self {
        if !taken.contains(&self.0) {
            return self;
        }
        (2..)
            .map(|n| Self(format!("{}-{n}", self.0)))
            .find(|candidate| !taken.contains(&candidate.0))
            .expect("an unbounded sequence has a free slug")
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

/// A password: 8 to 256 characters.
pub fn password(field: &str, value: &str) -> Result<(), AppError> {
    let len = value.chars().count();
    if !(8..=256).contains(&len) {
        return Err(AppError::bad_input(
            field,
            "a password has 8 to 256 characters",
        ));
    }
    if value.contains('\0') {
        return Err(AppError::bad_input(field, "a password may not contain NUL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
