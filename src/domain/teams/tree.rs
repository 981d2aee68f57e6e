//! The shape of an organization's team tree: levels, heights, and the
//! checks that keep it a tree no deeper than [`MAX_LEVELS`].

use std::collections::HashMap;

use entity::team;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The deepest a team may sit: a top-level team is at level 1.
pub const MAX_LEVELS: usize = 8;

/// Every team of an organization as (id → parent), for nesting checks.
async fn tree<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
) -> AppResult<HashMap<Uuid, Option<Uuid>>> {
    Ok(team::Entity::find()
        .select_only()
        .column(team::Column::Id)
        .column(team::Column::ParentTeamId)
        .filter(team::Column::OrganizationId.eq(organization_id))
        .into_tuple::<(Uuid, Option<Uuid>)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The level of a team: 1 at the top.
fn level(tree: &HashMap<Uuid, Option<Uuid>>, mut team: Uuid) -> usize {
    let mut level = 1;
    while let Some(Some(parent)) = tree.get(&team) {
        team = *parent;
        level += 1;
        if level > tree.len() + 1 {
            break; // a cycle in stored data; refuse rather than loop
        }
    }
    level
}

/// How many levels a team and its descendants span: 1 for a leaf.
fn height(tree: &HashMap<Uuid, Option<Uuid>>, team: Uuid) -> usize {
    tree.keys()
        .filter(|&&other| {
            let mut cursor = other;
            let mut steps = 0;
            while let Some(Some(parent)) = tree.get(&cursor) {
                if cursor == team {
                    return true;
                }
                cursor = *parent;
                steps += 1;
                if steps > tree.len() {
                    return false;
                }
            }
            cursor == team
        })
        .map(|&descendant| level(tree, descendant))
        .max()
        .map_or(1, |deepest| deepest + 1 - level(tree, team))
}

/// Whether `candidate` is `team` or lies below it.
fn in_subtree(tree: &HashMap<Uuid, Option<Uuid>>, team: Uuid, candidate: Uuid) -> bool {
    let mut cursor = Some(candidate);
    let mut steps = 0;
    while let Some(current) = cursor {
        if current == team {
            return true;
        }
        cursor = tree.get(&current).copied().flatten();
        steps += 1;
        if steps > tree.len() {
            return true;
        }
    }
    false
}

/// Checks a parent for a team: in the same organization, not the team or
/// one of its descendants, and not so deep that the tree passes
/// [`MAX_LEVELS`].
pub(super) async fn check_parent<C: ConnectionTrait>(
    txn: &C,
    organization_id: Uuid,
    moving: Option<Uuid>,
    parent_team_id: Uuid,
) -> AppResult<()> {
    let tree = tree(txn, organization_id).await?;
    if !tree.contains_key(&parent_team_id) {
        return Err(AppError::bad_input(
            "parentTeamId",
            "no such team in this organization",
        ));
    }
    let span = match moving {
        Some(team) => {
            if in_subtree(&tree, team, parent_team_id) {
                return Err(AppError::bad_input(
                    "parentTeamId",
                    "a team cannot be placed inside itself or one of its own sub-teams",
                ));
            }
            height(&tree, team)
        }
        None => 1,
    };
    if level(&tree, parent_team_id) + span > MAX_LEVELS {
        return Err(AppError::bad_input(
            "parentTeamId",
            format!("teams nest at most {MAX_LEVELS} levels deep"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> (HashMap<Uuid, Option<Uuid>>, Vec<Uuid>) {
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let tree = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, if i == 0 { None } else { Some(ids[i - 1]) }))
            .collect();
        (tree, ids)
    }

    #[test]
    fn levels_and_heights_count_from_one() {
        let (tree, ids) = chain(3);
        assert_eq!(level(&tree, ids[0]), 1);
        assert_eq!(level(&tree, ids[2]), 3);
        assert_eq!(height(&tree, ids[0]), 3);
        assert_eq!(height(&tree, ids[2]), 1);
    }

    #[test]
    fn a_team_lies_in_its_own_subtree() {
        let (tree, ids) = chain(3);
        assert!(in_subtree(&tree, ids[0], ids[2]));
        assert!(in_subtree(&tree, ids[1], ids[1]));
        assert!(!in_subtree(&tree, ids[2], ids[0]));
    }
}
