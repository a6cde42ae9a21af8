//! The rollout operator: content hashes of the config a workload consumes, stamped on its pod template.
#![forbid(unsafe_code)]
