//! SAML 2.0 Web Browser SSO (SAML Profiles §4.1) for single sign-on, with
//! the `samael` crate and its xmlsec (libxmlsec1) signature verification.
//! orgql is the service provider: it sends the browser to the IdP with an
//! AuthnRequest on the HTTP-Redirect binding and takes the IdP's Response
//! on the HTTP-POST binding at its one ACS URL.
//!
//! (Long because every check a Response must pass is listed and made here,
//! in one place a reviewer can read whole; the tests are at the end.)
//!
//! What a Response must satisfy to be accepted (each refusal logged on the
//! `orgql::sso` target, never the XML itself nor values taken from it):
//! - XML that [`saml_xml`] lets through (no DOCTYPE, no reference outside
//!   the document, no `ds:Object`/Manifest, only enveloped-signature and
//!   C14N transforms): xmlsec acts on those before the signature value is
//!   checked. xmlsec then runs on a blocking thread;
//! - whatever the scan misses, xmlsec and libxml2 never leave the document:
//!   xmlsec has no I/O callbacks to open a URI with, and libxml2's
//!   external entity loader loads nothing (`confine_xml_libraries`; issue
//!   #22 was a scan that missed a signature);
//! - a Success status (any other is the IdP's refusal: `access_denied`);
//! - an XML signature over the assertion or the whole response that
//!   verifies with the connection's certificate, RSA or ECDSA with SHA-2
//!   (SHA-1 refused); only what the signature covers is read (samael reduces
//!   the document to its signed part), so content added beside a valid
//!   signature is ignored, and content changed under it fails;
//! - issuer = the IdP entity id; every AudienceRestriction naming the
//!   connection's own SP entity id (an assertion without one is refused:
//!   the SAML core spec makes it optional, which would let an assertion
//!   meant for another SP of the same IdP in; and each connection has its
//!   own entity id, so that one meant for another connection of the same
//!   IdP, in another organization, is refused too);
//! - a bearer SubjectConfirmation whose Recipient is the ACS URL (and the
//!   Response's Destination, when present, too), and whose InResponseTo is
//!   the AuthnRequest id kept with the sign-in in flight: no IdP-initiated
//!   sign-in;
//! - NotBefore / NotOnOrAfter (conditions and confirmation) within a
//!   minute of clock skew, and an IssueInstant at most 90 seconds old;
//! - an assertion id of at most 256 characters not seen before through
//!   this connection: the replay cache is the `sso_saml_assertions` table
//!   (see `sign_in`).
//! - A transient NameID (SAML Core §8.3.8) is accepted but marked not
//!   linkable: it names nobody next time.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use samael::crypto::AllowedSignatureAlgorithm;
use samael::metadata::{
    EntityDescriptor, HTTP_POST_BINDING, IndexedEndpoint, KeyDescriptor, NameIdFormat,
    SpSsoDescriptor,
};
use samael::schema::{Assertion, AuthnRequest, Issuer, NameIdPolicy};
use samael::service_provider::ServiceProvider;
use samael::traits::ToXml;

use super::{VerifiedIdentity, saml_xml};
use crate::auth::secrets;

/// How far the IdP's clock may be from ours.
const CLOCK_SKEW_SECONDS: i64 = 60;
/// How old a Response (its IssueInstant) may be when it arrives.
const MAX_ISSUE_DELAY_SECONDS: i64 = 90;

const EMAIL_NAME_ID: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// A NameID made up for one sign-in (SAML Core §8.3.8): it names nobody
/// next time, so it is never linked to an account.
const TRANSIENT_NAME_ID: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const SUCCESS_STATUS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// The longest assertion id kept in the replay cache (its column's width).
const MAX_ASSERTION_ID_CHARS: usize = 256;

/// Attribute names that carry an email address, by the usual conventions:
/// plain, LDAP `mail` (by name and by OID), and the claim URI of Microsoft
/// Entra ID and AD FS.
const EMAIL_ATTRIBUTES: &[&str] = &[
    "email",
    "mail",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
];
const NAME_ATTRIBUTES: &[&str] = &[
    "name",
    "displayName",
    "urn:oid:2.16.840.1.113730.3.1.241",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
];

/// orgql's side of one SAML connection: its own SP entity id, and the ACS
/// every connection shares (`SsoSettings::saml_sp`).
pub struct ServiceProviderUrls {
    /// The SP entity id (also where the metadata is served).
    pub entity_id: String,
    /// The Assertion Consumer Service URL (HTTP-POST).
    pub acs_url: String,
}

/// A connection's IdP settings.
pub struct IdpSettings<'a> {
    pub entity_id: &'a str,
    pub sso_url: &'a str,
    /// PEM.
    pub certificate: &'a str,
}

/// Why a Response was not accepted. Logged; the browser is told only
/// `invalid_response`.
#[derive(Debug, thiserror::Error)]
pub enum SamlFailure {
    #[error("SAML response refused: {0}")]
    Refused(String),
    /// The IdP answered with a failure status: the browser is told
    /// `access_denied`.
    #[error("the IdP refused the sign-in: {0}")]
    Denied(String),
    #[error("SAML configuration unusable: {0}")]
    Configuration(String),
}

/// The DER bytes of a PEM X.509 certificate, when it is one.
pub fn certificate_der(pem: &str) -> Result<Vec<u8>, String> {
    let certificate =
        openssl::x509::X509::from_pem(pem.trim().as_bytes()).map_err(|e| e.to_string())?;
    certificate.to_der().map_err(|e| e.to_string())
}

/// A PEM X.509 certificate in the form it is stored in (OpenSSL's PEM of
/// its DER), when it is one.
pub fn canonical_certificate(pem: &str) -> Result<String, String> {
    let der = certificate_der(pem)?;
    let certificate = openssl::x509::X509::from_der(&der).map_err(|e| e.to_string())?;
    let pem = certificate.to_pem().map_err(|e| e.to_string())?;
    String::from_utf8(pem).map_err(|e| e.to_string())
}

/// A sign-in to start: the IdP URL (AuthnRequest on the HTTP-Redirect
/// binding, with `relay_state`) and the request's id to expect back.
pub struct Request {
    pub url: String,
    pub request_id: String,
}

/// An AuthnRequest for the IdP's SSO URL.
pub fn authn_request(
    sp: &ServiceProviderUrls,
    idp_sso_url: &str,
    relay_state: &str,
) -> Result<Request, SamlFailure> {
    // An xs:ID starts with a letter or `_`; 128 random bits (samael's own
    // requests carry only 32).
    let request_id = format!("_{}", secrets::generate_hex(16));
    let request = AuthnRequest {
        id: request_id.clone(),
        version: "2.0".to_owned(),
        issue_instant: Utc::now(),
        destination: Some(idp_sso_url.to_owned()),
        issuer: Some(Issuer {
            value: Some(sp.entity_id.clone()),
            ..Issuer::default()
        }),
        name_id_policy: Some(NameIdPolicy {
            format: Some(EMAIL_NAME_ID.to_owned()),
            allow_create: Some(true),
            ..NameIdPolicy::default()
        }),
        assertion_consumer_service_url: Some(sp.acs_url.clone()),
        protocol_binding: Some(HTTP_POST_BINDING.to_owned()),
        ..AuthnRequest::default()
    };
    let url = request
        .redirect(relay_state)
        .map_err(|e| SamlFailure::Configuration(format!("AuthnRequest: {e}")))?
        .ok_or_else(|| SamlFailure::Configuration("the AuthnRequest has no destination".into()))?;
    Ok(Request {
        url: url.to_string(),
        request_id,
    })
}

/// orgql's SP metadata, to paste into the IdP: the entity id, the ACS
/// (HTTP-POST), emailAddress NameIDs, signed assertions wanted.
pub fn sp_metadata(sp: &ServiceProviderUrls) -> Result<String, SamlFailure> {
    let descriptor = EntityDescriptor {
        entity_id: Some(sp.entity_id.clone()),
        sp_sso_descriptors: Some(vec![SpSsoDescriptor {
            protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".to_owned()),
            authn_requests_signed: Some(false),
            want_assertions_signed: Some(true),
            name_id_formats: Some(vec![
                NameIdFormat::EmailAddressNameIDFormat.value().to_owned(),
            ]),
            assertion_consumer_services: vec![IndexedEndpoint {
                binding: HTTP_POST_BINDING.to_owned(),
                location: sp.acs_url.clone(),
                response_location: None,
                index: 0,
                is_default: Some(true),
            }],
            ..SpSsoDescriptor::default()
        }]),
        ..EntityDescriptor::default()
    };
    descriptor
        .to_string()
        .map_err(|e| SamlFailure::Configuration(format!("SP metadata: {e:?}")))
}

/// What an accepted assertion says.
pub struct Accepted {
    /// The assertion's `ID`, for the replay cache.
    pub assertion_id: String,
    /// Until when the assertion could be accepted at all: its id is kept
    /// that long.
    pub usable_until: DateTime<Utc>,
    pub identity: VerifiedIdentity,
}

/// The IdP's metadata as samael needs it: entity id and signing key.
fn idp_metadata(idp: &IdpSettings<'_>) -> Result<EntityDescriptor, SamlFailure> {
    let der = certificate_der(idp.certificate)
        .map_err(|e| SamlFailure::Configuration(format!("certificate: {e}")))?;
    // A fixed skeleton (no input of anyone's in the XML), then the values.
    let mut descriptor: EntityDescriptor = concat!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="idp">"#,
        r#"<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
        r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
    .parse()
    .map_err(|e| SamlFailure::Configuration(format!("IdP metadata skeleton: {e}")))?;
    descriptor.entity_id = Some(idp.entity_id.to_owned());
    let key = KeyDescriptor {
        key_use: Some("signing".to_owned()),
        key_info: samael::key_info::KeyInfo {
            id: None,
            x509_data: Some(samael::key_info::X509Data {
                certificates: vec![base64::engine::general_purpose::STANDARD.encode(der)],
            }),
        },
        encryption_methods: None,
    };
    for sso in descriptor.idp_sso_descriptors.iter_mut().flatten() {
        sso.key_descriptors = vec![key.clone()];
    }
    Ok(descriptor)
}

/// Verifies a `SAMLResponse` (base64, HTTP-POST binding) that answers the
/// AuthnRequest `request_id`, on a blocking thread: libxml2 and libxmlsec1
/// are synchronous. See [`verify_response_xml`].
pub async fn verify_response(
    sp: &ServiceProviderUrls,
    idp: &IdpSettings<'_>,
    saml_response: &str,
    request_id: &str,
) -> Result<Accepted, SamlFailure> {
    let xml = base64::engine::general_purpose::STANDARD
        .decode(saml_response.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| SamlFailure::Refused("the SAMLResponse is not base64 UTF-8".into()))?;
    let sp = ServiceProviderUrls {
        entity_id: sp.entity_id.clone(),
        acs_url: sp.acs_url.clone(),
    };
    let (entity_id, sso_url, certificate) = (
        idp.entity_id.to_owned(),
        idp.sso_url.to_owned(),
        idp.certificate.to_owned(),
    );
    let request_id = request_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let idp = IdpSettings {
            entity_id: &entity_id,
            sso_url: &sso_url,
            certificate: &certificate,
        };
        verify_response_xml(&sp, &idp, &xml, &request_id)
    })
    .await
    .map_err(|e| SamlFailure::Configuration(format!("the verification task failed: {e}")))?
}

/// Verifies a decoded Response. The XML is first read by [`saml_xml`]
/// (nothing xmlsec would fetch, expand or transform gets to it), then
/// xmlsec verifies it, confined to the document (see
/// `confine_xml_libraries`). Blocks. Public for the fuzz target.
#[doc(hidden)]
pub fn verify_response_xml(
    sp: &ServiceProviderUrls,
    idp: &IdpSettings<'_>,
    xml: &str,
    request_id: &str,
) -> Result<Accepted, SamlFailure> {
    saml_xml::ensure_safe_to_verify(xml).map_err(SamlFailure::Refused)?;
    let envelope = xml
        .parse::<samael::schema::Response>()
        .map_err(|_| SamlFailure::Refused("the Response does not parse".into()))?;
    ensure_success(&envelope)?;
    ensure_destination(sp, &envelope)?;
    let assertion = verify_signature(sp, idp, xml, request_id)?;
    accepted(&assertion, sp)
}

/// samael and xmlsec on `xml`, without [`saml_xml`]'s scan (the unit
/// tests call it alone to show xmlsec stays in the document by itself).
fn verify_signature(
    sp: &ServiceProviderUrls,
    idp: &IdpSettings<'_>,
    xml: &str,
    request_id: &str,
) -> Result<Assertion, SamlFailure> {
    let provider = ServiceProvider {
        entity_id: Some(sp.entity_id.clone()),
        acs_url: Some(sp.acs_url.clone()),
        metadata_url: None,
        slo_url: None,
        idp_metadata: idp_metadata(idp)?,
        allow_idp_initiated: false,
        max_clock_skew: Duration::seconds(CLOCK_SKEW_SECONDS),
        max_issue_delay: Duration::seconds(MAX_ISSUE_DELAY_SECONDS),
        allowed_signature_algorithms: Some(vec![
            AllowedSignatureAlgorithm::RsaSha256,
            AllowedSignatureAlgorithm::RsaSha384,
            AllowedSignatureAlgorithm::RsaSha512,
            AllowedSignatureAlgorithm::EcdsaSha256,
            AllowedSignatureAlgorithm::EcdsaSha384,
            AllowedSignatureAlgorithm::EcdsaSha512,
        ]),
        ..ServiceProvider::default()
    };
    // Without a key samael would skip signature verification: make sure
    // there is one.
    if !matches!(provider.idp_signing_certs(), Ok(Some(ref certs)) if !certs.is_empty()) {
        return Err(SamlFailure::Configuration(
            "no IdP signing certificate".into(),
        ));
    }
    confine_xml_libraries();
    provider
        .parse_xml_response(xml, Some(&[request_id]))
        .map_err(|e| SamlFailure::Refused(e.to_string()))
}

// libxmlsec1's I/O table (xmlsec/io.h); samael links the library.
unsafe extern "C" {
    fn xmlSecIOCleanupCallbacks();
}

/// Takes every way out of the document from libxml2 and xmlsec, for the
/// whole process (samael builds its own DSig context, which enables every
/// Reference URI type, and parses in recover mode with the network on; it
/// offers no way to change either):
/// - xmlsec opens a Reference or RetrievalMethod URI (`file://`, `http://`,
///   `ftp://`) only through its table of I/O callbacks: the table is
///   emptied, so any such URI fails to open and only same-document
///   references (`""`, `#id`, which need no I/O) remain;
/// - libxml2 loads an external entity, DTD or XSLT `document()` through
///   its external entity loader: the loader refuses everything.
///
/// samael runs xmlSecInit (which fills the table) once per process, the
/// first time it loads a key: it is made to do so here first, so the table
/// is emptied after it was filled and stays empty.
fn confine_xml_libraries() {
    static CONFINED: std::sync::Once = std::sync::Once::new();
    CONFINED.call_once(|| {
        use samael::crypto::CryptoProvider as _;
        // Fails on the empty key, after samael's xmlsec initialization.
        let _ = samael::crypto::XmlSec::verify_signed_xml(
            "<a/>",
            &samael::crypto::CertificateDer::from(Vec::new()),
            None,
        );
        // SAFETY: both only swap process-wide tables (a pointer, a list);
        // no xmlsec verification starts before this `Once` completes.
        unsafe {
            xmlSecIOCleanupCallbacks();
            libxml::bindings::xmlSetExternalEntityLoader(Some(refuse_external_entity));
        }
    });
}

/// libxml2's external entity loader that loads nothing.
unsafe extern "C" fn refuse_external_entity(
    _url: *const std::os::raw::c_char,
    _id: *const std::os::raw::c_char,
    _context: libxml::bindings::xmlParserCtxtPtr,
) -> libxml::bindings::xmlParserInputPtr {
    std::ptr::null_mut()
}

/// The IdP's own refusal (AuthnFailed, RequestDenied, a cancelled
/// sign-in: any top-level status but Success). Read from the envelope
/// before the signature, which failure responses often lack: it can only
/// turn one refusal into another.
fn ensure_success(envelope: &samael::schema::Response) -> Result<(), SamlFailure> {
    let status = envelope
        .status
        .as_ref()
        .and_then(|s| s.status_code.value.as_deref());
    match status {
        Some(SUCCESS_STATUS) => Ok(()),
        // Unsigned sender's text: logged only when it is a status SAML
        // defines (Core §3.2.2.2).
        Some(other) => Err(SamlFailure::Denied(
            match other.strip_prefix("urn:oasis:names:tc:SAML:2.0:status:") {
                Some(code)
                    if code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric()) =>
                {
                    code.to_owned()
                }
                _ => "a status SAML does not define".to_owned(),
            },
        )),
        None => Err(SamlFailure::Refused("the Response has no status".into())),
    }
}

/// The Response's `Destination`, when it has one, must be the ACS URL.
/// samael checks it when the whole response is signed; when only the
/// assertion is, the envelope is unsigned and samael reads past it, so
/// this looks at it too (the signed Recipient already binds the assertion
/// to the ACS: this only refuses an envelope that says otherwise). The
/// value is the sender's text: the log says only that it differed.
fn ensure_destination(
    sp: &ServiceProviderUrls,
    envelope: &samael::schema::Response,
) -> Result<(), SamlFailure> {
    match envelope.destination.as_deref() {
        Some(destination) if destination != sp.acs_url => Err(SamlFailure::Refused(
            "the response's Destination is not this ACS".into(),
        )),
        _ => Ok(()),
    }
}

fn accepted(assertion: &Assertion, sp: &ServiceProviderUrls) -> Result<Accepted, SamlFailure> {
    // samael checks the audience only when a restriction is present, and
    // lets one matching restriction do; SAML Core §2.5.1.4: the assertion
    // is addressed to an SP only when EVERY restriction names it. Each
    // connection has its own SP entity id, so this is what tells two
    // connections (and two organizations) trusting one IdP apart.
    let restrictions = assertion
        .conditions
        .as_ref()
        .and_then(|c| c.audience_restrictions.as_deref())
        .unwrap_or_default();
    if restrictions.is_empty()
        || !restrictions
            .iter()
            .all(|r| r.audience.contains(&sp.entity_id))
    {
        return Err(SamlFailure::Refused(
            "an AudienceRestriction does not name this connection's SP entity id".into(),
        ));
    }
    if assertion.id.is_empty() {
        return Err(SamlFailure::Refused("the assertion has no ID".into()));
    }
    if assertion.id.chars().count() > MAX_ASSERTION_ID_CHARS {
        return Err(SamlFailure::Refused(format!(
            "the assertion's ID is longer than {MAX_ASSERTION_ID_CHARS} characters"
        )));
    }
    let name_id = assertion
        .subject
        .as_ref()
        .and_then(|s| s.name_id.as_ref())
        .filter(|n| !n.value.trim().is_empty())
        .ok_or_else(|| SamlFailure::Refused("the assertion has no NameID".into()))?;
    // The first of `names`, in that order, that the assertion carries, by
    // the attribute's `Name` (FriendlyName is a display label, SAML Core
    // §2.7.3.1: anyone can write "email" there over another attribute).
    let attribute = |names: &[&str]| -> Option<String> {
        let attributes = || {
            assertion
                .attribute_statements
                .iter()
                .flatten()
                .flat_map(|statement| statement.attributes.iter())
        };
        names.iter().find_map(|name| {
            attributes()
                .filter(|a| a.name.as_deref() == Some(*name))
                .flat_map(|a| a.values.iter())
                .filter_map(|v| v.value.as_deref())
                .map(str::trim)
                .find(|v| !v.is_empty())
                .map(str::to_owned)
        })
    };
    let email = if name_id.format.as_deref() == Some(EMAIL_NAME_ID) {
        Some(name_id.value.trim().to_owned())
    } else {
        attribute(EMAIL_ATTRIBUTES)
    }
    .map(|e| e.to_lowercase());
    let usable_until = assertion
        .subject
        .iter()
        .flat_map(|s| s.subject_confirmations.iter().flatten())
        .filter_map(|c| c.subject_confirmation_data.as_ref())
        .filter_map(|d| d.not_on_or_after)
        .chain(
            assertion
                .conditions
                .iter()
                .filter_map(|c| c.not_on_or_after),
        )
        .max()
        .unwrap_or_else(Utc::now)
        .max(assertion.issue_instant + Duration::seconds(MAX_ISSUE_DELAY_SECONDS))
        + Duration::seconds(CLOCK_SKEW_SECONDS);
    Ok(Accepted {
        assertion_id: assertion.id.clone(),
        usable_until,
        identity: VerifiedIdentity {
            subject: name_id.value.trim().to_owned(),
            linkable: name_id.format.as_deref() != Some(TRANSIENT_NAME_ID),
            email,
            // The IdP signed it; whether the address counts as proven is
            // decided against the organization's verified domains.
            email_verified: true,
            needs_verified_domain: true,
            name: attribute(NAME_ATTRIBUTES),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// A self-signed P-256 certificate nobody holds the key of any more.
    const TEST_IDP_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----
MIIBijCCAS+gAwIBAgIUO4s2VCUZh5kXd6owECcC0mYTwGQwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOb3JncWwgZnV6eiBpZHAwIBcNMjYxMjA0MDMyNTM5WhgPMjEy
NjExMTAwMzI1MzlaMBkxFzAVBgNVBAMMDm9yZ3FsIGZ1enogaWRwMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEQuAeH46zX5xcZKS/8ddVldwF+OZues6nx5FP0+VX
phNMjJBQiu/t55JF+Cx4I8GtVlfl8WkswgDK8rJMCLxfhKNTMFEwHQYDVR0OBBYE
FE9p1mRZTQ1LKYrAiJoyd1ShfvkiMB8GA1UdIwQYMBaAFE9p1mRZTQ1LKYrAiJoy
d1ShfvkiMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAJp1HO8U
JB8J/xxJVLotU76t2Wfan8JEAbWRBRofg0J6AiEAr8m5sCanS18fAVLWYCQ7QEbI
f7wMmFH5F8dSluiKxS0=
-----END CERTIFICATE-----";

    /// A Response signed (badly) over `reference_uri`, in the plain DSig
    /// namespace: the scan would refuse it, xmlsec alone must not follow
    /// the reference.
    fn pointing_at(reference_uri: &str) -> String {
        let now = Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="{now}"><saml:Issuer>idp</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/><ds:Reference URI="{reference_uri}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature><saml:Assertion ID="_a1" Version="2.0" IssueInstant="{now}"><saml:Issuer>idp</saml:Issuer></saml:Assertion></samlp:Response>"#
        )
    }

    fn verify_alone(xml: &str) -> Result<Assertion, SamlFailure> {
        let sp = ServiceProviderUrls {
            entity_id: "https://orgql.test/sp".into(),
            acs_url: "https://orgql.test/sso/saml/acs".into(),
        };
        let idp = IdpSettings {
            entity_id: "idp",
            sso_url: "https://idp.test/sso",
            certificate: TEST_IDP_CERTIFICATE,
        };
        verify_signature(&sp, &idp, xml, "_request")
    }

    #[test]
    fn xmlsec_alone_fetches_no_url_a_reference_names() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let canary = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", canary.local_addr().unwrap());
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        {
            let seen = seen.clone();
            // Counts and hangs up, so a fetch fails at once instead of
            // waiting for an answer.
            std::thread::spawn(move || {
                for connection in canary.incoming() {
                    seen.fetch_add(1, Ordering::SeqCst);
                    drop(connection);
                }
            });
        }
        assert!(verify_alone(&pointing_at(&url)).is_err());
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            seen.load(Ordering::SeqCst),
            0,
            "xmlsec connected to the canary"
        );
    }

    #[test]
    fn xmlsec_alone_opens_no_file_a_reference_names() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        // Opening the FIFO to read waits for this writer, 3 s on.
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(3));
                std::fs::write(&fifo, b"x").unwrap();
            })
        };
        let started = Instant::now();
        assert!(verify_alone(&pointing_at(&format!("file://{}", fifo.display()))).is_err());
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(2),
            "xmlsec waited on the FIFO: {elapsed:?}"
        );
        assert_eq!(std::fs::read(&fifo).unwrap(), b"x");
        writer.join().unwrap();
    }
}
