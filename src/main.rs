use std::io::{BufRead, Write};
use std::sync::Arc;

use clap::Parser;
use migration::{Migrator, MigratorTrait};
use orgraph::clock::SystemClock;
use orgraph::config::{Cli, Command};
use orgraph::{app, domain, graphql, logging, AppState};

/// mimalloc instead of glibc malloc for Rust allocations: a GraphQL answer
/// is thousands of small short-lived allocations (values, maps, strings),
/// and glibc's malloc/free was a third of a members page's instructions
/// (callgrind; issue 8). SQLite keeps using the C allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn read_password() -> anyhow::Result<String> {
    eprint!("password for the new admin: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// glibc raises its mmap threshold after the first large free, after which
/// every argon2 block (19 MiB per hash, on blocking-pool threads with their
/// own arenas) comes from an arena that keeps the pages: 32 sign-ins left a
/// server at 546 MiB resident. A fixed threshold keeps large blocks on
/// mmap, returned to the OS on free (RSS back to ~21 MiB; issue 8, peak RSS).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> anyhow::Result<()> {
    tune_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::PrintSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            logging::init(config.log_format);
            std::fs::create_dir_all(&config.data_dir)?;
            let metrics = std::sync::Arc::new(orgraph::metrics::Metrics::new());
            let db = orgraph::db::connect(
                &config.database_url(),
                2,
                std::time::Duration::from_secs(30),
                metrics,
            )
            .await?;
            Migrator::up(&db.conn, None).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::CreateAdmin { email, password } => {
            logging::init(config.log_format);
            let password = match password {
                Some(p) => Some(p),
                None => Some(read_password()?),
            };
            let services = app::services(config, Arc::new(SystemClock)).await?;
            let acc = domain::accounts::create_admin(&services, &email, password.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
            println!("site admin {} ({})", acc.email.unwrap_or_default(), acc.id);
            Ok(())
        }
        Command::Serve => {
            logging::init(config.log_format);
            let state = AppState::build_default(config).await?;
            app::serve(state).await
        }
    }
}
