//! Nova as data: the name and body of a server a group creates — the launch configuration's
//! `server` passed through, its metadata merged with the group's keys (Otter §4.11) — and
//! the servers of a group read back from a listing, by that metadata alone.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// The metadata key that says which group a server belongs to.
pub const GROUP_KEY: &str = "rax:auto_scaling_group_id";
/// The same, under Otter's newer name.
pub const GROUP_KEY_NEW: &str = "rax:autoscale:group:id";

/// The metadata key that marks a server to be drained and deleted (Otter's).
pub const STATE_KEY: &str = "rax:autoscale:server:state";
/// When a server began draining (RFC 3339), kept with it.
pub const DRAINING_SINCE_KEY: &str = "ebb:draining_since";

/// Whether a metadata key is one Auto Scale sets (the group's, a load balancer's, a
/// server's state), which a server let go without deletion loses.
pub fn is_autoscale_key(key: &str) -> bool {
    key == GROUP_KEY || key.starts_with("rax:autoscale:") || key == DRAINING_SINCE_KEY
}

/// A server's name: the launch configuration's name and `-as` with 8 hex characters, or
/// `as` and them alone (Otter's formula: lowercase `as`, not truncated).
pub fn server_name(launch_name: Option<&str>, random: [u8; 4]) -> String {
    let hash: String = random.iter().map(|b| format!("{b:02x}")).collect();
    match launch_name.filter(|n| !n.is_empty()) {
        Some(name) => format!("{name}-as{hash}"),
        None => format!("as{hash}"),
    }
}

/// The body of `POST /servers`: the launch configuration's `server` as it is, named, with
/// the group's keys (and `extra`, a load balancer's) merged into its metadata.
pub fn create_body(server: &Value, group: &str, name: &str, extra: &[(String, String)]) -> Value {
    let mut server = server.clone();
    let Some(object) = server.as_object_mut() else { return json!({"server": server}) };
    object.insert("name".into(), json!(name));
    let metadata = object.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Some(metadata) = metadata.as_object_mut() {
        metadata.insert(GROUP_KEY.into(), json!(group));
        metadata.insert(GROUP_KEY_NEW.into(), json!(group));
        for (key, value) in extra {
            metadata.insert(key.clone(), json!(value));
        }
    }
    json!({ "server": server })
}

/// A server as a listing shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Nova's status (`BUILD`, `ACTIVE`, `ERROR`, …).
    pub status: String,
    /// When it was created.
    pub created: Option<Timestamp>,
    /// The group its metadata names, if any.
    pub group: Option<String>,
    /// Its ServiceNet (private) IPv4 address, if any.
    pub servicenet: Option<String>,
    /// Its metadata.
    pub metadata: Map<String, Value>,
    /// Its own URL in Nova (`links`, `rel: self`), if given.
    pub href: Option<String>,
}

impl Server {
    /// A server of a `/servers/detail` listing.
    pub fn parse(value: &Value) -> Option<Server> {
        let metadata = value["metadata"].as_object().cloned().unwrap_or_default();
        let group = [GROUP_KEY, GROUP_KEY_NEW].iter().find_map(|k| metadata.get(*k)?.as_str().map(str::to_string));
        let servicenet = value["addresses"]["private"]
            .as_array()
            .and_then(|addresses| addresses.iter().find(|a| a["version"] == 4)?["addr"].as_str().map(str::to_string));
        Some(Server {
            id: value["id"].as_str()?.to_string(),
            name: value["name"].as_str().unwrap_or_default().to_string(),
            status: value["status"].as_str().unwrap_or_default().to_string(),
            created: value["created"].as_str().and_then(|c| c.parse().ok()),
            group,
            servicenet,
            metadata,
            href: value["links"]
                .as_array()
                .and_then(|links| links.iter().find(|l| l["rel"] == "self")?["href"].as_str().map(str::to_string)),
        })
    }

    /// The servers of `group` in a `/servers/detail` answer.
    pub fn of_group(listing: &Value, group: &str) -> Vec<Server> {
        listing["servers"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(Server::parse)
            .filter(|s| s.group.as_deref() == Some(group))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_otters_formula() {
        assert_eq!(server_name(Some("web"), [0xde, 0xad, 0xbe, 0xef]), "web-asdeadbeef");
        assert_eq!(server_name(None, [0, 1, 2, 3]), "as00010203");
        assert_eq!(server_name(Some(""), [0, 1, 2, 3]), "as00010203");
    }

    #[test]
    fn the_launch_configurations_server_passes_through_with_the_groups_keys() {
        let server = json!({"name": "web", "flavorRef": "2", "imageRef": "img", "metadata": {"team": "blue"},
            "networks": [{"uuid": "11111111-1111-1111-1111-111111111111"}], "user_data": "aGk=",
            "OS-DCF:diskConfig": "MANUAL", "personality": [{"path": "/etc/x", "contents": "eA=="}]});
        let body = create_body(
            &server,
            "g1",
            "web-as00000001",
            &[("rax:autoscale:lb:CloudLoadBalancer:5".into(), "[{\"port\": 80}]".into())],
        );
        let sent = &body["server"];
        assert_eq!(sent["name"], "web-as00000001");
        assert_eq!(sent["metadata"]["team"], "blue");
        assert_eq!(
            (sent["metadata"][GROUP_KEY].as_str(), sent["metadata"][GROUP_KEY_NEW].as_str()),
            (Some("g1"), Some("g1"))
        );
        assert_eq!(sent["metadata"]["rax:autoscale:lb:CloudLoadBalancer:5"], "[{\"port\": 80}]");
        for key in ["flavorRef", "imageRef", "networks", "user_data", "OS-DCF:diskConfig", "personality"] {
            assert_eq!(sent[key], server[key], "{key} passes through");
        }
    }

    #[test]
    fn a_groups_servers_are_found_by_their_metadata() {
        let listing = json!({"servers": [
            {"id": "a", "name": "web-as1", "status": "ACTIVE", "created": "2026-12-05T10:00:00Z",
             "metadata": {GROUP_KEY: "g1"}, "addresses": {"private": [{"version": 4, "addr": "10.180.1.2"}], "public": []}},
            {"id": "b", "name": "other", "status": "BUILD", "metadata": {GROUP_KEY: "g2"}},
            {"id": "c", "name": "mine", "status": "ERROR", "metadata": {GROUP_KEY_NEW: "g1"}},
            {"id": "d", "name": "stray", "status": "ACTIVE"}]});
        let mine = Server::of_group(&listing, "g1");
        assert_eq!(mine.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(mine[0].servicenet.as_deref(), Some("10.180.1.2"));
        assert_eq!(mine[0].created, Some("2026-12-05T10:00:00Z".parse().unwrap()));
    }
}
