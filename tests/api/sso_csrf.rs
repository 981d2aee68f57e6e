//! Login CSRF (review L6): a sign-in in flight counts only in the browser
//! that started it. Whoever starts a sign-in and signs in at the IdP as
//! themselves cannot hand the IdP's answer (the OIDC callback URL, the
//! SAML form) to another browser and sign that browser in as them.

use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::idp::{Browser, SSO_BINDING_COOKIE, sso_binding_set_by};
use crate::sso::{
    APP_RETURN, PUBLIC, entity_audit, exchange, open_test_link, query_param, through_callback,
    urlencode,
};

fn refused() -> String {
    format!("{APP_RETURN}?error=invalid_response")
}

async fn codes_issued(app: &crate::helpers::TestApp) -> u64 {
    entity::sso_code::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_start_binds_the_sign_in_to_the_browser_with_a_host_only_secure_cookie() {
    let sso = crate::sso::setup().await;
    sso.activate().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = format!(
        "{}/sso/{}/start?redirect_uri={}",
        sso.app.base,
        sso.org.slug,
        urlencode(APP_RETURN)
    );
    let response = client.get(&start).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{SSO_BINDING_COOKIE}=")))
        .expect("the start sets the binding cookie");
    let attributes: Vec<String> = set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for wanted in ["secure", "httponly", "path=/", "samesite=none"] {
        assert!(attributes.iter().any(|a| a == wanted), "{set_cookie}");
    }
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "{set_cookie}"
    );
    // Random, and long enough not to be guessed.
    let value = sso_binding_set_by(&response).unwrap();
    assert!(value.len() >= 43, "{set_cookie}");
}

#[tokio::test]
async fn an_oidc_callback_from_another_browser_is_refused_and_issues_no_code() {
    let sso = crate::sso::setup().await;
    sso.activate().await;
    let codes_before = codes_issued(&sso.app).await;

    // The attacker starts, signs in at the IdP as itself, and stops before
    // the callback; the victim's browser, without any cookie, follows it.
    let attacker = Browser::default();
    let callback = sso.callback_for(&attacker, "max").await;
    let victim = Browser::default();
    let (status, to) = victim.redirect_of(&sso.on_app(&callback)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let to = to.unwrap();
    assert_eq!(to, refused());
    assert_eq!(query_param(&to, "code"), None);
    assert_eq!(codes_issued(&sso.app).await, codes_before);
    assert!(
        entity_audit(&sso.app, "user.sso_signed_in")
            .await
            .is_empty()
    );
    // The mismatched attempt used the sign-in in flight up: the attacker's
    // own browser cannot finish it afterwards either.
    let (status, _) = attacker.redirect_of(&sso.on_app(&callback)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(codes_issued(&sso.app).await, codes_before);

    // A victim that holds a cookie of its own (its own sign-in in flight):
    // the attacker's answer is refused all the same, the victim's cookie
    // is left alone, and its own sign-in still goes through.
    let own_callback = sso.callback_for(&victim, "alice").await;
    let victims_binding = victim.sso_binding().unwrap();
    let handed = sso.callback_for(&attacker, "max").await;
    assert_ne!(attacker.sso_binding(), Some(victims_binding.clone()));
    let (status, to) = victim.redirect_of(&sso.on_app(&handed)).await;
    assert_eq!((status, to), (StatusCode::SEE_OTHER, Some(refused())));
    assert_eq!(victim.sso_binding(), Some(victims_binding));
    assert_eq!(codes_issued(&sso.app).await, codes_before);
    let (status, to) = victim.redirect_of(&sso.on_app(&own_callback)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code = query_param(&to.unwrap(), "code").expect("the victim's own sign-in succeeds");
    // Over: the cookie is cleared.
    assert_eq!(victim.sso_binding(), None);
    let session = exchange(&sso.app, &code).await;
    assert_eq!(
        session["data"]["exchangeSsoCode"]["user"]["email"],
        "alice@acme.test"
    );
}

#[tokio::test]
async fn a_test_sign_in_counts_only_in_the_browser_that_opened_its_link_and_the_link_works_once() {
    let sso = crate::sso::setup().await;
    let link = sso.test_link().await;
    let admin = Browser::default();
    let to_idp = open_test_link(&sso.app, &admin, &link).await;
    assert!(
        to_idp.contains("code_challenge_method=S256"),
        "on to the IdP: {to_idp}"
    );
    assert!(admin.sso_binding().is_some(), "the link binds the browser");

    // Whoever else gets hold of the link finds it used.
    let (status, _) = Browser::default().redirect_of(&sso.on_app(&link)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = admin.redirect_of(&sso.on_app(&link)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The IdP's answer handed to another browser proves nothing.
    let callback = admin
        .through_idp(&to_idp, "max", &format!("{PUBLIC}/sso/oidc/callback"))
        .await;
    let (status, to) = Browser::default().redirect_of(&sso.on_app(&callback)).await;
    assert_eq!((status, to), (StatusCode::SEE_OTHER, Some(refused())));
    assert_eq!(sso.tested_at().await, serde_json::Value::Null);

    // Through the browser that opened the link, the test passes.
    let link = sso.test_link().await;
    let admin = Browser::default();
    let to_idp = open_test_link(&sso.app, &admin, &link).await;
    assert_eq!(
        through_callback(&sso.app, &admin, &to_idp, "max").await,
        format!("{APP_RETURN}?sso_test=passed")
    );
    assert!(sso.tested_at().await.is_string());
}

#[tokio::test]
async fn an_oidc_callback_in_the_browser_that_started_it_signs_in() {
    let sso = crate::sso::setup().await;
    sso.activate().await;
    let browser = Browser::default();
    let callback = sso.callback_for(&browser, "max").await;
    let (status, to) = browser.redirect_of(&sso.on_app(&callback)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code = query_param(&to.unwrap(), "code").expect("a code");
    assert_eq!(browser.sso_binding(), None);
    let session = exchange(&sso.app, &code).await;
    assert_eq!(
        session["data"]["exchangeSsoCode"]["user"]["email"],
        "max@acme.test"
    );
}

#[cfg(feature = "saml")]
#[tokio::test]
async fn a_saml_answer_posted_from_another_browser_is_refused_and_issues_no_code() {
    let saml = crate::saml::setup().await;
    saml.activate().await;
    let codes_before = codes_issued(&saml.app).await;

    let attacker = Browser::default();
    let post = saml.idp_answer(&attacker, "alice").await;
    // The victim's browser, without any cookie, posts the attacker's form.
    let victim = Browser::default();
    let (status, to) = victim.post_to_acs(&saml.acs(), &post).await;
    assert_eq!((status, to), (StatusCode::SEE_OTHER, Some(refused())));
    assert_eq!(codes_issued(&saml.app).await, codes_before);
    assert!(
        entity_audit(&saml.app, "user.sso_signed_in")
            .await
            .is_empty()
    );
    // Used up: the attacker cannot post it afterwards.
    let (status, _) = attacker.post_to_acs(&saml.acs(), &post).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // With another browser's cookie (the victim's own sign-in in flight).
    let own = saml.idp_answer(&victim, "alice").await;
    let handed = saml.idp_answer(&attacker, "alice").await;
    let (status, to) = victim.post_to_acs(&saml.acs(), &handed).await;
    assert_eq!((status, to), (StatusCode::SEE_OTHER, Some(refused())));
    assert_eq!(codes_issued(&saml.app).await, codes_before);
    // The browser that started a sign-in finishes it.
    let back = saml.post(&victim, &own).await;
    let code = query_param(&back, "code").expect("the victim's own sign-in succeeds");
    assert_eq!(victim.sso_binding(), None);
    let session = exchange(&saml.app, &code).await;
    assert_eq!(
        session["data"]["exchangeSsoCode"]["user"]["email"],
        "alice@acme.test"
    );
}
