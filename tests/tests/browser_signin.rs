//! A real person's sign-in, played by headless Chromium: open the protected app through Envoy,
//! click "Sign in with Microsoft", type the credentials into the (emulated) Microsoft login form,
//! and land on the app, which shows the identity the filter attached.

use entra_proxy_tests::browser::Browser;
use entra_proxy_tests::emulator::{alice, EmulatorConfig};
use entra_proxy_tests::stack::Stack;
use serde_json::json;

#[test]
fn a_person_signs_in_with_a_real_browser_and_sees_their_identity() {
    // The default sign-in page with its button, as oauth2-proxy shows it.
    let stack = Stack::start(
        "browser_sign_in",
        EmulatorConfig::default(),
        json!({"skip_provider_button": false}),
        2,
    );
    let mut browser = Browser::start(&stack.logs.subdir("chromium"));

    browser.goto(&stack.url("/reports?year=2024"));
    browser.wait_for_text("Sign in with Microsoft");
    browser.click_and_wait("a.button");
    browser.wait_for_selector("#username");
    assert!(
        browser.url().starts_with(&stack.entra.base_url()),
        "at the identity provider: {}",
        browser.url()
    );

    let user = alice();
    browser.type_into("#username", &user.username);
    browser.type_into("#password", "wrong-password");
    browser.click_and_wait("#submit");
    browser.wait_for_text("AADSTS50126");

    browser.type_into("#username", &user.username);
    browser.type_into("#password", &user.password);
    browser.click_and_wait("#submit");
    browser.wait_for_url("/reports?year=2024");
    browser.wait_for_text("Signed in as");
    let text = browser.text();
    assert!(text.contains(&user.oid), "{text}");
    assert!(text.contains(user.email.as_deref().unwrap()), "{text}");
    browser.screenshot("signed-in");

    let seen = stack.upstream.last().unwrap();
    assert_eq!(seen.path, "/reports?year=2024");
    assert_eq!(seen.header("x-forwarded-user"), Some(user.oid.as_str()));
    let cookies = browser.cookies();
    let session = cookies
        .iter()
        .find(|c| c.name == "_oauth2_proxy")
        .expect("session cookie");
    assert!(session.http_only, "the session cookie is HttpOnly");
    assert!(
        !cookies.iter().any(|c| c.name == "_oauth2_proxy_csrf"),
        "the CSRF cookie is gone"
    );

    // Signing out clears the session; the next visit asks to sign in again.
    browser.goto(&stack.url("/oauth2/sign_out?rd=%2Fbye"));
    browser.goto(&stack.url("/reports"));
    browser.wait_for_text("Sign in with Microsoft");
    assert!(!browser.cookies().iter().any(|c| c.name == "_oauth2_proxy"));
    assert_eq!(
        stack.upstream.count(),
        1,
        "nothing but the signed-in request reached the app"
    );
}
