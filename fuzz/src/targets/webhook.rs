//! The injection webhook's AdmissionReview decoder and decision, with a lookup that answers from memory.
use std::collections::{BTreeMap, BTreeSet};

use configsync_apimachinery::patch::apply_json_patch;
use configsync_operator::inject::SourceData;
use configsync_operator::refs::SourceId;
use configsync_operator::webhook::{Lookup, ReviewPolicy, review::review};

/// Answers every lookup at once: namespace labels that opt in, no sources.
struct NoCluster;

impl Lookup for NoCluster {
    async fn namespace_labels(&self, _name: &str) -> Result<BTreeMap<String, String>, kube::Error> {
        Ok(BTreeMap::from([(
            "configsync.dev/inject".to_owned(),
            "enabled".to_owned(),
        )]))
    }

    async fn sources(
        &self,
        _namespace: &str,
        _ids: &BTreeSet<SourceId>,
        _selector: Option<&str>,
    ) -> Result<SourceData, kube::Error> {
        Ok(SourceData::default())
    }
}

/// Decode an arbitrary body as an AdmissionReview and answer it, lenient and strict; a decoded review is
/// answered, a patch is only ever sent with `allowed: true`, and it applies to the pod.
pub fn admission_review(data: &[u8]) {
    for strict in [false, true] {
        let policy = ReviewPolicy {
            strict,
            ..ReviewPolicy::default()
        };
        let Ok(answer) = futures::executor::block_on(review(data, &NoCluster, &policy)) else {
            continue;
        };
        let Some(response) = answer.response else {
            panic!("a decoded review was answered without a response");
        };
        assert!(
            response.allowed || response.patch.is_none(),
            "a denied review carries a patch"
        );
        if let Some(patch) = &response.patch {
            assert_patch_applies(data, patch);
        }
    }
}

/// The apiserver applies the patch to the pod it sent; a patch that does not apply fails the pod's creation.
fn assert_patch_applies(body: &[u8], patch: &[u8]) {
    let Ok(review) = serde_json::from_slice::<serde_json::Value>(body) else {
        panic!("a patched review was not JSON");
    };
    let Ok(patch) = serde_json::from_slice::<serde_json::Value>(patch) else {
        panic!("the webhook sent a patch that is not JSON");
    };
    let pod = &review["request"]["object"];
    if let Err(error) = apply_json_patch(pod, &patch) {
        panic!("the webhook's patch does not apply to the pod: {error}");
    }
}
