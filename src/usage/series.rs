//! Usage over time: the range a query covers, its buckets, and the values
//! read from the daily rows plus what is still in memory.
//!
//! Counters are kept per UTC day, so a range is widened to whole days
//! (start rounded down, end rounded up). DAY buckets are single days; MONTH
//! buckets are calendar months clipped to the range, so the buckets tile
//! `[start, end)` exactly and a plan period that starts mid-month is not
//! padded with days outside it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{Usage, UsageMetric};
use crate::entity::usage_counter;
use crate::error::{AppError, AppResult};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum UsageInterval {
    Day,
    Month,
}

pub const ALL_METRICS: [UsageMetric; 6] = [
    UsageMetric::ApiRequests,
    UsageMetric::TokenVerifications,
    UsageMetric::TokensIssued,
    UsageMetric::InvitationsSent,
    UsageMetric::MembersJoined,
    UsageMetric::PeakSeats,
];

pub const MAX_DAY_BUCKETS: i64 = 366;
pub const MAX_YEARS: u32 = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub value: f64,
}

#[derive(Clone, Debug)]
pub struct Series {
    pub metric: UsageMetric,
    pub buckets: Vec<Bucket>,
}

pub fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

/// The monthly plan period containing `today`, counted from `starts_on`
/// (each period starts on `starts_on + k months`; a day-31 start clamps to
/// shorter months without drifting). A plan that has not started yet: its
/// first period.
pub fn plan_period(starts_on: NaiveDate, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let nth = |k: i64| starts_on + Months::new(k as u32);
    let mut k = (today.year() as i64 - starts_on.year() as i64) * 12 + today.month() as i64
        - starts_on.month() as i64;
    if k < 0 {
        k = 0;
    }
    while k > 0 && nth(k) > today {
        k -= 1;
    }
    (nth(k), nth(k + 1))
}

/// Validate the requested range and widen it to whole days: `[from, to)`.
pub fn day_range(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    interval: UsageInterval,
) -> AppResult<(NaiveDate, NaiveDate)> {
    if start >= end {
        return Err(AppError::bad_input(&["end"], "end must be after start"));
    }
    match start.checked_add_months(Months::new(12 * MAX_YEARS)) {
        Some(limit) if end <= limit => {}
        _ => {
            return Err(AppError::bad_input(
                &["end"],
                format!("a usage range covers at most {MAX_YEARS} years"),
            ))
        }
    }
    let from = start.date_naive();
    let to = if midnight(end.date_naive()) == end {
        end.date_naive()
    } else {
        end.date_naive() + chrono::Duration::days(1)
    };
    if interval == UsageInterval::Day && (to - from).num_days() > MAX_DAY_BUCKETS {
        return Err(AppError::bad_input(
            &["end"],
            format!("at most {MAX_DAY_BUCKETS} days with interval DAY"),
        ));
    }
    Ok((from, to))
}

/// Bucket bounds tiling `[from, to)`.
pub fn bucket_bounds(
    from: NaiveDate,
    to: NaiveDate,
    interval: UsageInterval,
) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut cur = from;
    while cur < to {
        let next = match interval {
            UsageInterval::Day => cur + chrono::Duration::days(1),
            UsageInterval::Month => (cur.with_day(1).expect("day 1 exists")) + Months::new(1),
        };
        let end = next.min(to);
        out.push((cur, end));
        cur = end;
    }
    out
}

/// One series per metric: sums per bucket, or the largest day for PEAK_SEATS.
pub fn fill(
    metrics: &[UsageMetric],
    bounds: &[(NaiveDate, NaiveDate)],
    days: &HashMap<UsageMetric, BTreeMap<NaiveDate, i64>>,
) -> Vec<Series> {
    let empty = BTreeMap::new();
    metrics
        .iter()
        .map(|&metric| {
            let per_day = days.get(&metric).unwrap_or(&empty);
            let buckets = bounds
                .iter()
                .map(|&(a, b)| {
                    let vals = per_day.range(a..b).map(|(_, v)| *v);
                    let value = if metric.is_peak() {
                        vals.max().unwrap_or(0)
                    } else {
                        vals.sum()
                    };
                    Bucket {
                        start: midnight(a),
                        end: midnight(b),
                        value: value as f64,
                    }
                })
                .collect();
            Series { metric, buckets }
        })
        .collect()
}

/// Stored daily values in `[from, to)` merged with the ones still in memory,
/// so callers see their own activity before the next flush. One statement.
pub async fn daily_values(
    conn: &DatabaseConnection,
    usage: &Usage,
    org: Uuid,
    metrics: &[UsageMetric],
    range: (NaiveDate, NaiveDate),
) -> AppResult<HashMap<UsageMetric, BTreeMap<NaiveDate, i64>>> {
    Ok(daily_values_many(conn, usage, &[(org, range)], metrics)
        .await?
        .remove(&org)
        .unwrap_or_default())
}

/// `daily_values` of several organizations, each over its own days, in
/// one statement (the organizations of a list, issue 16).
pub async fn daily_values_many(
    conn: &DatabaseConnection,
    usage: &Usage,
    orgs: &[(Uuid, (NaiveDate, NaiveDate))],
    metrics: &[UsageMetric],
) -> AppResult<HashMap<Uuid, HashMap<UsageMetric, BTreeMap<NaiveDate, i64>>>> {
    let mut out: HashMap<Uuid, HashMap<UsageMetric, BTreeMap<NaiveDate, i64>>> = HashMap::new();
    let (Some(from), Some(to)) = (
        orgs.iter().map(|(_, r)| r.0).min(),
        orgs.iter().map(|(_, r)| r.1).max(),
    ) else {
        return Ok(out);
    };
    let ranges: HashMap<Uuid, (NaiveDate, NaiveDate)> = orgs.iter().copied().collect();
    // Read the table and memory under the gate: no flush moves entries in between.
    let _gate = usage.gate.read().await;
    let mut sel = usage_counter::Entity::find();
    sel = if orgs.len() == 1 {
        sel.filter(usage_counter::Column::OrganizationId.eq(orgs[0].0))
    } else {
        sel.filter(usage_counter::Column::OrganizationId.is_in(ranges.keys().copied()))
    };
    let rows = sel
        .filter(usage_counter::Column::Day.gte(from))
        .filter(usage_counter::Column::Day.lt(to))
        .filter(usage_counter::Column::Metric.is_in(metrics.iter().copied()))
        .all(conn)
        .await?;
    let mut entries: Vec<(Uuid, NaiveDate, UsageMetric, i64)> = rows
        .into_iter()
        .map(|r| (r.organization_id, r.day, r.metric, r.value))
        .collect();
    for (org, (f, t)) in orgs {
        entries.extend(
            usage
                .pending_for(*org, *f, *t)
                .into_iter()
                .map(|(d, m, v)| (*org, d, m, v)),
        );
    }
    drop(_gate);
    for (org, day, metric, v) in entries {
        let Some((f, t)) = ranges.get(&org) else {
            continue;
        };
        if !metrics.contains(&metric) || day < *f || day >= *t {
            continue;
        }
        let e = out
            .entry(org)
            .or_default()
            .entry(metric)
            .or_default()
            .entry(day)
            .or_insert(0);
        *e = if metric.is_peak() {
            (*e).max(v)
        } else {
            *e + v
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn plan_periods_count_months_from_the_start_without_drift() {
        assert_eq!(
            plan_period(d("2026-01-31"), d("2026-03-30")),
            (d("2026-02-28"), d("2026-03-31"))
        );
        assert_eq!(
            plan_period(d("2026-01-31"), d("2026-03-31")),
            (d("2026-03-31"), d("2026-04-30"))
        );
        assert_eq!(
            plan_period(d("2026-01-15"), d("2026-01-15")),
            (d("2026-01-15"), d("2026-02-15"))
        );
        assert_eq!(
            plan_period(d("2026-05-01"), d("2026-01-01")),
            (d("2026-05-01"), d("2026-06-01"))
        );
    }

    #[test]
    fn month_buckets_are_clipped_calendar_months() {
        let b = bucket_bounds(d("2028-01-15"), d("2028-03-02"), UsageInterval::Month);
        assert_eq!(
            b,
            vec![
                (d("2028-01-15"), d("2028-02-01")),
                (d("2028-02-01"), d("2028-03-01")),
                (d("2028-03-01"), d("2028-03-02")),
            ]
        );
        assert_eq!(
            bucket_bounds(d("2028-02-28"), d("2028-03-01"), UsageInterval::Day).len(),
            2
        );
    }
}
