//! Writes `fixtures/jwks*.json` and the hand-made seeds of every corpus (`corpus/<target>/seed-*`):
//! tokens signed with deterministic RSA keys, cookies sealed with the fixed secrets, requests
//! that reach every branch of the flow (forward, sign-in, callback success, refetch, …).
//!
//! Run from the repository root:
//! `cargo run --manifest-path fuzz/Cargo.toml --example gen_corpus`
//! The keys come from a seeded RNG, so a rerun rewrites the same files.

mod cookies;
mod flow;
mod jwt;
mod oidc;
mod text;

use std::fs;
use std::path::{Path, PathBuf};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::RsaPrivateKey;
use serde_json::json;

use cookies::cookie_seeds;
use flow::flow_seeds;
use jwt::{jwk, Keys};
use oidc::{discovery_seeds, id_token_seeds, jwks_seeds, token_response_seeds};
use text::{config_seeds, redirect_seeds};

pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

pub(crate) struct Corpus {
    root: PathBuf,
}

impl Corpus {
    pub(crate) fn put(&self, target: &str, name: &str, data: impl AsRef<[u8]>) -> Result {
        let dir = self.root.join("corpus").join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(format!("seed-{name}")), data)?;
        Ok(())
    }
}

fn main() -> Result {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    let corpus = Corpus { root: root.clone() };
    let mut rng = ChaCha20Rng::seed_from_u64(0x00f0_22ed);
    let mut key = |bits| RsaPrivateKey::new(&mut rng, bits);
    let keys = Keys {
        k1: key(2048)?,
        k2: key(2048)?,
        k3: key(2048)?,
        attacker: key(2048)?,
        weak: key(1024)?,
    };

    let pk = |k: &RsaPrivateKey| k.to_public_key();
    let jwks = json!({"keys": [jwk("k1", &pk(&keys.k1)), jwk("k2", &pk(&keys.k2))]});
    let rotated = json!({"keys": [jwk("k1", &pk(&keys.k1)), jwk("k2", &pk(&keys.k2)), jwk("k3", &pk(&keys.k3))]});
    fs::write(root.join("fixtures/jwks.json"), format!("{jwks:#}\n"))?;
    fs::write(
        root.join("fixtures/jwks-rotated.json"),
        format!("{rotated:#}\n"),
    )?;

    jwks_seeds(&corpus, &keys, &jwks, &rotated)?;
    discovery_seeds(&corpus)?;
    let tokens = id_token_seeds(&corpus, &keys)?;
    token_response_seeds(&corpus, &tokens)?;
    redirect_seeds(&corpus)?;
    config_seeds(&corpus)?;
    cookie_seeds(&corpus)?;
    flow_seeds(&corpus, &keys)?;
    println!("wrote fixtures and seeds under {}", root.display());
    Ok(())
}
