//! Without an SMTP server, mail goes to `.eml` files in the mail directory,
//! never to the log: the default configuration is run as shipped (the real
//! binary, every log level on) and an invitation's link is looked for in
//! both places.

use std::time::Duration;

use serde_json::{Value, json};

use crate::binary::Server;

async fn call(url: &str, query: &str, variables: Value, token: Option<&str>) -> Value {
    let mut request = reqwest::Client::new()
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response: Value = request.send().await.unwrap().json().await.unwrap();
    assert!(response.get("errors").is_none(), "{response}");
    response["data"].clone()
}

/// The `.eml` files in `dir` addressed to `to`, decoded from
/// quoted-printable (RFC 2045: soft breaks and "=3D" undone), once at least
/// one is there (within 10 s).
async fn written_mail(dir: &std::path::Path, to: &str) -> Vec<String> {
    for _ in 0..100 {
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mail: Vec<String> = entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| {
                    std::fs::read_to_string(e.path())
                        .unwrap()
                        .replace("=\r\n", "")
                        .replace("=\n", "")
                        .replace("=3D", "=")
                })
                .filter(|m| m.contains(&format!("To: {to}")))
                .collect();
            if !mail.is_empty() {
                return mail;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no .eml file appeared in {}", dir.display());
}

#[tokio::test]
async fn by_default_an_invitation_is_written_beside_the_database_and_its_link_is_not_logged() {
    // The working directory holds the default database, orgql.db.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("RUST_LOG", "trace")]).await;
    let url = server.url();
    let access = call(
        &url,
        "mutation { signUp(input: { email: \"ann@example.com\", password: \"violet tractor umbrella 42\", name: \"Ann\" }) { accessToken } }",
        json!({}),
        None,
    )
    .await["signUp"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let org = call(
        &url,
        "mutation { createOrganization(input: { name: \"Acme\" }) { organization { id } } }",
        json!({}),
        Some(&access),
    )
    .await["createOrganization"]["organization"]["id"]
        .clone();
    let invited = call(
        &url,
        "mutation($o: ID!) { createInvitation(input: { organizationId: $o, email: \"bob@example.com\" }) { token acceptUrl } }",
        json!({ "o": org }),
        Some(&access),
    )
    .await;
    let token = invited["createInvitation"]["token"].as_str().unwrap();
    let link = invited["createInvitation"]["acceptUrl"].as_str().unwrap();
    assert!(link.contains(token), "{link}");

    let mail_dir = dir.path().join("mail");
    let mail = written_mail(&mail_dir, "bob@example.com").await;
    assert_eq!(mail.len(), 1);
    let decoded = &mail[0];
    assert!(decoded.contains(link), "the link is in the file: {decoded}");
    // Ann's verification link went the same way.
    let verification = written_mail(&mail_dir, "ann@example.com").await;
    let verify_token = crate::helpers::token_in(&verification[0]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&mail_dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "only the server's user reads mail");
    }

    // A clean stop lets the sender finish (and log) the delivery.
    server.terminate().await;
    let (_, logs) = server.wait(Duration::from_secs(20)).await;
    assert!(
        logs.contains("email written to the mail directory"),
        "the log says where the mail went: {logs}"
    );
    assert!(!logs.contains(token), "the invitation token is logged");
    assert!(
        !logs.contains(&verify_token),
        "the verification token is logged"
    );
}
