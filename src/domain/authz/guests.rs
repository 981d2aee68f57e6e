//! The guest rule, in one place (issue #13, security review M3): a guest
//! account only reads. It holds [`GUEST_PERMISSIONS`] at most, as
//! [`GUEST_ROLE`], in organizations whose policy lets guests in, and it
//! comes in only through what was made for guests (a guest invitation or a
//! guest link), which admits nobody else. Anything more (its own
//! organization, another role, joining by domain or with a member's code)
//! needs a full account: [`ensure_full_account`].

use super::matrix::{Permission, Role};
use crate::error::{AppError, AppResult};

/// What a guest may do, whatever their role and the policy grant: read the
/// organization, its members and its teams. Nothing else, so no write and
/// no API token (`access::decide_for` applies it).
pub const GUEST_PERMISSIONS: [Permission; 3] = [
    Permission::OrgView,
    Permission::MembersView,
    Permission::TeamsView,
];

/// The one role a guest membership has.
pub const GUEST_ROLE: Role = Role::Viewer;

/// What only a full account does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullAccountOnly {
    CreateOrganization,
    TakeAnotherRole,
}

/// FORBIDDEN for a guest, saying what to do instead.
pub fn ensure_full_account(is_guest: bool, what: FullAccountOnly) -> AppResult<()> {
    if !is_guest {
        return Ok(());
    }
    Err(AppError::Forbidden(match what {
        FullAccountOnly::CreateOrganization => {
            "a guest account cannot create organizations: set a password with convertGuestAccount first"
        }
        FullAccountOnly::TakeAnotherRole => {
            "a guest keeps the VIEWER role: invite the person as a full member instead"
        }
    }))
}

/// Whether an account may come in through an entry (an invitation or a
/// join code) made, or not, for guests: a guest only through a guest's, a
/// full account only through a full member's (FORBIDDEN rather than an
/// invalid entry: the entry is live, this caller may not use it).
pub fn ensure_entry_fits(entry_for_guests: bool, is_guest: bool) -> AppResult<()> {
    match (entry_for_guests, is_guest) {
        (true, false) => Err(AppError::Forbidden(
            "this is a guest link: it admits guests only; a full account joins with an invitation or a member's join code",
        )),
        (false, true) => Err(AppError::Forbidden(
            "a guest joins only as a guest: set a password with convertGuestAccount first",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_reads_and_nothing_more() {
        assert!(
            GUEST_PERMISSIONS
                .iter()
                .all(|p| p.as_str().ends_with(":view"))
        );
        assert!(ensure_full_account(true, FullAccountOnly::CreateOrganization).is_err());
        assert!(ensure_full_account(false, FullAccountOnly::CreateOrganization).is_ok());
    }

    #[test]
    fn an_entry_admits_only_the_kind_of_account_it_was_made_for() {
        assert!(ensure_entry_fits(true, true).is_ok());
        assert!(ensure_entry_fits(false, false).is_ok());
        assert!(ensure_entry_fits(true, false).is_err());
        assert!(ensure_entry_fits(false, true).is_err());
    }
}
