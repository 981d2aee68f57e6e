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

use icu_properties::props::{
    CanonicalCombiningClass, ExtendedPictographic, GraphemeClusterBreak, JoiningType,
};
use icu_properties::{CodePointMapData, CodePointSetData};

/// The most characters of a name an email shows.
const MAX_CHARS: usize = 200;

/// Characters that make text read as something other than what it holds:
/// bidi embeddings, overrides, isolates and marks reorder what follows
/// (UAX #9; "Trojan Source", CVE-2021-42574), and zero-width characters
/// hide inside words. Two of them, the zero-width joiner and non-joiner,
/// are also letters of real names where they stand: see
/// [`is_deceptive_at`], which is what a name is checked with.
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

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// Whether `chars[i]` is [deceptive](is_deceptive) where it stands: every
/// such character is, except a zero-width non-joiner (ZWNJ) or joiner (ZWJ)
/// in a place where a script needs it (issue #28).
///
/// Persian writes names such as Ali-Reza as علی, ZWNJ, رضا: the ZWNJ keeps
/// ی from joining ر. Indic scripts put a ZWNJ or ZWJ after a virama to
/// choose a conjunct's form, and emoji such as the family (man, ZWJ, woman,
/// ZWJ, girl) are ZWJ sequences. Anywhere else a joiner changes nothing
/// that shows, so two names that look the same could differ: that is what
/// stays refused. (Joiners in this file are written as escapes, so that
/// none hides in the source either.)
///
/// - ZWNJ: RFC 5892 Appendix A.1 (the CONTEXTJ rule IDNA and PRECIS use):
///   after a virama (canonical combining class 9), or between a left- or
///   dual-joining character and a right- or dual-joining one, transparent
///   characters (marks) skipped on either side. A ZWNJ after a letter that
///   does not join leftwards (ر, د, و, Latin) is refused.
/// - ZWJ: RFC 5892 Appendix A.2, after a virama; and, as RFC 5892 knows no
///   emoji, inside an emoji ZWJ sequence as UAX #29 rule GB11 reads one: an
///   Extended_Pictographic character, then any Extend characters (the
///   variation selector U+FE0F, skin-tone modifiers, tags), the ZWJ, and an
///   Extended_Pictographic character. GB11 itself, not "the ZWJ is inside a
///   grapheme cluster": a ZWJ followed by a combining mark is inside one too.
/// - Never the first or the last character: a joiner there joins nothing.
///   (RFC 5892 lets a ZWNJ after a virama end a label; Malayalam once
///   spelled its chillu letters virama + ZWJ at a word's end, but Unicode
///   5.1 gave them code points of their own.)
///
/// RFC 8266's Nickname profile was not taken whole: it maps names to NFKC,
/// which rewrites what people typed (ﬁ → fi, full-width → ASCII), and its
/// CONTEXTJ rule refuses every emoji ZWJ sequence. The Unicode properties
/// come from ICU4X (`icu_properties`), the Unicode Consortium's library,
/// one Unicode version for all of them.
///
/// `chars` should be in NFC, as RFC 5892 assumes (`domain::values`
/// normalizes before it checks). An `i` out of range is not deceptive.
pub fn is_deceptive_at(chars: &[char], i: usize) -> bool {
    let Some(&c) = chars.get(i) else {
        return false;
    };
    is_deceptive(c) && !joiner_in_context(chars, i)
}

fn joiner_in_context(chars: &[char], i: usize) -> bool {
    if i == 0 || i + 1 >= chars.len() {
        return false;
    }
    let (before, after) = (&chars[..i], &chars[i + 1..]);
    match chars[i] {
        ZWNJ => follows_virama(before) || between_joining_letters(before, after),
        ZWJ => follows_virama(before) || inside_emoji_sequence(before, after),
        _ => false,
    }
}

/// RFC 5892 A.1 and A.2: `Canonical_Combining_Class(Before(cp)) == Virama`.
fn follows_virama(before: &[char]) -> bool {
    let ccc = CodePointMapData::<CanonicalCombiningClass>::new();
    before
        .last()
        .is_some_and(|&c| ccc.get(c) == CanonicalCombiningClass::Virama)
}

/// RFC 5892 A.1: `(Joining_Type:{L,D})(Joining_Type:T)*\u200C
/// (Joining_Type:T)*(Joining_Type:{R,D})`.
fn between_joining_letters(before: &[char], after: &[char]) -> bool {
    let joining = CodePointMapData::<JoiningType>::new();
    let not_transparent = |t: &JoiningType| *t != JoiningType::Transparent;
    let left = before
        .iter()
        .rev()
        .map(|&c| joining.get(c))
        .find(not_transparent);
    let right = after.iter().map(|&c| joining.get(c)).find(not_transparent);
    matches!(
        left,
        Some(JoiningType::LeftJoining | JoiningType::DualJoining)
    ) && matches!(
        right,
        Some(JoiningType::RightJoining | JoiningType::DualJoining)
    )
}

/// UAX #29 GB11: `\p{Extended_Pictographic} Extend* ZWJ ×
/// \p{Extended_Pictographic}`.
fn inside_emoji_sequence(before: &[char], after: &[char]) -> bool {
    let pictographic = CodePointSetData::new::<ExtendedPictographic>();
    let grapheme_break = CodePointMapData::<GraphemeClusterBreak>::new();
    let base = before
        .iter()
        .rev()
        .find(|&&c| grapheme_break.get(c) != GraphemeClusterBreak::Extend);
    base.is_some_and(|&c| pictographic.contains(c))
        && after.first().is_some_and(|&c| pictographic.contains(c))
}

/// `value` as one inert line of an email's subject or body.
pub fn inline(value: &str) -> String {
    // Controls (line breaks included) become spaces, so nothing can start
    // a header or a line of its own; deceptive characters go, and a joiner
    // stays where a name may hold it, or a Persian name would reach the
    // reader misspelt and a family emoji as three faces.
    let chars: Vec<char> = value.chars().collect();
    let flat: String = chars
        .iter()
        .enumerate()
        .filter(|&(i, _)| !is_deceptive_at(&chars, i))
        .map(|(_, &c)| if c.is_control() { ' ' } else { c })
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
    fn joiners_that_a_name_may_hold_are_kept_and_others_removed() {
        for name in ["علی\u{200C}رضا", "👨\u{200D}👩\u{200D}👧 Team"] {
            assert_eq!(inline(name), name);
        }
        assert_eq!(inline("\u{200D}Ac\u{200C}me\u{200D}"), "Acme");
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
