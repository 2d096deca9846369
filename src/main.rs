use std::io::{BufRead, Write};

use clap::Parser;
use migration::{Migrator, MigratorTrait};
use orgraph::config::{Cli, Command};
use orgraph::{app, domain, graphql, logging, AppState};

fn read_password() -> anyhow::Result<String> {
    eprint!("password for the new admin: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
            let state = AppState::build_default(config).await?;
            let acc = domain::accounts::create_admin(&state, &email, password.as_deref())
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
