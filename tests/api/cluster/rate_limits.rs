//! Rate limits are shared by the instances: spreading attempts over them buys nothing.

use serde_json::json;
use townsquare::config::Settings;

use super::instances::{A, B, Cluster};

const LOGIN: &str =
    "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }";

#[tokio::test]
async fn wrong_passwords_spread_over_two_instances_hit_the_per_address_limit_at_the_same_count_as_on_one() {
    let Some(cluster) = Cluster::start_with(2, &[("RATE_LIMITS", "on")]).await else { return };
    // The default the instances run with (LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS is unset).
    let limit = Settings::from_lookup(|_| None).expect("the defaults are valid").rate_limits.login_per_address;
    let ann = cluster[A].signed_up("ann").await;
    for attempt in 0..limit as usize {
        let instance = &cluster[[A, B][attempt % 2]];
        let body = instance.graphql(LOGIN, json!({ "email": ann.email, "password": "not the password" })).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "UNAUTHENTICATED",
            "attempt {} through {}: {body}",
            attempt + 1,
            instance.name
        );
    }
    for instance in cluster.instances() {
        let body = instance.graphql(LOGIN, json!({ "email": ann.email, "password": ann.password })).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "RATE_LIMITED",
            "after {limit} failures over A and B, {} refuses even the right password: {body}",
            instance.name
        );
        let retry = body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64();
        assert!(retry.is_some_and(|retry| (1..=60).contains(&retry)), "retryAfterSeconds: {body}");
    }
}
