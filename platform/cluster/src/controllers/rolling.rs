//! The Deployment rollout arithmetic of `kube-controller-manager`, as pure functions.
//!
//! One call of [`plan_rollout`] is one sync of the real controller: it returns at most one batch of ReplicaSet
//! scale changes, and the caller writes them and waits for the next event, exactly like the Go code returns after
//! scaling. The numbers follow `pkg/controller/deployment/{rolling,recreate}.go` and `util/deployment_util.go`:
//! `maxSurge` rounds up, `maxUnavailable` rounds down, and both zero means `maxUnavailable = 1`.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Kubernetes' default for both `maxSurge` and `maxUnavailable`.
pub const DEFAULT_ROLLING_PERCENT: &str = "25%";

/// How a Deployment replaces its pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Scale the new ReplicaSet up and the old ones down in steps bounded by surge and unavailability.
    RollingUpdate {
        /// How many pods above `replicas` may exist.
        max_surge: IntOrString,
        /// How many pods below `replicas` may be unavailable.
        max_unavailable: IntOrString,
    },
    /// Scale every old ReplicaSet to zero, then the new one up.
    Recreate,
}

/// What the planner needs to know about one ReplicaSet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsState {
    /// ReplicaSet name.
    pub name: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.replicas`: pods that exist.
    pub actual: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

/// One ReplicaSet scale change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scale {
    /// ReplicaSet to scale.
    pub name: String,
    /// New `spec.replicas`.
    pub replicas: i32,
}

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is, a percentage of `total` rounded up or down.
/// A malformed percentage resolves to zero rather than failing the sync.
pub fn scaled_value(value: &IntOrString, total: i32, round_up: bool) -> i32 {
    match value {
        IntOrString::Int(n) => *n,
        IntOrString::String(text) => {
            let percent: i64 = text
                .trim()
                .strip_suffix('%')
                .and_then(|digits| digits.parse().ok())
                .unwrap_or(0);
            let scaled = percent * i64::from(total);
            let value = if round_up {
                (scaled + 99).div_euclid(100)
            } else {
                scaled.div_euclid(100)
            };
            i32::try_from(value).unwrap_or(i32::MAX)
        }
    }
}

/// `ResolveFenceposts`: the absolute (surge, unavailable) for `replicas`, never both zero.
pub fn resolve_fenceposts(
    max_surge: &IntOrString,
    max_unavailable: &IntOrString,
    replicas: i32,
) -> (i32, i32) {
    let surge = scaled_value(max_surge, replicas, true).max(0);
    let unavailable = scaled_value(max_unavailable, replicas, false).max(0);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// `MaxUnavailable`: how many of `replicas` may be unavailable; zero for Recreate or no replicas.
pub fn max_unavailable(strategy: &Strategy, replicas: i32) -> i32 {
    match strategy {
        Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } if replicas > 0 => resolve_fenceposts(max_surge, max_unavailable, replicas)
            .1
            .min(replicas),
        _ => 0,
    }
}

/// `MaxSurge`: how many pods above `replicas` may exist; zero for Recreate.
pub fn max_surge(strategy: &Strategy, replicas: i32) -> i32 {
    match strategy {
        Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } => resolve_fenceposts(max_surge, max_unavailable, replicas).0,
        Strategy::Recreate => 0,
    }
}

/// `NewRSNewReplicas`: the size the new ReplicaSet may grow to now, given every ReplicaSet's `spec.replicas`.
pub fn new_rs_replicas(
    strategy: &Strategy,
    replicas: i32,
    new_rs_replicas: i32,
    all_spec_replicas: i32,
) -> i32 {
    match strategy {
        Strategy::Recreate => replicas,
        Strategy::RollingUpdate { .. } => {
            let max_total = replicas + max_surge(strategy, replicas);
            if all_spec_replicas >= max_total {
                return new_rs_replicas;
            }
            let scale_up = (max_total - all_spec_replicas).min(replicas - new_rs_replicas);
            new_rs_replicas + scale_up.max(0)
        }
    }
}

/// One sync of the rollout: the scale changes to write now, empty when the ReplicaSets already match the plan.
pub fn plan_rollout(
    strategy: &Strategy,
    replicas: i32,
    new_rs: &RsState,
    old: &[RsState],
) -> Vec<Scale> {
    match strategy {
        Strategy::Recreate => plan_recreate(replicas, new_rs, old),
        Strategy::RollingUpdate { .. } => {
            if let Some(scale) = reconcile_new(strategy, replicas, new_rs, old) {
                return vec![scale];
            }
            reconcile_old(strategy, replicas, new_rs, old)
        }
    }
}

fn plan_recreate(replicas: i32, new_rs: &RsState, old: &[RsState]) -> Vec<Scale> {
    let scale_down: Vec<Scale> = old
        .iter()
        .filter(|rs| rs.replicas > 0)
        .map(|rs| Scale {
            name: rs.name.clone(),
            replicas: 0,
        })
        .collect();
    if !scale_down.is_empty() {
        return scale_down;
    }
    // The new pods start only once every old pod is gone.
    if old.iter().any(|rs| rs.actual > 0) || new_rs.replicas == replicas {
        return Vec::new();
    }
    vec![Scale {
        name: new_rs.name.clone(),
        replicas,
    }]
}

/// `reconcileNewReplicaSet`.
fn reconcile_new(
    strategy: &Strategy,
    replicas: i32,
    new_rs: &RsState,
    old: &[RsState],
) -> Option<Scale> {
    if new_rs.replicas == replicas {
        return None;
    }
    let target = if new_rs.replicas > replicas {
        replicas
    } else {
        let all: i32 = old.iter().map(|rs| rs.replicas).sum::<i32>() + new_rs.replicas;
        new_rs_replicas(strategy, replicas, new_rs.replicas, all)
    };
    (target != new_rs.replicas).then(|| Scale {
        name: new_rs.name.clone(),
        replicas: target,
    })
}

/// `reconcileOldReplicaSets`: first unhealthy old replicas, then healthy ones down to `minAvailable`.
/// `old` must be sorted oldest first.
fn reconcile_old(
    strategy: &Strategy,
    replicas: i32,
    new_rs: &RsState,
    old: &[RsState],
) -> Vec<Scale> {
    let old_count: i32 = old.iter().map(|rs| rs.replicas).sum();
    if old_count == 0 {
        return Vec::new();
    }
    let all_count = old_count + new_rs.replicas;
    let min_available = replicas - max_unavailable(strategy, replicas);
    let new_unavailable = new_rs.replicas - new_rs.available;
    let max_scaled_down = all_count - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    let mut state: Vec<RsState> = old.to_vec();
    let mut scales = Vec::new();
    let mut cleaned = 0;
    for rs in state.iter_mut() {
        if cleaned >= max_scaled_down || rs.replicas == 0 || rs.available == rs.replicas {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(rs.replicas - rs.available);
        rs.replicas -= down;
        cleaned += down;
        scales.push(Scale {
            name: rs.name.clone(),
            replicas: rs.replicas,
        });
    }
    let available: i32 = state.iter().map(|rs| rs.available).sum::<i32>() + new_rs.available;
    let mut remaining = available - min_available;
    for rs in state.iter_mut() {
        if remaining <= 0 {
            break;
        }
        if rs.replicas == 0 {
            continue;
        }
        let down = rs.replicas.min(remaining);
        rs.replicas -= down;
        remaining -= down;
        scales.retain(|scale| scale.name != rs.name);
        scales.push(Scale {
            name: rs.name.clone(),
            replicas: rs.replicas,
        });
    }
    scales
}

#[cfg(test)]
#[path = "tests/rolling.rs"]
mod tests;
