//! The SAML IdP (`saml-idp.mjs`, on `samlify`) and the browser's part in
//! its flow. Built only with the `saml` feature: its keys come from
//! OpenSSL, which only that build links.

use reqwest::StatusCode;
use serde_json::Value;
use tokio::process::{Child, ChildStdin};

use super::{Browser, location, spawn_node};

/// A key pair and its self-signed certificate, PEM.
pub struct KeyPair {
    pub key: String,
    pub cert: String,
}

impl KeyPair {
    pub fn generate(common_name: &str) -> Self {
        use openssl::asn1::Asn1Time;
        use openssl::bn::BigNum;
        use openssl::hash::MessageDigest;
        use openssl::pkey::PKey;
        use openssl::rsa::Rsa;
        use openssl::x509::{X509Builder, X509NameBuilder};
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", common_name).unwrap();
        let name = name.build();
        let mut builder = X509Builder::new().unwrap();
        builder.set_version(2).unwrap();
        builder
            .set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder
            .set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        builder
            .set_not_after(&Asn1Time::days_from_now(365).unwrap())
            .unwrap();
        builder.sign(&key, MessageDigest::sha256()).unwrap();
        Self {
            key: String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
            cert: String::from_utf8(builder.build().to_pem().unwrap()).unwrap(),
        }
    }
}

/// A running SAML IdP (`tests/idp/saml-idp.mjs`); ends when dropped.
pub struct SamlIdp {
    pub base: String,
    /// Its SingleSignOnService URL (HTTP-Redirect binding).
    pub sso_url: String,
    pub entity_id: String,
    /// The certificate its responses are signed with, PEM.
    pub cert: String,
    _child: Child,
    _stdin: ChildStdin,
}

/// What the IdP's page would make the browser post to the ACS.
pub struct SamlPost {
    pub action: String,
    pub saml_response: String,
    pub relay_state: String,
}

impl SamlIdp {
    /// Starts an IdP with `accounts` (`{ login: { email, name, persistent?,
    /// emailAttribute? } }`), a fresh signing key and another key it signs
    /// with when told to (`other_key`).
    pub async fn start(entity_id: &str, accounts: Value) -> Self {
        let signing = KeyPair::generate("test idp");
        let other = KeyPair::generate("someone else");
        let config = serde_json::json!({
            "entityId": entity_id,
            "key": signing.key,
            "cert": signing.cert,
            "otherKey": other.key,
            "otherCert": other.cert,
            "accounts": accounts,
        });
        let (child, stdin, first) = spawn_node("saml-idp.mjs", &config).await;
        Self {
            base: first["base"].as_str().unwrap().to_owned(),
            sso_url: first["ssoUrl"].as_str().unwrap().to_owned(),
            entity_id: entity_id.to_owned(),
            cert: signing.cert,
            _child: child,
            _stdin: stdin,
        }
    }

    /// Registers the service provider by its metadata XML.
    pub async fn trust_sp(&self, metadata_xml: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/__test/sp", self.base))
            .body(metadata_xml.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    /// Spoils the next response (see `saml-idp.mjs` for the modes).
    pub async fn tamper(&self, mode: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/__test/tamper", self.base))
            .json(&serde_json::json!({ "mode": mode }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
}

/// The `value` of the input named `name` in an HTML page.
fn input_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

impl Browser {
    /// Follows orgql's redirect to the SAML IdP, signs in there as
    /// `login`, and answers what the IdP's page posts to the ACS.
    pub async fn through_saml_idp(&self, idp_url: &str, login: &str) -> SamlPost {
        let response = self.client.get(idp_url).send().await.unwrap();
        let status = response.status();
        let page = response.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::OK,
            "the IdP refused the AuthnRequest: {page}"
        );
        let pending = input_value(&page, "pending");
        let login_url = reqwest::Url::parse(idp_url)
            .unwrap()
            .join("/login")
            .unwrap();
        let response = self
            .client
            .post(login_url)
            .form(&[("pending", pending.as_str()), ("login", login)])
            .send()
            .await
            .unwrap();
        let status = response.status();
        let page = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "the IdP did not answer: {page}");
        let action_marker = "action=\"";
        let start = page.find(action_marker).unwrap() + action_marker.len();
        let end = start + page[start..].find('"').unwrap();
        SamlPost {
            action: page[start..end].replace("&amp;", "&"),
            saml_response: input_value(&page, "SAMLResponse"),
            relay_state: input_value(&page, "RelayState"),
        }
    }

    /// Posts an IdP's answer to `acs` as the browser would; answers the
    /// status and where orgql sent the browser.
    pub async fn post_to_acs(&self, acs: &str, post: &SamlPost) -> (StatusCode, Option<String>) {
        let response = self
            .with_binding(acs, self.client.post(acs))
            .form(&[
                ("SAMLResponse", post.saml_response.as_str()),
                ("RelayState", post.relay_state.as_str()),
            ])
            .send()
            .await
            .unwrap();
        self.keep_binding(&response);
        let status = response.status();
        if status.is_redirection() {
            (status, Some(location(acs, &response)))
        } else {
            (status, None)
        }
    }
}
