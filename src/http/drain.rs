//! Graceful shutdown that answers every connection the kernel accepted.
//!
//! axum's own graceful shutdown drops the listener at the signal, and the
//! kernel resets every connection still in its accept queue; it then closes
//! every idle connection at once, so a client whose next request was already
//! on the wire (a keep-alive connection between two requests, or one accepted
//! but not yet read) sees a reset. Here shutdown goes in three steps:
//!
//! 1. At the signal, the connections waiting in the accept queue are taken
//!    and the listening socket is closed: a client that connects later is
//!    refused, which it can tell from a request lost.
//! 2. Every response from then on says `Connection: close`, and each open
//!    connection is left to send its next request, which is answered, until
//!    all have closed or [`IDLE_GRACE`] has passed.
//! 3. Then axum's graceful shutdown closes the connections still idle and
//!    waits for the requests in flight (each bounded by the request
//!    timeout).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::{Listener, ListenerExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

/// How long, after the signal, an idle keep-alive connection is left open
/// for its client's next request. A client under load sends one within
/// milliseconds; one that stays silent this long is closed while idle.
pub const IDLE_GRACE: Duration = Duration::from_secs(2);

/// Serves `router` on `listener` until `shutdown` completes, then drains as
/// the module says. `closing` must be the token [`close_after_response`]
/// was given.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    closing: CancellationToken,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let connections = TaskTracker::new();
    let drained = CancellationToken::new();
    let listener = Draining {
        listener: Some(listener),
        waiting: VecDeque::new(),
        closing: closing.clone(),
        drained: drained.clone(),
        connections: connections.clone(),
    }
    // A tapped listener gets axum's `ConnectInfo<SocketAddr>`.
    .tap_io(|_| {});
    let stop_serving = async move {
        shutdown.await;
        closing.cancel();
        drained.cancelled().await;
        connections.close();
        let _ = tokio::time::timeout(IDLE_GRACE, connections.wait()).await;
    };
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop_serving)
    .await
}

/// Middleware: once shutdown has begun (`closing` cancelled), every HTTP/1
/// response asks its client to close the connection, so no client sends
/// another request on a connection that is about to close. (HTTP/2 has no
/// such header; axum's shutdown sends it GOAWAY.)
pub async fn close_after_response(
    State(closing): State<CancellationToken>,
    request: Request,
    next: Next,
) -> Response {
    let http1 = request.version() <= Version::HTTP_11;
    let mut response = next.run(request).await;
    if http1 && closing.is_cancelled() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A listener that, once `closing` is cancelled, hands out what the kernel
/// had already accepted and then closes its socket (see the module).
struct Draining {
    listener: Option<TcpListener>,
    /// Connections taken from the accept queue at shutdown, not yet
    /// handed to axum.
    waiting: VecDeque<(TcpStream, SocketAddr)>,
    closing: CancellationToken,
    /// Cancelled when the socket is closed and every connection handed out.
    drained: CancellationToken,
    connections: TaskTracker,
}

impl Draining {
    /// Takes every connection waiting in the accept queue, then closes the
    /// socket. The socket is non-blocking, so the queue is read until it
    /// is empty without waiting for the runtime to say it is readable.
    fn drain(&mut self) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        let listener = match listener.into_std() {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot drain the accept queue");
                return;
            }
        };
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    let stream = stream
                        .set_nonblocking(true)
                        .and_then(|()| TcpStream::from_std(stream));
                    match stream {
                        Ok(stream) => self.waiting.push_back((stream, peer)),
                        Err(e) => tracing::warn!(error = %e, "a queued connection is lost"),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "draining the accept queue stopped");
                    break;
                }
            }
        }
        tracing::info!(
            queued = self.waiting.len(),
            "stopped accepting connections; answering those already accepted"
        );
    }

    fn tracked(&self, (stream, peer): (TcpStream, SocketAddr)) -> (Tracked, SocketAddr) {
        let tracked = Tracked {
            stream,
            _open: self.connections.token(),
        };
        (tracked, peer)
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl Listener for Draining {
    type Io = Tracked;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if self.closing.is_cancelled() {
                self.drain();
                if let Some(queued) = self.waiting.pop_front() {
                    return self.tracked(queued);
                }
                self.drained.cancel();
                return std::future::pending().await;
            }
            let Some(listener) = &self.listener else {
                return std::future::pending().await;
            };
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => return self.tracked(accepted),
                    Err(e) if is_connection_error(&e) => {}
                    Err(e) => {
                        // Out of file descriptors, say: wait for some to be
                        // freed (as hyper and axum do).
                        tracing::error!(error = %e, "accept error");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
                () = self.closing.cancelled() => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        match &self.listener {
            Some(listener) => listener.local_addr(),
            None => Err(io::Error::other("the listener is closed")),
        }
    }
}

/// A connection, counted open until it is dropped.
pub struct Tracked {
    stream: TcpStream,
    _open: TaskTrackerToken,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
