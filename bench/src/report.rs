//! Printing the figures, checking issue 8's targets, writing the JSON.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::driver::Stats;
use crate::scenarios::Scenario;

#[derive(Serialize)]
pub struct Meta {
    pub date: String,
    pub database: String,
    pub scale: String,
    pub concurrency: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    /// Windows per scenario (`--rounds`); `duration_s` is one window.
    pub rounds: u32,
    pub cores: usize,
    pub mixed_leaves_out: Vec<String>,
}

pub fn header() {
    println!(
        "{:<13} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>8}",
        "scenario", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "sql/op", "RSS MiB"
    );
}

pub fn row(s: &Stats) {
    if !s.supported() {
        println!("{:<13} {}", s.scenario, s.status);
        return;
    }
    let opt = |v: Option<f64>, prec: usize| v.map_or("-".to_string(), |v| format!("{v:.prec$}"));
    println!(
        "{:<13} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>7} {:>8}",
        s.scenario,
        s.rps,
        s.p50_ms,
        s.p90_ms,
        s.p99_ms,
        s.max_ms,
        s.errors,
        opt(s.sql_per_op, 2),
        opt(s.peak_rss_mib, 1),
    );
    for e in &s.error_samples {
        println!("    error: {e}");
    }
}

fn find(results: &[Stats], sc: Scenario) -> Option<&Stats> {
    results
        .iter()
        .find(|s| s.scenario == sc.name() && s.supported())
}

/// Print the targets; true when the smoke criteria hold (no errors, the
/// statement counts within target). Timing targets are reported only.
pub fn summary(results: &[Stats], check: bool) -> bool {
    let mut ok = true;
    println!();
    for s in results {
        if !s.supported() {
            println!("SKIP  {}: {}", s.scenario, s.status);
            continue;
        }
        if s.errors > 0 {
            ok = false;
            println!("FAIL  {}: {} errors", s.scenario, s.errors);
        }
        let sc = Scenario::ALL.into_iter().find(|x| x.name() == s.scenario);
        if let (Some(target), Some(per_op)) = (sc.and_then(Scenario::sql_target), s.sql_per_op) {
            // Background flushes (lastUsedAt, usage) add a little noise.
            let pass = per_op <= target + 0.05;
            ok &= pass;
            println!(
                "{}  {}: {per_op:.2} SQL statements per operation (target <= {target})",
                if pass { "ok  " } else { "FAIL" },
                s.scenario
            );
        }
        if sc.is_some_and(Scenario::is_read) && s.p50_ms > 0.0 {
            let r = s.p99_ms / s.p50_ms;
            println!(
                "{}  {}: p99/p50 = {r:.1} (target <= 4; timing, not checked)",
                if r <= 4.0 { "ok  " } else { "note" },
                s.scenario
            );
        }
        if let Some(rss) = s.peak_rss_mib {
            if rss > 128.0 {
                println!(
                    "note  {}: peak RSS {rss:.1} MiB (target <= 128)",
                    s.scenario
                );
            }
        }
    }
    if let (Some(m), Some(b)) = (
        find(results, Scenario::MembersPage),
        find(results, Scenario::Baseline),
    ) {
        if b.rps > 0.0 {
            let ratio = m.rps / b.rps;
            println!(
                "{}  members-page / baseline throughput = {ratio:.2} (target >= 0.5; timing, not checked)",
                if ratio >= 0.5 { "ok  " } else { "note" }
            );
        }
    }
    if check {
        println!("smoke check: {}", if ok { "passed" } else { "FAILED" });
    }
    ok || !check
}

pub fn write_json(dir: &Path, meta: &Meta, results: &[Stats]) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H%M%S");
    let path = dir.join(format!("{stamp}-{}-{}.json", meta.database, meta.scale));
    let ratio = match (
        find(results, Scenario::MembersPage),
        find(results, Scenario::Baseline),
    ) {
        (Some(m), Some(b)) if b.rps > 0.0 => Some(m.rps / b.rps),
        _ => None,
    };
    let doc = serde_json::json!({
        "meta": meta,
        "members_page_to_baseline": ratio,
        "results": results,
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&doc)?)?;
    Ok(path)
}
