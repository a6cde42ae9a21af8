//! The REST handler: one async function from a request to a (possibly streaming) response, shared by the
//! in-process `kube::Client` service and the HTTP server.
//!
//! ```text
//!  request ─► route (request::parse_path) ─┬─ discovery, /version, /healthz, /openapi/v2, fault admin, counts
//!                                          └─ resource ─► faults ─► verb (counted) ─► read | watch | write ─► State
//! ```
//!
//! `/openapi/v2` answers 200 with an empty body of type `application/com.github.proto-openapi.spec.v2.v1.0+protobuf`:
//! an empty gnostic Document. kubectl then has no schema, skips client-side validation, and `kubectl apply`
//! works without `--validate=false`; strategic merge patches are computed on the server from built-in knowledge.
//! `/openapi/v3` answers 404 so that clients fall back to v2.
mod body;
mod discovery;
mod read;
pub mod render;
pub mod respond;
mod watch;
mod write;

use crate::catalog::is_events_v1;
use crate::faults::Faults;
use crate::request::{Query, Route, Target, parse_path};
use crate::requests::{self, RequestCounts};
use crate::state::{State, WriteRequest};
use crate::status::ApiError;
use bytes::Bytes;
use configsync_apimachinery::{ResourceType, events};
use http::{Method, header};
use render::Shape;
pub use respond::{Response, ResponseBody};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Handler settings.
#[derive(Clone, Debug)]
pub struct HandlerSettings {
    /// How often watches that asked for bookmarks get one.
    pub bookmark_interval: Duration,
}

/// The API server's request handler.
#[derive(Clone)]
pub struct Handler {
    state: Arc<State>,
    faults: Faults,
    settings: HandlerSettings,
    requests: RequestCounts,
}

/// Everything about one resource request.
pub(crate) struct Ctx {
    method: Method,
    /// The addressed type (rendering).
    rt: ResourceType,
    /// The type whose storage and rules apply (core Events for `events.k8s.io`).
    storage_rt: ResourceType,
    target: Target,
    query: Query,
    shape: Shape,
    content_type: String,
    user_agent: String,
}

impl Ctx {
    fn namespace(&self) -> Option<&str> {
        if self.rt.namespaced {
            self.target.namespace.as_deref()
        } else {
            None
        }
    }

    /// A stored object as the client sees it.
    fn to_wire(&self, object: Value) -> Value {
        if is_events_v1(&self.rt) {
            events::to_events_v1(&object)
        } else {
            object
        }
    }

    /// A client's object in stored form.
    fn stored_form(&self, object: Value) -> Value {
        if is_events_v1(&self.rt) {
            events::to_core(&object)
        } else {
            object
        }
    }

    /// The field manager: `fieldManager`, else the User-Agent's first path segment.
    fn manager(&self) -> String {
        if let Some(manager) = self.query.non_empty("fieldManager") {
            return manager.to_owned();
        }
        let prefix = self.user_agent.split('/').next().unwrap_or("").trim();
        if prefix.is_empty() {
            "unknown".to_owned()
        } else {
            prefix.to_owned()
        }
    }

    fn dry_run(&self) -> Result<bool, ApiError> {
        match self.query.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "unsupported dry run value {other:?}: use All"
            ))),
        }
    }

    fn write_request<'a>(&'a self, manager: &'a str, dry_run: bool) -> WriteRequest<'a> {
        WriteRequest {
            rt: &self.storage_rt,
            namespace: self.namespace(),
            subresource: self.target.subresource.as_deref(),
            manager,
            dry_run,
            strict_fields: self.query.get("fieldValidation") == Some("Strict"),
        }
    }
}

impl Handler {
    /// A handler over `state`.
    pub fn new(state: Arc<State>, faults: Faults, settings: HandlerSettings) -> Self {
        Self {
            state,
            faults,
            settings,
            requests: RequestCounts::default(),
        }
    }

    /// Answer one request.
    pub async fn handle(&self, request: http::Request<Bytes>) -> Response {
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let response = self.route(request).await;
        tracing::debug!(%method, %uri, status = response.status().as_u16(), "request");
        response
    }

    async fn route(&self, request: http::Request<Bytes>) -> Response {
        let route = parse_path(request.uri().path());
        match route {
            Route::Resource(target) => {
                let is_write = request.method() != Method::GET;
                if let Some(fault) = self.faults.before_request(is_write).await {
                    return respond::error(&fault);
                }
                match self.resource(request, target).await {
                    Ok(response) => response,
                    Err(error) => respond::error(&error),
                }
            }
            Route::Health => respond::text(200, "ok"),
            Route::OpenApiV2 => respond::empty(
                200,
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            ),
            Route::Faults { close_watches } => {
                self.faults
                    .admin(request.method(), request.body(), close_watches)
            }
            Route::Requests => self.requests.admin(request.method()),
            Route::Unknown => respond::text(404, "404 page not found"),
            discovery_route => discovery::serve(&self.state, &discovery_route),
        }
    }

    async fn resource(
        &self,
        request: http::Request<Bytes>,
        target: Target,
    ) -> Result<Response, ApiError> {
        let rt = self
            .state
            .resolve(&target.group, &target.version, &target.plural)
            .ok_or_else(ApiError::unknown_resource)?;
        if target
            .subresource
            .as_deref()
            .is_some_and(|sub| !matches!(sub, "status" | "scale"))
        {
            return Err(ApiError::unknown_resource());
        }
        let storage_rt = if is_events_v1(&rt) {
            self.state
                .resolve("", "v1", "events")
                .unwrap_or_else(|| rt.clone())
        } else {
            rt.clone()
        };
        let header_text = |name: header::HeaderName| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let query = Query::parse(request.uri().query());
        let shape = Shape::negotiate(&header_text(header::ACCEPT), query.get("includeObject"));
        let ctx = Ctx {
            method: request.method().clone(),
            rt,
            storage_rt,
            query,
            shape,
            content_type: header_text(header::CONTENT_TYPE),
            user_agent: header_text(header::USER_AGENT),
            target,
        };
        let mut body = request.into_body();
        if self.creates(&ctx) {
            body = crate::admission::mutate_pod_create(
                &self.state,
                &ctx.storage_rt,
                ctx.namespace(),
                body,
            )
            .await?;
        }
        self.dispatch(ctx, body)
    }

    /// Whether the request creates an object, so that CREATE admission runs: a POST to a collection, or a
    /// server-side apply of a name that does not exist yet (kube-apiserver admits apply-creates as CREATE).
    fn creates(&self, ctx: &Ctx) -> bool {
        match (&ctx.method, ctx.target.name.as_deref()) {
            (&Method::POST, None) => true,
            (&Method::PATCH, Some(name)) => {
                ctx.content_type.starts_with("application/apply-patch")
                    && self
                        .state
                        .get(&ctx.storage_rt, ctx.namespace(), name)
                        .is_err()
            }
            _ => false,
        }
    }

    fn dispatch(&self, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
        let named = ctx.target.name.is_some();
        let watching = ctx.target.watch_prefix || ctx.query.flag("watch");
        self.requests.record(
            &ctx.user_agent,
            requests::verb(&ctx.method, named, watching),
        );
        match (ctx.method.as_str(), named) {
            ("GET", _) if watching => {
                watch::serve(self.state.clone(), &self.faults, &self.settings, ctx)
            }
            ("GET", false) => read::list(&self.state, &ctx),
            ("GET", true) => read::get(&self.state, &ctx),
            ("POST", false) => write::create(&self.state, &ctx, &body),
            ("PUT", true) => write::update(&self.state, &ctx, &body),
            ("PATCH", true) => write::patch(&self.state, &ctx, &body),
            ("DELETE", true) => write::delete(&self.state, &ctx, &body),
            ("DELETE", false) => write::delete_collection(&self.state, &ctx, &body),
            _ => Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            )),
        }
    }
}

#[cfg(test)]
mod tests;
