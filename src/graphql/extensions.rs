//! What the HTTP edge applies around execution: the alias limit
//! async-graphql lacks, and the single place where every error of a
//! response gets its `extensions.code`. (Done at the edge rather than as
//! schema extensions, which would wrap every field's resolution.)

use async_graphql::ServerError;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use crate::error::{AppError, ErrorCode};

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + count_aliases(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_aliases(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// How many aliased fields a document holds, over all operations and
/// fragments. Aliases let one small query ask for the same expensive field
/// many times over; graphql-armor's default limit is 15.
pub fn aliases_in(document: &ExecutableDocument) -> usize {
    document
        .operations
        .iter()
        .map(|(_, op)| count_aliases(&op.node.selection_set.node))
        .chain(
            document
                .fragments
                .values()
                .map(|f| count_aliases(&f.node.selection_set.node)),
        )
        .sum()
}

const LIMIT_MESSAGES: &[&str] = &[
    "Query is too complex",
    "Query is nested too deep",
    "Too many aliases",
    "The number of directives",
    "The recursion depth",
];

/// How async-graphql words an argument that does not fit its type.
const INPUT_MESSAGES: &[&str] = &[
    "Invalid value for argument",
    "Failed to parse",
    "Invalid value",
    "Expected input type",
];

/// Gives an error its code: the `AppError` a resolver or guard returned,
/// QUERY_TOO_COMPLEX for the limits, BAD_USER_INPUT for a document or
/// argument the schema rejects, and INTERNAL (message hidden) for anything
/// else a resolver raised.
pub fn annotate(error: &mut ServerError) {
    // The source is an `Arc`: clone it so the error can be mutated.
    if let Some(source) = error.source.clone()
        && let Some(app) = source.downcast_ref::<AppError>()
    {
        app.annotate(error);
        return;
    }
    if error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
    {
        return;
    }
    let code = if LIMIT_MESSAGES.iter().any(|m| error.message.starts_with(m)) {
        ErrorCode::QueryTooComplex
    } else if error.path.is_empty()
        || INPUT_MESSAGES.iter().any(|m| error.message.starts_with(m))
        || error.message.contains("(occurred while parsing")
    {
        ErrorCode::BadUserInput
    } else {
        tracing::error!(error = %error.message, path = ?error.path, "internal error in a resolver");
        error.message = "internal error".to_owned();
        ErrorCode::Internal
    };
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}
