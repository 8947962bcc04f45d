//! Filecoin big integers: on chain as bytes (empty = 0, else sign byte ‖ big-endian
//! magnitude), in Lotus JSON as decimal strings.

use num_bigint::{BigInt, BigUint, Sign};

/// Renders chain big-int bytes as the decimal string Lotus JSON uses.
pub fn bigint_bytes_to_decimal(bytes: &[u8]) -> Result<String, String> {
    let Some((&sign, magnitude)) = bytes.split_first() else {
        return Ok("0".to_owned());
    };
    let sign = match sign {
        0 => Sign::Plus,
        1 => Sign::Minus,
        other => return Err(format!("invalid big-int sign byte {other}")),
    };
    Ok(BigInt::from_biguint(sign, BigUint::from_bytes_be(magnitude)).to_string())
}

/// Parses a decimal string into chain big-int bytes.
pub fn decimal_to_bigint_bytes(text: &str) -> Result<Vec<u8>, String> {
    let value: BigInt = text
        .parse()
        .map_err(|e| format!("invalid big integer {text:?}: {e}"))?;
    let (sign, magnitude) = value.to_bytes_be();
    Ok(match sign {
        Sign::NoSign => Vec::new(),
        Sign::Plus => [&[0u8][..], &magnitude].concat(),
        Sign::Minus => [&[1u8][..], &magnitude].concat(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for t in ["0", "1", "100", "-5", "123456789012345678901234567890"] {
            let b = decimal_to_bigint_bytes(t).expect("parse");
            assert_eq!(bigint_bytes_to_decimal(&b).expect("render"), t);
        }
        assert!(decimal_to_bigint_bytes("x").is_err());
        assert!(bigint_bytes_to_decimal(&[7, 1]).is_err());
    }
}
