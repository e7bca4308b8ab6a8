//! The HTTPS server: accepts connections, routes requests, enforces the body
//! limit and the deadline, records metrics and the audit log, and drains
//! in-flight requests on shutdown.
//!
//! Every stage of a connection is bounded: the TLS handshake and each
//! request's headers by [`ServerConfig::handshake_timeout`] (an idle keep-alive connection
//! too), the body, the evaluation and the building of the answer by the
//! request's deadline, and the number of connections open at once by
//! [`ServerConfig::max_connections`]. A peer that goes away at any stage is
//! a counted, logged connection error, never the end of the process.

use crate::admission::{self, Endpoint, FailurePolicy};
use crate::audit::AuditLog;
use crate::error::ServerError;
use crate::metrics::{ConnectionStage, Metrics};
use crate::reload::{self, Policies, PolicyLoader, Watch};
use crate::tls::{self, CertificateResolver, TlsFiles};
use crate::workers::{self, Judged, Pool};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use tokio_rustls::TlsAcceptor;

/// How the server runs; [`ServerConfig::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen.
    pub address: SocketAddr,
    /// The certificate and key.
    pub tls: TlsFiles,
    /// Policy files and directories to watch for changes.
    pub policy_paths: Vec<PathBuf>,
    /// JSON-lines audit log: a file, `-` for standard output, or none.
    pub audit_log: Option<PathBuf>,
    /// Larger bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Wall-clock limit of one request from its headers on: reading the
    /// body, queueing, evaluating and building the answer.
    pub eval_timeout: Duration,
    /// Whether `POST /mutate` is served.
    pub mutate: bool,
    /// What to answer when the policies cannot give a verdict.
    pub failure_policy: FailurePolicy,
    /// Steps one policy may take on one resource.
    pub step_budget: u64,
    /// How often files are checked for changes.
    pub reload_interval: Duration,
    /// After a shutdown signal: how long to keep accepting (unready) so that
    /// load balancers notice, before draining.
    pub shutdown_delay: Duration,
    /// How long in-flight requests may take to finish after that.
    pub drain_timeout: Duration,
    /// Evaluation threads.
    pub workers: usize,
    /// Connections open at once; further ones wait in the listen backlog
    /// until one closes.
    pub max_connections: usize,
    /// Limits the TLS handshake, and reading each request's headers (the
    /// wait for the next request on a kept-alive connection included), so
    /// that a slow or silent client cannot hold a connection open.
    pub handshake_timeout: Duration,
}

impl ServerConfig {
    /// Defaults: 1 MiB bodies (under the API server's 3 MiB object limit
    /// for most objects), 2-second deadline, fail closed, one thread per core.
    pub fn new(address: SocketAddr, tls: TlsFiles) -> ServerConfig {
        ServerConfig {
            address,
            tls,
            policy_paths: Vec::new(),
            audit_log: None,
            max_body_bytes: 1024 * 1024,
            eval_timeout: Duration::from_millis(2000),
            mutate: false,
            failure_policy: FailurePolicy::Fail,
            step_budget: rampart_engine::EvalOptions::default().step_budget,
            reload_interval: Duration::from_secs(1),
            shutdown_delay: Duration::ZERO,
            drain_timeout: Duration::from_secs(20),
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// What every connection shares.
struct Shared {
    pool: Pool,
    policies: Arc<Policies>,
    metrics: Arc<Metrics>,
    audit: AuditLog,
    draining: AtomicBool,
    config: ServerConfig,
    connection_log: ConnectionLog,
}

/// A bound server, not yet serving.
pub struct Server {
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    shutdown: Arc<Notify>,
    stop_poller: Arc<AtomicBool>,
    poller: Option<std::thread::JoinHandle<()>>,
}

/// Asks a running server to shut down (as SIGTERM does).
#[derive(Clone)]
pub struct ShutdownHandle {
    notify: Arc<Notify>,
}

impl ShutdownHandle {
    /// Starts a graceful shutdown.
    pub fn shutdown(&self) {
        self.notify.notify_one();
    }
}

impl Server {
    /// Loads the policies and certificate and binds the address; every
    /// configuration error surfaces here, before serving.
    pub fn bind(config: ServerConfig, loader: PolicyLoader) -> Result<Server, ServerError> {
        let watch = Watch::new(
            config.policy_paths.clone(),
            config.tls.clone(),
            config.reload_interval,
        );
        let policies = Arc::new(Policies::load(loader).map_err(ServerError::Policies)?);
        let resolver = CertificateResolver::load(&config.tls)?;
        let acceptor = TlsAcceptor::from(tls::server_config(Arc::clone(&resolver))?);
        let metrics = Arc::new(Metrics::default());
        let audit = match &config.audit_log {
            Some(path) => AuditLog::open(path, Arc::clone(&metrics))?,
            None => AuditLog::disabled(Arc::clone(&metrics)),
        };
        metrics.set_policies_loaded(policies.current().map_or(0, |current| current.policy_count));
        let settings = workers::Settings {
            step_budget: config.step_budget,
            failure_policy: config.failure_policy,
            timeout: config.eval_timeout,
        };
        let pool = Pool::start(
            config.workers,
            Arc::clone(&policies),
            settings,
            Arc::clone(&metrics),
        )
        .map_err(|error| ServerError::Start {
            what: "the evaluation threads",
            error,
        })?;
        let listener =
            std::net::TcpListener::bind(config.address).map_err(|error| ServerError::Listen {
                address: Some(config.address),
                error,
            })?;
        listener
            .set_nonblocking(true)
            .map_err(|error| ServerError::Listen {
                address: Some(config.address),
                error,
            })?;
        let stop_poller = Arc::new(AtomicBool::new(false));
        let poller = reload::spawn_poller(
            watch,
            Arc::clone(&policies),
            resolver,
            Arc::clone(&metrics),
            Arc::clone(&stop_poller),
        )
        .map_err(|error| ServerError::Start {
            what: "the reload thread",
            error,
        })?;
        let shared = Arc::new(Shared {
            pool,
            policies,
            metrics,
            audit,
            draining: AtomicBool::new(false),
            config,
            connection_log: ConnectionLog::default(),
        });
        Ok(Server {
            listener,
            shared,
            acceptor,
            shutdown: Arc::new(Notify::new()),
            stop_poller,
            poller: Some(poller),
        })
    }

    /// The bound address (the real port when asked for port 0).
    pub fn local_address(&self) -> Result<SocketAddr, ServerError> {
        self.listener
            .local_addr()
            .map_err(|error| ServerError::Listen {
                address: None,
                error,
            })
    }

    /// A handle that shuts the server down from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            notify: Arc::clone(&self.shutdown),
        }
    }

    /// Serves until SIGTERM, ctrl-c or the shutdown handle, then drains.
    pub fn serve(mut self) -> Result<(), ServerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_io()
            .enable_time()
            .build()
            .map_err(|error| ServerError::Start {
                what: "the runtime",
                error,
            })?;
        let result = runtime.block_on(self.accept_loop());
        self.shared.pool.stop();
        self.shared.audit.close();
        self.stop_poller.store(true, Ordering::Relaxed);
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
        runtime.shutdown_timeout(Duration::from_secs(1));
        result
    }

    async fn accept_loop(&self) -> Result<(), ServerError> {
        let listener = self
            .listener
            .try_clone()
            .and_then(tokio::net::TcpListener::from_std)
            .map_err(|error| ServerError::Listen {
                address: None,
                error,
            })?;
        watch_signals(&self.shutdown);
        let shared = &self.shared;
        let mut shutdown = pin!(async {
            self.shutdown.notified().await;
            shared.draining.store(true, Ordering::Relaxed);
            crate::log("shutting down: unready, draining in-flight requests");
            tokio::time::sleep(shared.config.shutdown_delay).await;
        });
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
        crate::log(&format!("serving on https://{}", self.local_address()?));
        loop {
            // At the limit, wait for a connection to close before accepting
            // another (the timeouts bound how long that takes; the kernel's
            // backlog holds the new ones meanwhile). A shutdown ends the wait.
            let mut acquire = pin!(Arc::clone(&slots).acquire_owned());
            let slot = std::future::poll_fn(|context| {
                if shutdown.as_mut().poll(context).is_ready() {
                    return Poll::Ready(None);
                }
                acquire.as_mut().poll(context).map(Result::ok)
            })
            .await;
            let Some(slot) = slot else {
                break;
            };
            let accepted = std::future::poll_fn(|context| {
                if shutdown.as_mut().poll(context).is_ready() {
                    return Poll::Ready(None);
                }
                listener.poll_accept(context).map(Some)
            })
            .await;
            let Some(accepted) = accepted else {
                break;
            };
            let Ok((stream, peer)) = accepted else {
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            configure(&stream);
            let acceptor = self.acceptor.clone();
            let shared = Arc::clone(&self.shared);
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _slot = slot;
                serve_connection(stream, peer, acceptor, shared, watcher).await;
            });
        }
        drop(listener);
        if tokio::time::timeout(self.shared.config.drain_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            crate::log("drain timeout: closing the connections still open");
        }
        Ok(())
    }
}

/// Socket options of an accepted connection. `TCP_NODELAY`: an answer is
/// written as soon as it is ready; without it, about half of fresh
/// connections waited 40 ms (Nagle's algorithm against delayed ACKs)
/// for their first answer.
fn configure(stream: &tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
}

/// One connection, from the TLS handshake to its close. Errors (the peer
/// closed or reset early, was too slow, spoke no TLS) end this connection
/// only; they are counted and logged.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let timeout = shared.config.handshake_timeout;
    let handshake = tokio::time::timeout(timeout, acceptor.accept(stream)).await;
    let stream = match handshake {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            shared.connection_error(ConnectionStage::Tls, peer, &error.to_string());
            return;
        }
        Err(_) => {
            shared.connection_error(ConnectionStage::Tls, peer, "the TLS handshake timed out");
            return;
        }
    };
    // Set when a request's body failed, which is counted as such; the
    // connection's own error that follows is then not counted again.
    let body_failed = Arc::new(AtomicBool::new(false));
    let service_shared = Arc::clone(&shared);
    let service_body_failed = Arc::clone(&body_failed);
    let service = hyper::service::service_fn(move |request| {
        let shared = Arc::clone(&service_shared);
        let body_failed = Arc::clone(&service_body_failed);
        async move { Ok::<_, Infallible>(route(request, &shared, peer, &body_failed).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(error) = watcher.watch(connection).await
        && !body_failed.load(Ordering::Relaxed)
    {
        shared.connection_error(ConnectionStage::Http, peer, &error.to_string());
    }
}

impl Shared {
    /// Counts a connection error and logs it (a few lines a second at most).
    fn connection_error(&self, stage: ConnectionStage, peer: SocketAddr, error: &str) {
        self.metrics.count_connection_error(stage);
        self.connection_log.log(stage, peer, error);
    }
}

/// Logs connection errors, at most [`ConnectionLog::PER_SECOND`] a second:
/// a port scanner or a flood of aborted connections must not flood the log
/// (the metric counts every one).
#[derive(Default)]
struct ConnectionLog {
    /// The start of the current second, and how many lines it logged or left out.
    window: Mutex<Option<(Instant, u64, u64)>>,
}

impl ConnectionLog {
    const PER_SECOND: u64 = 5;

    fn log(&self, stage: ConnectionStage, peer: SocketAddr, error: &str) {
        let Ok(mut window) = self.window.lock() else {
            return;
        };
        let now = Instant::now();
        let (started, logged, left_out) = window.get_or_insert((now, 0, 0));
        if now.duration_since(*started) >= Duration::from_secs(1) {
            if *left_out > 0 {
                crate::log(&format!(
                    "{left_out} more connection errors in the last second (counted in rampart_connection_errors_total)"
                ));
            }
            (*started, *logged, *left_out) = (now, 0, 0);
        }
        if *logged < ConnectionLog::PER_SECOND {
            *logged += 1;
            crate::log(&format!(
                "connection error ({}) from {peer}: {error}",
                stage.as_str()
            ));
        } else {
            *left_out += 1;
        }
    }
}

/// Turns SIGTERM (what Kubernetes sends) and ctrl-c into a shutdown.
fn watch_signals(notify: &Arc<Notify>) {
    let on_ctrl_c = Arc::clone(notify);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.notify_one();
        }
    });
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let on_terminate = Arc::clone(notify);
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::spawn(async move {
                if terminate.recv().await.is_some() {
                    on_terminate.notify_one();
                }
            });
        }
    }
}

type HttpResponse = Response<Full<Bytes>>;

async fn route(
    request: Request<Incoming>,
    shared: &Shared,
    peer: SocketAddr,
    body_failed: &AtomicBool,
) -> HttpResponse {
    let endpoint = match (request.method(), request.uri().path()) {
        (&Method::GET, "/healthz") => return text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") if shared.draining.load(Ordering::Relaxed) => {
            return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
        }
        (&Method::GET, "/readyz") => return text(StatusCode::OK, &readiness(shared)),
        (&Method::GET, "/metrics") => {
            let mut response = text(StatusCode::OK, &shared.metrics.render());
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            return response;
        }
        (&Method::POST, "/validate") => Endpoint::Validate,
        (&Method::POST, "/mutate") if shared.config.mutate => Endpoint::Mutate,
        (_, "/healthz" | "/readyz" | "/metrics" | "/validate") => {
            return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        }
        _ => return text(StatusCode::NOT_FOUND, "not found\n"),
    };
    admit(endpoint, request, shared, peer, body_failed).await
}

/// `/readyz`'s body: `ok`, and why the last policy reload was refused while
/// the previous policies keep serving.
fn readiness(shared: &Shared) -> String {
    match shared.policies.refused_reload() {
        None => "ok\n".to_owned(),
        Some(error) => {
            let serving = shared
                .policies
                .current()
                .map_or(0, |current| current.policy_count);
            let what = if error.is_configuration() {
                "configuration"
            } else {
                "policy"
            };
            format!(
                "ok\nthe last {what} reload was refused, the previous {serving} policies and their configuration keep serving: {error}\n"
            )
        }
    }
}

async fn admit(
    endpoint: Endpoint,
    request: Request<Incoming>,
    shared: &Shared,
    peer: SocketAddr,
    body_failed: &AtomicBool,
) -> HttpResponse {
    // The deadline counts from the headers: a slow body, a long queue and a
    // large answer all spend from it.
    let started = Instant::now();
    let deadline = started + shared.config.eval_timeout;
    let limit = shared.config.max_body_bytes;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(limit);
    }
    let reading = Limited::new(request.into_body(), limit).collect();
    let body = match tokio::time::timeout_at(deadline.into(), reading).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return too_large(limit);
        }
        Ok(Err(error)) => {
            body_failed.store(true, Ordering::Relaxed);
            shared.connection_error(ConnectionStage::Body, peer, &error.to_string());
            return closing(text(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the body: {error}\n"),
            ));
        }
        Err(_) => {
            body_failed.store(true, Ordering::Relaxed);
            shared.connection_error(
                ConnectionStage::Body,
                peer,
                "the body did not arrive before the deadline",
            );
            let message = "the request body did not arrive before the deadline";
            return closing(json(
                StatusCode::REQUEST_TIMEOUT,
                serde_json::json!({ "error": message })
                    .to_string()
                    .into_bytes(),
            ));
        }
    };
    let reply = shared.pool.submit(endpoint, body.clone(), deadline);
    let late = "rampart: the evaluation did not finish before the deadline";
    let stopped = "rampart: the evaluation threads stopped";
    let failure_policy = shared.config.failure_policy;
    let busy = "rampart: too busy to judge this request before the deadline";
    let response = match tokio::time::timeout_at(deadline.into(), reply).await {
        Ok(Ok(Judged::Answer(response))) => *response,
        Ok(Ok(Judged::TooLate)) => admission::failed(&body, failure_policy, busy),
        // An evaluation thread drops a job whose deadline passed while it was queued.
        Ok(Err(_)) if Instant::now() >= deadline => admission::failed(&body, failure_policy, late),
        Ok(Err(_)) => admission::failed(&body, failure_policy, stopped),
        Err(_) => admission::failed(&body, failure_policy, late),
    };
    let elapsed = started.elapsed();
    let record = &response.record;
    let operation = if record.operation.is_empty() {
        "unknown"
    } else {
        &record.operation
    };
    shared
        .metrics
        .count_request(operation, &record.kind, response.decision.as_str());
    for (policy, action) in &response.policy_actions {
        shared.metrics.count_policy_findings(policy, *action);
    }
    if response.summarised {
        shared.metrics.count_answer_summarised();
    }
    // Missed deadlines are the slowest requests of all: they belong in the histogram too.
    if record.evaluated || response.decision == admission::Decision::Error {
        shared.metrics.observe_evaluation(elapsed);
    }
    if response.decision != admission::Decision::Invalid {
        let endpoint_name = match endpoint {
            Endpoint::Validate => "validate",
            Endpoint::Mutate => "mutate",
        };
        shared
            .audit
            .write(endpoint_name, response.decision, elapsed, record);
    }
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(status, response.body)
}

/// `response`, asking the client to close the connection: what is left of a
/// body that was not read would otherwise be taken for the next request.
fn closing(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn too_large(limit: usize) -> HttpResponse {
    let message = format!("the body is larger than the limit of {limit} bytes");
    json(
        StatusCode::PAYLOAD_TOO_LARGE,
        serde_json::json!({ "error": message })
            .to_string()
            .into_bytes(),
    )
}

fn json(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn text(status: StatusCode, body: &str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_connections_do_not_wait_for_acknowledgements() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let client = tokio::net::TcpStream::connect(address).await.unwrap();
            let (accepted, _) = listener.accept().await.unwrap();
            assert!(!accepted.nodelay().unwrap());
            configure(&accepted);
            assert!(accepted.nodelay().unwrap());
            drop(client);
        });
    }
}
