//! The threads of a streaming pass: one reads and cuts the files, the
//! others take the parts off a shared queue, and the calling thread takes
//! their events as they come. A thread that panics is a failure of the run,
//! never a gap in it, and never a hang.

use super::{Part, ReadFile, read_all};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The queue of parts the workers share.
pub(crate) struct Parts(Mutex<Option<Receiver<Part>>>);

impl Parts {
    /// The next part; `None` once the reader is done and the queue is
    /// empty, or the queue was closed.
    pub(crate) fn next(&self) -> Option<Part> {
        // A worker that panicked never holds the lock (the guard lives only
        // for this call), but a poisoned lock must not stop the others.
        let queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        queue.as_ref()?.recv().ok()
    }

    /// Closes the queue: the reader's next send fails, and it stops.
    fn close(&self) {
        let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *queue = None;
    }
}

/// What [`fan_out`] gives back.
pub(crate) struct FannedOut<R> {
    /// The files read (with their texts when asked for).
    pub(crate) files: Vec<ReadFile>,
    /// The time spent reading.
    pub(crate) read_time: Duration,
    /// Each worker's result (those that returned).
    pub(crate) results: Vec<R>,
    /// Threads that panicked or could not be started: the run is incomplete.
    pub(crate) failures: Vec<String>,
}

/// The message of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// What the threads of [`fan_out`] tell the calling thread while they run.
/// Both kinds come in batches: every message wakes the calling thread, which
/// then competes with the workers for the cores.
pub(crate) enum Event<T> {
    /// A worker's results.
    Done(T),
    /// Files the reader is through with, by number (`true`: it could not be
    /// read whole, and counts as not read at all).
    FilesRead(Vec<(usize, bool)>),
}

/// Files read per [`Event::FilesRead`].
const FILES_PER_EVENT: usize = 256;

/// Reads `paths` on a thread of its own, cutting them into parts, while
/// `threads` workers run `worker` on the shared queue of parts, and the
/// calling thread hands every [`Event`] to `consume` as it comes: the files
/// read (with their texts when `keep_text`), the time spent reading, and
/// each worker's result. A thread that panics is a failure in the result,
/// never a silent gap: the reader stops once no worker is left, so that
/// nothing waits on a queue no one empties.
pub(crate) fn fan_out<T: Send, R: Send>(
    paths: &[PathBuf],
    threads: usize,
    keep_text: bool,
    timed: bool,
    activity: &'static str,
    worker: impl Fn(&Parts, &Sender<Event<T>>) -> R + Sync,
    mut consume: impl FnMut(Event<T>),
) -> FannedOut<R> {
    let threads = threads.max(1);
    let (sender, receiver) = sync_channel::<Part>(threads * 2);
    let parts = Parts(Mutex::new(Some(receiver)));
    let (events, received) = channel::<Event<T>>();
    let mut failures = Vec::new();
    // How many workers run: the last to end closes the queue, however it
    // ends. Counted for all of them before any starts: a worker that ended
    // before the next one was counted would have closed the queue on it.
    let running = AtomicUsize::new(threads);
    std::thread::scope(|scope| {
        let reader_events = events.clone();
        // The reader owns the only sender of parts: when it returns, the
        // queue closes and the workers stop once it is empty.
        let reader = scope.spawn(move || {
            // A send only fails once the calling thread stopped listening,
            // which it does not before every thread has returned.
            let read = std::cell::RefCell::new(Vec::new());
            let on_file = |file, failed| {
                let mut read = read.borrow_mut();
                read.push((file, failed));
                if read.len() >= FILES_PER_EVENT {
                    let _ = reader_events.send(Event::FilesRead(std::mem::take(&mut *read)));
                }
            };
            let result = read_all(paths, &sender, keep_text, timed, activity, &on_file);
            let rest = read.into_inner();
            if !rest.is_empty() {
                let _ = reader_events.send(Event::FilesRead(rest));
            }
            result
        });
        let (parts, worker) = (&parts, &worker);
        let running = &running;
        let mut workers = Vec::with_capacity(threads);
        for index in 0..threads {
            let events = events.clone();
            let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| worker(parts, &events)));
                if running.fetch_sub(1, Ordering::SeqCst) == 1 {
                    parts.close();
                }
                result
            });
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(error) => {
                    // This worker and those after it will never end.
                    let unstarted = threads - index;
                    if running.fetch_sub(unstarted, Ordering::SeqCst) == unstarted {
                        parts.close();
                    }
                    failures.push(format!("cannot start a worker thread: {error}"));
                    break;
                }
            }
        }
        // Every thread holds a sender of its own, so the events end when the
        // last thread returns (or panics), never before.
        drop(events);
        for event in received {
            consume(event);
        }
        let (files, read_time) = match reader.join() {
            Ok(read) => read,
            Err(payload) => {
                failures.push(format!(
                    "internal error: the thread reading the input stopped: {}",
                    panic_message(&*payload)
                ));
                (Vec::new(), Duration::ZERO)
            }
        };
        let mut results = Vec::with_capacity(workers.len());
        for worker in workers {
            match worker.join() {
                Ok(Ok(result)) => results.push(result),
                Ok(Err(payload)) | Err(payload) => failures.push(format!(
                    "internal error: a worker thread stopped: {}",
                    panic_message(&*payload)
                )),
            }
        }
        FannedOut {
            files,
            read_time,
            results,
            failures,
        }
    })
}
