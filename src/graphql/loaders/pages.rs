//! Loaders of pages and counts of paged relations, for many parents at once.
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::error::AppError;
use crate::read::paging::{self, Counted, Page, PageRequest, PerParent};

/// Which page of which parent's children: the key of a [`PageLoader`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey<F> {
    pub parent: Uuid,
    pub page: PageRequest,
    pub filter: F,
    /// Whether the page is read with its parent's total.
    pub counted: Counted,
}

/// Which parent's children to count: the key of a [`CountLoader`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountKey<F> {
    pub parent: Uuid,
    pub filter: F,
}

impl<F: Default> CountKey<F> {
    /// All of a parent's children: what `membersCount` fields count.
    pub fn unfiltered(parent: Uuid) -> Self {
        Self {
            parent,
            filter: F::default(),
        }
    }
}

pub use crate::read::invitations::InvitationsOfOrganization;
pub use crate::read::join_codes::JoinCodesOfOrganization;
pub use crate::read::members::MembersOfOrganization;
pub use crate::read::teams::{MembersOfTeam, TeamsOfOrganization};

/// Pages of a relation for many parents at once: keys asking for the same
/// page size, cursor and filter share one statement. Not cached (see
/// `uncached`): the resolver that asked usually holds the only `Arc` of its
/// page and takes the items without copying them; fields that asked for
/// the same page share it and each copy theirs.
pub struct PageLoader<R> {
    pub(super) db: DatabaseConnection,
    pub(super) relation: PhantomData<fn() -> R>,
}

impl<R: PerParent> Loader<PageKey<R::Filter>> for PageLoader<R> {
    type Value = Arc<Page<R::Item>>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[PageKey<R::Filter>],
    ) -> Result<HashMap<PageKey<R::Filter>, Self::Value>, Self::Error> {
        let mut groups: HashMap<(PageRequest, R::Filter, Counted), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.page, key.filter.clone(), key.counted))
                .or_default()
                .push(key.parent);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for ((page, filter, counted), parents) in groups {
            let mut pages = paging::pages::<R, _>(&self.db, &parents, &filter, page, counted)
                .await
                .map_err(Arc::new)?;
            // A parent without rows is absent from the result: its page is
            // empty, and when counted its total is known to be 0.
            let counted_from_start = counted.reads_total(page);
            for parent in parents {
                let found = pages.remove(&parent).unwrap_or_else(|| Page {
                    total: counted_from_start.then_some(0),
                    ..Page::empty()
                });
                out.insert(
                    PageKey {
                        parent,
                        page,
                        filter: filter.clone(),
                        counted,
                    },
                    Arc::new(found),
                );
            }
        }
        Ok(out)
    }
}

/// Counts of a relation for many parents at once.
pub struct CountLoader<R> {
    pub(super) db: DatabaseConnection,
    pub(super) relation: PhantomData<fn() -> R>,
}

impl<R: PerParent> Loader<CountKey<R::Filter>> for CountLoader<R> {
    type Value = u64;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[CountKey<R::Filter>],
    ) -> Result<HashMap<CountKey<R::Filter>, Self::Value>, Self::Error> {
        let mut groups: HashMap<R::Filter, Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry(key.filter.clone())
                .or_default()
                .push(key.parent);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (filter, parents) in groups {
            let counts = paging::counts::<R, _>(&self.db, &parents, &filter)
                .await
                .map_err(Arc::new)?;
            for parent in parents {
                let n = counts.get(&parent).copied().unwrap_or(0);
                out.insert(
                    CountKey {
                        parent,
                        filter: filter.clone(),
                    },
                    n,
                );
            }
        }
        Ok(out)
    }
}
