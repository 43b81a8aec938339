//! The emulated directory of the bench: one user per group count, all in the default tenant,
//! with deterministic group object ids so cookie sizes are the same from run to run.

use entra_proxy_tests::emulator::{EmulatorConfig, User, DEFAULT_TENANT_ID};

/// The password of every bench user (the emulator's login form checks it).
pub const PASSWORD: &str = "bench-password";

/// Group counts of the per-request cost rows: a small tenant, the realistic session of row 3,
/// and a user past Entra's 200-group limit (overage: the ID token carries no groups).
pub const COST_GROUPS: [usize; 3] = [10, 150, 1000];

/// The group count of rows 3–6.
pub const MAIN_GROUPS: usize = 150;

/// Overage sizes whose sign-in time the issue asks for (they need Graph).
pub const OVERAGE_GROUPS: [usize; 3] = [250, 1000, 5000];

/// The sign-in name of the user with `groups` groups.
pub fn username(groups: usize) -> String {
    format!("g{groups}@contoso.example")
}

/// A user with `groups` groups.
pub fn user(groups: usize) -> User {
    User {
        username: username(groups),
        password: PASSWORD.to_string(),
        tenant: DEFAULT_TENANT_ID.to_string(),
        oid: format!("{:08x}-0000-4000-8000-{:012x}", groups, groups),
        name: format!("Bench User {groups}"),
        email: Some(format!("g{groups}@contoso.example")),
        groups: (0..groups).map(group_id).collect(),
    }
}

/// The `i`-th group's object id: a GUID with well-mixed hex digits (a counter in every field
/// would deflate far better than real, random object ids do).
pub fn group_id(i: usize) -> String {
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        // splitmix64: a fixed, well-distributed sequence; no RNG so runs are comparable.
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// The emulator's directory: every bench user, long-lived tokens (a long `BENCH_SECONDS` run
/// must not see its bearer token or oauth2 cookies expire mid-row), no automatic login.
pub fn emulator_config() -> EmulatorConfig {
    let mut counts: Vec<usize> = COST_GROUPS.iter().chain(&OVERAGE_GROUPS).copied().collect();
    counts.sort_unstable();
    counts.dedup();
    EmulatorConfig {
        users: counts.into_iter().map(user).collect(),
        token_lifetime: std::time::Duration::from_secs(12 * 3600),
        ..EmulatorConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_are_distinct_guids() {
        let ids: Vec<String> = (0..1000).map(group_id).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 1000);
        for id in &ids {
            let parts: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
        }
    }

    #[test]
    fn directory_has_one_user_per_group_count() {
        let cfg = emulator_config();
        for n in COST_GROUPS.iter().chain(&OVERAGE_GROUPS) {
            let u = cfg.user(&username(*n)).unwrap();
            assert_eq!(u.groups.len(), *n);
        }
        assert_eq!(cfg.users.len(), 5);
    }
}
