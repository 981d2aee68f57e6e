//! Refuses text no database column can hold, once, where every string
//! enters: the request's variables and the string literals of its parsed
//! document, before anything executes; and, for the browser endpoints of
//! single sign-on, the URL's path and query and the ACS form's fields.
//!
//! PostgreSQL's `text` cannot store U+0000 and fails the statement (an
//! INTERNAL error for what is the client's mistake); SQLite stores it, and
//! the next system to read the value may cut the string there. No field of
//! the schema has a use for it, so it is BAD_USER_INPUT everywhere, with
//! `field` naming the innermost argument or input field that holds it.

use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Positioned, ServerError, Value as ConstValue};
use async_graphql_value::Value;

use crate::error::AppError;

/// Whether a request line's path or query holds, once percent-decoded, a
/// NUL or bytes that are not UTF-8: text no column may hold, refused at
/// the browser endpoints (`/sso/*`) before anything reads it (review L10).
pub fn uri_has_unusable_text(uri: &axum::http::Uri) -> bool {
    unusable(uri.path().as_bytes()) || uri.query().is_some_and(|q| unusable(q.as_bytes()))
}

/// Whether a form field (already decoded) holds a NUL.
pub fn has_nul(value: &str) -> bool {
    value.contains('\0')
}

/// Percent-decodes `raw` (`+` stays: it is a space or a plus, either is
/// text) and answers whether the bytes hold a NUL or are not UTF-8.
fn unusable(raw: &[u8]) -> bool {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match (
            raw[i],
            raw.get(i + 1).copied().and_then(hex),
            raw.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                decoded.push(high << 4 | low);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    decoded.contains(&0) || std::str::from_utf8(&decoded).is_err()
}

/// The refusal for a request that carries a NUL character anywhere, if it
/// does. A document that does not parse has no literals to check (the
/// executor reports it).
pub fn refuse_nul(request: &mut async_graphql::Request) -> Option<ServerError> {
    let in_variables = request
        .variables
        .iter()
        .find_map(|(name, value)| const_nul(value, name.as_str()))
        .map(str::to_owned);
    let field = in_variables.or_else(|| {
        let document = request.parsed_query().ok()?;
        document_nul(document).map(str::to_owned)
    })?;
    let err = AppError::bad_input(field, "text may not contain a NUL character (U+0000)");
    let mut error = ServerError::new(err.to_string(), None);
    err.annotate(&mut error);
    Some(error)
}

/// The innermost name holding a string with a NUL, in a JSON-like value.
fn const_nul<'a>(value: &'a ConstValue, field: &'a str) -> Option<&'a str> {
    match value {
        ConstValue::String(s) if s.contains('\0') => Some(field),
        ConstValue::List(items) => items.iter().find_map(|v| const_nul(v, field)),
        ConstValue::Object(fields) => fields.iter().find_map(|(k, v)| const_nul(v, k.as_str())),
        _ => None,
    }
}

/// The same, for a literal in the document (which may name variables).
fn literal_nul<'a>(value: &'a Value, field: &'a str) -> Option<&'a str> {
    match value {
        Value::String(s) if s.contains('\0') => Some(field),
        Value::List(items) => items.iter().find_map(|v| literal_nul(v, field)),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| literal_nul(v, k.as_str())),
        _ => None,
    }
}

fn document_nul(document: &ExecutableDocument) -> Option<&str> {
    let operations = match &document.operations {
        DocumentOperations::Single(op) => std::slice::from_ref(op).iter().collect::<Vec<_>>(),
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    };
    operations
        .into_iter()
        .map(|op| &op.node)
        .find_map(|op| {
            op.variable_definitions
                .iter()
                .find_map(|var| {
                    let default = var.node.default_value.as_ref()?;
                    const_nul(&default.node, var.node.name.node.as_str())
                })
                .or_else(|| directives_nul(&op.directives))
                .or_else(|| selections_nul(&op.selection_set.node))
        })
        .or_else(|| {
            document.fragments.values().find_map(|fragment| {
                directives_nul(&fragment.node.directives)
                    .or_else(|| selections_nul(&fragment.node.selection_set.node))
            })
        })
}

fn selections_nul(set: &SelectionSet) -> Option<&str> {
    set.items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .find_map(|(name, value)| literal_nul(&value.node, name.node.as_str()))
                .or_else(|| directives_nul(&field.node.directives))
                .or_else(|| selections_nul(&field.node.selection_set.node)),
            Selection::FragmentSpread(spread) => directives_nul(&spread.node.directives),
            Selection::InlineFragment(inline) => directives_nul(&inline.node.directives)
                .or_else(|| selections_nul(&inline.node.selection_set.node)),
        })
}

fn directives_nul(directives: &[Positioned<Directive>]) -> Option<&str> {
    directives.iter().find_map(|directive| {
        directive
            .node
            .arguments
            .iter()
            .find_map(|(name, value)| literal_nul(&value.node, name.node.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_field(query: &str, variables: serde_json::Value) -> Option<String> {
        let mut request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables));
        let error = refuse_nul(&mut request)?;
        let ext = error.extensions.expect("extensions");
        assert_eq!(
            ext.get("code"),
            Some(&ConstValue::from("BAD_USER_INPUT")),
            "{:?}",
            error.message
        );
        match ext.get("field") {
            Some(ConstValue::String(field)) => Some(field.clone()),
            other => panic!("no field: {other:?}"),
        }
    }

    #[test]
    fn a_nul_in_a_nested_variable_is_refused_with_its_field() {
        let field = refused_field(
            "mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }",
            serde_json::json!({ "input": { "email": "a\u{0}@example.com", "password": "x" } }),
        );
        assert_eq!(field.as_deref(), Some("email"));
    }

    #[test]
    fn a_nul_in_a_list_variable_is_refused() {
        let field = refused_field(
            "query($t: [String!]) { a }",
            serde_json::json!({ "t": ["ok", "b\u{0}"] }),
        );
        assert_eq!(field.as_deref(), Some("t"));
    }

    #[test]
    fn literals_in_arguments_fragments_directives_and_defaults_are_checked() {
        for (query, expected) in [
            (r#"{ a(email: "x\u0000") }"#, "email"),
            (
                r#"{ a(input: { filter: { action: "x\u0000" } }) }"#,
                "action",
            ),
            (
                r#"{ ...F } fragment F on Query { a(name: "\u0000") }"#,
                "name",
            ),
            (r#"{ ... on Query { a(name: ["ok", "\u0000"]) } }"#, "name"),
            (r#"{ a @include(if: true, note: "\u0000") }"#, "note"),
            (r#"query($v: String = "\u0000") { a }"#, "v"),
        ] {
            assert_eq!(
                refused_field(query, serde_json::json!({})).as_deref(),
                Some(expected),
                "{query}"
            );
        }
    }

    #[test]
    fn a_nul_or_invalid_utf8_in_a_url_is_unusable_and_plain_text_is_not() {
        for bad in [
            "/sso/a%00b/start",
            "/sso/x/start?redirect_uri=a%00",
            "/sso/oidc/callback?state=%FF&code=x",
            "/sso/oidc/callback?state=%C3",
        ] {
            assert!(uri_has_unusable_text(&bad.parse().unwrap()), "{bad}");
        }
        for good in [
            "/sso/acme/start?redirect_uri=http%3A%2F%2Fapp%2Fdone",
            "/sso/oidc/callback?state=%C3%A9t%C3%A9&code=a+b%2B",
            "/sso/saml/start?x=100%",
        ] {
            assert!(!uri_has_unusable_text(&good.parse().unwrap()), "{good}");
        }
    }

    #[test]
    fn text_without_a_nul_passes() {
        assert_eq!(
            refused_field(
                r#"query($v: String = "ok") { a(name: "\\u0000 is spelled out", x: $v) }"#,
                serde_json::json!({ "v": "fine", "o": { "k": ["also fine"] } }),
            ),
            None
        );
    }
}
