//! Drives one scenario: N workers, each one request at a time over its own
//! keep-alive connection, for a warm-up and then a measured window. Only
//! operations that complete inside the window count; SQL statements are the
//! server's counter read at both ends of the window.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::rngs::StdRng as SmallRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::scenarios::{Ctx, Outcome, Scenario, Worker};
use crate::server::{sql_count, RssProbe};

#[derive(Serialize, Clone)]
pub struct Stats {
    pub scenario: String,
    /// "ok", or "unsupported by this server build: …".
    pub status: String,
    pub concurrency: usize,
    pub seconds: f64,
    pub ops: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Server-side statements per operation (baseline: 1 by construction).
    pub sql_per_op: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    /// Up to five distinct error messages.
    pub error_samples: Vec<String>,
}

impl Stats {
    pub fn supported(&self) -> bool {
        self.status == "ok"
    }

    fn unsupported(sc: Scenario, why: String, concurrency: usize) -> Self {
        Stats {
            scenario: sc.name().into(),
            status: format!("unsupported by this server build: {why}"),
            concurrency,
            seconds: 0.0,
            ops: 0,
            errors: 0,
            rps: 0.0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            sql_per_op: None,
            peak_rss_mib: None,
            error_samples: Vec::new(),
        }
    }
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// One request before the load: does this server have the operation?
pub async fn probe(ctx: &Ctx, sc: Scenario) -> Result<(), String> {
    let mut w = Worker {
        index: 0,
        seated: false,
        rng: SmallRng::seed_from_u64(7),
    };
    match ctx.op(sc, &mut w).await {
        Outcome::Unsupported(why) => Err(why),
        // Leave the churn pair as it was.
        Outcome::Ok if sc == Scenario::SeatChurn => {
            let _ = ctx.op(sc, &mut w).await;
            Ok(())
        }
        _ => Ok(()),
    }
}

pub struct Plan {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one measured window of a scenario saw; windows of the same
/// scenario (rounds) add up before they become `Stats`.
pub struct Raw {
    sc: Scenario,
    unsupported: Option<String>,
    lat: Vec<u32>,
    seconds: f64,
    errors: u64,
    samples: Vec<String>,
    /// Statements the server counted in the window(s), when readable.
    sql: Option<u64>,
    peak_rss_mib: Option<f64>,
}

impl Raw {
    /// Add another window of the same scenario.
    pub fn merge(&mut self, o: Raw) {
        if self.unsupported.is_none() {
            self.unsupported = o.unsupported;
        }
        self.lat.extend(o.lat);
        self.seconds += o.seconds;
        self.errors += o.errors;
        for m in o.samples {
            if self.samples.len() < 5 && !self.samples.contains(&m) {
                self.samples.push(m);
            }
        }
        self.sql = match (self.sql, o.sql) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        self.peak_rss_mib = match (self.peak_rss_mib, o.peak_rss_mib) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    pub fn stats(mut self, concurrency: usize) -> Stats {
        if let Some(why) = self.unsupported {
            return Stats::unsupported(self.sc, why, concurrency);
        }
        self.lat.sort_unstable();
        let lat = self.lat;
        let ops = lat.len() as u64;
        let sql_per_op = match (self.sc, self.sql) {
            (Scenario::Baseline, _) => Some(1.0),
            (_, Some(n)) if ops > 0 => Some(n as f64 / ops as f64),
            _ => None,
        };
        Stats {
            scenario: self.sc.name().into(),
            status: "ok".into(),
            concurrency,
            seconds: self.seconds,
            ops,
            errors: self.errors,
            rps: ops as f64 / self.seconds.max(f64::EPSILON),
            p50_ms: percentile(&lat, 0.50),
            p90_ms: percentile(&lat, 0.90),
            p99_ms: percentile(&lat, 0.99),
            max_ms: lat.last().map_or(0.0, |v| *v as f64 / 1000.0),
            sql_per_op,
            // The baseline runs inside this process, not the server.
            peak_rss_mib: if self.sc == Scenario::Baseline {
                None
            } else {
                self.peak_rss_mib
            },
            error_samples: self.samples,
        }
    }
}

pub async fn run(ctx: Arc<Ctx>, sc: Scenario, plan: &Plan, pid: Option<u32>) -> Raw {
    if sc != Scenario::Mixed {
        if let Err(why) = probe(&ctx, sc).await {
            return Raw {
                sc,
                unsupported: Some(why),
                lat: Vec::new(),
                seconds: 0.0,
                errors: 0,
                samples: Vec::new(),
                sql: None,
                peak_rss_mib: None,
            };
        }
    }
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let samples: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for index in 0..plan.concurrency {
        let (ctx, measuring, stop) = (ctx.clone(), measuring.clone(), stop.clone());
        let (errors, samples) = (errors.clone(), samples.clone());
        tasks.push(tokio::spawn(async move {
            let mut w = Worker {
                index,
                seated: false,
                rng: SmallRng::seed_from_u64(index as u64 + 1),
            };
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 14);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let out = ctx.op(sc, &mut w).await;
                let us = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
                if !measuring.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                    continue;
                }
                lat.push(us);
                if let Outcome::Error(msg) | Outcome::Unsupported(msg) = out {
                    errors.fetch_add(1, Ordering::Relaxed);
                    let mut s = samples.lock();
                    if s.len() < 5 && !s.contains(&msg) {
                        s.push(msg);
                    }
                }
            }
            lat
        }));
    }
    tokio::time::sleep(plan.warmup).await;
    let sql0 = sql_count(&ctx.http, &ctx.base).await.ok();
    let probe = pid.map(RssProbe::start);
    measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(plan.duration).await;
    stop.store(true, Ordering::Relaxed);
    let seconds = t0.elapsed().as_secs_f64();
    let sql1 = sql_count(&ctx.http, &ctx.base).await.ok();
    let peak_rss_mib = match probe {
        Some(p) => Some(p.finish().await),
        None => None,
    };
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap_or_default());
    }
    let samples = samples.lock().clone();
    Raw {
        sc,
        unsupported: None,
        lat,
        seconds,
        errors: errors.load(Ordering::Relaxed),
        samples,
        sql: match (sql0, sql1) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        },
        peak_rss_mib,
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_of_a_sorted_sample_in_milliseconds() {
        let lat: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&lat, 0.50), 51.0);
        assert_eq!(percentile(&lat, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
