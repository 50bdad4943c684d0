//! The bridge's HTTP/1 server, also offered to services for their own listeners: a
//! cap on concurrent connections, a time limit on reading each request's headers and
//! on a connection's life, and a shutdown bounded whatever the clients do.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinSet;

/// Limits of a listener the project ships, with the defaults a reverse proxy in
/// front of a metrics endpoint would use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerLimits {
    /// Connections served at once; further ones wait in the kernel's accept queue
    /// until one closes (default 64).
    pub max_connections: usize,
    /// Time a client has to send a request's headers, the first one or the next on a
    /// kept-alive connection; then the connection is closed (default 10 s).
    pub header_read_timeout: Duration,
    /// Time after which a connection is closed whatever it is doing, so a client
    /// that never reads its answer holds it at most this long (default 60 s).
    pub connection_lifetime: Duration,
    /// On shutdown, how long requests in flight may take to finish before their
    /// connections are dropped (default 5 s; the bridge drops at once).
    pub drain_timeout: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 64,
            header_read_timeout: Duration::from_secs(10),
            connection_lifetime: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(5),
        }
    }
}

impl ListenerLimits {
    /// Sets [`max_connections`](Self::max_connections).
    #[must_use]
    pub const fn with_max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    #[must_use]
    pub const fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`connection_lifetime`](Self::connection_lifetime).
    #[must_use]
    pub const fn with_connection_lifetime(mut self, lifetime: Duration) -> Self {
        self.connection_lifetime = lifetime;
        self
    }

    /// Sets [`drain_timeout`](Self::drain_timeout).
    #[must_use]
    pub const fn with_drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then
/// stops accepting, lets requests in flight finish for at most
/// [`drain_timeout`](ListenerLimits::drain_timeout), and drops the connections that
/// remain. However clients behave (silent, stalled halfway through a request, never
/// reading), the function returns within the drain timeout of `shutdown`.
///
/// This is the server the Prometheus bridge runs; a service can run its own API on
/// it (`axum::serve` sets no header timeout and waits for every connection on
/// shutdown).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use business_metrics_exporter::ListenerLimits;
///
/// let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// business_metrics_exporter::serve(listener, app, ListenerLimits::default(), async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await;
/// # Ok(())
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ListenerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send,
) {
    let (drain, draining) = watch::channel(false);
    let mut connections = accept_loop(&listener, &router, limits, shutdown, &draining).await;
    drop(listener);
    // Idle connections close at once; requests in flight get the drain timeout.
    let _ = drain.send(true);
    let _ = tokio::time::timeout(limits.drain_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}

/// Serves until `stop` fires (or its sender is dropped), then drops every
/// connection: the bridge's stop.
pub(crate) async fn serve_until(
    listener: TcpListener,
    app: Router,
    limits: ListenerLimits,
    stop: oneshot::Receiver<()>,
) {
    let (_drain, draining) = watch::channel(false);
    let stop = async move {
        let _ = stop.await;
    };
    let mut connections = accept_loop(&listener, &app, limits, stop, &draining).await;
    connections.abort_all();
}

async fn accept_loop(
    listener: &TcpListener,
    app: &Router,
    limits: ListenerLimits,
    stop: impl std::future::Future<Output = ()> + Send,
    draining: &watch::Receiver<bool>,
) -> JoinSet<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors or a connection reset before accept: back off
                    // briefly instead of spinning, then accept again.
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                        () = &mut stop => break,
                    }
                }
            },
            () = &mut stop => break,
        };
        let in_flight = Arc::new(AtomicUsize::new(0));
        let service = {
            let (app, in_flight) = (app.clone(), Arc::clone(&in_flight));
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let counted = InFlight::enter(&in_flight);
                // A Router is always ready: no poll_ready needed.
                let response = tower_service::Service::call(&mut app.clone(), request);
                async move {
                    // Counted until the body is written (or dropped), not only until
                    // the handler returns.
                    response.await.map(|r| {
                        r.map(|body| Counted {
                            body,
                            _in_flight: counted,
                        })
                    })
                }
            })
        };
        let mut draining = draining.clone();
        connections.spawn(async move {
            let _permit = permit;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            // The lifetime bounds slow readers and anything else a client can stall.
            let lifetime = tokio::time::sleep(limits.connection_lifetime);
            tokio::pin!(lifetime);
            tokio::select! {
                _ = connection.as_mut() => return,
                () = lifetime.as_mut() => return,
                _ = draining.wait_for(|d| *d) => {}
            }
            // Draining: a connection with no request in a handler (idle, or still
            // sending its headers) is dropped now; one with a request in flight
            // finishes it, then closes.
            if in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            connection.as_mut().graceful_shutdown();
            tokio::select! {
                _ = connection.as_mut() => {}
                () = lifetime => {}
            }
        });
        // Reap finished connections so the set stays as small as the open ones.
        while connections.try_join_next().is_some() {}
    }
    connections
}

/// Counts a request as in a handler until dropped (answered, or abandoned).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight until it is written.
struct Counted {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl http_body::Body for Counted {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
