//! Nodes answered straight from what they hold (issue #26).
//!
//! async-graphql resolves each field of each node as a future of its own
//! and merges every answer into an ordered map, looking each name up
//! twice: for a page of 100 members with their user and teams that was
//! half the server's work per request, for values already in memory. A
//! [`Plain`] node answers its selection itself when every selected field
//! is plain for its type ([`PlainFields`]): a value it holds, with no
//! statement, guard decision or await left. Otherwise — a field that is
//! not plain, a name selected twice, a directive, a fragment on another
//! type — the whole node goes to its type's resolvers, as every other
//! object does. Both paths give the same answer: a type's resolvers and
//! its plain fields call the same methods, and `tests/api/plain_answers.rs`
//! compares the two for every kind of selection.
//!
//! A [`PlainConnection`] does the same for a page's list of nodes.
//!
//! Two things this leans on: what async-graphql 7 makes public but leaves
//! undocumented, for its generated code (the query's fragments in
//! `ContextSelectionSet::query_env`; `with_field`, `with_selection_set`,
//! `with_index` and `set_error_path`, which build a node's context as its
//! list resolver does), pinned in Cargo.toml; and that the schema
//! registers no async-graphql extension, whose per-field hooks a plain
//! answer would skip (`graphql::build_schema` registers none).

use std::borrow::Cow;
use std::task::Poll;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::ContainerType;
use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ServerError, ServerResult, Value,
};

use crate::graphql::connection::CountedConnection;

/// A GraphQL object some of whose fields can be answered without their
/// resolvers.
pub trait PlainFields: OutputType {
    /// Field `field`'s answer when it is plain here (`field` is selected on
    /// `self`, its sub-selection in `field.selection_set`); `None` sends the
    /// whole node to the resolvers.
    fn plain_field(&self, ctx: &ContextSelectionSet<'_>, field: &Field) -> Option<Value>;
}

/// A node that answers from what it holds where it can: the same GraphQL
/// type as `T` (same name, same fields), only resolved faster.
pub struct Plain<T>(pub T);

impl<T: PlainFields> OutputType for Plain<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match object(&self.0, ctx, &field.node.selection_set.node) {
            Some(answer) => Ok(answer),
            None => self.0.resolve(ctx, field).await,
        }
    }
}

/// `item`'s answer to `selection` when every field it selects is plain.
/// Empty (every field skipped by `@skip`/`@include`), an object answers
/// null, as async-graphql answers it.
pub fn object<T: PlainFields>(
    item: &T,
    ctx: &ContextSelectionSet<'_>,
    selection: &SelectionSet,
) -> Option<Value> {
    let mut answer = IndexMap::with_capacity(selection.items.len());
    collect(item, ctx, selection, &mut answer)?;
    Some(if answer.is_empty() {
        Value::Null
    } else {
        Value::Object(answer)
    })
}

/// The answers of `items` to `selection`, when all are plain.
pub fn list<'a, T: PlainFields + 'a>(
    items: impl IntoIterator<Item = &'a T>,
    ctx: &ContextSelectionSet<'_>,
    selection: &SelectionSet,
) -> Option<Value> {
    items
        .into_iter()
        .map(|item| object(item, ctx, selection))
        .collect::<Option<Vec<_>>>()
        .map(Value::List)
}

/// Adds `selection`'s answers to `answer`, in the order selected. The
/// cases async-graphql merges or reads the schema for are left to it:
/// directives other than `@skip`/`@include` (those are gone before
/// execution), a response name given twice, a fragment whose type
/// condition names another type (an interface `T` implements).
fn collect<T: PlainFields>(
    item: &T,
    ctx: &ContextSelectionSet<'_>,
    selection: &SelectionSet,
    answer: &mut IndexMap<Name, Value>,
) -> Option<()> {
    for selected in &selection.items {
        if !selected.node.directives().is_empty() {
            return None;
        }
        let (condition, fragment) = match &selected.node {
            Selection::Field(field) => {
                let field = &field.node;
                let value = if field.name.node == "__typename" {
                    Value::String(item.introspection_type_name().into_owned())
                } else {
                    item.plain_field(ctx, field)?
                };
                if answer
                    .insert(field.response_key().node.clone(), value)
                    .is_some()
                {
                    return None;
                }
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)?;
                (
                    Some(&fragment.node.type_condition),
                    &fragment.node.selection_set,
                )
            }
            Selection::InlineFragment(inline) => (
                inline.node.type_condition.as_ref(),
                &inline.node.selection_set,
            ),
        };
        if condition.is_some_and(|condition| condition.node.on.node.as_str() != T::type_name()) {
            return None;
        }
        collect(item, ctx, &fragment.node, answer)?;
    }
    Some(())
}

/// A connection whose `nodes` answer from what they hold where they can:
/// the same GraphQL type as the connection it wraps. async-graphql
/// resolves a list as one future per item, joined; for a page of 100
/// members answered plain that was a task, a context and a poll per
/// member. Here each node is tried plain first; a node that is not
/// (a field beyond the plain ones, or `teams` before its guard has
/// passed) is resolved as async-graphql resolves it, polled at once in
/// its turn, so that a guard it passes lets the next nodes answer plain,
/// and joined with the others still waiting, so that loaders still see
/// them all at once. Any other selection on the connection (a fragment, a
/// directive, a name given twice) goes whole to the connection's
/// resolvers; its other fields (`totalCount`, `edges`, `pageInfo`) always
/// do.
pub struct PlainConnection<T: PlainFields>(pub CountedConnection<Plain<T>>);

impl<T: PlainFields> OutputType for PlainConnection<T> {
    fn type_name() -> Cow<'static, str> {
        CountedConnection::<Plain<T>>::type_name()
    }

    fn qualified_type_name() -> String {
        CountedConnection::<Plain<T>>::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        CountedConnection::<Plain<T>>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let Some(fields) = plain_fields_of(&field.node.selection_set.node) else {
            return self.0.resolve(ctx, field).await;
        };
        let answers = fields.iter().map(|&selected| async move {
            let name = selected.node.response_key().node.clone();
            let value = match selected.node.name.node.as_str() {
                "__typename" => Value::String(self.0.introspection_type_name().into_owned()),
                "nodes" => self.nodes(ctx, selected).await?,
                _ => self
                    .0
                    .resolve_field(&ctx.with_field(selected))
                    .await?
                    .unwrap_or_default(),
            };
            Ok::<_, ServerError>((name, value))
        });
        Ok(Value::Object(
            futures_util::future::try_join_all(answers)
                .await?
                .into_iter()
                .collect(),
        ))
    }
}

impl<T: PlainFields> PlainConnection<T> {
    /// The `nodes` of the page, selected by `field`.
    async fn nodes(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let ctx_field = ctx.with_field(field);
        let ctx_nodes = ctx_field.with_selection_set(&field.node.selection_set);
        let selection = &field.node.selection_set.node;
        let mut answers = Vec::with_capacity(self.0.edges.len());
        let mut waiting = Vec::new();
        for (index, edge) in self.0.edges.iter().enumerate() {
            let node = &edge.node.0;
            if let Some(answer) = object(node, &ctx_nodes, selection) {
                answers.push(answer);
                continue;
            }
            let ctx_node = ctx_nodes.with_index(index);
            let mut resolving = Box::pin(async move {
                node.resolve(&ctx_node, field)
                    .await
                    .map_err(|error| ctx_node.set_error_path(error))
            });
            match std::future::poll_fn(|cx| Poll::Ready(resolving.as_mut().poll(cx))).await {
                Poll::Ready(answer) => answers.push(answer?),
                Poll::Pending => {
                    answers.push(Value::Null);
                    waiting.push((index, resolving));
                }
            }
        }
        let resolved =
            futures_util::future::try_join_all(waiting.iter_mut().map(|(_, f)| f.as_mut())).await?;
        for ((index, _), answer) in waiting.iter().zip(resolved) {
            answers[*index] = answer;
        }
        Ok(Value::List(answers))
    }
}

/// The fields selected on a connection when they are only fields, each
/// without a directive and under a name of its own, `nodes` among them:
/// the selections [`PlainConnection`] answers itself.
fn plain_fields_of(selection: &SelectionSet) -> Option<Vec<&Positioned<Field>>> {
    let mut fields = Vec::with_capacity(selection.items.len());
    for selected in &selection.items {
        let Selection::Field(field) = &selected.node else {
            return None;
        };
        let key = field.node.response_key();
        if !field.node.directives.is_empty()
            || fields
                .iter()
                .any(|f: &&Positioned<Field>| f.node.response_key().node == key.node)
        {
            return None;
        }
        fields.push(field);
    }
    fields
        .iter()
        .any(|field| field.node.name.node == "nodes")
        .then_some(fields)
}

#[cfg(test)]
mod tests {
    //! Which path answers: a test type whose resolvers say "resolver" and
    //! whose plain fields say "plain".

    use super::*;
    use crate::graphql::connection::{self, TotalCount};
    use crate::read::paging::{Page, PageRequest};
    use async_graphql::{EmptyMutation, EmptySubscription, Interface, Object, Schema};

    struct Thing;

    #[Object]
    impl Thing {
        async fn a(&self) -> &str {
            "resolver"
        }

        async fn b(&self) -> &str {
            "resolver"
        }

        async fn child(&self) -> Thing {
            Thing
        }

        async fn children(&self) -> Vec<Thing> {
            vec![Thing, Thing]
        }
    }

    impl PlainFields for Thing {
        fn plain_field(&self, ctx: &ContextSelectionSet<'_>, field: &Field) -> Option<Value> {
            let selection = &field.selection_set.node;
            match field.name.node.as_str() {
                "a" => Some(Value::String("plain".into())),
                "child" => object(&Thing, ctx, selection),
                "children" => list(&[Thing, Thing], ctx, selection),
                _ => None,
            }
        }
    }

    #[derive(Interface)]
    #[graphql(field(name = "a", ty = "&str"))]
    enum Named {
        Thing(Thing),
    }

    struct Root;

    #[Object]
    impl Root {
        async fn thing(&self) -> Plain<Thing> {
            Plain(Thing)
        }
    }

    /// The answer to `query`'s `thing`, its fields in the order answered.
    async fn answer(query: &str) -> String {
        let schema = Schema::build(Root, EmptyMutation, EmptySubscription)
            .register_output_type::<Named>()
            .finish();
        let response = schema.execute(query).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let Value::Object(data) = response.data else {
            panic!("no data")
        };
        serde_json::to_string(&data["thing"]).unwrap()
    }

    #[tokio::test]
    async fn plain_fields_are_answered_without_their_resolvers() {
        assert_eq!(answer("{ thing { a } }").await, r#"{"a":"plain"}"#);
        assert_eq!(
            answer("{ thing { x: a __typename y: a } }").await,
            r#"{"x":"plain","__typename":"Thing","y":"plain"}"#,
            "aliases, in the order selected"
        );
        assert_eq!(
            answer("{ thing { child { a } children { a } } }").await,
            r#"{"child":{"a":"plain"},"children":[{"a":"plain"},{"a":"plain"}]}"#
        );
        assert_eq!(
            answer("{ thing { z: a ...F ... on Thing { y: a } ... { x: a } } } fragment F on Thing { a }")
                .await,
            r#"{"z":"plain","a":"plain","y":"plain","x":"plain"}"#
        );
        assert_eq!(
            answer("{ thing { a b @skip(if: true) } }").await,
            r#"{"a":"plain"}"#,
            "a skipped field is gone before execution"
        );
    }

    #[tokio::test]
    async fn a_node_with_any_other_field_goes_whole_to_its_resolvers() {
        for (query, expected) in [
            ("{ thing { a b } }", r#"{"a":"resolver","b":"resolver"}"#),
            (
                "{ thing { a child { b } } }",
                r#"{"a":"resolver","child":{"b":"resolver"}}"#,
            ),
            ("{ thing { a a } }", r#"{"a":"resolver"}"#),
            (
                "{ thing { a ... on Named { x: a } } }",
                r#"{"a":"resolver","x":"resolver"}"#,
            ),
            (
                "{ thing { child { a } child { b } } }",
                r#"{"child":{"a":"resolver","b":"resolver"}}"#,
            ),
        ] {
            assert_eq!(answer(query).await, expected, "{query}");
        }
    }

    /// The connection tests' node: `n` is always plain; `g` is plain once
    /// some `g` resolver ran in the request (as `teams` once its guard has
    /// passed); `late` and `fail` never are, `late` waits once before
    /// answering and `fail` refuses item 1.
    struct Item(u32);

    #[derive(Default)]
    struct Opened(std::sync::atomic::AtomicBool);

    #[Object]
    impl Item {
        async fn n(&self) -> u32 {
            self.0
        }

        async fn g(&self, ctx: &async_graphql::Context<'_>) -> &str {
            ctx.data_unchecked::<Opened>()
                .0
                .store(true, std::sync::atomic::Ordering::SeqCst);
            "resolver"
        }

        async fn late(&self) -> u32 {
            tokio::task::yield_now().await;
            self.0
        }

        async fn fail(&self) -> async_graphql::Result<u32> {
            match self.0 {
                1 => Err("refused".into()),
                n => Ok(n),
            }
        }
    }

    impl PlainFields for Item {
        fn plain_field(&self, ctx: &ContextSelectionSet<'_>, field: &Field) -> Option<Value> {
            let opened = || {
                ctx.data_unchecked::<Opened>()
                    .0
                    .load(std::sync::atomic::Ordering::SeqCst)
            };
            match field.name.node.as_str() {
                "n" => Some(Value::from(self.0)),
                "g" if opened() => Some(Value::String("plain".into())),
                _ => None,
            }
        }
    }

    fn items() -> CountedConnection<Plain<Item>> {
        connection::build(
            Page {
                items: vec![0, 1, 2],
                has_next_page: true,
                total: Some(3),
            },
            PageRequest {
                first: 3,
                after: None,
            },
            TotalCount::known(3),
            |n| uuid::Uuid::from_u128(u128::from(*n) + 1),
            |n| Plain(Item(n)),
        )
    }

    struct Pages;

    #[Object]
    impl Pages {
        async fn plain(&self) -> PlainConnection<Item> {
            PlainConnection(items())
        }

        async fn stock(&self) -> CountedConnection<Plain<Item>> {
            items()
        }
    }

    /// The whole response to `{ page: <root> <selection> }` (the roots'
    /// names are as long, so that errors' locations match).
    async fn page(root: &str, selection: &str) -> String {
        let schema = Schema::build(Pages, EmptyMutation, EmptySubscription).finish();
        let mut query = format!("{{ page: {root} {selection} }}");
        if selection.contains("...F") {
            query.push_str(" fragment F on ItemConnection { totalCount }");
        }
        let response = schema
            .execute(async_graphql::Request::new(query).data(Opened::default()))
            .await;
        serde_json::to_string(&response).unwrap()
    }

    #[tokio::test]
    async fn a_plain_connection_answers_as_the_connection_it_wraps() {
        for selection in [
            "{ nodes { n } }",
            "{ nodes { n g } totalCount }",
            "{ __typename t: totalCount nodes { g n } }",
            "{ nodes { late n } }",
            "{ nodes { n g late } }",
            "{ nodes { n fail } }",
            "{ totalCount nodes { late fail } }",
            "{ pageInfo { hasNextPage } nodes { n } }",
            "{ edges { cursor node { n } } nodes { n } }",
            "{ ...F nodes { n } }",
            "{ ... on ItemConnection { nodes { n } } }",
            "{ nodes { n } nodes { g } }",
            "{ nodes @include(if: true) { n } }",
            "{ totalCount }",
        ] {
            let answer = page("plain", selection).await;
            assert_eq!(answer, page("stock", selection).await, "{selection}");
            assert_eq!(
                answer.contains("errors"),
                selection.contains("fail"),
                "{selection}: {answer}"
            );
        }
        assert_eq!(
            page("plain", "{ nodes { g } }").await,
            r#"{"data":{"page":{"nodes":[{"g":"resolver"},{"g":"plain"},{"g":"plain"}]}}}"#,
            "the first node's resolver opens the way for the others"
        );
    }
}
