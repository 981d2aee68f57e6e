//! Text that people typed, made safe to put in an email (issue #13).
//!
//! An organization's name (or an inviter's address) is chosen by whoever
//! created it and lands in mail that the recipient trusts because it came
//! from orgql. Rendered here, it is one line without control characters or
//! the invisible and text-direction characters that make text read as
//! something else, bounded in length, and it cannot become a link: mail
//! clients turn `https://…`, `www.…` and bare `name.tld` into links, so the
//! scheme separator and the dots between words are defanged (`[:]//`,
//! `[.]`), the way security notices quote hostile addresses. The only link
//! in an orgql email is the one orgql built from `ORGQL_PUBLIC_URL`.
//!
//! Names are validated when they are written (`domain::values::text`);
//! this is the second wall, for rows written before that rule or by hand.

/// The most characters of a name an email shows.
const MAX_CHARS: usize = 200;

/// Characters that make text read as something other than what it holds:
/// bidi embeddings, overrides, isolates and marks reorder what follows
/// (UAX #9; "Trojan Source", CVE-2021-42574), and zero-width characters
/// hide inside words.
pub fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
    )
}

/// `value` as one inert line of an email's subject or body.
pub fn inline(value: &str) -> String {
    // Controls (line breaks included) become spaces, so nothing can start
    // a header or a line of its own; deceptive characters go.
    let flat: String = value
        .chars()
        .filter(|c| !is_deceptive(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = flat.split_whitespace().collect();
    let joined = words.join(" ");
    let mut out = String::with_capacity(joined.len());
    let chars: Vec<char> = joined.chars().take(MAX_CHARS).collect();
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        match c {
            // `name.tld`, `www.x`, `1.2.3.4`: a dot inside a word.
            '.' if before.is_some_and(char::is_alphanumeric)
                && after.is_some_and(char::is_alphanumeric) =>
            {
                out.push_str("[.]")
            }
            // `scheme://` and `scheme:` followed by `//`.
            ':' if after == Some('/') => out.push_str("[:]"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_name_is_unchanged() {
        assert_eq!(inline("Acme Corp."), "Acme Corp.");
        assert_eq!(inline("Société Générale"), "Société Générale");
    }

    #[test]
    fn line_breaks_and_control_characters_cannot_start_a_header_or_a_line() {
        let rendered = inline("Acme\r\nBcc: victim@example.com\u{7}\u{0}");
        assert!(!rendered.contains('\r') && !rendered.contains('\n'));
        assert!(rendered.chars().all(|c| !c.is_control()), "{rendered:?}");
        assert!(rendered.starts_with("Acme Bcc: "), "{rendered:?}");
    }

    #[test]
    fn text_direction_and_zero_width_characters_are_removed() {
        assert_eq!(inline("Ac\u{202E}me\u{200B} Inc"), "Acme Inc");
    }

    #[test]
    fn nothing_in_a_name_reads_as_a_link() {
        let rendered = inline("Acme https://evil.example/pay www.evil.example evil.com");
        assert!(!rendered.contains("://"), "{rendered}");
        assert!(!rendered.contains("evil.example"), "{rendered}");
        assert!(!rendered.contains("www."), "{rendered}");
        assert!(!rendered.contains("evil.com"), "{rendered}");
        assert!(rendered.contains("evil[.]example"), "{rendered}");
    }

    #[test]
    fn a_name_is_bounded() {
        assert_eq!(inline(&"a".repeat(1000)).chars().count(), MAX_CHARS);
    }
}
