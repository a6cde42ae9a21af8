//! watch: a newline-delimited JSON stream of `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}`.
//!
//! - no `resourceVersion` (or `0`): synthetic ADDED events for the current objects, then live events;
//! - `resourceVersion=N`: the retained events after N, then live; N older than the history answers one ERROR
//!   event carrying a 410 `Expired` Status (`too old resource version: N (M)`), as the apiserver does;
//! - `sendInitialEvents=true`: ADDED for the current objects, then a BOOKMARK annotated
//!   `k8s.io/initial-events-end: "true"`;
//! - `allowWatchBookmarks=true`: a BOOKMARK every bookmark interval with the latest revision processed;
//! - selectors apply to each event; an object that stops matching is sent as DELETED, one that starts
//!   matching as ADDED;
//! - the stream ends after `timeoutSeconds`, when faults close watches, or when the client goes away.
use super::read::Selectors;
use super::render::{self, Shape};
use super::respond::{self, Response};
use super::{Ctx, HandlerSettings};
use crate::faults::Faults;
use crate::meta;
use crate::state::Listing;
use crate::state::State;
use crate::status::ApiError;
use crate::store::{EventType, Expired, SharedEvent, StoreEvent, Subscription};
use bytes::Bytes;
use configsync_apimachinery::validation::FieldCause;
use futures::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

/// Which events one watch passes, and how it renders them.
struct Scope {
    ctx: Ctx,
    selectors: Selectors,
}

impl Scope {
    fn matches(&self, object: &Value) -> bool {
        let namespace_ok = self
            .ctx
            .namespace()
            .is_none_or(|ns| meta::meta_str(object, "namespace") == Some(ns));
        let name_ok = self
            .ctx
            .target
            .name
            .as_deref()
            .is_none_or(|name| meta::name(object) == name);
        namespace_ok && name_ok && self.selectors.matches(object)
    }

    /// The event a client sees for a store event, if any.
    fn translate(&self, event: &StoreEvent) -> Option<(&'static str, Value)> {
        let now = self.ctx.to_wire((*event.object).clone());
        let now_matches = self.matches(&now);
        let before_matched = event
            .previous
            .as_ref()
            .is_some_and(|previous| self.matches(&self.ctx.to_wire((**previous).clone())));
        let kind = match (event.kind, before_matched, now_matches) {
            (EventType::Added, _, true) => "ADDED",
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => return Some(("DELETED", self.left(event, &now))),
            (EventType::Deleted, _, true) => "DELETED",
            _ => return None,
        };
        Some((kind, now))
    }

    /// An object that stopped matching the selector, as the watch cache reports it: its last matching state
    /// stamped with the resourceVersion of the change.
    fn left(&self, event: &StoreEvent, now: &Value) -> Value {
        let Some(previous) = event.previous.as_ref() else {
            return now.clone();
        };
        let mut object = self.ctx.to_wire((**previous).clone());
        if let (Some(meta), Some(revision)) = (
            object.get_mut("metadata").and_then(Value::as_object_mut),
            meta::meta_str(now, "resourceVersion"),
        ) {
            meta.insert("resourceVersion".into(), Value::String(revision.to_owned()));
        }
        object
    }

    /// Synthetic ADDED events for the current objects.
    fn initial_lines(&self, listing: &Listing) -> Vec<Bytes> {
        let wire = listing
            .objects
            .iter()
            .map(|object| self.ctx.to_wire((**object).clone()));
        wire.filter(|object| self.matches(object))
            .map(|object| self.line("ADDED", object))
            .collect()
    }

    /// The events of a replay that this watch passes.
    fn replay_lines(&self, events: &[SharedEvent]) -> Vec<Bytes> {
        let passed = events.iter().filter_map(|event| self.translate(event));
        passed
            .map(|(kind, object)| self.line(kind, object))
            .collect()
    }

    fn line(&self, kind: &str, object: Value) -> Bytes {
        let revision = meta::meta_str(&object, "resourceVersion")
            .unwrap_or("")
            .to_owned();
        let rendered = render::object(self.ctx.shape, &self.ctx.rt, object, &revision);
        encode(kind, rendered)
    }

    fn bookmark(&self, revision: u64, initial_end: bool) -> Bytes {
        let (kind, api_version) = match self.ctx.shape {
            Shape::Metadata => (
                "PartialObjectMetadata".to_owned(),
                "meta.k8s.io/v1".to_owned(),
            ),
            _ => (self.ctx.rt.kind.clone(), self.ctx.rt.api_version()),
        };
        let mut metadata = json!({ "resourceVersion": revision.to_string() });
        if initial_end {
            metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        encode(
            "BOOKMARK",
            json!({ "kind": kind, "apiVersion": api_version, "metadata": metadata }),
        )
    }
}

fn encode(kind: &str, object: Value) -> Bytes {
    let mut line =
        serde_json::to_vec(&json!({ "type": kind, "object": object })).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn expired_line(expired: Expired) -> Bytes {
    encode("ERROR", ApiError::expired(expired.to_string()).to_status())
}

/// Options of one watch request.
struct WatchOptions {
    since: Option<u64>,
    send_initial: bool,
    bookmarks: bool,
    deadline: Option<Instant>,
}

/// kube-apiserver's `ValidateListOptions` for watches: `resourceVersionMatch` only with `sendInitialEvents`,
/// which needs `resourceVersionMatch=NotOlderThan` (422 otherwise). kube-apiserver v1.37 accepts it without
/// `allowWatchBookmarks` (and then sends no initial-events-end bookmark).
fn check_watch_options(ctx: &Ctx) -> Result<(), ApiError> {
    let forbidden = |field: &str, message: &str| FieldCause {
        reason: "FieldValueForbidden".into(),
        message: format!("Forbidden: {message}"),
        field: field.into(),
    };
    let mut causes = Vec::new();
    let matching = ctx.query.non_empty("resourceVersionMatch");
    if ctx.query.flag("sendInitialEvents") {
        if matching != Some("NotOlderThan") {
            let message = "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan";
            causes.push(forbidden("resourceVersionMatch", message));
        }
    } else if matching.is_some() {
        causes.push(forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden for watch",
        ));
    }
    if causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid("meta.k8s.io", "ListOptions", "", &causes))
}

fn options(ctx: &Ctx, faults: &Faults) -> Result<WatchOptions, ApiError> {
    check_watch_options(ctx)?;
    let send_initial = ctx.query.flag("sendInitialEvents");
    let since = match ctx.query.non_empty("resourceVersion") {
        None | Some("0") => None,
        Some(_) if send_initial => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?,
        ),
    };
    let timeout = ctx
        .query
        .number("timeoutSeconds")
        .map_err(ApiError::bad_request)?;
    let timeout = timeout
        .and_then(|seconds| u64::try_from(seconds).ok())
        .filter(|seconds| *seconds > 0);
    let close_every = faults
        .settings()
        .close_watches_every_seconds
        .filter(|seconds| *seconds > 0);
    let limit = [timeout, close_every].into_iter().flatten().min();
    Ok(WatchOptions {
        since,
        send_initial,
        bookmarks: ctx.query.flag("allowWatchBookmarks"),
        deadline: limit.map(|seconds| Instant::now() + Duration::from_secs(seconds)),
    })
}

pub(super) fn serve(
    state: Arc<State>,
    faults: &Faults,
    settings: &HandlerSettings,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let custom = state.is_custom(&ctx.rt.group, &ctx.rt.plural);
    let selectors = Selectors::parse(&ctx, custom)?;
    let options = options(&ctx, faults)?;
    let scope = Scope { ctx, selectors };
    let subscribed = state.watch(&scope.ctx.storage_rt, scope.ctx.namespace(), options.since);
    let (listing, subscription) = match subscribed {
        Ok(subscribed) => subscribed,
        Err(expired) => {
            let line = expired_line(expired);
            return Ok(respond::stream(futures::stream::once(async move { line })));
        }
    };
    let mut close_rx = faults.close_signal();
    close_rx.borrow_and_update();
    let mut first = Vec::new();
    if options.since.is_none() {
        first.extend(scope.initial_lines(&listing));
    }
    if options.send_initial && options.bookmarks {
        first.push(scope.bookmark(listing.revision, true));
    }
    first.extend(scope.replay_lines(&subscription.replay));
    let feed = Feed {
        state,
        scope,
        options,
        subscription,
        close_rx,
        interval: settings.bookmark_interval,
    };
    Ok(respond::stream(
        futures::stream::iter(first).chain(feed.live()),
    ))
}

/// The live part of a watch.
struct Feed {
    state: Arc<State>,
    scope: Scope,
    options: WatchOptions,
    subscription: Subscription,
    close_rx: tokio::sync::watch::Receiver<u64>,
    interval: Duration,
}

impl Feed {
    fn live(self) -> impl futures::Stream<Item = Bytes> + Send {
        let Self {
            state,
            scope,
            options,
            mut subscription,
            mut close_rx,
            interval,
        } = self;
        async_stream::stream! {
            let mut last = subscription.revision;
            let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
            let resource = crate::catalog::storage_key(&scope.ctx.storage_rt);
            loop {
                tokio::select! {
                    received = subscription.live.recv() => match received {
                        Ok(event) if event.revision <= last => {}
                        Ok(event) => {
                            last = event.revision;
                            if event.key.resource == resource
                                && let Some((kind, object)) = scope.translate(&event)
                            {
                                yield scope.line(kind, object);
                            }
                        }
                        Err(RecvError::Lagged(_)) => {
                            // Too slow for the broadcast: resume from the history, or end with 410.
                            match state.watch(&scope.ctx.storage_rt, scope.ctx.namespace(), Some(last)) {
                                Ok((_, resumed)) => {
                                    subscription = resumed;
                                    for line in scope.replay_lines(&subscription.replay) {
                                        yield line;
                                    }
                                    last = subscription.revision;
                                }
                                Err(expired) => {
                                    yield expired_line(expired);
                                    break;
                                }
                            }
                        }
                        Err(RecvError::Closed) => break,
                    },
                    _ = ticker.tick(), if options.bookmarks => yield scope.bookmark(last, false),
                    _ = close_rx.changed() => break,
                    _ = sleep_until(options.deadline) => break,
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
