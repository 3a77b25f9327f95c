//! Accepting connections and serving HTTP/1.1 on them with hyper, driven by hand.

use std::sync::atomic::{AtomicBool, Ordering};
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

/// Accepts connections and serves HTTP/1.1 on each (WebSocket upgrades included) until the
/// shutdown signal; then stops accepting and lets every HTTP connection finish gracefully.
/// A drain closes the listener at its start (see below).
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
    let fleet = context.rooms.fleet().clone();
    let mut listener = Some(listener);
    loop {
        tokio::select! {
            () = context.shutdown.cancelled() => break,
            // A draining process stops listening: a connection it took now would be cut when it
            // exits, and the kernel refuses one to a closed port at no cost to the process, where
            // an upgrade refused with 503 costs it a TCP handshake, an accept and a request, on
            // the core its handover runs on. The client (or a load balancer) goes to another
            // node at once either way. Connections already taken are served on.
            () = fleet.drained(), if listener.is_some() => {
                listener = None;
                debug!("draining: the public listener is closed");
            }
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = done
                    && error.is_panic()
                {
                    warn!(%error, "an HTTP connection's task panicked");
                }
            }
            accepted = next_connection(listener.as_ref()) => match accepted {
                Ok((tcp, peer)) => {
                    // An address with as many connections still sending their first request's
                    // head as it may: closed at once.
                    let Ok(head) = context.hold_unfinished_request(peer.ip()) else {
                        debug!("too many unfinished requests from one address; closed");
                        crate::metrics::admission_refused("unfinished_requests_per_address");
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

/// The next connection `listener` accepts; never, once it is closed.
async fn next_connection(
    listener: Option<&TcpListener>,
) -> std::io::Result<(TcpStream, std::net::SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Serves one HTTP/1.1 connection until it closes, is upgraded, or the server stops. `head` is
/// the connection's place among its address's unfinished requests, given back once its first
/// request's head is complete.
///
/// Its first request's head, from the accept to the blank line that ends it (a WebSocket
/// upgrade's included), must arrive within one deadline, `--request-head-seconds`, however it
/// trickles in: a first look waits for the first bytes under the deadline, and hyper, which
/// reads the rest, is cut off at the same deadline unless it has handed a complete request to
/// the service by then. Each later request on a kept-alive connection has as long again
/// (hyper's own header timeout, which counts from when it starts waiting for the next head).
async fn serve_http_connection(
    tcp: TcpStream,
    app: PeerRouter,
    context: Arc<App>,
    head: Option<Slot>,
) {
    let head_time = context.config.limits.request_head();
    let head_deadline = tokio::time::Instant::now() + head_time;
    // Small frames go out at once: with Nagle's algorithm a frame written while an earlier
    // one is unacknowledged waits for the peer's delayed ACK (tens of milliseconds).
    if let Err(error) = tcp.set_nodelay(true) {
        debug!(%error, "could not set TCP_NODELAY");
    }
    kernel_backstop(&tcp, context.config.limits.write_stall());
    let tcp = tokio::select! {
        not_taken = upgrade_directly(tcp, &context) => match not_taken {
            Some(tcp) => tcp,
            None => return,
        },
        () = context.shutdown.cancelled() => return,
        () = tokio::time::sleep_until(head_deadline) => {
            debug!("no request arrived in time; closed");
            return;
        }
    };
    let head_arrived = Arc::new(AtomicBool::new(false));
    let service = HeadCounted {
        inner: hyper_util::service::TowerToHyperService::new(app),
        head: Mutex::new(head),
        arrived: Arc::clone(&head_arrived),
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(head_time)
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
        () = first_head_late(head_deadline, &head_arrived) => {
            debug!("the first request's head did not arrive in time; closed");
        }
    }
}

/// How many write stall limits the kernel gives a peer that takes nothing (see
/// [`kernel_backstop`]).
pub const KERNEL_STALL_FACTOR: u32 = 6;

/// A backstop for the write stall limit, which the server can enforce only while it has
/// something to write: when the kernel holds what a client has not taken but the server has
/// nothing more for it (a quiet room), the kernel drops the connection once the peer has taken
/// nothing for [`KERNEL_STALL_FACTOR`] limits (`TCP_USER_TIMEOUT`: sent data unacknowledged,
/// or the peer's window shut, since Linux 5.11); the connection's task then reads an error and
/// leaves its room. The margin is wide because the kernel counts a shut window from the start
/// of a backlog while the peer takes it in pieces smaller than what waits to be sent, so a
/// client reading slowly through a long backlog would be dropped at one limit.
fn kernel_backstop(tcp: &TcpStream, stall: Duration) {
    let ms = stall
        .as_millis()
        .saturating_mul(u128::from(KERNEL_STALL_FACTOR));
    let ms = u32::try_from(ms).unwrap_or(u32::MAX);
    if let Err(error) = rustix::net::sockopt::set_tcp_user_timeout(tcp, ms) {
        debug!(%error, "could not set TCP_USER_TIMEOUT");
    }
}

/// Ends at `deadline` if the first request's head has not arrived by then; never otherwise.
async fn first_head_late(deadline: tokio::time::Instant, head_arrived: &AtomicBool) {
    tokio::time::sleep_until(deadline).await;
    if head_arrived.load(Ordering::Relaxed) {
        std::future::pending::<()>().await;
    }
}

/// A service that notes its connection's first request (hyper calls it once the request's head
/// is complete): it gives back the connection's [`Slot`] among unfinished requests, and sets
/// `arrived`, which ends the first head's deadline.
struct HeadCounted<S> {
    inner: S,
    head: Mutex<Option<Slot>>,
    arrived: Arc<AtomicBool>,
}

impl<S, B> hyper::service::Service<hyper::Request<B>> for HeadCounted<S>
where
    S: hyper::service::Service<hyper::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, request: hyper::Request<B>) -> Self::Future {
        self.arrived.store(true, Ordering::Relaxed);
        drop(
            self.head
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take(),
        );
        self.inner.call(request)
    }
}
