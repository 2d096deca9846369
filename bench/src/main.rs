//! orgraph-bench: seeds a realistic database and measures the server over
//! HTTP (issue 8). `seed --scale small|large`, then `run`; see README.md
//! "Performance".

mod baseline;
mod driver;
mod fixtures;
mod report;
mod scenarios;
mod seed;
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::scenarios::Scenario;

#[derive(Parser)]
#[command(name = "orgraph-bench", about = "Seed and benchmark an orgraph server")]
struct Cli {
    /// Holds the SQLite file, the fixtures file and (when spawned) the
    /// server's signing key and log.
    #[arg(long, global = true, default_value = "bench-data")]
    data_dir: PathBuf,
    /// sqlite://… or postgres://… (default: the SQLite file in the data dir;
    /// for `run`, the database the seed wrote).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create/migrate the database and fill it (wipes an earlier seed).
    Seed {
        #[arg(long, value_enum, default_value = "small")]
        scale: seed::Scale,
        /// Wipe the database even if it holds organizations the bench did not seed.
        #[arg(long)]
        force: bool,
    },
    /// Measure the scenarios against a server.
    Run(RunArgs),
    /// Serve the baseline alone (GET /orgs/{handle}/members) until
    /// interrupted: bench/callgrind.sh counts its instructions per request
    /// next to members-page's.
    Baseline {
        #[arg(long, default_value = "127.0.0.1:18932")]
        bind: std::net::SocketAddr,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Comma-separated; default all.
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Use this running server instead of spawning target/release/orgraph
    /// (no RSS figures then).
    #[arg(long)]
    server_url: Option<String>,
    /// How many organization admins sign in (their organizations are the
    /// ones read and churned).
    #[arg(long, default_value_t = 64)]
    admins: usize,
    /// Directory for the JSON results.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
    /// Run the selected scenarios this many times in turn (each window
    /// `--duration`) and report each scenario over all its windows: on a
    /// machine whose speed drifts, every scenario then sees the same
    /// conditions, which keeps ratios like members-page/baseline honest.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Smoke test: exit 1 on any error or missed statement-count target
    /// (never on timing).
    #[arg(long)]
    check: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => return Err(format!("bad duration unit in {s:?} (ms, s, m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// The server's allocator (see src/main.rs), so the in-process baseline
/// gets the same advantage and the ratio stays the cost of GraphQL alone.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Seed { scale, force } => {
            seed::seed(scale, cli.database_url, &cli.data_dir, force).await
        }
        Command::Baseline { bind } => {
            let fx = fixtures::Fixtures::load(&cli.data_dir)?;
            let url = cli.database_url.unwrap_or(fx.database_url);
            baseline::serve(&url, bind).await
        }
        Command::Run(args) => {
            let ok = run(cli.data_dir, cli.database_url, args).await?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn run(data_dir: PathBuf, url: Option<String>, a: RunArgs) -> anyhow::Result<bool> {
    let fx = fixtures::Fixtures::load(&data_dir)?;
    let url = url.unwrap_or_else(|| fx.database_url.clone());
    let mut srv = match &a.server_url {
        Some(u) => server::Server::external(u),
        None => {
            let bin = server::server_binary()?;
            server::Server::spawn(&bin, &std::fs::canonicalize(&data_dir)?, &url)?
        }
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency * 2)
        .timeout(Duration::from_secs(60))
        .build()?;
    srv.wait_ready(&http).await?;
    let admins = scenarios::sign_in_admins(&http, &srv.base, &fx, a.admins.max(1)).await?;
    let baseline_base = baseline::start(&url).await?;
    let selected: Vec<Scenario> = if a.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        Scenario::ALL
            .into_iter()
            .filter(|s| a.scenarios.contains(s))
            .collect()
    };
    let mut ctx = scenarios::Ctx {
        http: http.clone(),
        base: srv.base.clone(),
        baseline_base,
        fx,
        admins,
        mix: Vec::new(),
    };
    // Each service account's first check runs argon2; do those before any
    // measurement so `introspect` measures the hot path, not the cold start.
    if selected
        .iter()
        .any(|s| matches!(s, Scenario::Introspect | Scenario::Mixed))
    {
        for i in 0..ctx.admins.len() {
            ctx.prewarm_client(i).await;
        }
    }
    let mut unsupported_in_mix = Vec::new();
    for sc in [
        Scenario::MembersPage,
        Scenario::OrgOverview,
        Scenario::ViewerOrgs,
        Scenario::Introspect,
        Scenario::SeatChurn,
    ] {
        match driver::probe(&ctx, sc).await {
            Ok(()) => ctx.mix.push(sc),
            Err(_) => unsupported_in_mix.push(sc.name()),
        }
    }
    let ctx = Arc::new(ctx);
    let plan = driver::Plan {
        concurrency: a.concurrency,
        warmup: a.warmup,
        duration: a.duration,
    };
    let db = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "orgraph-bench: {} on {db}, concurrency {}, {}s after {}s warm-up, server {}",
        ctx.fx.scale,
        a.concurrency,
        a.duration.as_secs_f64(),
        a.warmup.as_secs_f64(),
        ctx.base
    );
    if !unsupported_in_mix.is_empty() && selected.contains(&Scenario::Mixed) {
        println!(
            "mixed leaves out (unsupported): {}",
            unsupported_in_mix.join(", ")
        );
    }
    if a.rounds > 1 {
        println!(
            "{} rounds: the scenarios in turn, each figure over all its windows",
            a.rounds
        );
    }
    let mut raws: Vec<Option<driver::Raw>> = selected.iter().map(|_| None).collect();
    for _ in 0..a.rounds {
        for (i, sc) in selected.iter().enumerate() {
            let raw = driver::run(ctx.clone(), *sc, &plan, srv.pid()).await;
            match &mut raws[i] {
                Some(r) => r.merge(raw),
                slot => *slot = Some(raw),
            }
        }
    }
    report::header();
    let mut results = Vec::new();
    for raw in raws.into_iter().flatten() {
        let st = raw.stats(a.concurrency);
        report::row(&st);
        results.push(st);
    }
    let meta = report::Meta {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        database: db.into(),
        scale: ctx.fx.scale.clone(),
        concurrency: a.concurrency,
        warmup_s: a.warmup.as_secs_f64(),
        duration_s: a.duration.as_secs_f64(),
        rounds: a.rounds,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        mixed_leaves_out: unsupported_in_mix.iter().map(|s| s.to_string()).collect(),
    };
    let verdict = report::summary(&results, a.check);
    let path = report::write_json(&a.out, &meta, &results)?;
    println!("results written to {}", path.display());
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_take_ms_s_and_m() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
    }
}
