//! A small process-wide pool of worker threads for rendering and compressing scrapes,
//! and [`Ordered`], which runs jobs on it and hands their results back in submission order.
//!
//! One pool for the whole process (one thread per core) keeps the number of threads fixed
//! however many scrapes run: a scrape thread submits jobs and writes their results to its
//! client in order; it never runs on the pool itself, so a client that stops reading blocks
//! only its own scrape thread, never a worker. Jobs are pure computation (render a slice of
//! a family, compress a block) and never wait on anything.

use std::collections::BTreeMap;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Pool {
    queue: Mutex<mpsc::Sender<Job>>,
    workers: usize,
}

/// Upper bound on worker threads, whatever the machine reports.
const MAX_WORKERS: usize = 16;

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_WORKERS);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..workers {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("render-{index}"))
                .spawn(move || loop {
                    let job = receiver
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "could not start a render worker thread");
            }
        }
        Pool {
            queue: Mutex::new(sender),
            workers,
        }
    })
}

/// Worker threads in the pool (one per core, at most 16).
pub fn workers() -> usize {
    pool().workers
}

fn spawn(job: Job) {
    let queue = pool().queue.lock().unwrap_or_else(PoisonError::into_inner);
    if let Err(mpsc::SendError(job)) = queue.send(job) {
        // No worker could be started: run it here rather than lose it.
        drop(queue);
        job();
    }
}

/// Jobs in flight on the pool, their results returned in the order they were submitted.
/// The caller bounds memory by calling [`Ordered::next_result`] before [`Ordered::pending`] grows
/// past its limit; results of a dropped `Ordered` are discarded.
pub struct Ordered<T> {
    sender: mpsc::Sender<(u64, Result<T, ()>)>,
    receiver: mpsc::Receiver<(u64, Result<T, ()>)>,
    submitted: u64,
    returned: u64,
    parked: BTreeMap<u64, Result<T, ()>>,
}

impl<T: Send + 'static> Default for Ordered<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> Ordered<T> {
    pub fn new() -> Self {
        let (sender, receiver) = mpsc::channel();
        Ordered {
            sender,
            receiver,
            submitted: 0,
            returned: 0,
            parked: BTreeMap::new(),
        }
    }

    /// Queues `job` on the pool; never blocks.
    pub fn submit(&mut self, job: impl FnOnce() -> T + Send + 'static) {
        let index = self.submitted;
        self.submitted += 1;
        let sender = self.sender.clone();
        spawn(Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(job)).map_err(|_| ());
            // The receiver is gone when the scrape ended early; nothing to do then.
            let _ = sender.send((index, result));
        }));
    }

    /// Results submitted but not yet returned by [`Ordered::next_result`].
    pub fn pending(&self) -> usize {
        (self.submitted - self.returned) as usize
    }

    /// The next result in submission order, waiting for it; `None` when nothing is pending.
    pub fn next_result(&mut self) -> Option<io::Result<T>> {
        if self.pending() == 0 {
            return None;
        }
        let wanted = self.returned;
        let result = loop {
            if let Some(result) = self.parked.remove(&wanted) {
                break result;
            }
            match self.receiver.recv() {
                Ok((index, result)) if index == wanted => break result,
                Ok((index, result)) => {
                    self.parked.insert(index, result);
                }
                // Unreachable while `self.sender` lives; kept as an error, not a hang.
                Err(_) => break Err(()),
            }
        };
        self.returned += 1;
        Some(result.map_err(|()| io::Error::other("a render worker panicked")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn results_come_back_in_submission_order() {
        let mut ordered = Ordered::new();
        for index in 0..64u64 {
            ordered.submit(move || {
                // Early jobs finish last.
                std::thread::sleep(Duration::from_micros((64 - index) * 50));
                index
            });
        }
        let mut seen = Vec::new();
        while let Some(result) = ordered.next_result() {
            seen.push(result.expect("no panic"));
        }
        assert_eq!(seen, (0..64).collect::<Vec<_>>());
        assert_eq!(ordered.pending(), 0);
    }

    #[test]
    fn a_panicking_job_is_an_error_not_a_hang() {
        let mut ordered = Ordered::new();
        ordered.submit(|| -> u32 { panic!("boom") });
        ordered.submit(|| 7);
        assert!(ordered.next_result().expect("pending").is_err());
        assert_eq!(
            ordered.next_result().expect("pending").expect("second job"),
            7
        );
        assert!(ordered.next_result().is_none());
    }
}
