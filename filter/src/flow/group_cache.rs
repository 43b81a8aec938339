//! Long group lists (a user in hundreds or thousands of groups) do not fit in a cookie: every
//! byte travels on every request, and browsers and proxies cap headers. The full list lives in
//! Envoy's shared data instead, and the cookie keeps a handle plus the groups authorization
//! needs. On a miss (another replica, a restart, a slot taken by someone else) the list is read
//! again from Graph with the session's access token.
//!
//! Shared data never expires, so the cache is a fixed number of slots chosen by the handle:
//! memory stays bounded, and a collision only costs a Graph refill.

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::session::Session;

use super::identity;
use super::store::SharedStore;

/// Number of slots (each holds one group list).
pub const SLOTS: u64 = 512;
/// Above this many groups the list moves to the cache.
pub const MAX_COOKIE_GROUPS: usize = 250;

/// Content handle of a group list.
pub fn handle(groups: &[String]) -> String {
    let digest = Sha256::digest(groups.join(",").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn slot_key(prefix: &str, handle: &str) -> String {
    let slot = u64::from_str_radix(handle.get(..8).unwrap_or("0"), 16).unwrap_or(0) % SLOTS;
    format!("{prefix}/groups/{slot}")
}

/// Store `groups` under `handle` (overwriting whatever shared the slot).
pub fn store_as(store: &dyn SharedStore, prefix: &str, handle: &str, groups: &[String]) {
    let value = format!("{handle}\n{}", groups.join(","));
    let _ = store.set(&slot_key(prefix, handle), value.as_bytes(), None);
}

/// The list stored under `handle`, if the slot still holds it.
pub fn load(store: &dyn SharedStore, prefix: &str, handle: &str) -> Option<Vec<String>> {
    let (value, _) = store.get(&slot_key(prefix, handle))?;
    let text = String::from_utf8(value).ok()?;
    let (stored, list) = text.split_once('\n')?;
    if stored != handle {
        return None;
    }
    Some(
        list.split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// Make a session fit its cookie: a long list goes to the cache (when a header wants it), and
/// the cookie keeps only the groups `allowed_groups` names.
pub fn for_cookie(
    config: &Config,
    store: &dyn SharedStore,
    prefix: &str,
    mut session: Session,
) -> Session {
    if session.groups.len() <= MAX_COOKIE_GROUPS {
        session.groups_ref = None;
        return session;
    }
    if identity::groups_header_wanted(config) {
        let handle = session
            .groups_ref
            .clone()
            .unwrap_or_else(|| handle(&session.groups));
        store_as(store, prefix, &handle, &session.groups);
        session.groups_ref = Some(handle);
    }
    session.groups.retain(|g| {
        config
            .allowed_groups
            .iter()
            .any(|a| a.eq_ignore_ascii_case(g))
    });
    session
}

/// The cache no longer holds a session's group list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("group list not in the cache")]
pub struct CacheMiss;

/// Put the full list back into a session read from a cookie.
pub fn expand(
    store: &dyn SharedStore,
    prefix: &str,
    session: &mut Session,
) -> Result<(), CacheMiss> {
    let Some(handle) = session.groups_ref.as_deref() else {
        return Ok(());
    };
    let groups = load(store, prefix, handle).ok_or(CacheMiss)?;
    session.groups = groups;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    use crate::flow::store::MemoryStore;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn lists_round_trip_and_a_taken_slot_is_a_miss() {
        let store = MemoryStore::default();
        let groups: Vec<String> = (0..1000).map(|i| format!("g-{i}")).collect();
        let h = handle(&groups);
        store_as(&store, "p", &h, &groups);
        assert_eq!(load(&store, "p", &h), Some(groups.clone()));
        // Another list lands in the same slot: ours is gone, and we notice.
        let key = slot_key("p", &h);
        store.0.borrow_mut().insert(key, (b"ffff\ng-x".to_vec(), 9));
        assert_eq!(load(&store, "p", &h), None);
    }
}
