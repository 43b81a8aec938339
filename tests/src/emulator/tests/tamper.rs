use super::*;
use crate::emulator::Tamper;

fn id_token(emu: &Emulator) -> String {
    let code = auto_code(emu, &[]);
    let body = redeem(emu, &code, None, &[]).json();
    body["id_token"].as_str().unwrap().to_string()
}

#[test]
fn each_tamper_produces_the_defect_it_names_in_issued_tokens() {
    let emu = auto_login_emulator();
    let issuer = emu.issuer(DEFAULT_TENANT_ID);
    for tamper in [
        Tamper::WrongIssuer,
        Tamper::WrongAudience,
        Tamper::WrongNonce,
        Tamper::NoNonce,
        Tamper::BadSignature,
        Tamper::AlgNone,
        Tamper::Hs256WithPublicKey,
        Tamper::UnknownKid,
        Tamper::Expired,
        Tamper::SignedByOtherKey,
    ] {
        emu.set_tamper(Some(tamper));
        let token = id_token(&emu);
        let verdict = verify_with_jwks(&emu, &token);
        let (header, claims) = crate::emulator::jwt::decode_unverified(&token).unwrap();
        match tamper {
            Tamper::WrongIssuer => {
                let iss = claims["iss"].as_str().unwrap();
                assert!(
                    verdict.is_ok() && iss != issuer && iss.ends_with("/v2.0"),
                    "{iss}"
                );
                assert!(
                    !iss.contains(claims["tid"].as_str().unwrap()),
                    "iss tenant differs from tid"
                );
            }
            Tamper::WrongAudience => {
                assert!(verdict.is_ok() && claims["aud"] != DEFAULT_CLIENT_ID);
            }
            Tamper::WrongNonce => {
                assert!(
                    verdict.is_ok()
                        && claims["nonce"].is_string()
                        && claims["nonce"] != "nonce-456"
                );
            }
            Tamper::NoNonce => assert!(verdict.is_ok() && claims.get("nonce").is_none()),
            Tamper::Expired => {
                assert!(verdict.is_ok());
                assert!(
                    claims["exp"].as_u64().unwrap() + 300 < emu.now(),
                    "expired beyond skew"
                );
            }
            Tamper::BadSignature | Tamper::SignedByOtherKey => {
                assert_eq!(verdict.unwrap_err(), "bad signature", "{tamper:?}");
                assert_eq!(header["kid"], emu.key_ids()[0]);
            }
            Tamper::AlgNone => {
                assert_eq!(header["alg"], "none");
                assert!(token.ends_with('.'));
            }
            Tamper::Hs256WithPublicKey => assert_eq!(header["alg"], "HS256"),
            Tamper::UnknownKid => assert_eq!(verdict.unwrap_err(), "unknown kid"),
        }
        if !matches!(
            tamper,
            Tamper::WrongIssuer | Tamper::WrongAudience | Tamper::WrongNonce | Tamper::NoNonce
        ) {
            assert_eq!(
                claims["nonce"], "nonce-456",
                "{tamper:?} leaves other claims alone"
            );
        }
    }
    emu.set_tamper(None);
    let (_, clean) = verify_with_jwks(&emu, &id_token(&emu)).unwrap();
    assert_eq!(
        (clean["iss"].as_str(), clean["nonce"].as_str()),
        (Some(issuer.as_str()), Some("nonce-456"))
    );
}
