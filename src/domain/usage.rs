//! Reads of what an organization uses: counts right now (`resourceUsage`)
//! and metrics over time (`usage`). SA, A, B and S may read them; a MEMBER
//! is FORBIDDEN (rules.md).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use sea_orm::sea_query::{IntoColumnRef, IntoIden, SubQueryStatement};
use sea_orm::{FromQueryResult, StatementBuilder};
use uuid::Uuid;

use super::authz::standing;
use super::{Caller, Role};
use crate::entity::enums::StoredInvitationStatus;
use crate::entity::{access_token, invitation, membership, organization, seat, service_account};
use crate::error::{AppError, AppResult};
use crate::usage::series::{self, Series, UsageInterval, ALL_METRICS};
use crate::usage::UsageMetric;

#[derive(FromQueryResult, Clone, Debug)]
pub struct ResourceUsage {
    pub members: i64,
    pub admins: i64,
    pub billing_managers: i64,
    pub seats_used: i64,
    pub seat_limit: i64,
    pub pending_invitations: i64,
    pub service_accounts: i64,
    pub active_access_tokens: i64,
}

fn scalar(sub: SelectStatement) -> SimpleExpr {
    Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(sub)))
}

/// `(SELECT COUNT(*) FROM table WHERE organization_id = org AND extra…)`
fn count_in<T: IntoIden + Copy, C: IntoColumnRef>(
    table: T,
    org_col: C,
    org: SimpleExpr,
    extra: Vec<SimpleExpr>,
) -> SimpleExpr {
    let mut q = Query::select();
    q.expr(Expr::cust("COUNT(*)"))
        .from(table)
        .and_where(Expr::col(org_col).eq(org));
    for e in extra {
        q.and_where(e);
    }
    scalar(q.to_owned())
}

/// Every count in one statement of scalar subqueries: one round trip, one
/// consistent snapshot.
pub async fn resource_usage(c: &Caller, org_id: Uuid) -> AppResult<ResourceUsage> {
    let st = standing(c, org_id).await?;
    st.require(st.billing())?;
    let now = c.now();
    if let Some(group) = c.loaders.group_of(org_id) {
        let all = group
            .once("resource usage", |orgs| resource_usage_of(c, orgs, now))
            .await?;
        return all.get(&org_id).cloned().ok_or(AppError::NotFound);
    }
    let mut q = counts(Expr::val(org_id), now);
    q.expr_as(
        scalar(
            Query::select()
                // Widened so both databases hand back a 64-bit integer.
                .expr(Expr::col(organization::Column::SeatLimit).cast_as(Alias::new("BIGINT")))
                .from(organization::Entity)
                .and_where(Expr::col(organization::Column::Id).eq(org_id))
                .to_owned(),
        ),
        Alias::new("seat_limit"),
    );
    let stmt = StatementBuilder::build(&q, &c.services.db.backend());
    ResourceUsage::find_by_statement(stmt)
        .one(&c.services.db.conn)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(FromQueryResult)]
struct UsageOf {
    __parent: Uuid,
    #[sea_orm(nested)]
    usage: ResourceUsage,
}

/// `resourceUsage` of the organizations of a list the caller may read it
/// in, in one statement: the same counts, correlated with each row.
async fn resource_usage_of(
    c: &Caller,
    orgs: Vec<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, ResourceUsage>> {
    let orgs = super::batch::permitted(c, orgs, |st| st.billing()).await?;
    if orgs.is_empty() {
        return Ok(HashMap::new());
    }
    let id = Expr::col((organization::Entity, organization::Column::Id));
    let mut q = counts(id.clone(), now);
    q.from(organization::Entity)
        .and_where(id.clone().is_in(orgs))
        .expr_as(id, Alias::new("__parent"))
        .expr_as(
            Expr::col((organization::Entity, organization::Column::SeatLimit))
                .cast_as(Alias::new("BIGINT")),
            Alias::new("seat_limit"),
        );
    let stmt = StatementBuilder::build(&q, &c.services.db.backend());
    Ok(UsageOf::find_by_statement(stmt)
        .all(&c.services.db.conn)
        .await?
        .into_iter()
        .map(|r| (r.__parent, r.usage))
        .collect())
}

/// The counts of `resourceUsage` but the seat limit, for the
/// organization `org` names (an id, or the column of an outer row).
fn counts(org_id: SimpleExpr, now: DateTime<Utc>) -> SelectStatement {
    let role = |r: Role| vec![Expr::col(membership::Column::Role).eq(r)];
    let mut q = Query::select();
    q.expr_as(
        count_in(
            membership::Entity,
            membership::Column::OrganizationId,
            org_id.clone(),
            vec![],
        ),
        Alias::new("members"),
    )
    .expr_as(
        count_in(
            membership::Entity,
            membership::Column::OrganizationId,
            org_id.clone(),
            role(Role::Admin),
        ),
        Alias::new("admins"),
    )
    .expr_as(
        count_in(
            membership::Entity,
            membership::Column::OrganizationId,
            org_id.clone(),
            role(Role::BillingManager),
        ),
        Alias::new("billing_managers"),
    )
    .expr_as(
        count_in(
            seat::Entity,
            seat::Column::OrganizationId,
            org_id.clone(),
            vec![],
        ),
        Alias::new("seats_used"),
    )
    .expr_as(
        count_in(
            invitation::Entity,
            invitation::Column::OrganizationId,
            org_id.clone(),
            vec![
                Expr::col(invitation::Column::Status).eq(StoredInvitationStatus::Pending),
                Expr::col(invitation::Column::ExpiresAt).gt(now),
            ],
        ),
        Alias::new("pending_invitations"),
    )
    .expr_as(
        count_in(
            service_account::Entity,
            service_account::Column::OrganizationId,
            org_id.clone(),
            vec![],
        ),
        Alias::new("service_accounts"),
    )
    .expr_as(
        count_in(
            access_token::Entity,
            access_token::Column::OrganizationId,
            org_id.clone(),
            vec![
                Expr::col(access_token::Column::RevokedAt).is_null(),
                Expr::col(access_token::Column::ExpiresAt).gt(now),
            ],
        ),
        Alias::new("active_access_tokens"),
    );
    q
}

pub struct UsageQuery {
    pub metrics: Option<Vec<UsageMetric>>,
    pub interval: UsageInterval,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

/// `Organization.usage`: the org row is already loaded by the resolver.
/// Organizations of a list are read together: one statement for all.
pub async fn usage(c: &Caller, org: &organization::Model, q: UsageQuery) -> AppResult<Vec<Series>> {
    let st = standing(c, org.id).await?;
    st.require(st.billing())?;
    let range_of = |o: &organization::Model| -> AppResult<(NaiveDate, NaiveDate)> {
        let (p_start, p_end) = series::plan_period(o.plan_starts_on, c.now().date_naive());
        let start = q.start.unwrap_or_else(|| series::midnight(p_start));
        let end = q.end.unwrap_or_else(|| series::midnight(p_end));
        series::day_range(start, end, q.interval)
    };
    let range = range_of(org)?;
    let mut metrics: Vec<UsageMetric> = Vec::new();
    for m in q.metrics.clone().unwrap_or_else(|| ALL_METRICS.to_vec()) {
        if !metrics.contains(&m) {
            metrics.push(m);
        }
    }
    if metrics.is_empty() {
        return Ok(vec![]);
    }
    let days = match c.loaders.group_of(org.id) {
        Some(group) => {
            let key = ("usage", metrics.clone(), q.interval, q.start, q.end);
            let all = group
                .once(key, |ids| async {
                    let mut wanted = Vec::new();
                    for id in super::batch::permitted(c, ids, |st| st.billing()).await? {
                        if let Some(o) = c.loaders.organization(id).await? {
                            // An organization whose range is refused answers
                            // its own error when it asks alone (below).
                            if let Ok(r) = range_of(&o) {
                                wanted.push((id, r));
                            }
                        }
                    }
                    series::daily_values_many(
                        &c.services.db.conn,
                        &c.services.usage,
                        &wanted,
                        &metrics,
                    )
                    .await
                })
                .await?;
            all.get(&org.id).cloned().unwrap_or_default()
        }
        None => {
            series::daily_values(
                &c.services.db.conn,
                &c.services.usage,
                org.id,
                &metrics,
                range,
            )
            .await?
        }
    };
    let bounds = series::bucket_bounds(range.0, range.1, q.interval);
    Ok(series::fill(&metrics, &bounds, &days))
}
