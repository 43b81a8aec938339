//! Microsoft Graph over HTTP: paging, selection, the membership actions and authorization.

use serde_json::json;

use super::*;
use crate::emulator::{group_id, EmulatorConfig, GLOBAL_READER_ROLE_ID, REPORTS_READER_ROLE_ID};

const G250: &str = "groups250@contoso.example";
const G1000: &str = "groups1000@contoso.example";

fn members_url(emu: &Emulator, query: &str) -> String {
    format!("{}/v1.0/me/transitiveMemberOf{query}", emu.graph_base_url())
}

fn token(emu: &Emulator, user: &str, scope: &str) -> String {
    emu.issue_access_token(user, DEFAULT_CLIENT_ID, scope)
}

fn graph_get(url: &str, token: &str) -> Resp {
    get_with(
        url,
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("ConsistencyLevel", "eventual"),
        ],
    )
}

fn graph_post(emu: &Emulator, action: &str, token: &str, body: Value) -> Resp {
    post_json(
        &format!("{}/v1.0/me/{action}", emu.graph_base_url()),
        &body,
        &[("Authorization", &format!("Bearer {token}"))],
    )
}

/// Follows `@odata.nextLink` from `url`; returns every page.
fn walk(url: &str, token: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut next = Some(url.to_string());
    while let Some(url) = next {
        let resp = graph_get(&url, token);
        assert_eq!(resp.status, 200, "{url}: {}", resp.body);
        let page = resp.json();
        next = page["@odata.nextLink"].as_str().map(str::to_string);
        pages.push(page);
        assert!(pages.len() <= 1000, "runaway paging");
    }
    pages
}

fn ids_of(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p["value"].as_array().unwrap().clone())
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn signed_in_user_pages_through_groups_and_roles_with_next_links() {
    let emu = Emulator::start(EmulatorConfig::default());
    let resp = sign_in(
        &emu,
        DEFAULT_TENANT_ID,
        G250,
        "groups250-password",
        "openid profile User.Read",
    );
    let access = resp.json()["access_token"].as_str().unwrap().to_string();

    let pages = walk(&members_url(&emu, "?$select=id&$top=100"), &access);
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["value"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![100, 100, 51]);
    let first_link = pages[0]["@odata.nextLink"].as_str().unwrap();
    assert!(
        first_link.starts_with(&format!(
            "{}/v1.0/me/transitiveMemberOf?$select=id&$top=100&$skiptoken=",
            emu.graph_base_url()
        )),
        "{first_link}"
    );
    assert!(pages[2].get("@odata.nextLink").is_none());

    let user = emu.config().user(G250).unwrap().clone();
    let mut want = user.groups.clone();
    want.push(GLOBAL_READER_ROLE_ID.to_string());
    assert_eq!(ids_of(&pages), want);
    // Group 230 is on page 3, next to the role.
    let third = pages[2]["value"].as_array().unwrap();
    assert!(third.iter().any(|o| o["id"] == json!(group_id(G250, 230))));
    assert_eq!(
        third.last().unwrap(),
        &json!({"@odata.type": "#microsoft.graph.directoryRole", "id": GLOBAL_READER_ROLE_ID})
    );
    assert_eq!(
        third[0],
        json!({"@odata.type": "#microsoft.graph.group", "id": group_id(G250, 200)})
    );
    assert_eq!(
        pages[0]["@odata.context"],
        format!("{}/v1.0/$metadata#directoryObjects(id)", emu.base_url())
    );
}

#[test]
fn page_size_follows_top_the_default_and_the_configured_limit() {
    let capped = Emulator::start(EmulatorConfig {
        graph_page_limit: 120,
        ..EmulatorConfig::default()
    });
    let emu = Emulator::start(EmulatorConfig::default());
    // (emulator, user, query, page sizes)
    let cases: [(&Emulator, &str, &str, Vec<usize>); 5] = [
        (&emu, G1000, "?$select=id&$top=999", vec![999, 3]),
        (
            &emu,
            G1000,
            "?$select=id",
            vec![100; 10].into_iter().chain([2]).collect(),
        ),
        (&emu, G250, "?$top=1", vec![1; 251]),
        (&capped, G250, "?$select=id&$top=999", vec![120, 120, 11]),
        (&emu, "alice", "", vec![3]),
    ];
    for (e, user, query, want) in cases {
        let t = token(e, user, "openid User.Read");
        let pages = walk(&members_url(e, query), &t);
        let sizes: Vec<usize> = pages
            .iter()
            .map(|p| p["value"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, want, "{user} {query}");
    }
    let t = token(&emu, G1000, "User.Read");
    let ids = ids_of(&walk(&members_url(&emu, "?$select=id&$top=999"), &t));
    assert_eq!(
        &ids[1000..],
        [GLOBAL_READER_ROLE_ID, REPORTS_READER_ROLE_ID]
    );
}

#[test]
fn select_shapes_items_and_the_group_cast_drops_roles() {
    let emu = Emulator::start(EmulatorConfig::default());
    let t = token(&emu, G1000, "User.Read");
    let full = graph_get(&members_url(&emu, "?$top=999"), &t).json();
    let group = &full["value"][0];
    assert_eq!(group["@odata.type"], "#microsoft.graph.group");
    assert_eq!(group["securityEnabled"], true);
    assert!(group["displayName"].is_string());
    let named = walk(&members_url(&emu, "?$select=id,displayName&$top=999"), &t);
    let role = named[1]["value"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        role,
        json!({"@odata.type": "#microsoft.graph.directoryRole", "id": REPORTS_READER_ROLE_ID, "displayName": "Reports Reader"})
    );
    let cast = format!(
        "{}/v1.0/me/transitiveMemberOf/microsoft.graph.group?$select=id&$top=999",
        emu.graph_base_url()
    );
    let groups = ids_of(&walk(&cast, &t));
    assert_eq!(groups, emu.config().user(G1000).unwrap().groups);
}

#[test]
fn bad_queries_are_graph_errors_with_request_ids() {
    let emu = Emulator::start(EmulatorConfig::default());
    let t = token(&emu, G250, "User.Read");
    let other = token(&emu, G1000, "User.Read");
    let page1 = graph_get(&members_url(&emu, "?$top=5"), &other).json();
    let foreign_link = page1["@odata.nextLink"].as_str().unwrap().to_string();
    let foreign_skip = foreign_link
        .split("$skiptoken=")
        .nth(1)
        .unwrap()
        .to_string();
    // (query, status, code)
    let cases = [
        ("?$top=0".to_string(), 400, "Request_BadRequest"),
        ("?$top=1000".to_string(), 400, "Request_BadRequest"),
        ("?$top=ten".to_string(), 400, "Request_BadRequest"),
        ("?$select=id,mail".to_string(), 400, "Request_BadRequest"),
        (
            "?$filter=startswith(displayName,'a')".to_string(),
            400,
            "Request_UnsupportedQuery",
        ),
        (
            "?$skiptoken=bm9wZQ".to_string(),
            400,
            "Directory_ExpiredPageToken",
        ),
        (
            format!("?$skiptoken={foreign_skip}"),
            400,
            "Directory_ExpiredPageToken",
        ),
    ];
    for (query, status, code) in cases {
        let resp = get_with(
            &members_url(&emu, &query),
            &[
                ("Authorization", &format!("Bearer {t}")),
                ("client-request-id", "11112222-3333-4444-5555-666677778888"),
            ],
        );
        assert_eq!(resp.status, status, "{query}: {}", resp.body);
        let body = resp.json();
        assert_eq!(body["error"]["code"], code, "{query}");
        let inner = &body["error"]["innerError"];
        assert_eq!(
            inner["client-request-id"],
            "11112222-3333-4444-5555-666677778888"
        );
        assert_eq!(resp.header("request-id"), inner["request-id"].as_str());
        assert_eq!(
            resp.header("client-request-id"),
            Some("11112222-3333-4444-5555-666677778888")
        );
        assert!(inner["date"].as_str().unwrap().contains('T'));
    }
    let wrong_path = graph_get(&format!("{}/v1.0/me/nothing", emu.graph_base_url()), &t);
    assert_eq!(
        (
            wrong_path.status,
            wrong_path.json()["error"]["code"].as_str()
        ),
        (400, Some("BadRequest"))
    );
    let wrong_method = graph_get(
        &format!("{}/v1.0/me/checkMemberGroups", emu.graph_base_url()),
        &t,
    );
    assert_eq!(wrong_method.status, 405);
}

#[test]
fn check_member_groups_answers_which_of_at_most_twenty() {
    let emu = Emulator::start(EmulatorConfig::default());
    let t = token(&emu, G250, "openid User.Read");
    let outsider = "cccccccc-0000-4000-8000-000000000000";
    let on_page_three = group_id(G250, 230);
    let resp = graph_post(
        &emu,
        "checkMemberGroups",
        &t,
        json!({"groupIds": [outsider, on_page_three, GLOBAL_READER_ROLE_ID, group_id(G250, 0)]}),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.json()["value"],
        json!([on_page_three, group_id(G250, 0)])
    );
    assert!(resp.header("request-id").is_some());

    let twenty_one: Vec<String> = (0..21).map(|i| group_id(G250, i)).collect();
    let too_many = graph_post(
        &emu,
        "checkMemberGroups",
        &t,
        json!({"groupIds": twenty_one}),
    );
    assert_eq!(too_many.status, 400);
    assert_eq!(too_many.json()["error"]["code"], "Request_BadRequest");
    let twenty: Vec<String> = (0..20).map(|i| group_id(G250, i)).collect();
    let ok = graph_post(
        &emu,
        "checkMemberGroups",
        &t,
        json!({"groupIds": twenty.clone()}),
    );
    assert_eq!(ok.json()["value"], json!(twenty));
}

#[test]
fn get_member_objects_lists_everything_in_one_answer() {
    let emu = Emulator::start(EmulatorConfig::default());
    let t = token(&emu, G1000, "User.Read");
    let user = emu.config().user(G1000).unwrap().clone();
    let security = graph_post(
        &emu,
        "getMemberObjects",
        &t,
        json!({"securityEnabledOnly": true}),
    );
    assert_eq!(security.status, 200, "{}", security.body);
    assert_eq!(security.json()["value"], json!(user.groups));
    let all = graph_post(
        &emu,
        "getMemberObjects",
        &t,
        json!({"securityEnabledOnly": false}),
    )
    .json();
    assert_eq!(all["value"].as_array().unwrap().len(), 1002);
    let missing = graph_post(&emu, "getMemberObjects", &t, json!({}));
    assert_eq!(missing.status, 400);
}

#[test]
fn graph_demands_an_unexpired_graph_token_of_this_emulator_with_user_read() {
    let emu = Emulator::start(EmulatorConfig::default());
    let url = members_url(&emu, "?$select=id");
    let good = token(&emu, G250, "openid profile User.Read");
    let no_consent = token(&emu, G250, "openid Mail.Read");
    let id_token = emu.mint_id_token(emu.id_token_claims(G250, DEFAULT_CLIENT_ID));
    // (Authorization header, status, code)
    let cases = [
        (None, 401, "InvalidAuthenticationToken"),
        (
            Some("Bearer ".to_string()),
            401,
            "InvalidAuthenticationToken",
        ),
        (
            Some(format!("Basic {good}")),
            401,
            "InvalidAuthenticationToken",
        ),
        (
            Some("Bearer not-a-token".to_string()),
            401,
            "InvalidAuthenticationToken",
        ),
        (
            Some(format!("Bearer {id_token}")),
            401,
            "InvalidAuthenticationToken",
        ),
        (
            Some(format!("Bearer {no_consent}")),
            403,
            "Authorization_RequestDenied",
        ),
        (Some(format!("bearer {good}")), 200, ""),
    ];
    for (auth, status, code) in cases {
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let resp = get_with(&url, &headers);
        assert_eq!(resp.status, status, "{auth:?}: {}", resp.body);
        if status == 401 {
            assert!(resp
                .header("www-authenticate")
                .unwrap()
                .starts_with("Bearer "));
        }
        if status != 200 {
            assert_eq!(resp.json()["error"]["code"], code, "{auth:?}");
        }
    }
    let denied = graph_get(&url, &no_consent).json();
    assert_eq!(
        denied["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    let post = graph_post(
        &emu,
        "checkMemberGroups",
        &no_consent,
        json!({"groupIds": []}),
    );
    assert_eq!(post.status, 403);

    emu.advance_clock(std::time::Duration::from_secs(3601));
    let expired = graph_get(&url, &good);
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.json()["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );
}

#[test]
fn other_users_need_a_directory_permission_and_the_same_tenant() {
    let emu = Emulator::start(EmulatorConfig::multi_tenant());
    let url = |who: &str| {
        format!(
            "{}/v1.0/users/{who}/transitiveMemberOf?$select=id",
            emu.graph_base_url()
        )
    };
    let basic = token(&emu, "alice", "User.Read");
    let directory = token(&emu, "alice", "Directory.Read.All");
    let alice_oid = emu.config().user("alice").unwrap().oid.clone();
    let bob_oid = emu.config().user("bob").unwrap().oid.clone();
    let frank_oid = emu.config().user("frank").unwrap().oid.clone();
    // (token, target, status)
    let cases = [
        (&basic, alice_oid.clone(), 200),
        (&basic, "alice@contoso.example".to_string(), 200),
        (&basic, bob_oid.clone(), 403),
        (&directory, bob_oid, 200),
        (&directory, frank_oid, 404),
        (&directory, "nobody@contoso.example".to_string(), 404),
    ];
    for (t, who, status) in cases {
        let resp = graph_get(&url(&who), t);
        assert_eq!(resp.status, status, "{who}: {}", resp.body);
    }
    let frank = token(&emu, "frank", "User.Read");
    let own = graph_get(&members_url(&emu, "?$select=id"), &frank).json();
    assert_eq!(
        own["value"],
        json!([{"@odata.type": "#microsoft.graph.group", "id": "ffffffff-0000-4000-8000-000000000001"}])
    );
}
