//! The bridge's HTTP/1 server: a cap on concurrent connections, a time limit on
//! reading each request's headers and on a connection's life, and a stop that drops
//! every connection at once, whatever the clients do.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
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
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 64,
            header_read_timeout: Duration::from_secs(10),
            connection_lifetime: Duration::from_secs(60),
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
}

/// Serves `app` on `listener` until `stop` fires (or its sender is dropped), then
/// drops every connection.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ListenerLimits,
    mut stop: oneshot::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors or a connection reset before accept: back off
                    // briefly instead of spinning, then accept again.
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                        _ = &mut stop => break,
                    }
                }
            },
            _ = &mut stop => break,
        };
        let service = TowerToHyperService::new(app.clone());
        connections.spawn(async move {
            let _permit = permit;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            // The lifetime bounds slow readers and anything else a client can stall.
            let _ = tokio::time::timeout(limits.connection_lifetime, connection).await;
        });
        // Reap finished connections so the set stays as small as the open ones.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}
