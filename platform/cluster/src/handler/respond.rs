//! Building responses: JSON bodies, `Status` errors, plain text, and streamed bodies (watch).
use crate::status::ApiError;
use bytes::Bytes;
use futures::Stream;
use http::{HeaderValue, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use serde_json::Value;
use std::convert::Infallible;

/// The response body type: a complete buffer or a stream of chunks.
pub type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;
/// A response.
pub type Response = http::Response<ResponseBody>;

/// A complete body.
pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).boxed_unsync()
}

fn with_type(code: u16, content_type: &'static str, body: ResponseBody) -> Response {
    let mut response = http::Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON response.
pub fn json(code: u16, value: &Value) -> Response {
    // Serializing a `Value` cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    with_type(code, "application/json", full(bytes))
}

/// A `Status` error response (with `Retry-After` for 429).
pub fn error(error: &ApiError) -> Response {
    let mut response = json(error.code, &error.to_status());
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A plain-text response.
pub fn text(code: u16, body: &'static str) -> Response {
    with_type(code, "text/plain; charset=utf-8", full(body))
}

/// An empty response with a given content type.
pub fn empty(code: u16, content_type: &'static str) -> Response {
    with_type(code, content_type, full(Bytes::new()))
}

/// A streamed JSON response: each item is one newline-terminated chunk.
pub fn stream(chunks: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    use futures::StreamExt;
    let frames = chunks.map(|chunk| Ok::<_, Infallible>(Frame::data(chunk)));
    let mut response = with_type(
        200,
        "application/json",
        StreamBody::new(frames).boxed_unsync(),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    response
}
