//! A background loop, the one shape every periodic task of this process
//! has: run `work` every `every` until `stop` fires, then once more (so a
//! clean shutdown finishes what is pending). Failures are logged and the
//! next tick tries again. (Issue 13's job runner will make such work run
//! once across a fleet.)

use std::{future::Future, time::Duration};

pub async fn run_every<F, Fut, E>(what: &'static str, every: Duration, mut stop: tokio::sync::oneshot::Receiver<()>, mut work: F)
where
    F: FnMut(bool) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => break,
        }
        if let Err(e) = work(false).await {
            tracing::warn!(error = %e, "{what} failed; will retry");
        }
    }
    // `true`: the last run, at shutdown.
    if let Err(e) = work(true).await {
        tracing::error!(error = %e, "{what} failed at shutdown");
    }
}
