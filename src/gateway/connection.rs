//! What the server holds each HTTP/1 connection to beyond actix-http's own
//! timers ([`hold`], a middleware wrapped around the whole app): a request
//! body not read when its answer is sent closes the connection. actix-http
//! closes the connection after an answer whose request body it has not
//! fully received, unless the app has dropped that body and it is chunked:
//! then it reads and discards the rest of the body, for as long as the
//! client takes, with no timer, and serves the next request on the
//! connection. [`hold`] keeps the body alive until the answer has been
//! written, so a late body (408 `request_timeout`) or one a route did not
//! read closes the connection, chunked or not.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_core::Stream;

/// How long, after an answer sent before its request's body fully arrived,
/// what the client still sends is read and discarded before the connection
/// is closed.
pub(super) const LINGER: Duration = Duration::from_secs(1);

/// The middleware around the whole app: the request body is read through a
/// shared handle that the answer's body keeps until it has been written.
pub(super) async fn hold(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let payload = Rc::new(RefCell::new(req.take_payload()));
    let reader = SharedBody(Rc::clone(&payload));
    req.set_payload(Payload::from(Box::pin(reader) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>));
    let res = next.call(req).await?;
    Ok(res.map_into_boxed_body().map_body(|_, body| HeldBody { body, _payload: payload }))
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
/// connection if that body was not fully received) until it has been
/// written.
struct HeldBody {
    body: BoxBody,
    _payload: Rc<RefCell<Payload>>,
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
