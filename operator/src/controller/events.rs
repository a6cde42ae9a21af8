//! Publishing the Event texts [`crate::plan::event`] builds, through kube-runtime's `events::Recorder`
//! (`events.k8s.io/v1`, repeated Events become a series).
//!
//! The texts name sources, keys and short hashes only: no value can reach this module.
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType as KubeEventType, Recorder, Reporter};

use super::Access;
use crate::plan::event::{EventText, EventType};

/// What publishing Events needs from the API (the Recorder creates Events and patches a series).
pub const ACCESS: &[Access] = &[Access::new("events.k8s.io", "events", &["create", "patch"])];

/// The `reportingController` of every Event.
pub const REPORTER: &str = "configsync.dev/operator";

/// Publishes Events on workloads.
#[derive(Clone)]
pub struct Events {
    recorder: Recorder,
}

impl Events {
    /// A publisher reporting as [`REPORTER`] from `instance` (the pod name, when known).
    pub fn new(client: Client, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: REPORTER.to_owned(),
            instance,
        };
        Self {
            recorder: Recorder::new(client, reporter),
        }
    }

    /// Publish `text` on `regarding`. A failure is logged and returned; the caller counts it.
    ///
    /// # Errors
    /// The API error when the Event could not be written.
    pub async fn publish(
        &self,
        text: &EventText,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let event = Event {
            type_: match text.type_ {
                EventType::Normal => KubeEventType::Normal,
                EventType::Warning => KubeEventType::Warning,
            },
            reason: text.reason.to_owned(),
            note: Some(text.note.clone()),
            action: action_for(text.reason).to_owned(),
            secondary: None,
        };
        self.recorder
            .publish(&event, regarding)
            .await
            .inspect_err(|error| {
                tracing::warn!(reason = text.reason, %error, "publishing an Event failed");
            })
    }
}

/// The Event `action` for a reason.
fn action_for(reason: &str) -> &'static str {
    use crate::plan::event::reason;
    match reason {
        reason::ROLLED => "Rollout",
        reason::ADOPTED => "Adopt",
        reason::CHANGED => "Record",
        _ => "Reconcile",
    }
}
