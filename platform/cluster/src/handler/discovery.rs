//! Legacy (unaggregated) discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`.
//! Always `Content-Type: application/json`, even when aggregated discovery (`as=APIGroupDiscoveryList`) is
//! asked for: clients see it is not the aggregated form and fall back to these documents.
use super::respond::{self, Response};
use crate::request::Route;
use crate::state::State;
use crate::status::ApiError;
use configsync_apimachinery::registry;
use serde_json::Value;

/// Answer a discovery route.
pub fn serve(state: &State, route: &Route) -> Response {
    match route {
        Route::Version => respond::json(200, &registry::version_info()),
        Route::CoreVersions => respond::json(200, &registry::core_api_versions()),
        Route::Groups => respond::json(200, &registry::api_group_list(&state.resources())),
        Route::Group(group) => group_document(state, group),
        Route::ResourceList { group, version } => {
            let resources: Vec<_> = state
                .resources()
                .into_iter()
                .filter(|rt| &rt.group == group && &rt.version == version)
                .collect();
            if resources.is_empty() {
                return respond::error(&ApiError::unknown_resource());
            }
            respond::json(
                200,
                &registry::api_resource_list(group, version, &resources),
            )
        }
        _ => respond::text(404, "404 page not found"),
    }
}

/// `/apis/<group>`: the group's entry of the group list, as an `APIGroup`.
fn group_document(state: &State, group: &str) -> Response {
    let list = registry::api_group_list(&state.resources());
    let found = list
        .get("groups")
        .and_then(Value::as_array)
        .and_then(|groups| {
            groups
                .iter()
                .find(|entry| entry.get("name").and_then(Value::as_str) == Some(group))
        });
    match found {
        Some(entry) => {
            let mut document = entry.clone();
            document["kind"] = "APIGroup".into();
            document["apiVersion"] = "v1".into();
            respond::json(200, &document)
        }
        None => respond::error(&ApiError::unknown_resource()),
    }
}
