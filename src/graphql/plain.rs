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
//! Two things this leans on: fragment definitions are read from the
//! query's environment (`ContextSelectionSet::query_env`, public but
//! undocumented in async-graphql 7, pinned in Cargo.toml), and the schema
//! registers no async-graphql extension, whose per-field hooks a plain
//! answer would skip (`graphql::build_schema` registers none).

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

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

#[cfg(test)]
mod tests {
    //! Which path answers: a test type whose resolvers say "resolver" and
    //! whose plain fields say "plain".

    use super::*;
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
}
