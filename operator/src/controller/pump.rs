//! The one watch pump: feeds a watch's events, translated by the watch's own module, into the controller loop.
//!
//! Every failed attempt becomes one [`Input::WatchError`] (counted in the metrics on each retry); the log gets one
//! warning per outage, at its first failure, not one per retry: an absent CRD or an unreachable API fails every
//! backoff step and would otherwise fill the log. The next successful event ends the outage.
use futures::{Stream, StreamExt};
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;

use super::{Input, WatchId};

/// Feed `stream` into `input_tx` until the controller goes away; `translate` turns one event into inputs and keeps
/// whatever state the watch needs (the objects known, those seen in the current list). `what` names the watch in
/// the warning (`source`, `workload`, `ConfigSync`).
pub async fn pump<K>(
    id: WatchId,
    what: &'static str,
    stream: impl Stream<Item = Result<Event<K>, watcher::Error>>,
    mut translate: impl FnMut(Event<K>) -> Vec<Input>,
    input_tx: mpsc::Sender<Input>,
) {
    let mut stream = std::pin::pin!(stream);
    let mut outage = Outage::default();
    while let Some(event) = stream.next().await {
        let inputs = match event {
            Ok(event) => {
                outage.ended();
                translate(event)
            }
            Err(error) => {
                if outage.failed() {
                    tracing::warn!(watch = %id, %error, "{what} watch failed; retrying (logged once per outage)");
                }
                vec![Input::WatchError]
            }
        };
        for input in inputs {
            if input_tx.send(input).await.is_err() {
                return;
            }
        }
    }
}

/// Whether a watch is failing, to log an outage once.
#[derive(Debug, Default)]
struct Outage {
    failing: bool,
}

impl Outage {
    /// A failed attempt; `true` when it starts an outage (the one to log).
    fn failed(&mut self) -> bool {
        !std::mem::replace(&mut self.failing, true)
    }

    /// A successful event.
    fn ended(&mut self) {
        self.failing = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_reported_once_until_an_event_ends_it() {
        let mut outage = Outage::default();
        assert!(outage.failed(), "first failure starts the outage");
        assert!(!outage.failed(), "retries within it are not reported");
        outage.ended();
        assert!(outage.failed(), "a failure after recovery is a new outage");
    }

    #[tokio::test]
    async fn every_failure_and_every_translated_event_reaches_the_controller_in_order() {
        let events: Vec<Result<Event<String>, watcher::Error>> = vec![
            Err(watcher::Error::NoResourceVersion),
            Err(watcher::Error::NoResourceVersion),
            Ok(Event::Init),
            Ok(Event::InitDone),
        ];
        let id = WatchId::new("things", None);
        let (input_tx, mut input_rx) = mpsc::channel(16);
        let translate = {
            let id = id.clone();
            move |event: Event<String>| match event {
                Event::InitDone => vec![Input::Synced(id.clone())],
                _ => Vec::new(),
            }
        };
        pump(
            id.clone(),
            "thing",
            futures::stream::iter(events),
            translate,
            input_tx,
        )
        .await;
        let mut received = Vec::new();
        while let Some(input) = input_rx.recv().await {
            received.push(format!("{input:?}"));
        }
        assert_eq!(
            received,
            vec![
                format!("{:?}", Input::WatchError),
                format!("{:?}", Input::WatchError),
                format!("{:?}", Input::Synced(id)),
            ]
        );
    }
}
