//! The Diffie–Hellman exchange of MSE: the fixed 768-bit prime, G = 2,
//! 96-byte big-endian keys.

use crypto_bigint::modular::ConstMontyForm;
use crypto_bigint::{U768, impl_modulus};

use crate::error::MseError;

/// Bytes of a public key and of the shared secret `S` (768 bits).
pub const KEY_LEN: usize = 96;

/// Bytes of a private key (160 bits, as the specification recommends).
pub const PRIVATE_KEY_LEN: usize = 20;

/// The specification's prime, big-endian hex.
const PRIME_HEX: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563";

impl_modulus!(Prime, U768, PRIME_HEX);

type Residue = ConstMontyForm<Prime, { U768::LIMBS }>;

/// The prime `P` of the exchange, big-endian.
pub fn prime() -> [u8; KEY_LEN] {
    U768::from_be_hex(PRIME_HEX).to_be_bytes()
}

/// `G^x mod P` with G = 2: our public key for private key `x`.
pub fn public_key(x: &[u8; PRIVATE_KEY_LEN]) -> [u8; KEY_LEN] {
    let g = Residue::new(&U768::from_u8(2));
    g.pow_bounded_exp(&U768::from_be_slice(&pad(x)), (PRIVATE_KEY_LEN * 8) as u32)
        .retrieve()
        .to_be_bytes()
}

/// `Y^x mod P`: the shared secret `S` from the peer's public key `y`.
///
/// # Errors
/// [`MseError::BadPublicKey`] when `y` is 0, 1, `P - 1` or not below `P`:
/// such a key forces a secret an eavesdropper knows.
pub fn shared_secret(
    y: &[u8; KEY_LEN],
    x: &[u8; PRIVATE_KEY_LEN],
) -> Result<[u8; KEY_LEN], MseError> {
    let y = U768::from_be_slice(y);
    let p = U768::from_be_hex(PRIME_HEX);
    let p_minus_1 = p.wrapping_sub(&U768::ONE);
    if y <= U768::ONE || y >= p_minus_1 {
        return Err(MseError::BadPublicKey);
    }
    Ok(Residue::new(&y)
        .pow_bounded_exp(&U768::from_be_slice(&pad(x)), (PRIVATE_KEY_LEN * 8) as u32)
        .retrieve()
        .to_be_bytes())
}

/// A private key as a 96-byte big-endian number.
fn pad(x: &[u8; PRIVATE_KEY_LEN]) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    out[KEY_LEN - PRIVATE_KEY_LEN..].copy_from_slice(x);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_derive_the_same_secret() {
        let a = [0x11; PRIVATE_KEY_LEN];
        let b = [0x5a; PRIVATE_KEY_LEN];
        let (ya, yb) = (public_key(&a), public_key(&b));
        assert_ne!(ya, yb);
        assert_eq!(
            shared_secret(&yb, &a).unwrap(),
            shared_secret(&ya, &b).unwrap()
        );
    }

    #[test]
    fn two_to_the_one_is_two() {
        let mut x = [0u8; PRIVATE_KEY_LEN];
        x[PRIVATE_KEY_LEN - 1] = 1;
        let mut two = [0u8; KEY_LEN];
        two[KEY_LEN - 1] = 2;
        assert_eq!(public_key(&x), two);
    }

    #[test]
    fn degenerate_keys_are_refused() {
        let x = [7; PRIVATE_KEY_LEN];
        let mut one = [0u8; KEY_LEN];
        one[KEY_LEN - 1] = 1;
        let p = prime();
        let mut p_minus_1 = p;
        p_minus_1[KEY_LEN - 1] -= 1;
        for y in [[0u8; KEY_LEN], one, p_minus_1, p, [0xff; KEY_LEN]] {
            assert_eq!(shared_secret(&y, &x), Err(MseError::BadPublicKey));
        }
    }
}
