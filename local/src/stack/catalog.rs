//! The catalog-sync function's handler on the local stack: run once at start, then on the period
//! of `catalog.schedule` (a `rate(…)` expression) — the local Bedrock endpoint's listing written to
//! the local S3's catalog bucket, where the API's catalog cache reads it.
//!
//! A `cron(…)` schedule has no fixed period: locally the sync then runs at start only (restart
//! the stack to sync again), and the start-up log says so.

use std::time::Duration;

use quarry::config::CatalogSyncSettings;
use quarry_catalog_sync::{Outcome, SyncReport, sync_without_metrics};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// What a catalog sync needs: the clients and the settings.
#[derive(Debug, Clone)]
pub struct CatalogSync {
    pub bedrock: aws_sdk_bedrock::Client,
    pub s3: aws_sdk_s3::Client,
    pub settings: CatalogSyncSettings,
}

impl CatalogSync {
    /// Runs one sync; its outcome is logged (a failure keeps the stored catalog).
    pub async fn run_once(&self) -> SyncReport {
        let report = sync_without_metrics(&self.bedrock, &self.s3, &self.settings).await;
        if report.outcome != Outcome::Failed {
            tracing::info!(
                bucket = %self.settings.catalog.bucket,
                key = %self.settings.catalog.key,
                outcome = ?report.outcome,
                "model catalog in the local S3"
            );
        }
        report
    }
}

/// The sync on its timer.
#[derive(Debug)]
pub struct CatalogTimer {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl CatalogTimer {
    /// Runs `sync` every `period` from now on (the first run is the caller's, at start).
    pub fn spawn(sync: CatalogSync, period: Duration) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {
                        // Not raced against the stop signal: a sync in progress finishes.
                        sync.run_once().await;
                    }
                    _ = stopped.changed() => break,
                }
            }
        });
        CatalogTimer { stop, task }
    }

    /// Stops the timer after the sync in progress, if any, waiting for it up to `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            tracing::warn!("the catalog sync did not finish in time; stopping it");
            self.task.abort();
        }
    }
}
