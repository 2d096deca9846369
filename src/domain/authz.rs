//! "What is this principal's standing in this organization?" — the one
//! question every permission row of rules.md is answered from.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{Caller, Role};
use crate::auth::Principal;
use crate::entity::membership;
use crate::error::{AppError, AppResult};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Site admin; `role` is their own membership, if any.
    SiteAdmin {
        role: Option<Role>,
    },
    Member(Role),
    /// A service account of this organization.
    Service,
    None,
}

impl Standing {
    pub fn visible(self) -> bool {
        !matches!(self, Standing::None)
    }

    /// The caller's own role (viewerRole).
    pub fn role(self) -> Option<Role> {
        match self {
            Standing::SiteAdmin { role } => role,
            Standing::Member(r) => Some(r),
            _ => None,
        }
    }

    /// ADMIN rights: SA, A, S.
    pub fn admin(self) -> bool {
        matches!(
            self,
            Standing::SiteAdmin { .. } | Standing::Member(Role::Admin) | Standing::Service
        )
    }

    /// Billing rights: SA, A, B, S.
    pub fn billing(self) -> bool {
        self.admin() || matches!(self, Standing::Member(Role::BillingManager))
    }

    /// Person admins only (service accounts excluded): SA, A.
    pub fn person_admin(self) -> bool {
        matches!(
            self,
            Standing::SiteAdmin { .. } | Standing::Member(Role::Admin)
        )
    }

    pub fn is_site_admin(self) -> bool {
        matches!(self, Standing::SiteAdmin { .. })
    }

    /// NOT_FOUND when invisible, FORBIDDEN when visible but `allowed` fails.
    pub fn require(self, allowed: bool) -> AppResult<()> {
        if !self.visible() {
            Err(AppError::NotFound)
        } else if !allowed {
            Err(AppError::Forbidden("your role does not allow this"))
        } else {
            Ok(())
        }
    }
}

fn from_parts(principal: &Principal, org_id: Uuid, role: Option<Role>) -> Standing {
    match principal {
        Principal::Anonymous => Standing::None,
        // A sign-in link's session is a stranger everywhere but in the
        // organization it was minted for (and never a site admin).
        Principal::Person { scope: Some(s), .. } if s.organization_id != org_id => Standing::None,
        Principal::Person {
            site_admin: true, ..
        } => Standing::SiteAdmin { role },
        Principal::Person { .. } => role.map(Standing::Member).unwrap_or(Standing::None),
        Principal::Service {
            organization_id, ..
        } if *organization_id == org_id => Standing::Service,
        Principal::Service { .. } => Standing::None,
    }
}

/// The caller's role in every organization it belongs to, in one
/// statement, once per request: each organization's `standing` is then
/// known, however many organizations a query reaches.
async fn all_roles(c: &Caller, me: Uuid) -> AppResult<()> {
    let rows = membership::Entity::find()
        .filter(membership::Column::AccountId.eq(me))
        .all(&c.services.db.conn)
        .await?;
    for m in rows {
        if c.loaders.viewer_role(m.organization_id).is_none() {
            c.loaders.set_viewer_role(m.organization_id, Some(m.role));
        }
    }
    Ok(())
}

/// Standing for reads: the caller's role comes from a read that already
/// had it (an organization read with the caller's role), else from all of
/// the caller's roles, read once per request.
pub async fn standing(c: &Caller, org_id: Uuid) -> AppResult<Standing> {
    let role = match c.principal.account_id() {
        Some(acc) => match c.loaders.viewer_role(org_id) {
            Some(known) => known,
            None => {
                c.loaders
                    .request()
                    .once("viewer roles", |_| all_roles(c, acc))
                    .await?;
                c.loaders.viewer_role(org_id).flatten()
            }
        },
        None => None,
    };
    Ok(from_parts(&c.principal, org_id, role))
}

/// Standing read inside a write transaction (after the organization row is
/// locked), so a concurrent demotion is seen.
pub async fn standing_in<C: ConnectionTrait>(
    tx: &C,
    principal: &Principal,
    org_id: Uuid,
) -> AppResult<Standing> {
    let role = match principal.account_id() {
        Some(acc) => membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(org_id))
            .filter(membership::Column::AccountId.eq(acc))
            .one(tx)
            .await?
            .map(|m| m.role),
        None => None,
    };
    Ok(from_parts(principal, org_id, role))
}

/// A service account has ADMIN rights in its organization but is not a
/// person: it may not make anyone ADMIN (create, invite or promote), or it
/// could mint a person ADMIN and through them reach what only person
/// admins may do — service accounts, sign-in links (red-team finding).
pub fn may_grant(principal: &Principal, role: Role) -> AppResult<()> {
    if role == Role::Admin && matches!(principal, Principal::Service { .. }) {
        return Err(AppError::Forbidden(
            "a service account cannot grant the ADMIN role",
        ));
    }
    Ok(())
}
