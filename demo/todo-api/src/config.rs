use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub template: PathBuf,
    #[serde(default = "default_cost")]
    pub bcrypt_cost: u32,
}

fn default_cost() -> u32 {
    bcrypt::DEFAULT_COST
}

impl Config {
    /// Reads `todo.toml`, or the file named by `TODO_CONFIG`. Called once, from `main`.
    pub fn load() -> anyhow::Result<Config> {
        let path = std::env::var("TODO_CONFIG").unwrap_or_else(|_| "todo.toml".to_owned());
        let raw = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?; // expect-not: blocking-in-async (startup)
        let config: Config = toml::from_str(&raw).with_context(|| format!("parsing {path}"))?;
        std::fs::create_dir_all(&config.data_dir)?; // expect-not: blocking-in-async (startup)
        Ok(config)
    }
}
