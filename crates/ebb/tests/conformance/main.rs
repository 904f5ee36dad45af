//! The HTTP conformance suite: the items of the checklist in `otter-api.md` §9 that need no
//! running members, plus Ebb's authentication, rate-limit and bad-input rules, each checked
//! against a real `ebb serve` on a free port. Test names start with the checklist item.

#[path = "../support/mod.rs"]
mod support;

mod auth;
mod bad_input;
mod execution;
mod groups;
mod launch;
mod lists;
mod openapi;
mod policies;
mod webhooks;
