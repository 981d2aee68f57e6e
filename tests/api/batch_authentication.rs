//! With batching on, every operation of a batch authenticates again, when
//! its turn comes (issue #22, L9): a write after `logOut` in the same batch
//! is refused, as it would be in a request of its own.

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::*;

/// POSTs `operations` as one JSON-array batch with `token`.
async fn batch(app: &TestApp, operations: Value, token: &str) -> Vec<Value> {
    let response: Value = app
        .client
        .post(app.url())
        .bearer_auth(token)
        .json(&operations)
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("a JSON body");
    response
        .as_array()
        .unwrap_or_else(|| panic!("a batch answers with an array: {response}"))
        .clone()
}

#[tokio::test]
async fn every_query_of_a_batch_with_a_valid_token_is_answered() {
    let app = spawn_app_with(|c| c.max_batch = 5).await;
    let ann = app.sign_up("Ann").await;
    let answers = batch(
        &app,
        json!([
            { "query": "{ viewer { user { id } } }" },
            { "query": "{ viewer { user { email } } }" },
        ]),
        &ann.token,
    )
    .await;
    assert_eq!(answers.len(), 2);
    for answer in &answers {
        assert_ok(answer);
    }
    assert_eq!(answers[0]["data"]["viewer"]["user"]["id"], json!(ann.id));
    assert_eq!(
        answers[1]["data"]["viewer"]["user"]["email"],
        json!(ann.email)
    );
}

#[tokio::test]
async fn a_write_after_log_out_in_the_same_batch_is_refused_and_creates_nothing() {
    let app = spawn_app_with(|c| c.max_batch = 5).await;
    let ann = app.sign_up("Ann").await;
    let answers = batch(
        &app,
        json!([
            { "query": "mutation { logOut { sessionId } }" },
            { "query": "mutation { createOrganization(input: { name: \"After logout\" }) { organization { id } } }" },
        ]),
        &ann.token,
    )
    .await;
    assert_ok(&answers[0]);
    assert_error(&answers[1], "UNAUTHENTICATED");
    let organizations = entity::organization::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(organizations, 0, "an organization was created after logOut");
}
