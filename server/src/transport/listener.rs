//! Accepting connections and serving HTTP/1.1 on them with hyper, driven by hand.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use super::upgrade::upgrade_directly;
use crate::admission::address::Peer;
use crate::admission::counts::Slot;
use crate::app::App;
use tower_http::add_extension::AddExtension;

/// The routes, with the connection's [`Peer`] added to each request.
type PeerRouter = AddExtension<axum::Router, Peer>;

/// The longest a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections and serves HTTP/1.1 on each (WebSocket upgrades included) until the
/// shutdown signal; then stops accepting and lets every HTTP connection finish gracefully.
///
/// The server drives hyper itself rather than through `axum::serve`: a plain HTTP/1 connection
/// hands its upgraded socket back as the `TcpStream` it is (see [`super::socket`]), whereas
/// the HTTP version detection of `axum::serve` wraps it in two more layers that every read and
/// write of every WebSocket would go through. And a connection that opens with a WebSocket
/// upgrade is not given to hyper at all (see [`upgrade_directly`]).
pub async fn serve_http(
    listener: TcpListener,
    app: axum::Router,
    context: Arc<App>,
) -> std::io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = context.shutdown.cancelled() => break,
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = done
                    && error.is_panic()
                {
                    warn!(%error, "an HTTP connection's task panicked");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    // An address with as many connections still sending their first request's
                    // head as it may: closed at once.
                    let Ok(head) = context.hold_unfinished_request(peer.ip()) else {
                        debug!("too many unfinished requests from one address; closed");
                        continue;
                    };
                    // Every request carries the connection's peer (see `admission::address`).
                    let app = AddExtension::new(app.clone(), Peer(peer));
                    connections.spawn(serve_http_connection(tcp, app, Arc::clone(&context), head));
                }
                // Out of file descriptors, say: back off briefly instead of spinning.
                Err(error) => {
                    warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Serves one HTTP/1.1 connection until it closes, is upgraded, or the server stops. `head` is
/// the connection's place among its address's unfinished requests, given back once its first
/// request's head is complete.
async fn serve_http_connection(
    tcp: TcpStream,
    app: PeerRouter,
    context: Arc<App>,
    head: Option<Slot>,
) {
    // Small frames go out at once: with Nagle's algorithm a frame written while an earlier
    // one is unacknowledged waits for the peer's delayed ACK (tens of milliseconds).
    if let Err(error) = tcp.set_nodelay(true) {
        debug!(%error, "could not set TCP_NODELAY");
    }
    let tcp = tokio::select! {
        not_taken = upgrade_directly(tcp, &context) => match not_taken {
            Some(tcp) => tcp,
            None => return,
        },
        () = context.shutdown.cancelled() => return,
        () = tokio::time::sleep(HEADER_READ_TIMEOUT) => {
            debug!("no request arrived in time; closed");
            return;
        }
    };
    let service = HeadCounted {
        inner: hyper_util::service::TowerToHyperService::new(app),
        head: Mutex::new(head),
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                debug!(%error, "HTTP connection ended with an error");
            }
        }
        () = context.shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// A service that gives back its connection's [`Slot`] among unfinished requests when its first
/// request arrives (hyper calls it once the request's head is complete).
struct HeadCounted<S> {
    inner: S,
    head: Mutex<Option<Slot>>,
}

impl<S, B> hyper::service::Service<hyper::Request<B>> for HeadCounted<S>
where
    S: hyper::service::Service<hyper::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, request: hyper::Request<B>) -> Self::Future {
        drop(
            self.head
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take(),
        );
        self.inner.call(request)
    }
}
