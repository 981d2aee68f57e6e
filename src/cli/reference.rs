//! The book's reference tables that the code states, so that they cannot
//! drift from it: the settings, from their clap definitions, and the error
//! codes, from `ErrorCode`'s descriptions in the schema. Each table sits in
//! its page (`docs/src/operations/settings.md`, `docs/src/errors.md`)
//! between a `<!-- generated-table: NAME -->` line and the next blank
//! line; a test keeps the pages equal to these (`UPDATE_DOCS=1 cargo
//! test` rewrites them), as it does `schema.graphql`.

use clap::{ArgAction, Args, Command};

use crate::config::Config;

/// The settings page's table: flag, environment variable, default and
/// meaning of every setting `--help` shows.
pub fn settings_table() -> String {
    let command = Config::augment_args(Command::new("orgql"));
    let mut table = String::from("| Flag | Environment | Default | Meaning |\n|---|---|---|---|\n");
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        let Some(long) = arg.get_long() else { continue };
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_owned())
            .collect();
        let flag = if values.is_empty() || matches!(arg.get_action(), ArgAction::SetTrue) {
            format!("`--{long}`")
        } else {
            format!("`--{long} <{}>`", values.join("|"))
        };
        let environment = arg.get_env().map_or("—".to_owned(), |env| {
            format!("`{}`", env.to_string_lossy())
        });
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| format!("`{}`", v.to_string_lossy()))
            .collect();
        let default = if !defaults.is_empty() {
            defaults.join(", ")
        } else if matches!(arg.get_action(), ArgAction::SetTrue) {
            "off".to_owned()
        } else if arg.get_value_delimiter().is_some() {
            "empty".to_owned()
        } else {
            "unset".to_owned()
        };
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        table.push_str(&format!(
            "| {} | {environment} | {default} | {} |\n",
            cell(&flag),
            cell(&sentence(&help)),
        ));
    }
    table
}

/// The error-codes page's table: every `ErrorCode`, in the schema's
/// order, with its description.
pub async fn error_codes_table() -> String {
    let response = crate::graphql::offline_schema()
        .execute("{ __type(name: \"ErrorCode\") { enumValues { name description } } }")
        .await;
    let data = response.data.into_json().unwrap_or_default();
    let mut table = String::from("| Code | Meaning |\n|---|---|\n");
    for value in data["__type"]["enumValues"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = value["name"].as_str().unwrap_or_default();
        let description = value["description"].as_str().unwrap_or_default();
        table.push_str(&format!("| `{name}` | {} |\n", cell(description)));
    }
    table
}

/// `page` with the table after its `<!-- generated-table: name -->` line
/// (up to the next blank line) replaced by `table`; None when the page has
/// no such line.
pub fn with_table(page: &str, name: &str, table: &str) -> Option<String> {
    let marker = format!("<!-- generated-table: {name} -->\n");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..]
        .find("\n\n")
        .map_or(page.len(), |blank| start + blank + 1);
    Some(format!("{}{table}{}", &page[..start], &page[end..]))
}

/// Text as one table cell: one line, `|` escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// clap drops a one-line help's final period; the table keeps sentences.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() || text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_replaced_up_to_the_next_blank_line_and_nothing_else() {
        let page = "# Page\n\n<!-- generated-table: t -->\n| old |\n|---|\n\nAfter.\n";
        assert_eq!(
            with_table(page, "t", "| new |\n"),
            Some("# Page\n\n<!-- generated-table: t -->\n| new |\n\nAfter.\n".to_owned())
        );
        assert_eq!(with_table(page, "other", "| new |\n"), None);
    }

    #[test]
    fn a_cell_is_one_line_with_its_bars_escaped() {
        assert_eq!(cell("a\n  b | c"), "a b \\| c");
        assert_eq!(sentence("Address to listen on"), "Address to listen on.");
    }

    #[test]
    fn every_shown_setting_has_a_row_with_its_environment_variable() {
        let table = settings_table();
        assert!(table.contains("| `--listen` | `ORGQL_LISTEN` | `127.0.0.1:8000` |"));
        assert!(table.contains("| `--no-migrate` | `ORGQL_NO_MIGRATE` | off |"));
        assert!(!table.contains("insecure"), "hidden flags stay out");
    }
}
