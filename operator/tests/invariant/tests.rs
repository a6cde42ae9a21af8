//! The checker catches a missed and a spurious rollout, and accepts exactly-once.
use super::*;

fn map<V: Clone>(entries: &[(&str, V)]) -> BTreeMap<String, V> {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[test]
fn expected_rollouts_mark_changed_hashes_only() {
    let before = map(&[("a", "h1".to_owned()), ("b", "h2".to_owned())]);
    let after = map(&[("a", "h3".to_owned()), ("b", "h2".to_owned())]);
    assert_eq!(
        expected_rollouts(&before, &after),
        map(&[("a", 1u64), ("b", 0)])
    );
}

#[test]
fn observed_rollouts_are_generation_deltas() {
    let before = map(&[("a", 1i64), ("b", 4)]);
    let after = map(&[("a", 3i64), ("b", 4)]);
    assert_eq!(
        observed_rollouts(&before, &after),
        map(&[("a", 2u64), ("b", 0)])
    );
}

#[test]
fn exactly_once_holds() {
    let mut tally = Tally::default();
    tally.add_batch(&map(&[("a", 1), ("b", 0)]), &map(&[("a", 1), ("b", 0)]));
    assert!(tally.holds(), "{tally}");
    assert_eq!((tally.changes, tally.rollouts), (1, 1));
}

#[test]
fn a_missed_rollout_is_caught() {
    let mut tally = Tally::default();
    tally.add_batch(&map(&[("a", 1), ("b", 1)]), &map(&[("a", 1), ("b", 0)]));
    assert!(!tally.holds());
    assert_eq!((tally.missed, tally.spurious), (1, 0));
    assert!(tally.offenders.contains(&(0, "b".to_owned())));
}

#[test]
fn a_spurious_or_double_rollout_is_caught() {
    let mut tally = Tally::default();
    tally.add_batch(&map(&[("a", 1), ("b", 0)]), &map(&[("a", 2), ("b", 0)]));
    tally.add_batch(&map(&[("a", 0), ("b", 0)]), &map(&[("a", 0), ("b", 1)]));
    assert_eq!((tally.missed, tally.spurious), (0, 2), "{tally}");
    assert_eq!(tally.offenders.len(), 2);
    assert!(!tally.holds());
}

#[test]
fn a_late_rollout_counts_as_missed_then_spurious() {
    let mut tally = Tally::default();
    tally.add_batch(&map(&[("a", 1)]), &map(&[("a", 0)]));
    tally.add_batch(&map(&[("a", 0)]), &map(&[("a", 1)]));
    assert_eq!((tally.missed, tally.spurious), (1, 1));
}

#[test]
fn hash_mismatches_check_record_and_template() {
    let recomputed = map(&[
        ("rolled", "h2".to_owned()),
        ("steady", "h1".to_owned()),
        ("stale", "h3".to_owned()),
    ]);
    let live = |observed: &str, template: Option<&str>| drive::LiveHashes {
        observed: Some(observed.to_owned()),
        template: template.map(str::to_owned),
    };
    let lives = map(&[
        ("rolled", live("h2", Some("h2"))),
        ("steady", live("h1", None)),
        ("stale", live("h3", Some("h2"))),
    ]);
    let rolled: BTreeSet<String> = ["rolled".to_owned(), "stale".to_owned()].into();
    assert_eq!(hash_mismatches(&recomputed, &lives, &rolled), ["stale"]);
    let steady_rolled: BTreeSet<String> = ["steady".to_owned()].into();
    assert!(hash_mismatches(&recomputed, &lives, &steady_rolled).contains(&"steady".to_owned()));
}

#[test]
fn record_only_deployment_moves_are_discounted_and_flaps_are_not() {
    let live = |generation: i64, observed: &str, template: Option<&str>| drive::LiveWorkload {
        generation,
        hashes: drive::LiveHashes {
            observed: Some(observed.to_owned()),
            template: template.map(str::to_owned),
        },
    };
    let before = map(&[
        ("adopted", live(1, "h0", None)),
        ("rolled", live(1, "h0", None)),
        ("flapped", live(1, "h1", Some("h1"))),
        ("sts", live(1, "h0", None)),
    ]);
    let after = map(&[
        ("adopted", live(2, "h1", None)),
        ("rolled", live(2, "h1", Some("h1"))),
        ("flapped", live(4, "h2", Some("h1"))),
        ("sts", live(2, "h1", None)),
    ]);
    let deployments: BTreeSet<String> = ["adopted", "rolled", "flapped"].map(str::to_owned).into();
    let records = record_only_moves(&before, &after, &deployments);
    assert_eq!(records, map(&[("adopted", 1u64), ("flapped", 1)]));
    let gens = |s: &BTreeMap<String, drive::LiveWorkload>| {
        s.iter().map(|(n, l)| (n.clone(), l.generation)).collect()
    };
    let observed = discount(&observed_rollouts(&gens(&before), &gens(&after)), &records);
    let expected = map(&[("adopted", 0u64), ("rolled", 1), ("flapped", 2), ("sts", 1)]);
    assert_eq!(
        observed, expected,
        "only the adoption write is not a rollout"
    );
}
