//! Without an SMTP server, mail goes to `.eml` files in the mail directory,
//! never to the log: the default configuration is run as shipped (the real
//! binary, every log level on) and an invitation's link is looked for in
//! both places.

use std::time::Duration;

use serde_json::json;

use crate::binary::{Server, call, sign_up_and_in, written_mail};

#[tokio::test]
async fn by_default_an_invitation_is_written_beside_the_database_and_its_link_is_not_logged() {
    // The working directory holds the default database, orgql.db.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("RUST_LOG", "trace")]).await;
    let url = server.url();
    let mail_dir = dir.path().join("mail");
    let ann = sign_up_and_in(
        &url,
        &mail_dir,
        "ann@example.com",
        "violet tractor umbrella 42",
    )
    .await;
    let access = ann.access_token;
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

    let mail = written_mail(&mail_dir, "bob@example.com").await;
    assert_eq!(mail.len(), 1);
    let decoded = &mail[0];
    assert!(decoded.contains(link), "the link is in the file: {decoded}");
    // Ann's verification link went the same way.
    let verify_token = ann.verification_token;
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
