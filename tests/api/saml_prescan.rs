//! Issue #22, H1: a SAML Response that hides its signature from orgql's
//! pre-scan behind an escaped namespace (`xmldsig&#x23;`, `&#35;`, an
//! escaped default namespace) must be refused at once, and nothing it
//! points at may be fetched or opened: not a URL (a canary listener counts
//! connections), not a local file (a FIFO would hold the request until
//! someone writes to it). Anyone holding a RelayState could send these: no
//! key or IdP account is needed, so the documents are forged here.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::idp::{Browser, SamlPost};
use crate::saml::{IDP_ENTITY_ID, Saml, canary, setup};
use crate::sso::APP_RETURN;

/// A forged Response whose Signature element is `signature` (built by
/// the caller around `reference_uri`).
fn forged_response(signature: &str) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="{now}"><saml:Issuer>{IDP_ENTITY_ID}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{signature}<saml:Assertion ID="_a1" Version="2.0" IssueInstant="{now}"><saml:Issuer>{IDP_ENTITY_ID}</saml:Issuer></saml:Assertion></samlp:Response>"#
    )
}

/// A `ds:Signature` over `reference_uri`, its namespace declared with
/// `dsig_namespace` (the raw attribute text) under `prefix` (`""`: the
/// default namespace).
fn signature(prefix: &str, dsig_namespace: &str, reference_uri: &str) -> String {
    let (declaration, p) = if prefix.is_empty() {
        (format!(r#"xmlns="{dsig_namespace}""#), String::new())
    } else {
        (
            format!(r#"xmlns:{prefix}="{dsig_namespace}""#),
            format!("{prefix}:"),
        )
    };
    format!(
        r#"<{p}Signature {declaration}><{p}SignedInfo><{p}CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><{p}SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><{p}Reference URI="{reference_uri}"><{p}DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><{p}DigestValue>AAAA</{p}DigestValue></{p}Reference></{p}SignedInfo><{p}SignatureValue>AAAA</{p}SignatureValue></{p}Signature>"#
    )
}

/// Posts `xml` with a fresh RelayState (from a real start and IdP round
/// trip, the IdP's own answer thrown away); answers where the browser was
/// sent and how long the ACS took.
async fn post_forged(saml: &Saml, xml: &str) -> (String, Duration) {
    use base64::Engine as _;
    let browser = Browser::default();
    let answer = saml.idp_answer(&browser, "alice").await;
    let forged = SamlPost {
        action: answer.action,
        saml_response: base64::engine::general_purpose::STANDARD.encode(xml),
        relay_state: answer.relay_state,
    };
    let started = Instant::now();
    let to = saml.post(&browser, &forged).await;
    (to, started.elapsed())
}

#[tokio::test]
async fn a_signature_behind_an_escaped_dsig_namespace_is_refused_and_its_url_never_fetched() {
    let saml = setup().await;
    saml.activate().await;
    let (url, seen) = canary().await;
    const DSIG: &str = "http://www.w3.org/2000/09/xmldsig";
    let cases = [
        (
            "hex character reference",
            signature("ds", &format!("{DSIG}&#x23;"), &url),
        ),
        (
            "decimal character reference",
            signature("ds", &format!("{DSIG}&#35;"), &url),
        ),
        (
            "escaped default namespace",
            signature("", &format!("{DSIG}&#x23;"), &url),
        ),
        (
            "escaped letters too",
            signature("ds", "&#x68;ttp://www.w3.org/2000/09/xmldsig&#x0023;", &url),
        ),
    ];
    for (case, signature) in cases {
        let (to, elapsed) = post_forged(&saml, &forged_response(&signature)).await;
        assert_eq!(to, format!("{APP_RETURN}?error=invalid_response"), "{case}");
        assert!(elapsed < Duration::from_secs(2), "{case}: {elapsed:?}");
        println!("{case}: refused in {elapsed:?}");
    }
    // The namespace declared on the root element, the signature under it.
    let on_root = forged_response(&signature("ds", "http://www.w3.org/2000/09/xmldsig#", &url))
        .replacen(
            "<samlp:Response ",
            r#"<samlp:Response xmlns:ds="http://www.w3.org/2000/09/xmldsig&#x23;" "#,
            1,
        )
        .replacen(r#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#""#, "", 1);
    let (to, _) = post_forged(&saml, &on_root).await;
    assert_eq!(to, format!("{APP_RETURN}?error=invalid_response"));
    // A moment for a fetch that would have been on its way.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen.load(Ordering::SeqCst), 0, "the server fetched the URL");
}

#[tokio::test]
async fn a_file_reference_behind_an_escaped_dsig_namespace_is_refused_without_opening_the_file() {
    let saml = setup().await;
    saml.activate().await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Whoever opens the FIFO to read waits for a writer: this one comes
    // after 3 s. A server that opens the file answers after that.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            std::fs::write(&fifo, b"x").unwrap();
        })
    };
    let uri = format!("file://{}", fifo.display());
    let xml = forged_response(&signature(
        "ds",
        "http://www.w3.org/2000/09/xmldsig&#x23;",
        &uri,
    ));
    let (to, elapsed) = post_forged(&saml, &xml).await;
    println!("file reference: refused in {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(2),
        "the ACS waited on the FIFO: {elapsed:?}"
    );
    assert_eq!(to, format!("{APP_RETURN}?error=invalid_response"));
    // Nobody opened it: read it here, to let the writer finish.
    assert_eq!(
        tokio::task::spawn_blocking(move || std::fs::read(&fifo).unwrap())
            .await
            .unwrap(),
        b"x"
    );
    writer.join().unwrap();
}
