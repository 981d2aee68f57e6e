//! `schema.graphql` at the root is what the code serves, and the book's
//! settings and error-code tables are what the code states.

#[test]
fn the_checked_in_schema_matches_the_code() {
    let printed = orgql::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    if std::env::var("UPDATE_SCHEMA").is_ok() {
        std::fs::write(path, &printed).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == printed,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql` (or UPDATE_SCHEMA=1 cargo test)"
    );
}

/// The table after `<!-- generated-table: name -->` in the book's `page`
/// equals `table` (`UPDATE_DOCS=1` writes it there first).
fn assert_generated_table(page: &str, name: &str, table: &str) {
    let path = format!("{}/docs/src/{page}", env!("CARGO_MANIFEST_DIR"));
    let written = std::fs::read_to_string(&path).unwrap();
    let expected = orgql::cli::reference::with_table(&written, name, table)
        .unwrap_or_else(|| panic!("{page} has no `<!-- generated-table: {name} -->` line"));
    if std::env::var("UPDATE_DOCS").is_ok() {
        std::fs::write(&path, &expected).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written == expected,
        "the {name} table in docs/src/{page} is stale: run `UPDATE_DOCS=1 cargo test --test api schema::`"
    );
}

#[test]
fn the_books_settings_table_is_the_clap_definitions() {
    assert_generated_table(
        "operations/settings.md",
        "settings",
        &orgql::cli::reference::settings_table(),
    );
}

#[tokio::test]
async fn the_books_error_code_table_is_the_error_code_enum() {
    assert_generated_table(
        "errors.md",
        "errors",
        &orgql::cli::reference::error_codes_table().await,
    );
}

/// Descriptions are the playground's manual and the typed clients' doc
/// comments: every type, field, argument, input field and enum value of
/// ours needs one.
#[tokio::test]
async fn every_type_and_field_has_a_description() {
    let query = "{ __schema { types { name description
        fields { name description args { name description } }
        inputFields { name description } enumValues { name description } } } }";
    let response = orgql::graphql::offline_schema().execute(query).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    let missing = |v: &serde_json::Value| {
        v["description"]
            .as_str()
            .is_none_or(|d| d.trim().is_empty())
    };
    let mut undocumented = Vec::new();
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") || ["String", "Int", "Boolean", "ID", "Float"].contains(&name) {
            continue;
        }
        // The roots and async-graphql's generic connection types carry no
        // type description of their own; their fields still need one.
        let generic = ["Query", "Mutation"].contains(&name) || name.ends_with("Connection");
        if missing(ty) && !generic {
            undocumented.push(name.to_owned());
        }
        for member in ["fields", "inputFields", "enumValues"] {
            for field in ty[member].as_array().into_iter().flatten() {
                let field_name = field["name"].as_str().unwrap();
                if missing(field) {
                    undocumented.push(format!("{name}.{field_name}"));
                }
                for arg in field["args"].as_array().into_iter().flatten() {
                    // A mutation's one `input` is documented by its input type.
                    if missing(arg) && arg["name"] != "input" {
                        undocumented.push(format!(
                            "{name}.{field_name}({})",
                            arg["name"].as_str().unwrap()
                        ));
                    }
                }
            }
        }
    }
    assert!(undocumented.is_empty(), "undocumented: {undocumented:#?}");
}
