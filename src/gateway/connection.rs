//! What the server holds each HTTP/1 connection to beyond actix-http's own
//! timers (a middleware wrapped around the whole app, [`hold`], and a
//! watchdog per connection, [`watch`], started by `HttpServer::on_connect`):
//!
//! - **A request body not read when its answer is sent closes the
//!   connection.** actix-http closes the connection after an answer whose
//!   request body it has not fully received, unless the app has dropped that
//!   body and it is chunked: then it reads and discards the rest of the body,
//!   for as long as the client takes, with no timer, and serves the next
//!   request on the connection. [`hold`] keeps the body alive until the
//!   answer has been written, so a late body (408 `request_timeout`) or one
//!   a route did not read closes the connection, chunked or not.
//! - **Every request head has a deadline.** actix-http times only a
//!   connection's first request head (`client_request_timeout`), and its
//!   keep-alive timer stops at the first byte of the next one, so a head
//!   sent one byte at a time after a first answer would hold the connection
//!   for ever. The watchdog closes a connection on which no request is being
//!   served once the head deadline has passed since its last answer was
//!   written (the first head stays actix-http's, which answers 408).
//!
//! The watchdog keeps a second handle to the connection's socket (so each
//! connection takes two file descriptors), dropped with the connection.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::rt::net::TcpStream;
use actix_web::rt::time::{sleep_until, Instant};
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_core::Stream;

/// How long a connection is kept open after an answer with no byte of a
/// next request arriving (HTTP keep-alive; the head deadline, if sooner,
/// closes it first).
pub(super) const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(5);

/// How long, after an answer sent before its request's body fully arrived,
/// what the client still sends is read and discarded before the connection
/// is closed.
pub(super) const LINGER: Duration = Duration::from_secs(1);

/// One connection's state, kept in its connection data: requests being
/// served, when its last answer was written, and the socket handle the
/// watchdog closes it with.
struct Watched {
    socket: std::net::TcpStream,
    serving: Cell<usize>,
    /// When the last answer was written; `None` before the first one (the
    /// first head is actix-http's to time).
    idle_since: Cell<Option<Instant>>,
}

/// The connection data [`watch`] leaves for [`hold`].
struct ConnectionWatch(Rc<Watched>);

/// The `HttpServer::on_connect` callback: starts a watchdog that closes the
/// connection once `head_deadline` has passed since its last answer with no
/// request being served (no request head arrived in full in time). A
/// connection whose socket cannot be duplicated (out of file descriptors) is
/// served unwatched, with a warning.
pub(super) fn watch(io: &dyn Any, data: &mut Extensions, head_deadline: Duration) {
    let Some(stream) = io.downcast_ref::<TcpStream>() else { return };
    let socket = match second_handle(stream) {
        Ok(socket) => socket,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch a connection's request heads: served without a deadline after its first request");
            return;
        }
    };
    let watched = Rc::new(Watched { socket, serving: Cell::new(0), idle_since: Cell::new(None) });
    actix_web::rt::spawn(watchdog(Rc::downgrade(&watched), head_deadline));
    data.insert(ConnectionWatch(watched));
}

/// A second handle to the connection's socket, for the watchdog to close
/// it with.
#[cfg(unix)]
fn second_handle(stream: &TcpStream) -> std::io::Result<std::net::TcpStream> {
    use std::os::fd::AsFd;
    Ok(stream.as_fd().try_clone_to_owned()?.into())
}

#[cfg(windows)]
fn second_handle(stream: &TcpStream) -> std::io::Result<std::net::TcpStream> {
    use std::os::windows::io::AsSocket;
    Ok(stream.as_socket().try_clone_to_owned()?.into())
}

#[cfg(not(any(unix, windows)))]
fn second_handle(_stream: &TcpStream) -> std::io::Result<std::net::TcpStream> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Wakes at the connection's head deadline (or every `head_deadline` while a
/// request is served) and closes it once the deadline has passed; ends when
/// the connection is gone.
async fn watchdog(watched: Weak<Watched>, head_deadline: Duration) {
    let mut wake = Instant::now() + head_deadline;
    loop {
        sleep_until(wake).await;
        let Some(conn) = watched.upgrade() else { return };
        let now = Instant::now();
        wake = match conn.idle_since.get() {
            Some(since) if conn.serving.get() == 0 => {
                let deadline = since + head_deadline;
                if deadline <= now {
                    tracing::debug!("no request head in time after the last answer: closing the connection");
                    if let Err(e) = conn.socket.shutdown(Shutdown::Both) {
                        tracing::debug!(error = %e, "closing a late connection");
                    }
                    return;
                }
                deadline
            }
            _ => now + head_deadline,
        };
    }
}

/// Marks a request as being served on its connection until dropped (with
/// the answer, once written).
struct Serving(Rc<Watched>);

impl Serving {
    fn start(conn: Rc<Watched>) -> Self {
        conn.serving.set(conn.serving.get() + 1);
        Self(conn)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.serving.set(self.0.serving.get().saturating_sub(1));
        self.0.idle_since.set(Some(Instant::now()));
    }
}

/// The middleware around the whole app: the request body is read through a
/// shared handle that the answer's body keeps until it has been written, and
/// the request counts as being served on its connection until then.
pub(super) async fn hold(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let serving = req.conn_data::<ConnectionWatch>().map(|watch| Serving::start(Rc::clone(&watch.0)));
    let payload = Rc::new(RefCell::new(req.take_payload()));
    let reader = SharedBody(Rc::clone(&payload));
    req.set_payload(Payload::from(Box::pin(reader) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>));
    let res = next.call(req).await?;
    Ok(res.map_into_boxed_body().map_body(|_, body| HeldBody { body, _payload: payload, _serving: serving }))
}

/// The request body, read through a handle [`HeldBody`] shares.
struct SharedBody(Rc<RefCell<Payload>>);

impl Stream for SharedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_next(cx)
    }
}

/// An answer's body that keeps its request's body (so actix-http closes the
/// connection if that body was not fully received) and its [`Serving`]
/// mark until it has been written.
struct HeldBody {
    body: BoxBody,
    _payload: Rc<RefCell<Payload>>,
    _serving: Option<Serving>,
}

impl MessageBody for HeldBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}
