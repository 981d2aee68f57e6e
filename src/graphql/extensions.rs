//! What is checked around execution, and the single place where every
//! error of a response gets its `extensions.code`.
//!
//! The HTTP edge parses each document itself ([`prepare`]) so that a parse
//! failure arrives as the parser's typed error, and applies the limits
//! async-graphql lacks or applies too bluntly: depth without the
//! introspection tree, introspection's own nesting, aliases and directives.
//! Complexity needs the schema's per-field costs, so async-graphql checks it
//! in validation. Every refusal made here carries its code from the start;
//! [`annotate`] fills in the rest from the error's type and phase, never
//! from its message text.
//!
//! (Long only with its unit tests, at the end.)

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::parser::{self, Pos};
use async_graphql::{Request, ServerError};
use sea_orm::DbErr;

use crate::error::{AppError, ErrorCode};

/// The limits applied before execution.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of fields, introspection excluded (it has its own
    /// rule, [`INTROSPECTION_LIST_DEPTH`]).
    pub depth: usize,
    /// Most aliased fields in one document. Aliases let one small query ask
    /// for the same expensive field many times over; graphql-armor's
    /// default is 15.
    pub aliases: usize,
    /// Most directives on one field.
    pub directives: usize,
}

/// How deep introspection's list fields (`fields`, `interfaces`,
/// `possibleTypes`, `inputFields`) may nest before a query is refused: the
/// value and the counted fields of graphql-js's `MaxIntrospectionDepthRule`.
/// The standard introspection queries nest them once; the circular
/// introspection attack (`types { fields { type { fields { … }}}}`) nests
/// them without end.
pub const INTROSPECTION_LIST_DEPTH: usize = 3;

const INTROSPECTION_LISTS: &[&str] = &["fields", "interfaces", "possibleTypes", "inputFields"];

/// An error that already carries its code.
pub fn coded(code: ErrorCode, message: impl Into<String>, pos: Option<Pos>) -> ServerError {
    let mut error = ServerError::new(message, pos);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    error
}

/// The operation a request runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub ty: OperationType,
    /// Its name in the document, if it has one.
    pub name: Option<String>,
    /// Its type and first root field, `mutation:logIn` ([`root_field_label`]).
    pub root_field: String,
}

/// `/metrics`' label for an operation that no trusted document names: its
/// type and first root field (`mutation:logIn`), with `+` when it selects
/// more. Root fields are the schema's (a document naming another fails
/// validation and is counted as rejected, unlabelled), so a client cannot
/// invent labels, whatever it names its operation; aliases are not read.
fn root_field_label(document: &ExecutableDocument, op: &OperationDefinition) -> String {
    let mut names = Vec::new();
    collect_root_fields(document, &op.selection_set.node, &mut names, 0);
    let ty = match op.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    match names.as_slice() {
        [] => ty.to_owned(),
        [one] => format!("{ty}:{one}"),
        [first, ..] => format!("{ty}:{first}+"),
    }
}

fn collect_root_fields<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    names: &mut Vec<&'a str>,
    depth: usize,
) {
    // Fragment cycles fail validation later; stop before one loops here.
    if depth > 8 {
        return;
    }
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect_root_fields(
                        document,
                        &fragment.node.selection_set.node,
                        names,
                        depth + 1,
                    );
                }
            }
            Selection::InlineFragment(inline) => {
                collect_root_fields(document, &inline.node.selection_set.node, names, depth + 1);
            }
        }
    }
}

/// Documents already parsed, by their text: apps send the same few
/// operations again and again, and parsing is about 6% of the server's
/// work for a page of members (issue #26). Only reads that parsed are kept
/// (see [`has_mutation`]); the limits and everything after are applied to
/// every request anew. An LRU
/// bounded by the bytes of text it holds; a document longer than
/// [`ParsedDocuments::LONGEST`] is parsed every time and not kept.
pub struct ParsedDocuments(moka::sync::Cache<String, Arc<ExecutableDocument>>);

impl ParsedDocuments {
    /// The longest document text kept.
    pub const LONGEST: usize = 16 * 1024;

    /// A cache holding up to `text_bytes` of document text.
    pub fn new(text_bytes: u64) -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(text_bytes)
                .weigher(|text: &String, _| u32::try_from(text.len()).unwrap_or(u32::MAX))
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .build(),
        )
    }

    fn parse(&self, text: &str, limits: Limits) -> Result<ExecutableDocument, ServerError> {
        if let Some(parsed) = self.0.get(text) {
            return Ok(ExecutableDocument::clone(&parsed));
        }
        let document = parser::parse_query(text).map_err(|e| {
            let pos = e.positions().next();
            match e {
                // The parser's guard against stack exhaustion: 16 or more
                // levels of nesting reach it.
                parser::Error::RecursionLimitExceeded => coded(
                    ErrorCode::QueryTooComplex,
                    format!("Query is nested too deep: at most {} levels", limits.depth),
                    pos,
                ),
                other => coded(ErrorCode::BadUserInput, other.to_string(), pos),
            }
        })?;
        if text.len() <= Self::LONGEST && !has_mutation(&document) {
            self.0.insert(text.to_owned(), Arc::new(document.clone()));
        }
        Ok(document)
    }
}

/// Whether a document holds a mutation. Those are not kept: their text
/// may carry a password, a code or a link's token written inline, and no
/// secret should stay in memory past its request; reads, which repeat,
/// are what the cache is for.
fn has_mutation(document: &ExecutableDocument) -> bool {
    match &document.operations {
        DocumentOperations::Single(operation) => operation.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(operations) => operations
            .values()
            .any(|operation| operation.node.ty == OperationType::Mutation),
    }
}

/// Parses the request's document (or takes it from `parsed`) and applies
/// [`Limits`]. On success the parsed document stays on the request, so
/// execution does not parse again, and the operation that will run is
/// returned.
pub fn prepare(
    request: &mut Request,
    limits: Limits,
    parsed: &ParsedDocuments,
) -> Result<Selected, ServerError> {
    prepare_for(request, limits, parsed, false)
}

/// [`prepare`] for a WebSocket, where only subscriptions run.
pub fn prepare_subscription(
    request: &mut Request,
    limits: Limits,
    parsed: &ParsedDocuments,
) -> Result<Selected, ServerError> {
    prepare_for(request, limits, parsed, true)
}

fn prepare_for(
    request: &mut Request,
    limits: Limits,
    parsed: &ParsedDocuments,
    over_websocket: bool,
) -> Result<Selected, ServerError> {
    let document = parsed.parse(&request.query, limits)?;
    let operation = selected_operation(&document, request.operation_name.as_deref())?;
    let is_subscription = operation.ty == OperationType::Subscription;
    if is_subscription != over_websocket {
        let message = if over_websocket {
            "only subscriptions run over WebSocket: send queries and mutations over HTTP"
        } else {
            "subscriptions run over WebSocket (graphql-transport-ws) at /graphql"
        };
        return Err(coded(ErrorCode::BadUserInput, message, None));
    }
    check_limits(&document, limits)?;
    request.set_parsed_query(document);
    Ok(operation)
}

/// The operation the request runs (GraphQL spec, GetOperation()).
fn selected_operation(
    document: &ExecutableDocument,
    wanted: Option<&str>,
) -> Result<Selected, ServerError> {
    let refuse = |message: String| Err(coded(ErrorCode::BadUserInput, message, None));
    match (&document.operations, wanted) {
        (DocumentOperations::Single(op), _) => Ok(Selected {
            ty: op.node.ty,
            name: None,
            root_field: root_field_label(document, &op.node),
        }),
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => Ok(Selected {
                ty: op.node.ty,
                name: Some(name.to_owned()),
                root_field: root_field_label(document, &op.node),
            }),
            None => refuse(format!("Unknown operation named \"{name}\"")),
        },
        (DocumentOperations::Multiple(ops), None) => match (ops.len(), ops.iter().next()) {
            (1, Some((name, op))) => Ok(Selected {
                ty: op.node.ty,
                name: Some(name.to_string()),
                root_field: root_field_label(document, &op.node),
            }),
            _ => refuse("the document holds several operations: name one in operationName".into()),
        },
    }
}

fn too_complex(message: String) -> Result<(), ServerError> {
    Err(coded(ErrorCode::QueryTooComplex, message, None))
}

fn check_limits(document: &ExecutableDocument, limits: Limits) -> Result<(), ServerError> {
    let mut walk = Walk::new(document);
    let roots = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node);
    // Operations and fragments, each once (no allocation: this runs on
    // every request).
    let definitions = || {
        roots.clone().chain(
            document
                .fragments
                .values()
                .map(|f| &f.node.selection_set.node),
        )
    };

    let aliases: usize = definitions().map(count_aliases).sum();
    if aliases > limits.aliases {
        return too_complex(format!(
            "Too many aliases: {aliases}, at most {}",
            limits.aliases
        ));
    }
    if let Some(field) = definitions().find_map(|set| field_over_directives(set, limits.directives))
    {
        return too_complex(format!(
            "Too many directives on the field `{field}`: at most {}",
            limits.directives
        ));
    }
    for root in roots {
        let depth = walk.reach(root).depth;
        if depth > limits.depth {
            return too_complex(format!(
                "Query is nested too deep: {depth} levels, at most {}",
                limits.depth
            ));
        }
    }
    if let Some(fragment) = walk.cycle {
        return Err(coded(
            ErrorCode::BadUserInput,
            format!("Cannot spread fragment \"{fragment}\" within itself"),
            None,
        ));
    }
    if walk.introspection_too_deep {
        return too_complex("Maximum introspection depth exceeded".into());
    }
    Ok(())
}

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

fn field_over_directives(set: &SelectionSet, most: usize) -> Option<String> {
    set.items.iter().find_map(|item| match &item.node {
        Selection::Field(field) if field.node.directives.len() > most => {
            Some(field.node.name.node.to_string())
        }
        Selection::Field(field) => field_over_directives(&field.node.selection_set.node, most),
        Selection::InlineFragment(fragment) => {
            field_over_directives(&fragment.node.selection_set.node, most)
        }
        Selection::FragmentSpread(_) => None,
    })
}

/// How far a selection set reaches.
#[derive(Debug, Clone, Copy, Default)]
struct Reach {
    /// Nesting of fields, not counting what is under `__schema` and
    /// `__type`.
    depth: usize,
    /// Nesting of introspection's list fields.
    lists: usize,
}

/// Measures selection sets through fragment spreads. Each fragment is
/// measured once (a document that spreads fragments into each other many
/// times would otherwise cost exponential time); a spread that would cycle
/// is noted and the document refused.
struct Walk<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Reach>,
    entered: Vec<&'a str>,
    introspection_too_deep: bool,
    /// A fragment found spreading itself, directly or through others.
    cycle: Option<&'a str>,
}

impl<'a> Walk<'a> {
    fn new(document: &'a ExecutableDocument) -> Self {
        Self {
            document,
            fragments: HashMap::new(),
            entered: Vec::new(),
            introspection_too_deep: false,
            cycle: None,
        }
    }

    fn reach(&mut self, set: &'a SelectionSet) -> Reach {
        let mut most = Reach::default();
        for item in &set.items {
            let here = match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let below = self.reach(&field.node.selection_set.node);
                    if matches!(name, "__schema" | "__type") {
                        self.introspection_too_deep |= below.lists >= INTROSPECTION_LIST_DEPTH;
                        Reach::default()
                    } else {
                        Reach {
                            depth: 1 + below.depth,
                            lists: usize::from(INTROSPECTION_LISTS.contains(&name)) + below.lists,
                        }
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.reach(&fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => self.spread(&spread.node.fragment_name.node),
            };
            most.depth = most.depth.max(here.depth);
            most.lists = most.lists.max(here.lists);
        }
        most
    }

    fn spread(&mut self, name: &'a str) -> Reach {
        if let Some(known) = self.fragments.get(name) {
            return *known;
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Reach::default();
        };
        if self.entered.contains(&name) {
            self.cycle = Some(name);
            return Reach::default();
        }
        self.entered.push(name);
        let reach = self.reach(&fragment.node.selection_set.node);
        self.entered.pop();
        self.fragments.insert(name, reach);
        reach
    }
}

/// Whether an error was raised before execution began (a request error, in
/// the GraphQL spec's terms: parsing, validation, variable coercion). Such
/// errors have no `path`; every error raised while executing names the
/// field it came from.
pub fn is_request_error(error: &ServerError) -> bool {
    error.path.is_empty()
}

/// Whether a request error is async-graphql's complexity limit. Every
/// validation rule names the node it refuses (a location); the limit is the
/// one pre-execution error without a location, because it is about the
/// whole document. The other failures that have no location (parsing,
/// operation selection, subscriptions) are refused by [`prepare`] before
/// execution. (A validation-phase extension could raise the limit with its
/// code instead, but any extension puts a boxed future around every field's
/// resolution: measured at 2.7 times the CPU for a field-heavy query.)
fn is_complexity_limit(error: &ServerError) -> bool {
    is_request_error(error) && error.locations.is_empty()
}

/// Gives an error its code: the one it was raised with (the edge's
/// refusals), the `AppError`'s a resolver or guard returned (a database
/// error a resolver or loader passed on with `?` counts as one:
/// UNAVAILABLE when the database could not be reached, else INTERNAL),
/// QUERY_TOO_COMPLEX for the complexity limit, BAD_USER_INPUT for any other
/// request error (the document or variables do not fit the schema), and
/// INTERNAL (message hidden) for anything else a resolver raised.
pub fn annotate(error: &mut ServerError) {
    // The source is an `Arc`: clone it so the error can be mutated.
    if let Some(source) = error.source.clone() {
        // Loaders fail with `Arc<AppError>` or `Arc<DbErr>`, plain reads
        // with `DbErr`.
        let app = source
            .downcast_ref::<AppError>()
            .or_else(|| source.downcast_ref::<Arc<AppError>>().map(|app| &**app));
        if let Some(app) = app {
            app.annotate(error);
            return;
        }
        let db = source
            .downcast_ref::<DbErr>()
            .or_else(|| source.downcast_ref::<Arc<DbErr>>().map(|db| &**db));
        if let Some(db) = db {
            let app = AppError::from(db.clone());
            error.message = app.to_string();
            app.annotate(error);
            return;
        }
    }
    if error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
    {
        return;
    }
    let code = if is_complexity_limit(error) {
        ErrorCode::QueryTooComplex
    } else if is_request_error(error) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        depth: 10,
        aliases: 15,
        directives: 4,
    };

    fn check(query: &str) -> Result<Selected, ServerError> {
        prepare(
            &mut Request::new(query),
            LIMITS,
            &ParsedDocuments::new(1 << 20),
        )
    }

    fn code(error: &ServerError) -> String {
        let value = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned();
        value.map(|v| v.to_string()).unwrap_or_default()
    }

    fn nested(levels: usize) -> String {
        format!(
            "{{ {}}}",
            "a { ".repeat(levels - 1) + "b" + &" }".repeat(levels - 1)
        )
    }

    #[test]
    fn depth_counts_fields_through_fragments() {
        assert!(check(&nested(10)).is_ok());
        let error = check(&nested(11)).unwrap_err();
        assert_eq!(code(&error), "\"QUERY_TOO_COMPLEX\"");
        let through_fragment = "{ a { ...F } } fragment F on T { b { c { d { e { f { g { h { i { j { k } } } } } } } } } }";
        assert!(check(through_fragment).is_err());
    }

    #[test]
    fn a_document_past_the_parsers_recursion_limit_is_too_complex() {
        let error = check(&nested(40)).unwrap_err();
        assert_eq!(code(&error), "\"QUERY_TOO_COMPLEX\"");
    }

    #[test]
    fn circular_introspection_is_refused_and_one_level_of_lists_is_not() {
        let standard = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } interfaces { name } possibleTypes { name } inputFields { name } } } }";
        assert!(check(standard).is_ok());
        let circular =
            "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
        assert!(check(circular).is_err());
        let through_fragments = "{ ...Q } fragment Q on Query { __type(name: \"A\") { ...L } } fragment L on __Type { fields { type { interfaces { possibleTypes { name } } } } }";
        assert!(check(through_fragments).is_err());
    }

    #[test]
    fn spreading_fragments_into_each_other_costs_linear_time() {
        let mut query = String::from("{ ...F0 }");
        for i in 0..40 {
            query += &format!(
                " fragment F{i} on Query {{ a {{ ...F{} ...F{} }} }}",
                i + 1,
                i + 1
            );
        }
        query += " fragment F40 on Query { b }";
        assert!(check(&query).is_err());
    }

    #[test]
    fn a_fragment_that_spreads_itself_is_refused() {
        let error = check("{ ...A } fragment A on Query { a ...B } fragment B on Query { b ...A }")
            .unwrap_err();
        assert_eq!(code(&error), "\"BAD_USER_INPUT\"");
        assert!(error.message.contains("within itself"), "{}", error.message);
    }

    #[test]
    fn subscriptions_are_refused() {
        let error = check("subscription { a }").unwrap_err();
        assert_eq!(code(&error), "\"BAD_USER_INPUT\"");
    }

    #[test]
    fn the_named_operation_decides_the_type() {
        let document = "query A { a } mutation B { b }";
        let mut request = Request::new(document).operation_name("B");
        let parsed = ParsedDocuments::new(1 << 20);
        let selected = prepare(&mut request, LIMITS, &parsed).unwrap();
        assert_eq!(selected.ty, OperationType::Mutation);
        assert_eq!(selected.name.as_deref(), Some("B"));
        assert!(check(document).is_err());
        let mut unknown = Request::new(document).operation_name("C");
        assert!(prepare(&mut unknown, LIMITS, &parsed).is_err());
    }

    #[test]
    fn a_kept_document_still_meets_each_requests_limits() {
        let parsed = ParsedDocuments::new(1 << 20);
        let query = "{ a: x b: x c: x }";
        assert!(prepare(&mut Request::new(query), LIMITS, &parsed).is_ok());
        parsed.0.run_pending_tasks();
        assert_eq!(parsed.0.entry_count(), 1);
        let strict = Limits {
            aliases: 2,
            ..LIMITS
        };
        let refused = prepare(&mut Request::new(query), strict, &parsed).unwrap_err();
        assert_eq!(code(&refused), "\"QUERY_TOO_COMPLEX\"");
        // The same text, from the cache, answers as it did parsed.
        let selected = prepare(&mut Request::new(query), LIMITS, &parsed).unwrap();
        assert_eq!(selected.ty, OperationType::Query);
    }

    #[test]
    fn what_does_not_parse_is_not_kept_nor_is_a_long_document() {
        let parsed = ParsedDocuments::new(1 << 20);
        assert!(prepare(&mut Request::new("{ a"), LIMITS, &parsed).is_err());
        let long = format!("{{ a {} }}", "b ".repeat(ParsedDocuments::LONGEST));
        let _ = prepare(&mut Request::new(long), LIMITS, &parsed);
        parsed.0.run_pending_tasks();
        assert_eq!(parsed.0.entry_count(), 0);
    }

    #[test]
    fn a_document_with_a_mutation_is_not_kept_as_its_text_may_hold_a_secret() {
        let parsed = ParsedDocuments::new(1 << 20);
        let log_in = r#"mutation { logIn(input: { email: "a@example.com", password: "secret words here" }) { accessToken } }"#;
        assert!(prepare(&mut Request::new(log_in), LIMITS, &parsed).is_ok());
        let mixed = r#"query A { a } mutation B { verifyEmail(input: { token: "t" }) { b } }"#;
        assert!(
            prepare(
                &mut Request::new(mixed).operation_name("A"),
                LIMITS,
                &parsed
            )
            .is_ok()
        );
        parsed.0.run_pending_tasks();
        assert_eq!(parsed.0.entry_count(), 0);
        assert!(prepare(&mut Request::new("{ a }"), LIMITS, &parsed).is_ok());
        parsed.0.run_pending_tasks();
        assert_eq!(parsed.0.entry_count(), 1);
    }
}
