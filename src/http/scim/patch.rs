//! SCIM PATCH (RFC 7644 §3.5.2), applied to a resource as it is served;
//! the result is then checked and stored like a PUT.
//!
//! Directories send PATCH in their own shapes, and both are taken:
//!
//! - Entra ID: `"op": "Replace"` with capitals; a value object without a
//!   path whose keys are paths (`name.givenName`, an extension URN's
//!   attribute); `"False"` for false; member removal as `path: members`
//!   with the members in `value`.
//! - Okta: `active` replaced through a path-less value object; members
//!   added with `path: members` and removed with `members[value eq "…"]`;
//!   a rename that carries the read-only `id` along.

use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::ScimError;
use super::schema::{self, Attribute};

/// One operation of a PATCH: what to do, where, with what.
pub type Operation = (Op, Option<String>, Option<Value>);

/// The operations of a PATCH request's body.
pub fn operations(body: Value) -> Result<Vec<Operation>, ScimError> {
    let invalid = |detail: &str| ScimError::bad_request("invalidSyntax", detail.into());
    let Value::Object(mut body) = body else {
        return Err(invalid("a PATCH body is a PatchOp object"));
    };
    let operations = body
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .map(|(_, v)| v.take());
    let Some(Value::Array(operations)) = operations else {
        return Err(invalid("a PatchOp holds an Operations array"));
    };
    let mut parsed = Vec::with_capacity(operations.len());
    for operation in operations {
        let Value::Object(mut operation) = operation else {
            return Err(invalid("each operation is an object"));
        };
        let mut field = |name: &str| {
            let key = operation
                .keys()
                .find(|k| k.eq_ignore_ascii_case(name))
                .cloned();
            key.and_then(|k| operation.remove(&k))
        };
        let op = match field("op") {
            Some(Value::String(op)) if op.eq_ignore_ascii_case("add") => Op::Add,
            Some(Value::String(op)) if op.eq_ignore_ascii_case("replace") => Op::Replace,
            Some(Value::String(op)) if op.eq_ignore_ascii_case("remove") => Op::Remove,
            _ => return Err(invalid("op is add, replace or remove")),
        };
        let path = match field("path") {
            None | Some(Value::Null) => None,
            Some(Value::String(path)) if path.trim().is_empty() => None,
            Some(Value::String(path)) => Some(path),
            Some(_) => return Err(invalid("path is a string")),
        };
        parsed.push((op, path, field("value")));
    }
    Ok(parsed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

/// The schemas a resource's paths are read against.
pub struct Schemas<'a> {
    pub core_urn: &'a str,
    pub core: &'a [Attribute],
    pub extensions: &'a [(&'a str, &'a [Attribute])],
}

/// A served resource as `operations` leave it, without its `meta`.
pub fn apply_all(
    schemas: &Schemas<'_>,
    served: Value,
    operations: Vec<Operation>,
) -> Result<Value, ScimError> {
    let Value::Object(mut resource) = served else {
        return Err(ScimError::bad_request(
            "invalidSyntax",
            "a resource is an object".into(),
        ));
    };
    resource.remove("meta");
    for (op, path, value) in operations {
        apply(schemas, &mut resource, op, path.as_deref(), value)?;
    }
    Ok(Value::Object(resource))
}

/// Applies one operation to `resource` (a served resource's attributes).
pub fn apply(
    schemas: &Schemas<'_>,
    resource: &mut Map<String, Value>,
    op: Op,
    path: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(path) = path else {
        // No path: the value's members are the paths (RFC 7644 §3.5.2.1,
        // and Entra's dotted and URN-qualified keys).
        if op == Op::Remove {
            return Err(ScimError::bad_request(
                "noTarget",
                "remove needs a path".into(),
            ));
        }
        let Some(Value::Object(value)) = value else {
            return Err(ScimError::bad_request(
                "invalidValue",
                "without a path, the value is an object of attributes".into(),
            ));
        };
        for (key, value) in value {
            if ["id", "meta", "schemas"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&key))
            {
                continue;
            }
            apply(schemas, resource, op, Some(&key), Some(value))?;
        }
        return Ok(());
    };

    // Which object the path is in: an extension's, or the resource.
    if let Some((urn, _)) = schemas
        .extensions
        .iter()
        .find(|(urn, _)| urn.eq_ignore_ascii_case(path))
    {
        return apply_whole(resource, urn, op, value);
    }
    let (mut scope_urn, rest) = split_urn(schemas, path);
    // Entra names an extension's attribute without its URN (`manager`).
    if scope_urn.is_none() {
        let name = rest.split(['.', '[']).next().unwrap_or(rest);
        if schema::attribute(schemas.core, name).is_none()
            && let Some((urn, _)) = schemas
                .extensions
                .iter()
                .find(|(_, attributes)| schema::attribute(attributes, name).is_some())
        {
            scope_urn = Some(urn);
        }
    }
    let parsed: PatchPath = rest
        .parse()
        .map_err(|e| ScimError::bad_request("invalidPath", format!("{path}: {e}")))?;
    let (attributes, target): (&[Attribute], &mut Map<String, Value>) = match scope_urn {
        Some(urn) => {
            let attributes = schemas
                .extensions
                .iter()
                .find(|(u, _)| *u == urn)
                .map(|(_, a)| *a)
                .unwrap_or(&[]);
            let scope = resource
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !scope.is_object() {
                *scope = Value::Object(Map::new());
            }
            let Value::Object(scope) = scope else {
                unreachable!("made an object above")
            };
            (attributes, scope)
        }
        None => (schemas.core, &mut *resource),
    };
    apply_path(attributes, target, op, &parsed, value, path)?;
    if let Some(urn) = scope_urn
        && resource
            .get(urn)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
    {
        resource.remove(urn);
    }
    Ok(())
}

/// Splits an extension URN off `path` (`urn:…:User:department`), and the
/// core schema's URN (which changes nothing).
fn split_urn<'a>(schemas: &Schemas<'a>, path: &'a str) -> (Option<&'a str>, &'a str) {
    for (urn, _) in schemas.extensions {
        if path.len() > urn.len() + 1
            && path[..urn.len()].eq_ignore_ascii_case(urn)
            && path.as_bytes()[urn.len()] == b':'
        {
            return (Some(urn), &path[urn.len() + 1..]);
        }
    }
    let core = schemas.core_urn;
    if path.len() > core.len() + 1
        && path[..core.len()].eq_ignore_ascii_case(core)
        && path.as_bytes()[core.len()] == b':'
    {
        return (None, &path[core.len() + 1..]);
    }
    (None, path)
}

/// An operation on an extension as a whole.
fn apply_whole(
    resource: &mut Map<String, Value>,
    urn: &str,
    op: Op,
    value: Option<Value>,
) -> Result<(), ScimError> {
    match (op, value) {
        (Op::Remove, _) => {
            resource.remove(urn);
        }
        (_, Some(Value::Object(mut value))) => {
            value.remove("schemas");
            let scope = resource
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            match scope {
                Value::Object(scope) if op == Op::Add || op == Op::Replace => {
                    for (k, v) in value {
                        scope.insert(k, v);
                    }
                }
                _ => *scope = Value::Object(value),
            }
        }
        _ => {
            return Err(ScimError::bad_request(
                "invalidValue",
                format!("{urn} takes an object"),
            ));
        }
    }
    Ok(())
}

/// The key under which `object` holds `name`, ignoring case; the
/// schema's spelling when it holds none yet.
fn key_of(object: &Map<String, Value>, attributes: &[Attribute], name: &str) -> String {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .or_else(|| schema::attribute(attributes, name).map(|a| a.name.to_owned()))
        .unwrap_or_else(|| name.to_owned())
}

fn apply_path(
    attributes: &[Attribute],
    target: &mut Map<String, Value>,
    op: Op,
    path: &PatchPath,
    value: Option<Value>,
    text: &str,
) -> Result<(), ScimError> {
    let no_value = || ScimError::bad_request("invalidValue", format!("{text} needs a value"));
    match path {
        PatchPath::Attr(attr) => {
            let attribute = schema::attribute(attributes, &attr.name);
            let key = key_of(target, attributes, &attr.name);
            let multi = attribute.is_some_and(|a| a.multi_valued);
            match (&attr.sub_attr, op) {
                (Some(sub), Op::Remove) => {
                    if let Some(Value::Object(inner)) = target.get_mut(&key) {
                        let sub_key = inner.keys().find(|k| k.eq_ignore_ascii_case(sub)).cloned();
                        if let Some(sub_key) = sub_key {
                            inner.remove(&sub_key);
                        }
                    }
                }
                (Some(sub), _) => {
                    let value = value.ok_or_else(no_value)?;
                    let entry = target
                        .entry(key)
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !entry.is_object() {
                        *entry = Value::Object(Map::new());
                    }
                    if let Value::Object(inner) = entry {
                        let sub_key = inner
                            .keys()
                            .find(|k| k.eq_ignore_ascii_case(sub))
                            .cloned()
                            .unwrap_or_else(|| sub.clone());
                        inner.insert(sub_key, value);
                    }
                }
                (None, Op::Remove) => match (multi, value) {
                    // Entra: `path: members` with the members to remove.
                    (true, Some(Value::Array(gone))) if !gone.is_empty() => {
                        if let Some(Value::Array(items)) = target.get_mut(&key) {
                            items.retain(|item| !gone.iter().any(|g| same_value(item, g)));
                        }
                    }
                    _ => {
                        target.remove(&key);
                    }
                },
                (None, Op::Add) if multi => {
                    let added = match value.ok_or_else(no_value)? {
                        Value::Array(items) => items,
                        single => vec![single],
                    };
                    let entry = target.entry(key).or_insert_with(|| Value::Array(vec![]));
                    if !entry.is_array() {
                        *entry = Value::Array(vec![]);
                    }
                    if let Value::Array(items) = entry {
                        for item in added {
                            if !items.iter().any(|existing| same_value(existing, &item)) {
                                items.push(item);
                            }
                        }
                    }
                }
                (None, _) => {
                    let value = match value.ok_or_else(no_value)? {
                        // Entra sends a single complex value (a manager)
                        // as an array of one.
                        Value::Array(mut items)
                            if !multi
                                && items.len() == 1
                                && attribute.is_some_and(|a| a.kind == schema::Kind::Complex) =>
                        {
                            items.remove(0)
                        }
                        value => value,
                    };
                    let complex = attribute
                        .is_some_and(|a| a.kind == schema::Kind::Complex && !a.multi_valued);
                    match (complex, value, target.get_mut(&key)) {
                        // A complex value's sub-attributes replace or add
                        // to the ones it has (RFC 7644 §3.5.2.1, .3).
                        (true, Value::Object(value), Some(Value::Object(existing))) => {
                            for (k, v) in value {
                                let k2 = existing
                                    .keys()
                                    .find(|e| e.eq_ignore_ascii_case(&k))
                                    .cloned()
                                    .unwrap_or(k);
                                existing.insert(k2, v);
                            }
                        }
                        (_, value, _) => {
                            let value = match (multi, value) {
                                (true, Value::Array(items)) => Value::Array(items),
                                (true, single) if !single.is_null() => Value::Array(vec![single]),
                                (_, value) => value,
                            };
                            target.insert(key, value);
                        }
                    }
                }
            }
        }
        PatchPath::Value(value_path) => {
            let key = key_of(target, attributes, &value_path.attr.name);
            let items = target
                .entry(key.clone())
                .or_insert_with(|| Value::Array(vec![]));
            if !items.is_array() {
                *items = Value::Array(vec![]);
            }
            let Value::Array(items) = items else {
                unreachable!("made an array above")
            };
            let matching = |item: &Value| element_matches(&value_path.filter, item);
            match (op, &value_path.sub_attr) {
                (Op::Remove, None) => items.retain(|item| !matching(item)),
                (Op::Remove, Some(sub)) => {
                    for item in items.iter_mut().filter(|i| matching(i)) {
                        if let Value::Object(object) = item {
                            object.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                        }
                    }
                }
                (_, sub) => {
                    let value = value.ok_or_else(no_value)?;
                    let mut found = false;
                    for item in items.iter_mut().filter(|i| matching(i)) {
                        found = true;
                        set_in_element(item, sub.as_deref(), value.clone());
                    }
                    if !found {
                        // Entra replaces `emails[type eq "work"].value` on
                        // a user who has no work email yet: the element is
                        // made from the filter's equality.
                        let Some(mut element) = element_from(&value_path.filter) else {
                            return Err(ScimError::bad_request(
                                "noTarget",
                                format!("no value matches {text}"),
                            ));
                        };
                        set_in_element(&mut element, sub.as_deref(), value);
                        items.push(element);
                    }
                }
            }
            if items.is_empty() {
                target.remove(&key);
            }
        }
    }
    Ok(())
}

fn set_in_element(element: &mut Value, sub: Option<&str>, value: Value) {
    match (sub, element, value) {
        (Some(sub), Value::Object(object), value) => {
            let key = object
                .keys()
                .find(|k| k.eq_ignore_ascii_case(sub))
                .cloned()
                .unwrap_or_else(|| sub.to_owned());
            object.insert(key, value);
        }
        (None, Value::Object(object), Value::Object(value)) => {
            for (k, v) in value {
                object.insert(k, v);
            }
        }
        (None, element, value) => *element = value,
        (Some(_), element, value) => *element = value,
    }
}

/// Whether two values of a multi-valued attribute are the same: the same
/// `value` for objects that have one (members, emails), equal otherwise.
fn same_value(a: &Value, b: &Value) -> bool {
    match (value_member(a), value_member(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

fn value_member(item: &Value) -> Option<&Value> {
    item.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("value"))
        .map(|(_, v)| v)
}

fn element_matches(filter: &ValFilter, element: &Value) -> bool {
    match filter {
        ValFilter::Attr(expression) => {
            super::filter::matches(&scim_v2::filter::Filter::Attr(expression.clone()), element)
        }
        ValFilter::Not(inner) => !element_matches(inner, element),
        ValFilter::And(a, b) => element_matches(a, element) && element_matches(b, element),
        ValFilter::Or(a, b) => element_matches(a, element) || element_matches(b, element),
    }
}

/// The element a filter of equalities describes (`type eq "work"`).
fn element_from(filter: &ValFilter) -> Option<Value> {
    let mut element = Map::new();
    fn collect(filter: &ValFilter, element: &mut Map<String, Value>) -> bool {
        match filter {
            ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, value))
                if path.sub_attr.is_none() =>
            {
                let value = match value {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::True => Value::Bool(true),
                    CompValue::False => Value::Bool(false),
                    _ => return false,
                };
                element.insert(path.name.clone(), value);
                true
            }
            ValFilter::And(a, b) => collect(a, element) && collect(b, element),
            _ => false,
        }
    }
    collect(filter, &mut element).then_some(Value::Object(element))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user_schemas() -> Schemas<'static> {
        Schemas {
            core_urn: schema::USER,
            core: schema::USER_ATTRIBUTES,
            extensions: &[(schema::ENTERPRISE_USER, schema::ENTERPRISE_ATTRIBUTES)],
        }
    }

    fn patched(resource: Value, body: Value) -> Value {
        let Value::Object(mut resource) = resource else {
            panic!("an object")
        };
        for (op, path, value) in operations(body).unwrap() {
            apply(&user_schemas(), &mut resource, op, path.as_deref(), value).unwrap();
        }
        Value::Object(resource)
    }

    #[test]
    fn entras_path_less_replace_sets_dotted_and_extension_keys() {
        let out = patched(
            json!({ "userName": "a@x.com", "name": { "givenName": "A", "familyName": "B" } }),
            json!({ "Operations": [{ "op": "Replace", "value": {
                "name.givenName": "Ann",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7",
                "active": "False"
            }}]}),
        );
        assert_eq!(
            out["name"],
            json!({ "givenName": "Ann", "familyName": "B" })
        );
        assert_eq!(out[schema::ENTERPRISE_USER]["employeeNumber"], "7");
        assert_eq!(out["active"], "False", "types are checked after the PATCH");
    }

    #[test]
    fn a_work_email_is_replaced_or_made() {
        let body = json!({ "Operations": [{ "op": "replace",
            "path": "emails[type eq \"work\"].value", "value": "new@x.com" }]});
        let out = patched(json!({ "userName": "a" }), body.clone());
        assert_eq!(
            out["emails"],
            json!([{ "type": "work", "value": "new@x.com" }])
        );
        let out = patched(
            json!({ "emails": [{ "type": "work", "value": "old@x.com", "primary": true }] }),
            body,
        );
        assert_eq!(
            out["emails"],
            json!([{ "type": "work", "value": "new@x.com", "primary": true }])
        );
    }

    #[test]
    fn members_are_added_once_and_removed_by_filter_or_by_value() {
        let schemas = Schemas {
            core_urn: schema::GROUP,
            core: schema::GROUP_ATTRIBUTES,
            extensions: &[],
        };
        let mut group = json!({ "displayName": "G", "members": [{ "value": "1" }] })
            .as_object()
            .cloned()
            .unwrap();
        let body = json!({ "Operations": [
            { "op": "add", "path": "members", "value": [{ "value": "1" }, { "value": "2" }, { "value": "3" }] },
            { "op": "remove", "path": "members[value eq \"1\"]" },
            { "op": "Remove", "path": "members", "value": [{ "value": "2" }] }
        ]});
        for (op, path, value) in operations(body).unwrap() {
            apply(&schemas, &mut group, op, path.as_deref(), value).unwrap();
        }
        assert_eq!(group["members"], json!([{ "value": "3" }]));
    }
}
