//! Threads for `!Send` work: the VoiceXML interpreter holds a QuickJS runtime, which must stay on one thread.
//!
//! Each worker thread runs a current-thread tokio runtime with a `LocalSet`; a call's interpreter is placed on the
//! next worker (round robin) and stays there. The caller gets a oneshot with the result; dropping it (the call
//! ended: BYE mid-fetch, mid-prompt) cancels the work at its next await point.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};

type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// A fixed set of worker threads that run `!Send` futures.
pub struct LocalPool {
    workers: Vec<mpsc::UnboundedSender<Job>>,
    next: AtomicUsize,
}

impl LocalPool {
    /// Starts `threads` workers (at least one).
    pub fn new(threads: usize) -> std::io::Result<LocalPool> {
        let mut workers = Vec::new();
        for i in 0..threads.max(1) {
            let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            std::thread::Builder::new()
                .name(format!("vxml-{i}"))
                .spawn(move || {
                    let local = tokio::task::LocalSet::new();
                    local.block_on(&rt, async move {
                        while let Some(job) = rx.recv().await {
                            tokio::task::spawn_local(job());
                        }
                    });
                })?;
            workers.push(tx);
        }
        Ok(LocalPool {
            workers,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs the future `make()` builds on a worker; the receiver gets its output. `None` from the receiver (a
    /// `RecvError`) means the pool is gone.
    pub fn spawn<F, Fut, T>(&self, make: F) -> oneshot::Receiver<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            Box::pin(async move {
                let mut tx = tx;
                tokio::select! {
                    v = make() => { let _ = tx.send(v); }
                    _ = tx.closed() => {}
                }
            })
        });
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        // `i` is reduced modulo the worker count, which `new` makes at least one.
        // A worker that is gone drops the job, and with it `tx`: the receiver then reports the pool gone.
        let _ = self.workers[i].send(job);
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[tokio::test]
    async fn runs_non_send_futures_and_cancels_on_drop() {
        let pool = LocalPool::new(2).expect("pool");
        let v = pool
            .spawn(|| async {
                let rc = Rc::new(41);
                tokio::task::yield_now().await;
                *rc + 1
            })
            .await
            .expect("result");
        assert_eq!(v, 42);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let rx = pool.spawn(move || async move {
            let _guard = done_tx;
            std::future::pending::<()>().await;
        });
        drop(rx);
        // The job is cancelled: its captured sender is dropped, so the channel disconnects.
        assert!(done_rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .is_err());
    }
}
