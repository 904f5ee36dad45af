"""Drives Ebb's Auto Scale API with pyrax, configured the usual Rackspace way: it
authenticates against an identity endpoint and finds Auto Scale in the service catalog.

Usage: pyrax_drive.py IDENTITY_URL USERNAME API_KEY REGION IMAGE
Prints one JSON document: what pyrax saw at each step."""

import json
import sys

import pyrax

identity_url, username, api_key, region, image = sys.argv[1:]
pyrax.set_setting("identity_type", "rackspace")
pyrax.set_setting("auth_endpoint", identity_url)
pyrax.set_setting("region", region)
pyrax.set_credentials(username, api_key, region=region)
seen = {"tenant": pyrax.identity.tenant_id, "endpoint": pyrax.autoscale.management_url}

au = pyrax.autoscale
group = au.create(
    "pyrax-web",
    cooldown=0,
    min_entities=0,
    max_entities=5,
    launch_config_type="launch_server",
    server_name="pyrax",
    image=image,
    flavor="2",
    metadata={"client": "pyrax"},
)
seen["group"] = group.id
policy = group.add_policy("up two", "webhook", 0, 2)
policy.execute()
seen["desired"] = group.get_state()["desired_capacity"]
seen["groups"] = [g.id for g in au.list()]
print(json.dumps(seen))
