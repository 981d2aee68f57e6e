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

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

const DSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";
const DSIG11_NS: &[u8] = b"http://www.w3.org/2009/xmldsig11#";

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
/// process; see the module header.
pub fn ensure_safe_to_verify(xml: &str) -> Result<(), String> {
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
            Event::Start(element) | Event::Empty(element) => {
                if let ResolveResult::Bound(Namespace(ns)) = namespace
                    && (ns == DSIG_NS || ns == DSIG11_NS)
                {
                    ensure_safe_dsig_element(&element)?;
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

fn ensure_safe_dsig_element(element: &BytesStart<'_>) -> Result<(), String> {
    let local = element.local_name();
    match local.as_ref() {
        b"Object" | b"Manifest" | b"RetrievalMethod" | b"KeyInfoReference" => Err(format!(
            "the signature has a {}",
            String::from_utf8_lossy(local.as_ref())
        )),
        b"Reference" => match attribute(element, "URI")? {
            Some(uri) if is_same_document_reference(&uri) => Ok(()),
            Some(_) => Err("a signature Reference points outside the document".into()),
            None => Err("a signature Reference has no URI".into()),
        },
        b"Transform" => match attribute(element, "Algorithm")? {
            Some(a) if a == ENVELOPED_SIGNATURE || C14N.contains(&a.as_str()) => Ok(()),
            _ => Err("a signature Transform is not enveloped-signature or C14N".into()),
        },
        b"CanonicalizationMethod" => match attribute(element, "Algorithm")? {
            Some(a) if C14N.contains(&a.as_str()) => Ok(()),
            _ => Err("a signature CanonicalizationMethod is not C14N".into()),
        },
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

/// An unqualified attribute's value, entities resolved.
fn attribute(element: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    let mut found = None;
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| format!("a signature attribute: {e}"))?;
        if attribute.key.as_ref() == name.as_bytes() {
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| format!("a signature attribute: {e}"))?;
            found = Some(value.into_owned());
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
