use super::*;

fn pct(text: &str) -> IntOrString {
    IntOrString::String(text.to_string())
}

fn rolling(surge: IntOrString, unavailable: IntOrString) -> Strategy {
    Strategy::RollingUpdate {
        max_surge: surge,
        max_unavailable: unavailable,
    }
}

fn rs(name: &str, replicas: i32, available: i32) -> RsState {
    RsState {
        name: name.to_string(),
        replicas,
        actual: replicas,
        available,
    }
}

#[test]
fn scaled_values_round_like_kubernetes() {
    let table = [
        (pct("25%"), 10, true, 3),
        (pct("25%"), 10, false, 2),
        (pct("25%"), 1, true, 1),
        (pct("25%"), 1, false, 0),
        (pct("50%"), 3, true, 2),
        (pct("50%"), 3, false, 1),
        (pct("100%"), 7, false, 7),
        (pct("0%"), 7, true, 0),
        (IntOrString::Int(2), 10, true, 2),
        (pct("nonsense"), 10, true, 0),
    ];
    for (value, total, round_up, expected) in table {
        assert_eq!(
            scaled_value(&value, total, round_up),
            expected,
            "{value:?} of {total} up={round_up}"
        );
    }
}

#[test]
fn fenceposts_never_both_zero() {
    assert_eq!(
        resolve_fenceposts(&IntOrString::Int(0), &IntOrString::Int(0), 3),
        (0, 1)
    );
    assert_eq!(resolve_fenceposts(&pct("25%"), &pct("25%"), 3), (1, 0));
    assert_eq!(resolve_fenceposts(&pct("25%"), &pct("25%"), 4), (1, 1));
    assert_eq!(resolve_fenceposts(&pct("0%"), &pct("10%"), 5), (0, 1));
}

#[test]
fn max_unavailable_is_capped_and_zero_for_recreate() {
    assert_eq!(
        max_unavailable(&rolling(IntOrString::Int(0), IntOrString::Int(9)), 3),
        3
    );
    assert_eq!(max_unavailable(&Strategy::Recreate, 3), 0);
    assert_eq!(max_unavailable(&rolling(pct("25%"), pct("25%")), 0), 0);
}

#[test]
fn fresh_deployment_scales_new_replicaset_to_replicas() {
    let strategy = rolling(pct("25%"), pct("25%"));
    let plan = plan_rollout(&strategy, 3, &rs("new", 0, 0), &[]);
    assert_eq!(
        plan,
        vec![Scale {
            name: "new".into(),
            replicas: 3
        }]
    );
}

#[test]
fn first_rolling_step_surges_then_waits_for_availability() {
    let strategy = rolling(pct("25%"), pct("25%"));
    // 3 replicas: surge 1, unavailable 0.
    let plan = plan_rollout(&strategy, 3, &rs("new", 0, 0), &[rs("old", 3, 3)]);
    assert_eq!(
        plan,
        vec![Scale {
            name: "new".into(),
            replicas: 1
        }]
    );
    // The surged pod is not available yet: nothing may be scaled down.
    assert!(plan_rollout(&strategy, 3, &rs("new", 1, 0), &[rs("old", 3, 3)]).is_empty());
    // Once it is available, one old pod goes.
    let plan = plan_rollout(&strategy, 3, &rs("new", 1, 1), &[rs("old", 3, 3)]);
    assert_eq!(
        plan,
        vec![Scale {
            name: "old".into(),
            replicas: 2
        }]
    );
}

#[test]
fn unhealthy_old_replicas_are_removed_first() {
    let strategy = rolling(IntOrString::Int(1), IntOrString::Int(1));
    // Old RS has 3 pods of which only 1 is available: the 2 broken ones may go at once.
    let plan = plan_rollout(&strategy, 3, &rs("new", 1, 1), &[rs("old", 3, 1)]);
    assert_eq!(
        plan,
        vec![Scale {
            name: "old".into(),
            replicas: 1
        }]
    );
}

#[test]
fn oldest_replicasets_scale_down_first() {
    let strategy = rolling(IntOrString::Int(0), IntOrString::Int(2));
    let plan = plan_rollout(
        &strategy,
        4,
        &rs("new", 4, 4),
        &[rs("oldest", 1, 1), rs("older", 3, 3)],
    );
    // available 8, min available 2: everything old may go, oldest first.
    assert_eq!(
        plan,
        vec![
            Scale {
                name: "oldest".into(),
                replicas: 0
            },
            Scale {
                name: "older".into(),
                replicas: 0
            }
        ]
    );
}

#[test]
fn new_replicaset_above_replicas_is_scaled_down() {
    let strategy = rolling(pct("25%"), pct("25%"));
    let plan = plan_rollout(&strategy, 2, &rs("new", 5, 5), &[]);
    assert_eq!(
        plan,
        vec![Scale {
            name: "new".into(),
            replicas: 2
        }]
    );
}

#[test]
fn recreate_scales_old_to_zero_before_starting_new() {
    let old = RsState {
        name: "old".into(),
        replicas: 3,
        actual: 3,
        available: 3,
    };
    let plan = plan_rollout(
        &Strategy::Recreate,
        3,
        &rs("new", 0, 0),
        std::slice::from_ref(&old),
    );
    assert_eq!(
        plan,
        vec![Scale {
            name: "old".into(),
            replicas: 0
        }]
    );
    let draining = RsState {
        replicas: 0,
        actual: 2,
        ..old.clone()
    };
    assert!(plan_rollout(&Strategy::Recreate, 3, &rs("new", 0, 0), &[draining]).is_empty());
    let drained = RsState {
        replicas: 0,
        actual: 0,
        ..old
    };
    let plan = plan_rollout(&Strategy::Recreate, 3, &rs("new", 0, 0), &[drained]);
    assert_eq!(
        plan,
        vec![Scale {
            name: "new".into(),
            replicas: 3
        }]
    );
}

/// Drives a whole rollout where pods become available as soon as they exist (or never), checking the
/// surge and availability bounds after every step. Returns (new, old) sizes when nothing changes any more.
fn simulate(strategy: &Strategy, replicas: i32, pods_become_available: bool) -> (i32, i32) {
    let surge = max_surge(strategy, replicas);
    let min_available = replicas - max_unavailable(strategy, replicas);
    let mut new_rs = rs("new", 0, 0);
    let mut old = vec![rs("old", replicas, replicas)];
    for _ in 0..100 {
        let plan = plan_rollout(strategy, replicas, &new_rs, &old);
        if plan.is_empty() {
            return (new_rs.replicas, old[0].replicas);
        }
        for scale in plan {
            if scale.name == "new" {
                new_rs.replicas = scale.replicas;
            } else {
                old[0].replicas = scale.replicas;
                old[0].available = old[0].available.min(scale.replicas);
            }
        }
        new_rs.available = if pods_become_available {
            new_rs.replicas
        } else {
            0
        };
        let total = new_rs.replicas + old[0].replicas;
        assert!(
            total <= replicas + surge,
            "{total} pods exceed {replicas}+{surge}"
        );
        assert!(
            new_rs.available + old[0].available >= min_available,
            "availability dropped below {min_available}"
        );
    }
    panic!("rollout did not settle");
}

#[test]
fn rollouts_complete_within_bounds() {
    let table = [
        (rolling(pct("25%"), pct("25%")), 3),
        (rolling(pct("25%"), pct("25%")), 10),
        (rolling(IntOrString::Int(0), IntOrString::Int(1)), 5),
        (rolling(IntOrString::Int(2), IntOrString::Int(0)), 5),
        (rolling(pct("100%"), pct("0%")), 4),
        (rolling(pct("0%"), pct("0%")), 1),
    ];
    for (strategy, replicas) in table {
        assert_eq!(
            simulate(&strategy, replicas, true),
            (replicas, 0),
            "{strategy:?} x{replicas}"
        );
    }
}

#[test]
fn rollout_with_broken_pods_stalls_without_losing_availability() {
    let strategy = rolling(pct("25%"), pct("25%"));
    // 4 replicas: surge 1, unavailable 1. The new pods never become available.
    let (new, old) = simulate(&strategy, 4, false);
    assert_eq!((new, old), (2, 3));
}
