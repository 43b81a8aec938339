use super::*;

fn logout_url(emu: &Emulator, query: &str) -> String {
    format!(
        "{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/logout?{query}",
        emu.base_url()
    )
}

#[test]
fn logout_redirects_only_to_registered_uris_and_ends_the_session() {
    let emu = Emulator::start(EmulatorConfig::default());
    let form = get(&authorize_url(&emu, DEFAULT_TENANT_ID, &[]));
    let action = format!(
        "{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/authorize",
        emu.base_url()
    );
    let signed_in = post_form(
        &action,
        &[
            ("ctx", &form_ctx(&form.body)),
            ("username", "bob"),
            ("password", "bob-password"),
        ],
        &[],
    );
    let cookie = signed_in.session_cookie();

    let back = "http://127.0.0.1:8080/oauth2/callback";
    let q = Params(vec![
        ("post_logout_redirect_uri".into(), back.into()),
        ("client_id".into(), DEFAULT_CLIENT_ID.into()),
        ("state".into(), "bye".into()),
    ])
    .encode();
    let out = get_with(&logout_url(&emu, &q), &[("Cookie", &cookie)]);
    assert_eq!(out.status, 302);
    assert_eq!(out.header("location"), Some(&*format!("{back}?state=bye")));
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));

    let after = get_with(
        &authorize_url(&emu, DEFAULT_TENANT_ID, &[]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(after.status, 200, "session gone: the form again");

    let evil = Params(vec![(
        "post_logout_redirect_uri".into(),
        "https://evil.example/".into(),
    )])
    .encode();
    let page = get(&logout_url(&emu, &evil));
    assert_eq!(page.status, 200);
    assert!(page.header("location").is_none());
    assert!(page.body.contains("You signed out of your account"));
    assert_eq!(emu.counts().logout, 2);
}
