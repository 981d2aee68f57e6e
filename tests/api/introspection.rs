//! The introspection queries tools really send run under the default
//! limits, circular introspection stays refused, and what the server
//! introspects is what schema.graphql prints.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::*;

/// `kind name ofType { … }`, nested `levels` times: graphql-js 16 and
/// graphql-core 3.3 ask for 9 levels of `ofType`, older versions for 7.
fn type_ref(levels: usize) -> String {
    let mut inner = String::from("kind name");
    for _ in 0..levels {
        inner = format!("kind name ofType {{ {inner} }}");
    }
    format!("fragment TypeRef on __Type {{ {inner} }}")
}

/// graphql-js's `getIntrospectionQuery()` with every option on
/// (descriptions, specifiedByURL, directive repeatability, schema
/// description, deprecated input values, oneOf): what GraphiQL and
/// graphql-codegen send.
fn graphql_js_introspection_query() -> String {
    format!(
        "query IntrospectionQuery {{
          __schema {{
            description
            queryType {{ name }} mutationType {{ name }} subscriptionType {{ name }}
            types {{ ...FullType }}
            directives {{
              name description isRepeatable locations
              args(includeDeprecated: true) {{ ...InputValue }}
            }}
          }}
        }}
        fragment FullType on __Type {{
          kind name description specifiedByURL isOneOf
          fields(includeDeprecated: true) {{
            name description
            args(includeDeprecated: true) {{ ...InputValue }}
            type {{ ...TypeRef }}
            isDeprecated deprecationReason
          }}
          inputFields(includeDeprecated: true) {{ ...InputValue }}
          interfaces {{ ...TypeRef }}
          enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }}
          possibleTypes {{ ...TypeRef }}
        }}
        fragment InputValue on __InputValue {{
          name description type {{ ...TypeRef }} defaultValue isDeprecated deprecationReason
        }}
        {}",
        type_ref(9)
    )
}

/// graphql-core's `get_introspection_query()` with its defaults: what
/// Schemathesis sends.
fn graphql_core_introspection_query() -> String {
    format!(
        "query IntrospectionQuery {{
          __schema {{
            queryType {{ name }} mutationType {{ name }} subscriptionType {{ name }}
            types {{ ...FullType }}
            directives {{ name description locations args {{ ...InputValue }} }}
          }}
        }}
        fragment FullType on __Type {{
          kind name description
          fields(includeDeprecated: true) {{
            name description args {{ ...InputValue }} type {{ ...TypeRef }}
            isDeprecated deprecationReason
          }}
          inputFields {{ ...InputValue }}
          interfaces {{ ...TypeRef }}
          enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }}
          possibleTypes {{ ...TypeRef }}
        }}
        fragment InputValue on __InputValue {{ name description type {{ ...TypeRef }} defaultValue }}
        {}",
        type_ref(7)
    )
}

fn type_names(response: &Value) -> BTreeSet<String> {
    response["data"]["__schema"]["types"]
        .as_array()
        .expect("the types")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn graphql_js_and_graphql_core_introspection_queries_run_under_the_default_limits() {
    let app = spawn_app().await;
    for query in [
        graphql_js_introspection_query(),
        graphql_core_introspection_query(),
    ] {
        let response = app.graphql(&query, json!({}), None).await;
        assert_ok(&response);
        assert!(type_names(&response).contains("ErrorCode"));
    }
}

#[tokio::test]
async fn circular_introspection_is_refused() {
    let app = spawn_app().await;
    let circular = "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }";
    let response = app.graphql(circular, json!({}), None).await;
    assert_error(&response, "QUERY_TOO_COMPLEX");
    assert!(response.get("data").is_none(), "{response}");
    // Two levels of lists, as in `types { interfaces { fields } }`, pass.
    let two = "{ __schema { types { interfaces { fields { name } } } } }";
    assert_ok(&app.graphql(two, json!({}), None).await);
}

#[tokio::test]
async fn every_type_the_schema_file_prints_is_introspected() {
    let app = spawn_app().await;
    let response = app
        .graphql(&graphql_js_introspection_query(), json!({}), None)
        .await;
    let introspected = type_names(&response);
    let printed: BTreeSet<String> = orgql::graphql::sdl()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match words.next()? {
                "type" | "enum" | "input" | "interface" | "scalar" | "union" => words
                    .next()
                    .map(|name| name.trim_end_matches('{').to_owned()),
                _ => None,
            }
        })
        .collect();
    let missing: Vec<_> = printed.difference(&introspected).collect();
    assert!(
        missing.is_empty(),
        "printed but not introspected: {missing:?}"
    );
    let codes = app.graphql("{ errorCodes }", json!({}), None).await;
    assert_eq!(codes["data"]["errorCodes"][0], "UNAUTHENTICATED");
    assert!(
        codes["data"]["errorCodes"]
            .as_array()
            .unwrap()
            .contains(&json!("QUERY_TOO_COMPLEX"))
    );
}

#[tokio::test]
async fn a_query_nested_past_the_parsers_limit_is_too_complex() {
    let app = spawn_app().await;
    for levels in [16, 40] {
        let query = format!(
            "{{ {}id{} }}",
            "viewer { memberships { ".repeat(levels / 2),
            " } }".repeat(levels / 2)
        );
        let response = app.graphql(&query, json!({}), None).await;
        assert_error(&response, "QUERY_TOO_COMPLEX");
    }
}
