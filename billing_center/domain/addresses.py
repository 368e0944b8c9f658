"""Postal addresses of cards (SPEC §2): bounded fields and a real country.

Every field has a length a real address fits in (the longest street lines of postal
standards stay well under 200 characters), so a client cannot store megabytes in a card's
address, and the country must be an officially assigned ISO 3166-1 alpha-2 code.
"""

from __future__ import annotations

from billing_center.domain.errors import DomainError, ErrorCode

# (stored key, API field, required, most characters)
FIELDS = (
    ("line1", "line1", True, 200),
    ("line2", "line2", False, 200),
    ("city", "city", True, 100),
    ("state", "state", False, 100),
    ("postal_code", "postalCode", True, 20),
)

# The 249 officially assigned ISO 3166-1 alpha-2 codes (as listed by the IANA time zone
# database's iso3166.tab, 2024). User-assigned codes such as XK are not countries here.
COUNTRIES = frozenset({
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
})


def _invalid(message: str, path: tuple[str, ...], field: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, message, (*path, field))


def validate_address(address: dict | None, path: tuple[str, ...]) -> dict | None:
    """A card's billing address with its text trimmed and its country in capitals, or None.
    Raises INVALID_INPUT naming the field under `path` (e.g. ("input", "card", "address"))."""
    if address is None:
        return None
    clean: dict = {}
    for key, field, required, longest in FIELDS:
        value = (address.get(key) or "").strip()
        if required and not value:
            raise _invalid(f"The address's {field} must not be empty.", path, field)
        if len(value) > longest:
            raise _invalid(f"The address's {field} must be at most {longest} characters.", path, field)
        clean[key] = value if value or required else None
    country = (address.get("country") or "").strip()
    # ASCII first: str.upper() maps other scripts' letters too (full-width "ｄｅ" to "ＤＥ").
    if not (country.isascii() and country.upper() in COUNTRIES):
        raise _invalid("The country must be an ISO 3166-1 alpha-2 code, e.g. DE or US.", path, "country")
    clean["country"] = country.upper()
    return clean
