//! HMAC and hash helpers shared by the schemes. Comparisons are constant-time
//! (`Mac::verify_slice`, `subtle`). A scheme that lists several candidate signatures
//! computes one MAC per key and signed message ([`any_key_signed`]) and compares every
//! candidate against it, so a header stuffed with candidates costs comparisons, not MACs.
//! Under `cfg(test)` each MAC and public-key check is counted per thread ([`work`]), which
//! is how the tests bound the work one request can cause.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

/// HMAC-SHA256 over the concatenation of `parts`.
pub fn sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    compute::<Hmac<Sha256>>(key, parts)
}

pub fn sha1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    compute::<Hmac<Sha1>>(key, parts)
}

pub fn sha512(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    compute::<Hmac<Sha512>>(key, parts)
}

/// True when `expected` is the HMAC-SHA256 of `parts` under `key` (constant time).
pub fn verify_sha256(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    verify::<Hmac<Sha256>>(key, parts, expected)
}

pub fn verify_sha1(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    verify::<Hmac<Sha1>>(key, parts, expected)
}

pub fn verify_sha512(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    verify::<Hmac<Sha512>>(key, parts, expected)
}

/// Lowercase hex SHA-256 of `data` (not keyed): Twilio's `bodySHA256`, the body hash id.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// True when one of `candidates` is the MAC of `parts` under one of `keys`: one MAC per
/// key, whatever the number of candidates. `compute` is [`sha256`], [`sha1`] or [`sha512`].
pub fn any_key_signed(
    keys: &[Vec<u8>],
    parts: &[&[u8]],
    candidates: &[Vec<u8>],
    compute: fn(&[u8], &[&[u8]]) -> Vec<u8>,
) -> bool {
    if candidates.is_empty() {
        return false;
    }
    keys.iter().any(|k| {
        let expected = compute(k, parts);
        candidates.iter().any(|c| equal(&expected, c))
    })
}

/// Constant-time equality of two byte strings (their lengths are not secret).
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
thread_local! {
    static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one MAC or public-key check (tests only; nothing in other builds).
#[inline]
pub fn tick() {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + 1));
}

/// The MACs and public-key checks this thread has made so far.
#[cfg(test)]
pub fn work() -> u64 {
    WORK.with(std::cell::Cell::get)
}

fn mac<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> M {
    tick();
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for p in parts {
        m.update(p);
    }
    m
}

fn compute<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac::<M>(key, parts).finalize().into_bytes().to_vec()
}

fn verify<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    mac::<M>(key, parts).verify_slice(expected).is_ok()
}

pub mod b64 {
    //! Base64 engines: standard alphabet, padding optional on decode.
    use base64::Engine;
    use base64::alphabet::STANDARD;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );

    pub fn encode(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        LENIENT.decode(text.trim()).ok()
    }
}
