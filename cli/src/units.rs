//! Human-readable sizes and dates for the command's output.

/// `1536` → `1.50 KiB`; plain bytes below 1 KiB.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.2} {}", UNITS[unit])
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses a piece length: bytes (`262144`), with a `K`/`M` suffix (`256K`,
/// `1M`, powers of 1024), or a power-of-two exponent below 32 (`18` =
/// 256 KiB, like mktorrent's `-l`).
pub(crate) fn parse_piece_length(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        _ => (t, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a piece length (e.g. 18, 256K, 1M)"))?;
    let bytes = if mult == 1 && n < 32 {
        1u64 << n
    } else {
        n.saturating_mul(mult)
    };
    u32::try_from(bytes).map_err(|_| format!("piece length `{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(5), "5 B");
        assert_eq!(size(1536), "1.50 KiB");
        assert_eq!(size(1 << 30), "1.00 GiB");
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn piece_lengths() {
        assert_eq!(parse_piece_length("18"), Ok(1 << 18));
        assert_eq!(parse_piece_length("256K"), Ok(1 << 18));
        assert_eq!(parse_piece_length("1m"), Ok(1 << 20));
        assert_eq!(parse_piece_length("262144"), Ok(1 << 18));
        assert!(parse_piece_length("x").is_err());
        assert!(parse_piece_length("8192M").is_err());
    }
}
