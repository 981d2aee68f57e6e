//! Rate limits keyed by client network (issue #22, L5): an IPv6 client is
//! limited by its /64, since one host may use any address in it; IPv4
//! stays per address. On PostgreSQL every instance on the database
//! spends from one budget.

use serde_json::json;

use crate::helpers::*;

const LOG_IN: &str = "mutation($e: String!) { logIn(input: { email: $e, password: \"wrong guess\" }) { accessToken } }";

/// Runs one wrong-password logIn (for a fresh address each, so that no
/// account's budget is touched) from each of `clients`, through a trusted
/// proxy; returns how many were RATE_LIMITED.
async fn limited_log_ins(app: &TestApp, clients: &[String]) -> usize {
    let mut limited = 0;
    for client in clients {
        let email = format!("{}@example.com", unique("nobody"));
        let response = app
            .graphql_with(
                LOG_IN,
                json!({ "e": email }),
                None,
                &[("x-forwarded-for", client.as_str())],
            )
            .await;
        match error_code(&response) {
            Some("RATE_LIMITED") => limited += 1,
            Some("UNAUTHENTICATED") => {}
            _ => panic!("unexpected answer: {response}"),
        }
    }
    limited
}

/// 30 per address per hour: nothing refills while a test runs.
async fn behind_a_proxy_with_30_per_address() -> TestApp {
    spawn_app_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.rate_limit_per_ip = 30;
        c.rate_limit_window_secs = 3600;
    })
    .await
}

#[tokio::test]
async fn sixty_log_ins_from_sixty_addresses_of_one_ipv6_64_are_limited_like_one_address() {
    let app = behind_a_proxy_with_30_per_address().await;
    let clients: Vec<String> = (1..=60)
        .map(|n| format!("2001:db8:7:9:{n:x}:{:x}::1", n * 1000))
        .collect();
    assert_eq!(limited_log_ins(&app, &clients).await, 30);
    // Another /64 has a budget of its own.
    let neighbour = vec!["2001:db8:7:a::1".to_owned()];
    assert_eq!(limited_log_ins(&app, &neighbour).await, 0);
}

#[tokio::test]
async fn ipv4_addresses_keep_a_budget_each_and_a_mapped_one_shares_its_ipv4s() {
    let app = behind_a_proxy_with_30_per_address().await;
    let clients: Vec<String> = (1..=40).map(|n| format!("198.51.100.{n}")).collect();
    assert_eq!(limited_log_ins(&app, &clients).await, 0);
    let same: Vec<String> = (0..30).map(|_| "203.0.113.9".to_owned()).collect();
    assert_eq!(limited_log_ins(&app, &same).await, 0);
    let mapped = vec!["::ffff:203.0.113.9".to_owned()];
    assert_eq!(limited_log_ins(&app, &mapped).await, 1);
}

/// Ten per account per hour, on two instances of one database.
async fn two_instances_with_10_per_account() -> (TestApp, TestApp) {
    let configure = |c: &mut orgql::Config| {
        c.rate_limit_per_account = 10;
        c.rate_limit_window_secs = 3600;
    };
    let first = spawn_app_with(configure).await;
    let second = first.another_instance_with(configure).await;
    (first, second)
}

#[tokio::test]
async fn two_instances_on_one_postgresql_spend_one_budget_per_account() {
    let (first, second) = two_instances_with_10_per_account().await;
    if first.db.get_database_backend() != sea_orm::DbBackend::Postgres {
        // SQLite keeps its budgets in the process that serves the file.
        return;
    }
    let victim = json!({ "e": format!("{}@example.com", unique("victim")) });
    let mut answers = Vec::new();
    for attempt in 0..11 {
        let instance = if attempt % 2 == 0 { &first } else { &second };
        let response = instance.graphql(LOG_IN, victim.clone(), None).await;
        answers.push(error_code(&response).map(str::to_owned));
    }
    let limited = answers
        .iter()
        .filter(|code| code.as_deref() == Some("RATE_LIMITED"))
        .count();
    assert_eq!(
        limited, 1,
        "the eleventh log-in across both instances is the one over the budget: {answers:?}"
    );
    assert_eq!(answers[10].as_deref(), Some("RATE_LIMITED"));
    // Another account still has its whole budget, on either instance.
    let other = json!({ "e": format!("{}@example.com", unique("other")) });
    let response = second.graphql(LOG_IN, other, None).await;
    assert_eq!(error_code(&response), Some("UNAUTHENTICATED"), "{response}");
}
