//! `configsync preflight`: before replacing Reloader or wave, list every workload that carries their annotations
//! and what configsync will do with each (the decision of `configsync explain`, through the operator's own
//! annotation parsing).

use configsync_crds::WorkloadKind;
use configsync_operator::explain::{Migration, migration};

use super::explain::{OperatorFlags, Output, World, list_workloads, print};
use super::kube_args::{KubeArgs, Scope};

/// List workloads with Reloader or wave annotations and what configsync will do with each.
#[derive(Debug, clap::Args)]
pub struct PreflightArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    output: Output,
    #[command(flatten)]
    operator: OperatorFlags,
    #[command(flatten)]
    kube: KubeArgs,
}

impl PreflightArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        let (client, scope) = self.kube.connect().await?;
        let namespace = match &scope {
            Scope::Namespace(namespace) => Some(namespace.as_str()),
            Scope::All => None,
        };
        let world = World::fetch(&client, namespace, &self.operator).await?;
        let mut entries: Vec<Migration> = Vec::new();
        for kind in WorkloadKind::ALL {
            for fetched in list_workloads(&client, kind, namespace, self.operator.auto_all).await? {
                let explanation = world.explain(&fetched);
                let keys = fetched.annotation_keys.iter().map(String::as_str);
                entries.extend(migration(&explanation, keys));
            }
        }
        print(&entries, self.output, print_text)
    }
}

fn print_text(entries: &Vec<Migration>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    if entries.is_empty() {
        return writeln!(out, "No workload carries Reloader or wave annotations.");
    }
    for entry in entries {
        let w = &entry.workload;
        let verdict = if entry.next_change.rolls {
            "rolls on change"
        } else {
            "does not roll"
        };
        writeln!(out, "{} {}/{}: {verdict}", w.kind, w.namespace, w.name)?;
        writeln!(out, "  annotations: {}", entry.annotations.join(", "))?;
        if !entry.follows.is_empty() {
            writeln!(out, "  follows: {}", entry.follows.join(", "))?;
        }
        for finding in &entry.next_change.reasons {
            writeln!(out, "  {:?}: {}", finding.reason, finding.message)?;
        }
    }
    Ok(())
}
