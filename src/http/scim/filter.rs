//! SCIM filters (RFC 7644 §3.4.2.2): parsed by the `scim_v2` crate,
//! evaluated here against a resource as it is served.
//!
//! The lookups directories make on every sync (`userName eq`, `externalId
//! eq`, `displayName eq`, `id eq`, alone or in an `and`) are read from an
//! index ([`indexed`]); the whole filter is then evaluated on what was
//! read, so the answer is the same either way. Strings compare ignoring
//! case, except `id` and `externalId` (case-exact, RFC 7643 §3.1).

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::ScimError;

/// Parses `?filter=`; 400 `invalidFilter` when it is not one. Accepts the
/// form Entra ID sends for emails, `emails[type eq "work"].value eq "…"`,
/// as the RFC's `emails[type eq "work" and value eq "…"]`.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    let invalid = |e: String| ScimError::bad_request("invalidFilter", e);
    match text.parse::<Filter>() {
        Ok(filter) => Ok(filter),
        Err(error) => match value_path_comparison(text) {
            Some(rewritten) => rewritten
                .parse::<Filter>()
                .map_err(|_| invalid(format!("not a SCIM filter: {error}"))),
            None => Err(invalid(format!("not a SCIM filter: {error}"))),
        },
    }
}

/// `attr[inner].sub rest` as `attr[(inner) and sub rest]`.
fn value_path_comparison(text: &str) -> Option<String> {
    let text = text.trim();
    let open = text.find('[')?;
    let close = text.rfind("].")?;
    let (attr, inner) = (&text[..open], &text[open + 1..close]);
    let rest = &text[close + 2..];
    let (sub, comparison) = rest.split_once(' ')?;
    if attr.contains(' ') || sub.is_empty() {
        return None;
    }
    Some(format!("{attr}[({inner}) and {sub} {comparison}]"))
}

/// An equality on an indexed attribute that the filter requires: the
/// attribute's name (as the filter spells it) and the value.
pub fn indexed<'a>(filter: &'a Filter, names: &[&str]) -> Option<(&'static str, &'a str)> {
    match filter {
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(value)))
            if path.sub_attr.is_none() =>
        {
            names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(&path.name))
                .map(|n| (indexed_name(n), value.as_str()))
        }
        Filter::And(left, right) => indexed(left, names).or_else(|| indexed(right, names)),
        _ => None,
    }
}

fn indexed_name(name: &str) -> &'static str {
    match name {
        "userName" => "userName",
        "externalId" => "externalId",
        "displayName" => "displayName",
        _ => "id",
    }
}

/// Whether `resource` (as served) matches `filter`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Attr(expression) => attr_matches(expression, resource),
        Filter::ValuePath(path) => values_at(resource, &path.attr)
            .into_iter()
            .any(|element| val_matches(&path.filter, element)),
        Filter::Not(inner) => !matches(inner, resource),
        Filter::And(left, right) => matches(left, resource) && matches(right, resource),
        Filter::Or(left, right) => matches(left, resource) || matches(right, resource),
    }
}

fn val_matches(filter: &ValFilter, element: &Value) -> bool {
    match filter {
        ValFilter::Attr(expression) => attr_matches(expression, element),
        ValFilter::Not(inner) => !val_matches(inner, element),
        ValFilter::And(left, right) => val_matches(left, element) && val_matches(right, element),
        ValFilter::Or(left, right) => val_matches(left, element) || val_matches(right, element),
    }
}

/// The values at `path` in `resource`: a multi-valued attribute's each,
/// a sub-attribute of each.
fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let scope = match &path.uri {
        Some(uri)
            if !uri.eq_ignore_ascii_case(super::schema::USER)
                && !uri.eq_ignore_ascii_case(super::schema::GROUP) =>
        {
            match get(resource, uri) {
                Some(scope) => scope,
                None => return Vec::new(),
            }
        }
        _ => resource,
    };
    let Some(top) = get(scope, &path.name) else {
        return Vec::new();
    };
    let tops: Vec<&Value> = match top {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    match &path.sub_attr {
        None => tops,
        Some(sub) => tops.into_iter().filter_map(|t| get(t, sub)).collect(),
    }
}

/// A member of an object by name, ignoring case.
fn get<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn attr_matches(expression: &AttrExp, resource: &Value) -> bool {
    match expression {
        AttrExp::Present(path) => values_at(resource, path)
            .into_iter()
            .any(|v| !v.is_null() && v != &Value::String(String::new())),
        AttrExp::Comparison(path, op, expected) => {
            let case_exact = path.sub_attr.is_none()
                && (path.name.eq_ignore_ascii_case("id")
                    || path.name.eq_ignore_ascii_case("externalId"));
            values_at(resource, path)
                .into_iter()
                .any(|actual| compare(actual, op, expected, case_exact))
        }
    }
}

fn compare(actual: &Value, op: &CompareOp, expected: &CompValue, case_exact: bool) -> bool {
    match (actual, expected) {
        (Value::String(actual), CompValue::Str(expected)) => {
            let (actual, expected) = if case_exact {
                (actual.clone(), expected.clone())
            } else {
                (actual.to_lowercase(), expected.to_lowercase())
            };
            match op {
                CompareOp::Eq => actual == expected,
                CompareOp::Ne => actual != expected,
                CompareOp::Co => actual.contains(&expected),
                CompareOp::Sw => actual.starts_with(&expected),
                CompareOp::Ew => actual.ends_with(&expected),
                CompareOp::Gt => actual > expected,
                CompareOp::Ge => actual >= expected,
                CompareOp::Lt => actual < expected,
                CompareOp::Le => actual <= expected,
            }
        }
        (Value::Bool(actual), CompValue::True | CompValue::False) => {
            let expected = matches!(expected, CompValue::True);
            match op {
                CompareOp::Eq => *actual == expected,
                CompareOp::Ne => *actual != expected,
                _ => false,
            }
        }
        (actual, CompValue::Null) => match op {
            CompareOp::Eq => actual.is_null(),
            CompareOp::Ne => !actual.is_null(),
            _ => false,
        },
        _ => matches!(op, CompareOp::Ne),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "0190",
            "userName": "Ann@Example.com",
            "externalId": "00u1",
            "active": true,
            "emails": [
                { "value": "ann@example.com", "type": "work", "primary": true },
                { "value": "ann@home.example", "type": "home" }
            ],
            "name": { "givenName": "Ann" },
            ENTERPRISE: { "department": "Sales" }
        })
    }

    const ENTERPRISE: &str = super::super::schema::ENTERPRISE_USER;

    fn check(filter: &str) -> bool {
        matches(&parse(filter).unwrap(), &user())
    }

    #[test]
    fn the_filters_directories_send_match_as_the_rfc_says() {
        assert!(check(r#"userName eq "ann@example.com""#));
        assert!(!check(r#"externalId eq "00U1""#));
        assert!(check(r#"externalId eq "00u1" and active eq true"#));
        assert!(check(
            r#"emails[type eq "work"].value eq "ann@example.com""#
        ));
        assert!(!check(
            r#"emails[type eq "home"].value eq "ann@example.com""#
        ));
        assert!(check(r#"emails[type eq "work" and value co "example"]"#));
        assert!(check(r#"emails.value sw "ann@home""#));
        assert!(check(r#"name.givenName pr and not (title pr)"#));
        assert!(check(&format!(r#"{ENTERPRISE}:department eq "sales""#)));
        assert!(check(r#"userName eq "nobody" or active eq true"#));
    }

    #[test]
    fn an_indexed_equality_is_found_inside_an_and() {
        let filter = parse(r#"active eq true and userName eq "Ann""#).unwrap();
        assert_eq!(
            indexed(&filter, &["userName", "externalId", "id"]),
            Some(("userName", "Ann"))
        );
        let filter = parse(r#"userName eq "a" or userName eq "b""#).unwrap();
        assert_eq!(indexed(&filter, &["userName"]), None);
    }

    #[test]
    fn what_is_not_a_filter_is_invalid_filter() {
        for bad in ["userName", "userName eq", "externalId eq jyoung", "((("] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
