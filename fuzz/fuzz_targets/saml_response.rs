//! Arbitrary bytes through what the SAML ACS does with a decoded
//! `SAMLResponse`: the pre-scan (`saml_xml`), then samael and xmlsec
//! (confined to the document), then the assertion checks. Nothing here
//! may panic, hang, or reach outside the document (issue #22).
#![no_main]

use libfuzzer_sys::fuzz_target;
use orgql::domain::sso::saml::{IdpSettings, ServiceProviderUrls, verify_response_xml};

/// A fixed self-signed P-256 certificate: no network, no key store.
const IDP_CERTIFICATE: &str = include_str!("../idp-certificate.pem");

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let sp = ServiceProviderUrls {
        entity_id: "http://orgql.test/sso/saml/metadata/fuzz".to_owned(),
        acs_url: "http://orgql.test/sso/saml/acs".to_owned(),
    };
    let idp = IdpSettings {
        entity_id: "https://idp.acme.test/saml",
        sso_url: "https://idp.acme.test/sso",
        certificate: IDP_CERTIFICATE,
    };
    // Refused or accepted, both are fine: only a crash is a finding.
    let _ = verify_response_xml(&sp, &idp, xml, "_request");
});
