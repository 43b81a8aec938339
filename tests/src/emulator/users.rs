//! The people in the emulated directories: the default users, users with many groups, and the
//! multi-tenant preset (several work tenants plus personal Microsoft accounts).
//!
//! Default tenant (`contoso.example`), password `<local part>-password` for everyone:
//!
//! | user                          | groups | roles                          | email |
//! |-------------------------------|-------:|--------------------------------|-------|
//! | `alice@contoso.example`       |      3 | –                              | yes   |
//! | `bob@contoso.example`         |      0 | –                              | no    |
//! | `groups0@contoso.example`     |      0 | –                              | yes   |
//! | `groups150@contoso.example`   |    150 | –                              | yes   |
//! | `groups250@contoso.example`   |    250 | Global Reader                  | yes   |
//! | `groups1000@contoso.example`  |  1 000 | Global Reader, Reports Reader  | yes   |
//!
//! Above 200 groups the ID token carries the overage markers instead of `groups`, and Graph
//! is the only way to the list. [`EmulatorConfig::multi_tenant`] adds `frank@fabrikam.example`,
//! `wendy@woodgrove.example` and the personal account `pat@outlook.com`.

use super::config::{
    DirectoryRole, EmulatorConfig, Tenant, User, ALICE_GROUPS, CONSUMERS_TENANT_ID,
    DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME,
};
use super::ids::derived_guid;

/// A second work tenant (`fabrikam.example`) in [`EmulatorConfig::multi_tenant`].
pub const FABRIKAM_TENANT_ID: &str = "44444444-4444-4444-4444-444444444444";
/// A third work tenant (`woodgrove.example`), the one multi-tenant tests leave out of
/// `entra_id_allowed_tenants`.
pub const WOODGROVE_TENANT_ID: &str = "55555555-5555-5555-5555-555555555555";
/// Users of the default tenant with a given number of groups: (UPN, group count).
pub const GROUP_USERS: [(&str, usize); 4] = [
    ("groups0@contoso.example", 0),
    ("groups150@contoso.example", 150),
    ("groups250@contoso.example", 250),
    ("groups1000@contoso.example", 1000),
];
/// Object id of the Global Reader role in the default tenant.
pub const GLOBAL_READER_ROLE_ID: &str = "dddddddd-0000-4000-8000-000000000001";
/// Object id of the Reports Reader role in the default tenant.
pub const REPORTS_READER_ROLE_ID: &str = "dddddddd-0000-4000-8000-000000000002";

/// alice: has a mail address (distinct from her UPN) and three groups.
pub fn alice() -> User {
    User {
        username: "alice@contoso.example".to_string(),
        password: "alice-password".to_string(),
        tenant: DEFAULT_TENANT_ID.to_string(),
        oid: "aaaaaaaa-1111-4111-8111-000000000001".to_string(),
        name: "Alice Smith".to_string(),
        email: Some("alice.smith@contoso.example".to_string()),
        groups: ALICE_GROUPS.iter().map(|g| g.to_string()).collect(),
    }
}

/// bob: no mailbox, so no `email` claim; no groups.
pub fn bob() -> User {
    User {
        username: "bob@contoso.example".to_string(),
        password: "bob-password".to_string(),
        tenant: DEFAULT_TENANT_ID.to_string(),
        oid: "bbbbbbbb-2222-4222-8222-000000000002".to_string(),
        name: "Bob Jones".to_string(),
        email: None,
        groups: Vec::new(),
    }
}

/// The object id of `username`'s group number `index` as [`user_with_groups`] makes it: a
/// GUID derived from both, the same in every run.
pub fn group_id(username: &str, index: usize) -> String {
    derived_guid(&format!(
        "{}|group|{index}",
        username.trim().to_ascii_lowercase()
    ))
}

/// A user of the default tenant in `n` groups ([`group_id`]`(username, 0..n)`, in that
/// order), with a derived `oid`, password `<local part>-password` and email = UPN.
pub fn user_with_groups(username: &str, n: usize) -> User {
    let local = username.split('@').next().unwrap_or(username);
    User {
        username: username.to_string(),
        password: format!("{local}-password"),
        tenant: DEFAULT_TENANT_ID.to_string(),
        oid: derived_guid(&format!("{}|user", username.to_ascii_lowercase())),
        name: format!("{local} ({n} groups)"),
        email: Some(username.to_string()),
        groups: (0..n).map(|i| group_id(username, i)).collect(),
    }
}

/// The [`GROUP_USERS`], built with [`user_with_groups`].
pub fn group_users() -> Vec<User> {
    GROUP_USERS
        .iter()
        .map(|(name, n)| user_with_groups(name, *n))
        .collect()
}

/// The default tenant's directory roles: groups250 holds Global Reader, groups1000 holds
/// Global Reader and Reports Reader.
pub fn default_roles() -> Vec<DirectoryRole> {
    let oid = |name: &str| user_with_groups(name, 0).oid;
    let (g250, g1000) = (
        oid("groups250@contoso.example"),
        oid("groups1000@contoso.example"),
    );
    vec![
        DirectoryRole {
            id: GLOBAL_READER_ROLE_ID.to_string(),
            display_name: "Global Reader".to_string(),
            role_template_id: "f2ef992c-3afb-46b9-b7cf-a126ee74c451".to_string(),
            members: vec![g250, g1000.clone()],
        },
        DirectoryRole {
            id: REPORTS_READER_ROLE_ID.to_string(),
            display_name: "Reports Reader".to_string(),
            role_template_id: "4a5d8f65-41da-4de4-8968-e035b65339cf".to_string(),
            members: vec![g1000],
        },
    ]
}

/// frank: the fabrikam tenant's user, in one group.
pub fn fabrikam_user() -> User {
    User {
        username: "frank@fabrikam.example".to_string(),
        password: "frank-password".to_string(),
        tenant: FABRIKAM_TENANT_ID.to_string(),
        oid: "ffffffff-4444-4444-8444-000000000001".to_string(),
        name: "Frank Fabrikam".to_string(),
        email: Some("frank@fabrikam.example".to_string()),
        groups: vec!["ffffffff-0000-4000-8000-000000000001".to_string()],
    }
}

/// wendy: the woodgrove tenant's user.
pub fn woodgrove_user() -> User {
    User {
        username: "wendy@woodgrove.example".to_string(),
        password: "wendy-password".to_string(),
        tenant: WOODGROVE_TENANT_ID.to_string(),
        oid: "eeeeeeee-5555-4555-8555-000000000001".to_string(),
        name: "Wendy Woodgrove".to_string(),
        email: Some("wendy@woodgrove.example".to_string()),
        groups: Vec::new(),
    }
}

/// pat: a personal Microsoft account (tenant [`CONSUMERS_TENANT_ID`]); like real ones, the
/// `oid` starts with zeros and there are no groups.
pub fn personal_user() -> User {
    User {
        username: "pat@outlook.com".to_string(),
        password: "pat-password".to_string(),
        tenant: CONSUMERS_TENANT_ID.to_string(),
        oid: "00000000-0000-0000-5a1e-4c0de0f1ce01".to_string(),
        name: "Pat Personal".to_string(),
        email: Some("pat@outlook.com".to_string()),
        groups: Vec::new(),
    }
}

impl EmulatorConfig {
    /// Three work tenants and the consumers tenant, one multi-tenant client (the default
    /// one), and users in each: the default users (contoso), [`fabrikam_user`],
    /// [`woodgrove_user`] and [`personal_user`]. Sign in through `common` (anyone),
    /// `organizations` (work accounts) or `consumers` (pat); tokens name the user's tenant.
    pub fn multi_tenant() -> EmulatorConfig {
        let base = EmulatorConfig::default();
        let tenant = |id: &str, name: &str| Tenant {
            id: id.to_string(),
            name: name.to_string(),
        };
        EmulatorConfig {
            tenants: vec![
                tenant(DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME),
                tenant(FABRIKAM_TENANT_ID, "fabrikam.example"),
                tenant(WOODGROVE_TENANT_ID, "woodgrove.example"),
                tenant(CONSUMERS_TENANT_ID, "live.com"),
            ],
            users: [
                base.users.clone(),
                vec![fabrikam_user(), woodgrove_user(), personal_user()],
            ]
            .concat(),
            ..base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::ids::is_guid;
    use std::collections::HashSet;

    #[test]
    fn group_users_have_the_documented_counts_and_distinct_guid_groups() {
        let cfg = EmulatorConfig::default();
        let mut all = HashSet::new();
        for (name, n) in GROUP_USERS {
            let local = name.split('@').next().unwrap();
            let user = cfg.user(local).unwrap();
            assert_eq!(user.groups.len(), n, "{name}");
            assert_eq!(user.password, format!("{local}-password"));
            assert!(user.groups.iter().all(|g| is_guid(g)), "{name}");
            all.extend(user.groups.iter().cloned());
            assert_eq!(
                user.groups.first(),
                (n > 0).then(|| group_id(name, 0)).as_ref()
            );
        }
        assert_eq!(all.len(), 1400, "no group id repeats across users");
        assert_eq!(
            user_with_groups("x@y.example", 2),
            user_with_groups("x@y.example", 2)
        );
    }

    #[test]
    fn roles_belong_to_the_documented_users() {
        let cfg = EmulatorConfig::default();
        let roles = |name: &str| -> Vec<String> {
            let oid = &cfg.user(name).unwrap().oid;
            cfg.roles_of(oid)
                .iter()
                .map(|r| r.display_name.clone())
                .collect()
        };
        assert_eq!(roles("alice"), Vec::<String>::new());
        assert_eq!(roles("groups150"), Vec::<String>::new());
        assert_eq!(roles("groups250"), vec!["Global Reader"]);
        assert_eq!(roles("groups1000"), vec!["Global Reader", "Reports Reader"]);
    }

    #[test]
    fn multi_tenant_has_users_in_every_tenant() {
        let cfg = EmulatorConfig::multi_tenant();
        for t in &cfg.tenants {
            assert!(
                cfg.users.iter().any(|u| u.tenant == t.id),
                "no user in {}",
                t.id
            );
        }
        assert_eq!(cfg.tenants.len(), 4);
        assert_eq!(cfg.user("pat").unwrap().tenant, CONSUMERS_TENANT_ID);
    }
}
