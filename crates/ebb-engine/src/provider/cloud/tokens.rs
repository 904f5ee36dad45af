//! What identity said of the tokens presented to the API: an acceptance is kept until the
//! token expires, a refusal for a minute, so that a client repeating a token costs identity
//! one call; and at most a few calls a second per tenant, so that a caller inventing tokens
//! cannot make Ebb flood the tenant's identity endpoint.

use std::collections::HashMap;
use std::sync::Mutex;

use ebb_core::ids::TenantId;
use jiff::{SignedDuration, Timestamp};

/// How long a refusal is remembered.
const REFUSAL: SignedDuration = SignedDuration::from_secs(60);
/// Validations a tenant's tokens may cost identity each second.
pub const VALIDATIONS_PER_SECOND: u32 = 10;
/// Verdicts remembered before expired ones are dropped.
const REMEMBERED: usize = 10_000;

/// A token, by tenant and the hash of its secret.
type Key = (TenantId, String);

/// Identity's verdicts and the tenants' validation budgets.
#[derive(Default)]
pub struct Verdicts {
    /// Accepted or not, until when.
    verdicts: Mutex<HashMap<Key, (bool, Timestamp)>>,
    /// Per tenant: the second being counted, and the validations in it.
    spent: Mutex<HashMap<TenantId, (Timestamp, u32)>>,
}

impl Verdicts {
    /// The verdict on a token still standing at `now`, if any.
    pub fn known(&self, key: &Key, now: Timestamp) -> Option<bool> {
        let verdicts = self.verdicts.lock().ok()?;
        verdicts.get(key).filter(|(_, until)| *until > now).map(|(accepted, _)| *accepted)
    }

    /// Remembers an acceptance until `expires`, or a refusal for a minute.
    pub fn remember(&self, key: Key, accepted: Option<Timestamp>, now: Timestamp) {
        let Ok(mut verdicts) = self.verdicts.lock() else { return };
        if verdicts.len() >= REMEMBERED {
            verdicts.retain(|_, (_, until)| *until > now);
            if verdicts.len() >= REMEMBERED {
                verdicts.clear();
            }
        }
        let verdict = match accepted {
            Some(expires) => (true, expires),
            None => (false, now + REFUSAL),
        };
        verdicts.insert(key, verdict);
    }

    /// Takes one validation from the tenant's budget of this second; false when it is spent.
    pub fn spend(&self, tenant: &TenantId, now: Timestamp) -> bool {
        let Ok(mut spent) = self.spent.lock() else { return false };
        if spent.len() >= REMEMBERED {
            spent.clear();
        }
        let entry = spent.entry(tenant.clone()).or_insert((now, 0));
        if now.duration_since(entry.0) >= SignedDuration::from_secs(1) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= VALIDATIONS_PER_SECOND
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    #[test]
    fn acceptances_last_until_the_token_expires_and_refusals_a_minute() {
        let verdicts = Verdicts::default();
        let good = (TenantId::new("t"), "good".to_string());
        let bad = (TenantId::new("t"), "bad".to_string());
        verdicts.remember(good.clone(), Some(at(3600)), at(0));
        verdicts.remember(bad.clone(), None, at(0));
        assert_eq!((verdicts.known(&good, at(59)), verdicts.known(&bad, at(59))), (Some(true), Some(false)));
        assert_eq!((verdicts.known(&good, at(60)), verdicts.known(&bad, at(60))), (Some(true), None));
        assert_eq!(verdicts.known(&good, at(3600)), None, "expired");
    }

    #[test]
    fn each_tenant_may_spend_a_few_validations_a_second() {
        let verdicts = Verdicts::default();
        let (t, u) = (TenantId::new("t"), TenantId::new("u"));
        let allowed = (0..15).filter(|_| verdicts.spend(&t, at(0))).count();
        assert_eq!(allowed, VALIDATIONS_PER_SECOND as usize);
        assert!(verdicts.spend(&u, at(0)), "another tenant's budget is its own");
        assert!(verdicts.spend(&t, at(1)), "a new second, a new budget");
    }
}
