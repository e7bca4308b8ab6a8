//! Evaluation threads. Evaluation is synchronous CPU work that cannot be
//! interrupted, so it runs off the async runtime: the connection task waits
//! for the answer with a wall-clock deadline and answers per the failure
//! policy when it passes, while the step budget guarantees that the late
//! evaluation still ends.
//!
//! A panic while judging a request is caught on its thread: the request is
//! answered per the failure policy at once (not left to its deadline), the
//! panic is logged and counted, and the thread goes on serving, so that the
//! pool never shrinks.
//!
//! Under more load than the threads can judge, a request whose remaining
//! time is shorter than a typical evaluation is not started: it is answered
//! at once as too late, so that the threads spend their time on requests
//! that can still be answered in time instead of on ones that will miss
//! their deadline anyway.

use crate::admission::{self, Endpoint, FailurePolicy, Response, State};
use crate::metrics::Metrics;
use crate::reload::Policies;
use hyper::body::Bytes;
use rampart_engine::EvalOptions;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How a thread judges one request: [`admission::handle`], except in tests.
pub type Judge = fn(Endpoint, &[u8], &State) -> Response;

/// One request for an evaluation thread.
struct Job {
    endpoint: Endpoint,
    body: Bytes,
    deadline: Instant,
    reply: oneshot::Sender<Judged>,
}

/// What an evaluation thread answers.
#[derive(Debug)]
pub enum Judged {
    /// The answer.
    Answer(Box<Response>),
    /// Not started: the time left before the deadline was shorter than a
    /// typical evaluation.
    TooLate,
}

/// A fixed set of evaluation threads fed by one queue.
pub struct Pool {
    sender: Mutex<Option<Sender<Job>>>,
}

/// How the threads evaluate.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Steps one policy may take on one resource.
    pub step_budget: u64,
    /// What to answer on an evaluation error.
    pub failure_policy: FailurePolicy,
    /// The time a request has from its headers to its answer.
    pub timeout: Duration,
}

impl Pool {
    /// Starts `count` threads evaluating with the current policies.
    pub fn start(
        count: usize,
        policies: Arc<Policies>,
        settings: Settings,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Pool> {
        Pool::start_judging(count, policies, settings, metrics, admission::handle)
    }

    /// Starts `count` threads that judge with `judge`.
    fn start_judging(
        count: usize,
        policies: Arc<Policies>,
        settings: Settings,
        metrics: Arc<Metrics>,
        judge: Judge,
    ) -> std::io::Result<Pool> {
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let typical = Arc::new(AtomicU64::new(0));
        for index in 0..count.max(1) {
            let receiver = Arc::clone(&receiver);
            let policies = Arc::clone(&policies);
            let metrics = Arc::clone(&metrics);
            let thread = Thread {
                policies,
                settings,
                metrics,
                judge,
                typical: Arc::clone(&typical),
            };
            std::thread::Builder::new()
                .name(format!("rampart-eval-{index}"))
                .spawn(move || thread.work(&receiver))?;
        }
        Ok(Pool {
            sender: Mutex::new(Some(sender)),
        })
    }

    /// Queues an evaluation; the receiver yields its answer, or an error when
    /// the pool has stopped.
    pub fn submit(
        &self,
        endpoint: Endpoint,
        body: Bytes,
        deadline: Instant,
    ) -> oneshot::Receiver<Judged> {
        let (reply, receiver) = oneshot::channel();
        let job = Job {
            endpoint,
            body,
            deadline,
            reply,
        };
        if let Ok(sender) = self.sender.lock()
            && let Some(sender) = sender.as_ref()
        {
            // A send error drops the job and so its reply sender: the caller sees a closed channel.
            let _ = sender.send(job);
        }
        receiver
    }

    /// Lets the threads finish the queued jobs and exit.
    pub fn stop(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
    }
}

/// What one evaluation thread works with.
struct Thread {
    policies: Arc<Policies>,
    settings: Settings,
    metrics: Arc<Metrics>,
    judge: Judge,
    /// A moving average of how long judging takes, in nanoseconds, shared
    /// by the threads (0 before the first request).
    typical: Arc<AtomicU64>,
}

impl Thread {
    fn work(&self, receiver: &Mutex<Receiver<Job>>) {
        let mut state: Option<(u64, State)> = None;
        loop {
            // A poisoned lock only means another thread panicked while
            // holding it, which `recv` cannot leave half-done.
            let job = match receiver.lock() {
                Ok(receiver) => receiver.recv(),
                Err(poisoned) => poisoned.into_inner().recv(),
            };
            let Ok(job) = job else {
                return;
            };
            // Nobody waits for an answer past its deadline; skip the work.
            let started = Instant::now();
            if started >= job.deadline || job.reply.is_closed() {
                continue;
            }
            let typical = Duration::from_nanos(self.typical.load(Ordering::Relaxed));
            if job.deadline.duration_since(started) < typical {
                let _ = job.reply.send(Judged::TooLate);
                continue;
            }
            let judged = catch_unwind(AssertUnwindSafe(|| {
                match current_state(&mut state, &self.policies, self.settings) {
                    Ok(state) => (self.judge)(job.endpoint, &job.body, state),
                    Err(message) => {
                        admission::failed(&job.body, self.settings.failure_policy, &message)
                    }
                }
            }));
            let response = judged.unwrap_or_else(|payload| {
                // The panic may have left this thread's copy of the set half-made.
                state = None;
                self.after_panic(&job.body, payload.as_ref())
            });
            self.observe(started.elapsed());
            let _ = job.reply.send(Judged::Answer(Box::new(response)));
        }
    }

    /// Adds one evaluation's duration to the moving average (an eighth of
    /// its weight; the first one is taken as it is). Threads may race on the
    /// update: an average that loses a sample now and then is still typical.
    ///
    /// A sample counts for half the request timeout at most: a request that
    /// was not queued always has more time left than the average then, so
    /// it is judged, and one slow evaluation cannot make every later request
    /// look too late to start.
    fn observe(&self, elapsed: Duration) {
        let sample = elapsed.min(self.settings.timeout / 2);
        let sample = u64::try_from(sample.as_nanos()).unwrap_or(u64::MAX);
        let old = self.typical.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample
        } else {
            old - old / 8 + sample / 8
        };
        self.typical.store(new.max(1), Ordering::Relaxed);
    }

    /// The answer to a request whose judging panicked: per the failure
    /// policy, with the panic logged and counted.
    fn after_panic(&self, body: &[u8], payload: &(dyn Any + Send)) -> Response {
        self.metrics.count_evaluation_panic();
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        crate::log(&format!(
            "judging a request panicked ({what}); it is answered per the failure policy"
        ));
        let message = "rampart: an internal error stopped the evaluation of this request";
        let failure_policy = self.settings.failure_policy;
        catch_unwind(|| admission::failed(body, failure_policy, message))
            .unwrap_or_else(|_| admission::internal_error(message))
    }
}

/// This thread's copy of the serving policies, refreshed when a reload made a new generation.
fn current_state<'a>(
    state: &'a mut Option<(u64, State)>,
    policies: &Policies,
    settings: Settings,
) -> Result<&'a State, String> {
    let snapshot = policies
        .current()
        .ok_or_else(|| "rampart: the policies are unavailable".to_owned())?;
    let stale = state
        .as_ref()
        .is_none_or(|(generation, _)| *generation != snapshot.generation);
    if stale {
        let fresh = State::configured(
            snapshot.policy_set().map_err(|error| error.to_string())?,
            snapshot.judging.clone(),
            EvalOptions {
                version: snapshot.version,
                step_budget: settings.step_budget,
                // Fields added to the engine later keep their defaults.
                ..EvalOptions::default()
            },
            settings.failure_policy,
        );
        *state = Some((snapshot.generation, fresh));
    }
    state
        .as_ref()
        .map(|(_, state)| state)
        .ok_or_else(|| "rampart: the policies are unavailable".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reload::LoadedPolicySet;
    use std::time::Duration;

    fn policies() -> Arc<Policies> {
        let loader: crate::PolicyLoader = Arc::new(|| {
            let source = rampart_lang::Source {
                name: "test.rampart".to_owned(),
                text: "policy test.any {\n  severity low\n  match pods\n  deny false\n    message \"never\"\n}\n".to_owned(),
            };
            let compilation = rampart_lang::compile(&[source]);
            Ok(LoadedPolicySet {
                set: compilation.set,
                version: rampart_engine::KubeVersion::LATEST,
                judging: rampart_core::Judging::default(),
            })
        });
        Arc::new(Policies::load(loader).unwrap())
    }

    /// Panics on the review whose uid is `panic`, answers the others itself.
    fn fragile(endpoint: Endpoint, body: &[u8], state: &State) -> Response {
        if String::from_utf8_lossy(body).contains("\"uid\":\"panic\"") {
            panic!("a bug in judging");
        }
        let mut response = admission::handle(endpoint, body, state);
        response.body = b"{\"judged\":true}".to_vec();
        response
    }

    fn review(uid: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"{uid}","operation":"CREATE","kind":{{"group":"","version":"v1","kind":"Pod"}},"object":{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p"}}}}}}}}"#
        ))
    }

    #[test]
    fn a_panic_is_answered_at_once_and_the_pool_keeps_its_threads() {
        let metrics = Arc::new(Metrics::default());
        let settings = Settings {
            step_budget: 1_000,
            failure_policy: FailurePolicy::Fail,
            timeout: Duration::from_secs(2),
        };
        let pool =
            Pool::start_judging(2, policies(), settings, Arc::clone(&metrics), fragile).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        // Only catches a hang: a request left unanswered, or a pool that lost its threads.
        let patience = Duration::from_secs(30);
        let deadline = Instant::now() + patience;
        let answer = |uid: &str| {
            let reply = pool.submit(Endpoint::Validate, review(uid), deadline);
            let answered = runtime.block_on(async { tokio::time::timeout(patience, reply).await });
            let judged = answered
                .expect("an answer before the deadline")
                .expect("an answer, not a dropped request");
            match judged {
                Judged::Answer(response) => *response,
                Judged::TooLate => panic!("not judged"),
            }
        };
        for _ in 0..5 {
            let response = answer("panic");
            assert_eq!(response.decision, admission::Decision::Error);
            let body = String::from_utf8_lossy(&response.body).into_owned();
            assert!(body.contains("\"code\":500"), "{body}");
            assert!(body.contains("internal error"), "{body}");
        }
        // As many as the pool has threads, and more: none was lost.
        for _ in 0..4 {
            assert_eq!(answer("fine").body, b"{\"judged\":true}");
        }
        pool.stop();
        assert!(
            metrics
                .render()
                .contains("rampart_evaluation_panics_total 5")
        );
    }

    /// Takes 200 ms for every request.
    fn slow(endpoint: Endpoint, body: &[u8], state: &State) -> Response {
        SLOW_CALLS.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(200));
        admission::handle(endpoint, body, state)
    }

    static SLOW_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[test]
    fn a_request_that_cannot_be_judged_in_time_is_not_started() {
        let metrics = Arc::new(Metrics::default());
        let settings = Settings {
            step_budget: 1_000,
            failure_policy: FailurePolicy::Fail,
            timeout: Duration::from_secs(2),
        };
        let pool = Pool::start_judging(1, policies(), settings, metrics, slow).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        // The first request takes 200 ms; the ones queued behind it then
        // have at most 100 ms left, less than a typical evaluation.
        let deadline = Instant::now() + Duration::from_millis(300);
        let replies: Vec<_> = (0..3)
            .map(|_| pool.submit(Endpoint::Validate, review("fine"), deadline))
            .collect();
        let outcomes: Vec<Option<Judged>> = runtime.block_on(async {
            let mut outcomes = Vec::new();
            for reply in replies {
                // Only catches a hang.
                let outcome = tokio::time::timeout(Duration::from_secs(30), reply)
                    .await
                    .expect("an answer or a closed reply");
                outcomes.push(outcome.ok());
            }
            outcomes
        });
        pool.stop();
        assert!(matches!(outcomes[0], Some(Judged::Answer(_))));
        // Not started: answered as too late, or dropped when the deadline had
        // passed already (a very slow machine).
        for outcome in &outcomes[1..] {
            assert!(
                matches!(outcome, Some(Judged::TooLate) | None),
                "{outcome:?}"
            );
        }
        assert_eq!(SLOW_CALLS.load(Ordering::Relaxed), 1);
    }
}
