//! A small todo service: axum 0.8, an in-memory store snapshotted to disk.

mod config;
mod routes;
mod store;

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();

    let config = Config::load()?; // expect-not: blocking-in-async (startup helper)
    let store = Store::open(&config.data_dir).await?;
    let listen = config.listen;
    let state = AppState { config: Arc::new(config), store: store.clone() };

    // Snapshot every minute, on the blocking pool.
    let snapshots = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let s = snapshots.clone();
            match tokio::task::spawn_blocking(move || store::save_snapshot(&s)).await { // expect-not: blocking-in-async (inside spawn_blocking)
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "snapshot failed"),
                Err(e) => tracing::error!(error = %e, "snapshot task panicked"),
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, "listening");
    axum::serve(listener, routes::router(state)) // expect: missing-panic-handler
        .with_graceful_shutdown(shutdown_signal())
        .await?;

    // Drained: write a last snapshot before exiting.
    tokio::task::spawn_blocking(move || store::save_snapshot(&store)).await??; // expect-not: blocking-in-async (inside spawn_blocking)
    Ok(())
}

async fn shutdown_signal() {
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {} // expect-not: blocking-in-async (tokio signal, awaited by select!)
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
}
