//! Rate limits keyed by client network (issue #22, L5): an IPv6 client is
//! limited by its /64, since one host may use any address in it; IPv4
//! stays per address.

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
