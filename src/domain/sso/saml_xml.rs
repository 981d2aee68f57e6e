//! What a SAML Response's XML may contain before xmlsec sees it.
//!
//! xmlsec, through samael's default DSig context, processes a signature
//! the way XML-DSig allows (<https://www.w3.org/TR/xmldsig-core1/>): it
//! dereferences every `<ds:Reference URI>` (`http://`, `file://`), runs
//! every transform (XPath, XSLT) and walks `ds:Object`/`ds:Manifest`, all
//! BEFORE the signature value is checked. An unauthenticated caller holding
//! a RelayState could make the server fetch URLs or read files. So the
//! decoded document is read with quick-xml first, and refused when it has:
//! - a DOCTYPE (entities: XXE, billion laughs; SAML never needs one);
//! - a `ds:Reference` whose URI is not `""` or `#<id>` (SAML Core §5.4.2:
//!   a SAML signature references its enveloping element by id);
//! - a `ds:Object`, `ds:Manifest` or `ds:RetrievalMethod` (the last makes
//!   xmlsec fetch a key);
//! - a `ds:Transform` or `ds:CanonicalizationMethod` other than
//!   enveloped-signature and the (exclusive) C14N variants (SAML Core
//!   §5.4.4).
//!
//! Anything it cannot read is refused too: what quick-xml cannot parse is
//! not handed to libxml2.
//!
//! Two parsers reading one text can disagree, and each disagreement is a
//! way to hide a signature from the scan (issue #22: quick-xml gives a
//! namespace as its raw text, libxml2 expands `&#x23;` in it, so
//! `xmlns:ds="…xmldsig&#x23;"` was a signature only xmlsec saw). So:
//! - a namespace declaration holding `&` (a character or entity
//!   reference) is refused, and namespaces are compared unescaped anyway;
//! - the XML declaration may name no encoding but UTF-8, and the text
//!   holds no NUL: libxml2 would read it in another encoding (UTF-7 turns
//!   `+ACM-` into `#`; NULs make it guess UTF-16 or UCS-4);
//! - an attribute xmlsec looks up by name (`URI`, `Algorithm`) is checked
//!   under every prefix: libxml2's lookup ignores the prefix;
//! - then the same rules run again over the tree libxml2 itself builds
//!   (the parser xmlsec works on), parsed strictly: no recovery from
//!   errors, no network, no DTD.
//!
//! This scan is one layer; `saml` keeps xmlsec itself from opening any URI
//! whatever gets past it.

use std::sync::Once;

use quick_xml::XmlVersion;
use quick_xml::escape::unescape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const DSIG11_NS: &str = "http://www.w3.org/2009/xmldsig11#";

const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// Canonical XML 1.0 and 1.1 and exclusive C14N, with and without comments.
const C14N: &[&str] = &[
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
];

/// Refuses (with the reason, for the log) a document xmlsec must not
/// process; see the module header. Parses with libxml2: run it where
/// blocking is fine.
pub fn ensure_safe_to_verify(xml: &str) -> Result<(), String> {
    if xml.contains('\0') {
        return Err("the XML holds a NUL character".into());
    }
    scan_with_quick_xml(xml)?;
    scan_with_libxml(xml)
}

fn is_dsig(namespace: &str) -> bool {
    namespace == DSIG_NS || namespace == DSIG11_NS
}

fn scan_with_quick_xml(xml: &str) -> Result<(), String> {
    let mut reader = NsReader::from_str(xml);
    loop {
        // The parser's message may quote the sender's markup: the log
        // gets the position only.
        let position = reader.buffer_position();
        let (namespace, event) = reader
            .read_resolved_event()
            .map_err(|_| format!("the XML does not parse (near byte {position})"))?;
        match event {
            Event::DocType(_) => return Err("the XML has a DOCTYPE".into()),
            Event::Decl(declaration) => match declaration.encoding() {
                None => {}
                Some(Ok(encoding)) if encoding.eq_ignore_ascii_case(b"UTF-8") => {}
                Some(_) => return Err("the XML declares an encoding other than UTF-8".into()),
            },
            Event::Start(element) | Event::Empty(element) => {
                ensure_plain_namespace_declarations(&element)?;
                if let ResolveResult::Bound(Namespace(ns)) = namespace {
                    let ns = std::str::from_utf8(ns)
                        .ok()
                        .and_then(|ns| unescape(ns).ok())
                        .ok_or("a namespace does not unescape")?;
                    if is_dsig(&ns) {
                        ensure_safe_dsig_element(
                            &String::from_utf8_lossy(element.local_name().as_ref()),
                            |name| attribute_values(&element, name),
                        )?;
                    }
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// No `&` in `xmlns` / `xmlns:*` values: quick-xml resolves namespaces
/// from the raw text, libxml2 from the expanded one.
fn ensure_plain_namespace_declarations(element: &BytesStart<'_>) -> Result<(), String> {
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| format!("an attribute: {e}"))?;
        if attribute.key.as_namespace_binding().is_some() && attribute.value.contains(&b'&') {
            return Err("a namespace declaration holds a character or entity reference".into());
        }
    }
    Ok(())
}

/// The same rules over libxml2's own tree, parsed the strict way (the
/// result of a parse that recovers from errors is whatever libxml2 makes
/// of them, which no scan can predict).
fn scan_with_libxml(xml: &str) -> Result<(), String> {
    static LIBXML_READY: Once = Once::new();
    // libxml2 wants its one-time setup done before threads parse at once.
    LIBXML_READY.call_once(|| unsafe { libxml::bindings::xmlInitParser() });
    let options = libxml::parser::ParserOptions {
        recover: false,
        no_net: true,
        ..libxml::parser::ParserOptions::default()
    };
    let document = libxml::parser::Parser::default()
        .parse_string_with_options(xml, options)
        .map_err(|_| "the XML does not parse strictly".to_owned())?;
    // SAFETY: `doc_ptr` is the live document `document` owns.
    let has_dtd = unsafe {
        let doc = document.doc_ptr();
        !(*doc).intSubset.is_null() || !(*doc).extSubset.is_null()
    };
    if has_dtd {
        return Err("the XML has a DOCTYPE".into());
    }
    let mut elements: Vec<libxml::tree::Node> = document.get_root_element().into_iter().collect();
    while let Some(element) = elements.pop() {
        let namespace = element.get_namespace().map(|ns| ns.get_href());
        if namespace.as_deref().is_some_and(is_dsig) {
            // xmlsec reads these with xmlGetProp, as `get_property` does.
            ensure_safe_dsig_element(&element.get_name(), |name| {
                Ok(element.get_property(name).into_iter().collect())
            })?;
        }
        elements.extend(element.get_child_elements());
    }
    Ok(())
}

/// The rules for one element in the DSig namespace, given its local name
/// and every value it has for an attribute name.
fn ensure_safe_dsig_element(
    local: &str,
    attribute: impl Fn(&str) -> Result<Vec<String>, String>,
) -> Result<(), String> {
    match local {
        "Object" | "Manifest" | "RetrievalMethod" | "KeyInfoReference" => {
            Err(format!("the signature has a {local}"))
        }
        "Reference" => {
            let uris = attribute("URI")?;
            if uris.is_empty() {
                Err("a signature Reference has no URI".into())
            } else if uris.iter().all(|uri| is_same_document_reference(uri)) {
                Ok(())
            } else {
                Err("a signature Reference points outside the document".into())
            }
        }
        "Transform" => {
            let algorithms = attribute("Algorithm")?;
            if !algorithms.is_empty()
                && algorithms
                    .iter()
                    .all(|a| a == ENVELOPED_SIGNATURE || C14N.contains(&a.as_str()))
            {
                Ok(())
            } else {
                Err("a signature Transform is not enveloped-signature or C14N".into())
            }
        }
        "CanonicalizationMethod" => {
            let algorithms = attribute("Algorithm")?;
            if !algorithms.is_empty() && algorithms.iter().all(|a| C14N.contains(&a.as_str())) {
                Ok(())
            } else {
                Err("a signature CanonicalizationMethod is not C14N".into())
            }
        }
        _ => Ok(()),
    }
}

/// `""` (the whole document) or `#<id>`: an xs:NCName, so no XPointer
/// (`#xpointer(…)`) and nothing outside the document.
fn is_same_document_reference(uri: &str) -> bool {
    match uri.strip_prefix('#') {
        None => uri.is_empty(),
        Some(id) => {
            id.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && id
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        }
    }
}

/// Every value of the attributes named `name` under any prefix (or none),
/// entities resolved: libxml2's `xmlGetProp`, which xmlsec uses, ignores
/// the prefix and takes the first.
fn attribute_values(element: &BytesStart<'_>, name: &str) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| format!("a signature attribute: {e}"))?;
        if attribute.key.local_name().as_ref() == name.as_bytes() {
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| format!("a signature attribute: {e}"))?;
            found.push(value.into_owned());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(reference_uri: &str, transform: &str, extra: &str) -> String {
        format!(
            r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:Reference URI="{reference_uri}"><ds:Transforms><ds:Transform Algorithm="{transform}"/></ds:Transforms></ds:Reference></ds:SignedInfo>{extra}</ds:Signature></samlp:Response>"##
        )
    }

    #[test]
    fn a_signature_over_its_own_element_with_enveloped_and_c14n_is_let_through() {
        assert_eq!(
            ensure_safe_to_verify(&signed("#_r", ENVELOPED_SIGNATURE, "")),
            Ok(())
        );
        assert_eq!(ensure_safe_to_verify(&signed("", C14N[0], "")), Ok(()));
    }

    #[test]
    fn a_reference_outside_the_document_is_refused() {
        for uri in [
            "http://127.0.0.1:9/x",
            "file:///dev/zero",
            "#xpointer(/)",
            "#",
            "other#_r",
        ] {
            assert!(
                ensure_safe_to_verify(&signed(uri, ENVELOPED_SIGNATURE, "")).is_err(),
                "{uri}"
            );
        }
    }

    #[test]
    fn an_xslt_or_xpath_transform_is_refused() {
        for transform in [
            "http://www.w3.org/TR/1999/REC-xslt-19991116",
            "http://www.w3.org/TR/1999/REC-xpath-19991116",
            "http://www.w3.org/2002/06/xmldsig-filter2",
        ] {
            assert!(ensure_safe_to_verify(&signed("#_r", transform, "")).is_err());
        }
    }

    #[test]
    fn objects_manifests_and_key_retrieval_are_refused() {
        for extra in [
            "<ds:Object/>",
            "<ds:Object><ds:Manifest/></ds:Object>",
            r#"<ds:KeyInfo><ds:RetrievalMethod URI="http://127.0.0.1:9/"/></ds:KeyInfo>"#,
        ] {
            assert!(
                ensure_safe_to_verify(&signed("#_r", ENVELOPED_SIGNATURE, extra)).is_err(),
                "{extra}"
            );
        }
    }

    /// A signature over an http URL whose DSig namespace is declared
    /// `declaration` (the raw text, prefix `ds` unless it is `xmlns=`).
    fn hidden(declaration: &str) -> String {
        let p = if declaration.starts_with("xmlns=") {
            ""
        } else {
            "ds:"
        };
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"><{p}Signature {declaration}><{p}SignedInfo><{p}Reference URI="http://127.0.0.1:9/x"/></{p}SignedInfo></{p}Signature></samlp:Response>"#
        )
    }

    #[test]
    fn a_dsig_namespace_escaped_any_way_is_refused() {
        for declaration in [
            r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig&#x23;""#,
            r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig&#35;""#,
            r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig&#X23;""#,
            r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig&#x0023;""#,
            r#"xmlns:ds="&#x68;ttp://www.w3.org/2000/09/xmldsig#""#,
            r#"xmlns:ds="http://www.w3.org/2009/xmldsig11&#x23;""#,
            r#"xmlns="http://www.w3.org/2000/09/xmldsig&#x23;""#,
            r#"xmlns="http://www.w3.org/2000/09/xmldsig&#35;""#,
            r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig&amp;""#,
            r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig&unknown;""#,
        ] {
            assert!(
                ensure_safe_to_verify(&hidden(declaration)).is_err(),
                "{declaration}"
            );
        }
        // Declared on an ancestor, the signature under it.
        let on_root = hidden(r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig#""#)
            .replace(r#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#""#, "")
            .replace(
                "<samlp:Response ",
                r#"<samlp:Response xmlns:ds="http://www.w3.org/2000/09/xmldsig&#x23;" "#,
            );
        assert!(ensure_safe_to_verify(&on_root).is_err());
    }

    #[test]
    fn libxml2s_own_reading_refuses_an_escaped_namespace_without_the_first_scan() {
        // The second scan alone: what quick-xml might miss, libxml2's tree
        // shows as a real signature.
        assert!(
            scan_with_libxml(&hidden(
                r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig&#x23;""#
            ))
            .is_err()
        );
        assert!(
            scan_with_libxml(&hidden(r#"xmlns="http://www.w3.org/2000/09/xmldsig&#35;""#)).is_err()
        );
        assert_eq!(
            scan_with_libxml(&signed("#_r", ENVELOPED_SIGNATURE, "")),
            Ok(())
        );
    }

    #[test]
    fn another_encoding_or_a_nul_is_refused() {
        // In UTF-7, libxml2 reads `+ACM-` as `#`.
        let utf7 = format!(
            r#"<?xml version="1.0" encoding="UTF-7"?>{}"#,
            hidden(r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig+ACM-""#)
        );
        assert!(ensure_safe_to_verify(&utf7).is_err());
        let utf8 = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>{}"#,
            signed("#_r", ENVELOPED_SIGNATURE, "")
        );
        assert_eq!(ensure_safe_to_verify(&utf8), Ok(()));
        let utf16ish: String = signed("#_r", ENVELOPED_SIGNATURE, "")
            .chars()
            .flat_map(|c| [c, '\0'])
            .collect();
        assert!(ensure_safe_to_verify(&utf16ish).is_err());
    }

    #[test]
    fn a_prefixed_uri_or_algorithm_attribute_counts_too() {
        // libxml2's xmlGetProp, which xmlsec uses, ignores the prefix and
        // takes the first.
        let prefixed = signed("#_r", ENVELOPED_SIGNATURE, "").replace(
            r##"<ds:Reference URI="#_r">"##,
            r##"<ds:Reference xmlns:x="urn:x" x:URI="http://127.0.0.1:9/x" URI="#_r">"##,
        );
        assert!(ensure_safe_to_verify(&prefixed).is_err());
        let escaped_prefix = signed("#_r", ENVELOPED_SIGNATURE, "").replace(
            r##"<ds:Reference URI="#_r">"##,
            r##"<ds:Reference xmlns:x="urn:&#x78;" x:URI="file:///dev/zero" URI="#_r">"##,
        );
        assert!(ensure_safe_to_verify(&escaped_prefix).is_err());
        let transform = signed("#_r", ENVELOPED_SIGNATURE, "").replace(
            r#"<ds:Transform Algorithm"#,
            r#"<ds:Transform xmlns:x="urn:x" x:Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116" Algorithm"#,
        );
        assert!(ensure_safe_to_verify(&transform).is_err());
    }

    #[test]
    fn a_doctype_or_unparsable_xml_is_refused() {
        let with_entity = format!(
            r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>{}"#,
            signed("#_r", ENVELOPED_SIGNATURE, "")
        );
        assert!(ensure_safe_to_verify(&with_entity).is_err());
        assert!(ensure_safe_to_verify("<a><b></a>").is_err());
    }
}
