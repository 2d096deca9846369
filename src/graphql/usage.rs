//! `Organization.resourceUsage` and `Organization.usage` objects.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};

use super::enums::UsageMetric;
use crate::domain::usage as domain;
use crate::usage::series::Series;

/// Counts of what the organization uses right now.
#[derive(SimpleObject)]
pub struct ResourceUsage {
    pub members: i32,
    pub admins: i32,
    pub billing_managers: i32,
    pub seats_used: i32,
    pub seat_limit: i32,
    pub pending_invitations: i32,
    pub service_accounts: i32,
    pub active_access_tokens: i32,
}

fn int(n: i64) -> i32 {
    n.clamp(0, i32::MAX as i64) as i32
}

impl From<domain::ResourceUsage> for ResourceUsage {
    fn from(r: domain::ResourceUsage) -> Self {
        ResourceUsage {
            members: int(r.members),
            admins: int(r.admins),
            billing_managers: int(r.billing_managers),
            seats_used: int(r.seats_used),
            seat_limit: int(r.seat_limit),
            pending_invitations: int(r.pending_invitations),
            service_accounts: int(r.service_accounts),
            active_access_tokens: int(r.active_access_tokens),
        }
    }
}

#[derive(SimpleObject)]
pub struct UsageBucket {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub value: f64,
}

#[derive(SimpleObject)]
pub struct UsageSeries {
    pub metric: UsageMetric,
    pub buckets: Vec<UsageBucket>,
}

impl From<Series> for UsageSeries {
    fn from(s: Series) -> Self {
        UsageSeries {
            metric: s.metric.into(),
            buckets: s
                .buckets
                .into_iter()
                .map(|b| UsageBucket {
                    start: b.start,
                    end: b.end,
                    value: b.value,
                })
                .collect(),
        }
    }
}
