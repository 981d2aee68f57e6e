//! The root field that puts `ErrorCode` into the schema clients introspect.
//!
//! async-graphql's introspection lists only the types reachable from the
//! roots, and error codes travel in `extensions.code`, outside any field's
//! type. Without a field that returns them, tools that generate clients from
//! the URL (graphql-codegen, GraphiQL's docs) would never see the enum that
//! schema.graphql prints.

use async_graphql::Object;
use async_graphql::resolver_utils::EnumType;

use crate::error::ErrorCode;

#[derive(Default)]
pub struct ErrorCodesQuery;

#[Object]
impl ErrorCodesQuery {
    /// Every code a GraphQL error of this API can carry in
    /// `extensions.code`, with its meaning in the enum's documentation.
    async fn error_codes(&self) -> Vec<ErrorCode> {
        ErrorCode::items().iter().map(|item| item.value).collect()
    }
}
