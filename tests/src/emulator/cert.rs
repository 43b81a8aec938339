//! A minimal self-signed X.509 v3 certificate, DER-encoded by hand.
//!
//! Entra publishes each signing key's certificate in `x5c` and derives `x5t` (and the `kid`)
//! from it. Clients that pin or inspect `x5c` need a real certificate, and building one takes a
//! few dozen lines of DER, so no X.509 crate is pulled in.

use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use sha2::Sha256;

/// OID 1.2.840.113549.1.1.11, sha256WithRSAEncryption.
const SHA256_WITH_RSA: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// OID 2.5.4.3, commonName.
const COMMON_NAME: [u8; 3] = [0x55, 0x04, 0x03];
/// Validity start and end; fixed so the DER (and so the thumbprint) depends on the key only.
const NOT_BEFORE: &str = "240101000000Z";
const NOT_AFTER: &str = "491231235959Z";
/// Subject and issuer common name.
const CN: &str = "entra-emulator signing key";

/// DER of a self-signed certificate for `key`, with the given serial number.
pub fn self_signed_der(key: &RsaPrivateKey, serial: &[u8; 16]) -> Result<Vec<u8>, String> {
    let spki = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| format!("encoding the public key: {e}"))?;
    let name = seq(&set(&seq(
        &[oid(&COMMON_NAME), tlv(0x0c, CN.as_bytes())].concat()
    )));
    let tbs = seq(&[
        tlv(0xa0, &integer(&[2])),
        integer(serial),
        algorithm(),
        name.clone(),
        seq(&[
            tlv(0x17, NOT_BEFORE.as_bytes()),
            tlv(0x17, NOT_AFTER.as_bytes()),
        ]
        .concat()),
        name,
        spki.as_bytes().to_vec(),
    ]
    .concat());
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(&tbs).to_vec();
    let mut bits = vec![0u8];
    bits.extend_from_slice(&signature);
    Ok(seq(&[tbs, algorithm(), tlv(0x03, &bits)].concat()))
}

fn algorithm() -> Vec<u8> {
    seq(&[oid(&SHA256_WITH_RSA), vec![0x05, 0x00]].concat())
}

fn oid(body: &[u8]) -> Vec<u8> {
    tlv(0x06, body)
}

fn seq(body: &[u8]) -> Vec<u8> {
    tlv(0x30, body)
}

fn set(body: &[u8]) -> Vec<u8> {
    tlv(0x31, body)
}

/// A non-negative INTEGER from big-endian magnitude bytes.
fn integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = match magnitude.iter().position(|b| *b != 0) {
        Some(i) => magnitude[i..].to_vec(),
        None => vec![0],
    };
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        body.push(0);
    }
    body.extend_from_slice(&trimmed);
    tlv(0x02, &body)
}

/// Tag, definite length, value.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::keys;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;

    #[test]
    fn der_lengths_and_integers_table() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(integer(&[0, 0, 5]), vec![0x02, 1, 5]);
        assert_eq!(integer(&[0x80]), vec![0x02, 2, 0, 0x80]);
        assert_eq!(integer(&[0, 0]), vec![0x02, 1, 0]);
    }

    /// Reads one TLV at `at`: (tag, value start, value end).
    fn read_tlv(der: &[u8], at: usize) -> (u8, usize, usize) {
        let tag = der[at];
        let first = der[at + 1] as usize;
        if first < 0x80 {
            return (tag, at + 2, at + 2 + first);
        }
        let n = first & 0x7f;
        let len = der[at + 2..at + 2 + n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | *b as usize);
        (tag, at + 2 + n, at + 2 + n + len)
    }

    #[test]
    fn certificate_is_signed_by_its_own_key_and_carries_its_public_key() {
        let key = keys::pool_key(0);
        let der = &key.cert_der;
        let (tag, start, end) = read_tlv(der, 0);
        assert_eq!((tag, end), (0x30, der.len()));
        let (tbs_tag, tbs_start, tbs_end) = read_tlv(der, start);
        assert_eq!(tbs_tag, 0x30);
        let tbs = &der[start..tbs_end];
        let (_, alg_start, alg_end) = read_tlv(der, tbs_end);
        let (bits_tag, bits_start, bits_end) = read_tlv(der, alg_end);
        assert_eq!(bits_tag, 0x03);
        assert_eq!(&der[alg_start..alg_end], &algorithm()[2..]);
        let signature = Signature::try_from(&der[bits_start + 1..bits_end]).unwrap();
        let verifier = VerifyingKey::<Sha256>::new(key.private.to_public_key());
        verifier.verify(tbs, &signature).unwrap();
        let spki = key.private.to_public_key().to_public_key_der().unwrap();
        assert!(der[tbs_start..tbs_end]
            .windows(spki.as_bytes().len())
            .any(|w| w == spki.as_bytes()));
    }
}
