//! Reloader and wave manifests work unchanged, end to end on either backend (`CONFIGSYNC_REAL_K8S` chooses):
//! - `reloader.stakater.com/auto` on the pod template (not the workload) opts the workload in;
//! - `reloader.stakater.com/ignore` on a ConfigMap: its changes roll nothing;
//! - wave's `wave.pusher.com/extra-configmaps` with a `namespace/name` entry of the workload's own namespace is
//!   followed; an entry of another namespace gets an `InvalidAnnotation` Warning Event naming it;
//! - a regular expression in `configmap.reloader.stakater.com/reload` follows the referenced ConfigMaps whose
//!   whole name matches, and a malformed one gets an `InvalidAnnotation` Warning Event;
//! - `reloader.stakater.com/search` rolls a workload for the sources it reads that carry
//!   `reloader.stakater.com/match`, and for no other.
//!
//! Sync points: a later change that rolls a workload shows the earlier one was handled (changes are handled in
//! order), so "nothing rolled" is never a sleep.
mod support;

use serde_json::{Value, json};
use support::{Cluster, start, start_operator, wait_until};

const OBSERVED: &str = "/metadata/annotations/configsync.dev~1observed-hash";
const STAMP: &str = "/spec/template/metadata/annotations/configsync.dev~1config-hash";

fn deployment(name: &str, annotations: Value, template_annotations: Value, cm: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}, "annotations": template_annotations},
                "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1",
                    "envFrom": [{"configMapRef": {"name": cm}}]}]}}}})
}

fn config_map(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "annotations": annotations}, "data": {"v": "1"}})
}

fn text(cluster: &Cluster, name: &str, pointer: &str) -> Option<String> {
    let object = cluster.json(&["get", "deployment", name]);
    object.pointer(pointer)?.as_str().map(str::to_owned)
}

fn bump(cluster: &Cluster, cm: &str, value: &str) {
    cluster.merge_patch("configmap", cm, &json!({"data": {"v": value}}).to_string());
}

/// Wait until `name` is stamped with a record other than `before`.
fn wait_for_roll(cluster: &Cluster, name: &str, before: Option<&str>) -> String {
    let mut stamp = None;
    wait_until(&format!("{name} rolls"), || {
        stamp = text(cluster, name, STAMP);
        stamp.is_some() && stamp.as_deref() != before && stamp == text(cluster, name, OBSERVED)
    });
    stamp.unwrap_or_default()
}

#[test]
fn reloader_and_wave_annotations_work_unchanged() {
    let Some(cluster) = start() else { return };
    let ns = cluster.namespace.clone();
    for (file, object) in [
        ("app.json", config_map("app", json!({}))),
        (
            "quiet.json",
            config_map("quiet", json!({"reloader.stakater.com/ignore": "true"})),
        ),
        ("extra.json", config_map("extra", json!({}))),
        (
            "template.json",
            deployment(
                "on-template",
                json!({}),
                json!({"reloader.stakater.com/auto": "true"}),
                "app",
            ),
        ),
        (
            "ignored.json",
            deployment(
                "reads-quiet",
                json!({"reloader.stakater.com/auto": "true"}),
                json!({}),
                "quiet",
            ),
        ),
        (
            "wave.json",
            deployment(
                "wave",
                json!({"wave.pusher.com/update-on-config-change": "true",
            "wave.pusher.com/extra-configmaps": format!("{ns}/extra")}),
                json!({}),
                "app",
            ),
        ),
        (
            "foreign.json",
            deployment(
                "foreign",
                json!({"wave.pusher.com/update-on-config-change": "true",
            "wave.pusher.com/extra-configmaps": "elsewhere/extra"}),
                json!({}),
                "app",
            ),
        ),
    ] {
        // `apply_json` moves "namespace": "default" only; these carry none.
        cluster.apply_json(file, &object);
    }
    let _operator = start_operator(&cluster, &["--settle", "0s"]);
    for name in ["on-template", "reads-quiet", "wave"] {
        wait_until(&format!("{name} is adopted"), || {
            text(&cluster, name, OBSERVED).is_some()
        });
    }
    wait_until("the foreign entry is refused with a Warning", || {
        let events = cluster.ok(&[
            "get",
            "events",
            "--field-selector",
            "reason=InvalidAnnotation",
        ]);
        events.contains("elsewhere/extra") && events.contains("own namespace only")
    });
    assert_eq!(
        text(&cluster, "foreign", OBSERVED),
        None,
        "left alone until fixed"
    );

    // An ignored source rolls nothing; the later change of `app` rolls on-template (Reloader's opt-in on the
    // pod template), which shows the ignored change was handled first.
    bump(&cluster, "quiet", "2");
    bump(&cluster, "app", "2");
    wait_for_roll(&cluster, "on-template", None);
    assert_eq!(
        text(&cluster, "reads-quiet", STAMP),
        None,
        "an ignored source rolls nothing"
    );

    // wave's `<own namespace>/extra` is followed by name (the `app` change rolled it first: it reads `app`).
    let before = wait_for_roll(&cluster, "wave", None);
    bump(&cluster, "extra", "2");
    wait_for_roll(&cluster, "wave", Some(&before));
}

/// Reloader's `--namespaces-to-ignore`: a namespace the operator would watch is left out entirely.
#[test]
fn namespaces_to_ignore_are_never_watched() {
    let Some(cluster) = start() else { return };
    let ns = cluster.namespace.clone();
    let ignored = cluster.create_namespace("ignored");
    for namespace in [&ns, &ignored] {
        let mut cm = config_map("app", json!({}));
        cm["metadata"]["namespace"] = json!(namespace);
        let mut web = deployment(
            "web",
            json!({"configsync.dev/auto": "true"}),
            json!({}),
            "app",
        );
        web["metadata"]["namespace"] = json!(namespace);
        cluster.apply_json(&format!("{namespace}-cm.json"), &cm);
        cluster.apply_json(&format!("{namespace}-web.json"), &web);
    }
    let scope = format!("{ns},{ignored}");
    let _operator = start_operator(
        &cluster,
        &["--namespaces", &scope, "--namespaces-to-ignore", &ignored],
    );
    wait_until("web is adopted", || {
        text(&cluster, "web", OBSERVED).is_some()
    });
    // Adoptions are planned together once every watch has listed: the ignored one would be out by now.
    let other = cluster.json(&["get", "deployment", "web", "-n", &ignored]);
    assert_eq!(
        other.pointer(OBSERVED),
        None,
        "the ignored namespace is never touched"
    );
}

#[test]
fn reloader_reload_regular_expressions_select_referenced_sources() {
    let Some(cluster) = start() else { return };
    let reload = |pattern: &str| json!({"configmap.reloader.stakater.com/reload": pattern});
    for (file, object) in [
        ("app.json", config_map("app-settings", json!({}))),
        ("other.json", config_map("other-settings", json!({}))),
        (
            "match.json",
            deployment("by-regex", reload("app-.*"), json!({}), "app-settings"),
        ),
        (
            "anchored.json",
            deployment("anchored", reload("settings"), json!({}), "other-settings"),
        ),
        (
            "miss.json",
            deployment("regex-miss", reload("app-.*"), json!({}), "other-settings"),
        ),
        (
            "bad.json",
            deployment("bad-regex", reload("app-["), json!({}), "app-settings"),
        ),
    ] {
        cluster.apply_json(file, &object);
    }
    let _operator = start_operator(&cluster, &["--settle", "0s"]);
    wait_until("by-regex is adopted", || {
        text(&cluster, "by-regex", OBSERVED).is_some()
    });
    wait_until("the malformed expression is refused with a Warning", || {
        let events = cluster.ok(&[
            "get",
            "events",
            "--field-selector",
            "reason=InvalidAnnotation",
        ]);
        events.contains("app-[") && events.contains("not a valid regular expression")
    });

    // `other-settings` matches neither `app-.*` nor (anchored) `settings`; the later `app-settings` change
    // rolls by-regex, which shows the first change was handled before.
    bump(&cluster, "other-settings", "2");
    bump(&cluster, "app-settings", "2");
    wait_for_roll(&cluster, "by-regex", None);
    for name in ["regex-miss", "anchored", "bad-regex"] {
        assert_eq!(text(&cluster, name, STAMP), None, "{name} is not rolled");
    }
}

#[test]
fn reloader_search_rolls_only_for_matched_sources() {
    let Some(cluster) = start() else { return };
    let reads = |name: &str, annotations: Value, sources: &[&str]| {
        let mut object = deployment(name, annotations, json!({}), sources[0]);
        let env_from: Vec<Value> = sources
            .iter()
            .map(|cm| json!({"configMapRef": {"name": cm}}))
            .collect();
        object["spec"]["template"]["spec"]["containers"][0]["envFrom"] = json!(env_from);
        object
    };
    let search = json!({"reloader.stakater.com/search": "true"});
    for (file, object) in [
        (
            "tagged.json",
            config_map("tagged", json!({"reloader.stakater.com/match": "true"})),
        ),
        ("plain.json", config_map("plain", json!({}))),
        (
            "searcher.json",
            reads("searcher", search.clone(), &["tagged", "plain"]),
        ),
        ("untagged.json", reads("untagged", search, &["plain"])),
        (
            "auto.json",
            reads(
                "auto-reader",
                json!({"reloader.stakater.com/auto": "true"}),
                &["plain"],
            ),
        ),
    ] {
        cluster.apply_json(file, &object);
    }
    let _operator = start_operator(&cluster, &["--settle", "0s"]);
    for name in ["searcher", "auto-reader"] {
        wait_until(&format!("{name} is adopted"), || {
            text(&cluster, name, OBSERVED).is_some()
        });
    }

    // `plain` has no `match`: auto-reader rolls for it, the two search workloads do not.
    bump(&cluster, "plain", "2");
    wait_for_roll(&cluster, "auto-reader", None);
    for name in ["searcher", "untagged"] {
        assert_eq!(
            text(&cluster, name, STAMP),
            None,
            "{name} is not rolled by plain"
        );
    }

    // `tagged` has `match`: searcher rolls.
    bump(&cluster, "tagged", "2");
    wait_for_roll(&cluster, "searcher", None);
    assert_eq!(text(&cluster, "untagged", STAMP), None);
}
