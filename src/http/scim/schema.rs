//! What orgql's SCIM resources hold (RFC 7643): one table of attributes
//! per schema, served as is by `/Schemas`, and the one check of what a
//! directory sends against it ([`normalize`]).
//!
//! The check is the RFC's, with the leniency real directories need:
//! attribute names ignore case; `"True"`/`"False"` strings count as
//! booleans (Entra ID sends them); `null` and `[]` mean unassigned;
//! read-only attributes (`id`, `meta`, `groups`, a manager's
//! `displayName`) and `password` (orgql keeps no directory passwords) are
//! dropped. Anything else that the schema does not declare, or a value of
//! the wrong type, is 400 `invalidSyntax`/`invalidValue`, never a 500.

use serde_json::{Map, Value, json};

use super::ScimError;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Complex,
    Reference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    Immutable,
    ReadOnly,
}

/// One attribute of a schema.
#[derive(Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: Kind,
    pub multi_valued: bool,
    pub required: bool,
    pub mutability: Mutability,
    pub case_exact: bool,
    pub unique: bool,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [Attribute],
    pub description: &'static str,
}

const fn text(name: &'static str, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind: Kind::String,
        multi_valued: false,
        required: false,
        mutability: Mutability::ReadWrite,
        case_exact: false,
        unique: false,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
        description,
    }
}

const fn typed(name: &'static str, canonical_values: &'static [&'static str]) -> Attribute {
    Attribute {
        canonical_values,
        ..text(name, "A label for the value's function.")
    }
}

const fn boolean(name: &'static str, description: &'static str) -> Attribute {
    Attribute {
        kind: Kind::Boolean,
        ..text(name, description)
    }
}

const fn complex(
    name: &'static str,
    multi_valued: bool,
    sub_attributes: &'static [Attribute],
    description: &'static str,
) -> Attribute {
    Attribute {
        kind: Kind::Complex,
        multi_valued,
        sub_attributes,
        ..text(name, description)
    }
}

const PRIMARY: Attribute = boolean("primary", "The preferred value of its attribute.");
const DISPLAY: Attribute = text("display", "A human-readable form of the value.");

/// The User attributes orgql keeps (RFC 7643 §4.1). `userName` or the
/// first email names the account at creation.
pub const USER_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        unique: true,
        ..text(
            "userName",
            "Unique per directory, ignoring case. At creation, this address (or the first email) names the orgql account, within the organization's verified domains.",
        )
    },
    complex(
        "name",
        false,
        &[
            text("formatted", "The full name."),
            text("familyName", "The family name."),
            text("givenName", "The given name."),
            text("middleName", "The middle name(s)."),
            text("honorificPrefix", "Such as Ms."),
            text("honorificSuffix", "Such as III."),
        ],
        "The person's name.",
    ),
    text("displayName", "The name to display."),
    text("nickName", "A casual name."),
    text("title", "The job title."),
    text("userType", "The relationship to the organization."),
    text("preferredLanguage", "Such as en-US."),
    text("locale", "Such as en-US."),
    text("timezone", "An IANA time zone, such as Europe/Paris."),
    boolean(
        "active",
        "Whether the person is a member: false ends the membership, its sessions and its tokens at once.",
    ),
    complex(
        "emails",
        true,
        &[
            text("value", "The address."),
            DISPLAY,
            typed("type", &["work", "home", "other"]),
            PRIMARY,
        ],
        "Email addresses.",
    ),
    complex(
        "phoneNumbers",
        true,
        &[
            text("value", "The number."),
            DISPLAY,
            typed("type", &["work", "home", "mobile", "fax", "pager", "other"]),
            PRIMARY,
        ],
        "Phone numbers.",
    ),
    complex(
        "addresses",
        true,
        &[
            text("formatted", "The full address."),
            text("streetAddress", "The street."),
            text("locality", "The city."),
            text("region", "The state or region."),
            text("postalCode", "The postal code."),
            text("country", "ISO 3166-1 alpha-2."),
            typed("type", &["work", "home", "other"]),
            PRIMARY,
        ],
        "Postal addresses.",
    ),
    complex(
        "roles",
        true,
        &[
            text("value", "The role."),
            DISPLAY,
            text("type", "A label for the role."),
            PRIMARY,
        ],
        "Roles in the directory (kept as sent; orgql roles come from the directory's default role and group mapping).",
    ),
];

/// The enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    text("employeeNumber", "The employee number."),
    text("costCenter", "The cost center."),
    text("organization", "The organization."),
    text("division", "The division."),
    text("department", "The department."),
    complex(
        "manager",
        false,
        &[
            text("value", "The manager's SCIM id."),
            Attribute {
                kind: Kind::Reference,
                reference_types: &["User"],
                ..text("$ref", "The manager's URL.")
            },
            Attribute {
                mutability: Mutability::ReadOnly,
                ..text("displayName", "The manager's name.")
            },
        ],
        "The person's manager.",
    ),
];

/// The Group attributes (RFC 7643 §4.2): a group is a team.
pub const GROUP_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        ..text("displayName", "The team's name.")
    },
    complex(
        "members",
        true,
        &[
            Attribute {
                mutability: Mutability::Immutable,
                ..text("value", "The SCIM id of a user of this directory.")
            },
            Attribute {
                kind: Kind::Reference,
                mutability: Mutability::Immutable,
                reference_types: &["User", "Group"],
                ..text("$ref", "The user's URL.")
            },
            Attribute {
                mutability: Mutability::Immutable,
                canonical_values: &["User", "Group"],
                ..text("type", "User: groups hold users only.")
            },
        ],
        "The group's users: the team's members, for those who are active.",
    ),
];

/// Attributes RFC 7643 defines that orgql accepts and drops: a password
/// (orgql keeps none from directories), a User's `groups` (read-only: they
/// come from the Groups), a member's `display` (the user's name is theirs).
const DROPPED: &[&str] = &["password", "groups", "display"];

fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The attribute a (case-insensitive) name stands for.
pub fn attribute<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    find(attributes, name)
}

fn invalid(detail: String) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

/// A value of `attribute`, checked and converted; `None` when unassigned.
fn value_of(attribute: &Attribute, value: Value, path: &str) -> Result<Option<Value>, ScimError> {
    if attribute.multi_valued {
        let items = match value {
            Value::Null => return Ok(None),
            Value::Array(items) => items,
            single => vec![single],
        };
        let mut checked = Vec::with_capacity(items.len());
        for item in items {
            if let Some(item) = single_value(attribute, item, path)? {
                checked.push(item);
            }
        }
        return Ok((!checked.is_empty()).then_some(Value::Array(checked)));
    }
    single_value(attribute, value, path)
}

fn single_value(
    attribute: &Attribute,
    value: Value,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    match (attribute.kind, value) {
        (_, Value::Null) => Ok(None),
        (Kind::String | Kind::Reference, Value::String(s)) => Ok(Some(Value::String(s))),
        (Kind::Boolean, Value::Bool(b)) => Ok(Some(Value::Bool(b))),
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Ok(Some(Value::Bool(true)))
        }
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Ok(Some(Value::Bool(false)))
        }
        (Kind::Complex, Value::Object(object)) => {
            let checked = normalize_object(attribute.sub_attributes, object, path)?;
            Ok((!checked.is_empty()).then_some(Value::Object(checked)))
        }
        (kind, other) => Err(invalid(format!(
            "{path} must be {}, not {}",
            match kind {
                Kind::String | Kind::Reference => "a string",
                Kind::Boolean => "a boolean",
                Kind::Complex => "an object",
            },
            kind_of(&other)
        ))),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks an object's attributes against `attributes`: names in their
/// declared case, values of their type, unassigned and read-only ones
/// dropped.
fn normalize_object(
    attributes: &[Attribute],
    object: Map<String, Value>,
    parent: &str,
) -> Result<Map<String, Value>, ScimError> {
    let mut checked = Map::new();
    for (name, value) in object {
        let path = if parent.is_empty() {
            name.clone()
        } else {
            format!("{parent}.{name}")
        };
        let Some(attribute) = find(attributes, &name) else {
            // Unassigned is unassigned, whatever the name (Entra sends
            // `"department": null` at the top).
            if value.is_null() || DROPPED.iter().any(|d| d.eq_ignore_ascii_case(&name)) {
                continue;
            }
            return Err(ScimError::bad_request(
                "invalidSyntax",
                format!("unknown attribute {path}"),
            ));
        };
        if attribute.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(value) = value_of(attribute, value, &path)? {
            checked.insert(attribute.name.to_owned(), value);
        }
    }
    Ok(checked)
}

/// A resource as a directory sent it, checked: the core attributes at the
/// top, each extension's under its URN. `id`, `meta` and `schemas` are
/// dropped (the server's to say); `externalId` must be a string.
pub fn normalize(
    core: &[Attribute],
    extensions: &[(&str, &[Attribute])],
    body: Value,
) -> Result<Map<String, Value>, ScimError> {
    let Value::Object(object) = body else {
        return Err(ScimError::bad_request(
            "invalidSyntax",
            "the body must be a JSON object".into(),
        ));
    };
    let mut top = Map::new();
    let mut checked = Map::new();
    for (name, value) in object {
        if ["id", "meta", "schemas"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        if name.eq_ignore_ascii_case("externalId") {
            match value {
                Value::Null => {}
                Value::String(s) => {
                    checked.insert("externalId".into(), Value::String(s));
                }
                other => {
                    return Err(invalid(format!(
                        "externalId must be a string, not {}",
                        kind_of(&other)
                    )));
                }
            }
            continue;
        }
        if let Some((urn, attributes)) = extensions
            .iter()
            .find(|(urn, _)| urn.eq_ignore_ascii_case(&name))
        {
            match value {
                Value::Null => {}
                Value::Object(inner) => {
                    let mut inner = inner;
                    inner.remove("schemas");
                    let inner = normalize_object(attributes, inner, urn)?;
                    if !inner.is_empty() {
                        checked.insert((*urn).to_owned(), Value::Object(inner));
                    }
                }
                other => {
                    return Err(invalid(format!(
                        "{urn} must be an object, not {}",
                        kind_of(&other)
                    )));
                }
            }
            continue;
        }
        top.insert(name, value);
    }
    for (name, value) in normalize_object(core, top, "")? {
        checked.insert(name, value);
    }
    Ok(checked)
}

/// `/Schemas`' description of one schema.
fn described(id: &str, name: &str, description: &str, attributes: &[Attribute]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes.iter().map(attribute_described).collect::<Vec<_>>(),
        "meta": { "resourceType": "Schema", "location": format!("/Schemas/{id}") },
    })
}

fn attribute_described(attribute: &Attribute) -> Value {
    let mut described = json!({
        "name": attribute.name,
        "type": match attribute.kind {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Complex => "complex",
            Kind::Reference => "reference",
        },
        "multiValued": attribute.multi_valued,
        "description": attribute.description,
        "required": attribute.required,
        "mutability": match attribute.mutability {
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::ReadOnly => "readOnly",
        },
        "returned": "default",
        "uniqueness": if attribute.unique { "server" } else { "none" },
    });
    if attribute.kind != Kind::Boolean && attribute.kind != Kind::Complex {
        described["caseExact"] = json!(attribute.case_exact);
    }
    if !attribute.canonical_values.is_empty() {
        described["canonicalValues"] = json!(attribute.canonical_values);
    }
    if !attribute.reference_types.is_empty() {
        described["referenceTypes"] = json!(attribute.reference_types);
    }
    if !attribute.sub_attributes.is_empty() {
        described["subAttributes"] = Value::Array(
            attribute
                .sub_attributes
                .iter()
                .map(attribute_described)
                .collect(),
        );
    }
    described
}

/// Every schema, as `/Schemas` lists them.
pub fn schemas() -> Vec<Value> {
    vec![
        described(
            USER,
            "User",
            "A member of the organization.",
            USER_ATTRIBUTES,
        ),
        described(
            ENTERPRISE_USER,
            "EnterpriseUser",
            "Enterprise attributes of a member, kept as sent.",
            ENTERPRISE_ATTRIBUTES,
        ),
        described(
            GROUP,
            "Group",
            "A team of the organization.",
            GROUP_ATTRIBUTES,
        ),
    ]
}

/// Every resource type, as `/ResourceTypes` lists them.
pub fn resource_types() -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A member of the organization.",
            "schema": USER,
            "schemaExtensions": [{ "schema": ENTERPRISE_USER, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": "/ResourceTypes/User" },
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A team of the organization.",
            "schema": GROUP,
            "meta": { "resourceType": "ResourceType", "location": "/ResourceTypes/Group" },
        }),
    ]
}

/// What orgql's SCIM service supports (RFC 7643 §5).
pub fn service_provider_config(max_results: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/orgql/orgql#directory-sync",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": max_results },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The directory's token, from createScimDirectory or rotateScimDirectoryToken.",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": "/ServiceProviderConfig" },
    })
}
