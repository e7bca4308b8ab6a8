//! Evaluation threads. Evaluation is synchronous CPU work that cannot be
//! interrupted, so it runs off the async runtime: the connection task waits
//! for the answer with a wall-clock deadline and answers per the failure
//! policy when it passes, while the step budget guarantees that the late
//! evaluation still ends.

use crate::admission::{self, Endpoint, FailurePolicy, Response, State};
use crate::reload::Policies;
use hyper::body::Bytes;
use rampart_engine::EvalOptions;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;

/// One request for an evaluation thread.
struct Job {
    endpoint: Endpoint,
    body: Bytes,
    deadline: Instant,
    reply: oneshot::Sender<Response>,
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
}

impl Pool {
    /// Starts `count` threads evaluating with the current policies.
    pub fn start(
        count: usize,
        policies: Arc<Policies>,
        settings: Settings,
    ) -> std::io::Result<Pool> {
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..count.max(1) {
            let receiver = Arc::clone(&receiver);
            let policies = Arc::clone(&policies);
            std::thread::Builder::new()
                .name(format!("rampart-eval-{index}"))
                .spawn(move || work(&receiver, &policies, settings))?;
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
    ) -> oneshot::Receiver<Response> {
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

fn work(receiver: &Mutex<Receiver<Job>>, policies: &Policies, settings: Settings) {
    let mut state: Option<(u64, State)> = None;
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            return;
        };
        // Nobody waits for an answer past its deadline; skip the work.
        if Instant::now() >= job.deadline || job.reply.is_closed() {
            continue;
        }
        let response = match current_state(&mut state, policies, settings) {
            Ok(state) => admission::handle(job.endpoint, &job.body, state),
            Err(message) => admission::failed(&job.body, settings.failure_policy, &message),
        };
        let _ = job.reply.send(response);
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
        let fresh = State::new(
            snapshot.policy_set()?,
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
