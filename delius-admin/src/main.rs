//! Deliberate database steps: `delius-admin migrate` applies the schema
//! migrations; `delius-admin seed reference|dev` loads seed data. Uses the
//! same configuration as the functions (`DATABASE_URL` or `DB_SECRET_ARN`).

use delius_db::migrate::{self, Seed};
use delius_db::{Database, DatabaseConfig};

const USAGE: &str = "usage: delius-admin migrate | seed reference | seed dev";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let seeds: &[Seed] = match args.as_slice() {
        ["migrate"] => &[],
        ["seed", "reference"] => &[Seed::Reference],
        ["seed", "dev"] => &[Seed::Reference, Seed::DevResettlement, Seed::DevAllocations],
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let db = Database::new(DatabaseConfig::from_env(1, "")?)?;
    let mut client = db.client().await?;
    if seeds.is_empty() {
        let applied = migrate::migrate(&mut client).await?;
        println!("migrations applied: {applied:?}");
    }
    for seed in seeds {
        let loaded = migrate::load_seed(&client, *seed).await?;
        println!("{seed:?}: {}", if loaded { "loaded" } else { "already present" });
    }
    Ok(())
}
