"""The one home of 287(g) agreement identity: (state, normalized agency, canonical model).

ICE edits its lists by hand, and the same agreement is published under many spellings. Everything
that decides whether two rows are one agreement goes through this module: the source (to merge
duplicate rows of one snapshot) and the store (to diff snapshots) call the same functions.

- `state_code`: "FLORIDA", "Florida" and "FL" are all `FL`.
- `canonical_model`: the support type as one of the three models (`MODELS`), through a table of
  the variants ICE has published (misspellings included) and then keywords; a text that names
  none of them is kept, normalized, as its own model.
- `agency_key`: the agency name folded so that ICE's cosmetic edits vanish: case, whitespace,
  curly/straight quotes, punctuation, `Ft.`/`Fort`, `St.`/`Saint`, `Co.`/`County`,
  `Dept.`/`Department`, `&`/`and`, `Sheriff's Office`/`Sheriffs Office`/`Sheriff Office`, a
  leading `City of`/`Town of`/`Village of`/`County of` (and `the`), and a leading state name
  (`Florida Highway Patrol` in FL is `highway patrol`).
- `display_key`: the looser folding (case, whitespace, quotes) under which a name change is not
  worth telling anyone.
- `agreement_key`: the identity triple of a row.

The looser comparisons used to recognise renames (`name_stem`, `distinctive_tokens`,
`body_of`, `county_key`) live here too, so there is one definition of "the same agency".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from functools import lru_cache

from rapidfuzz.distance import OSA

__all__ = [
    "AgreementKey",
    "MODELS",
    "agency_key",
    "agreement_key",
    "body_of",
    "canonical_model",
    "county_key",
    "display_key",
    "distinctive_tokens",
    "identity_string",
    "name_stem",
    "near_duplicate_key",
    "plain_name",
    "state_code",
]

#: (state code, normalized agency, canonical model)
AgreementKey = tuple[str, str, str]

JEM = "Jail Enforcement Model"
TFM = "Task Force Model"
WSO = "Warrant Service Officer"
MODELS = (JEM, TFM, WSO)

#: support types as ICE (or a tracker) has written them, normalized by `_fold` -> the model
_MODEL_VARIANTS: Mapping[str, str] = {
    "jail enforcement model": JEM,
    "jail enforcement": JEM,
    "jail enforcement officer": JEM,
    "jail model": JEM,
    "jem": JEM,
    "jail enforcment model": JEM,
    "jail enforcemnt model": JEM,
    "jail enforcement modle": JEM,
    "task force model": TFM,
    "task force": TFM,
    "task force officer": TFM,
    "task force officers": TFM,
    "taskforce model": TFM,
    "task froce model": TFM,
    "tfm": TFM,
    "tfo": TFM,
    "warrant service officer": WSO,
    "warrant service officers": WSO,
    "warrant services officer": WSO,
    "warrant services officers": WSO,
    "warrant service officer program": WSO,
    "warrant service model": WSO,
    "warrant service": WSO,
    "warrent service officer": WSO,
    "warrant sevice officer": WSO,
    "wso": WSO,
}
_MODEL_KEYWORDS = (("warr", WSO), ("task", TFM), ("force", TFM), ("jail", JEM))

_STATES: Mapping[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
    "guam": "GU", "virgin islands": "VI", "us virgin islands": "VI",
    "northern mariana islands": "MP", "american samoa": "AS",
}
_CODES = frozenset(_STATES.values())
_NAME_OF = {code: name for name, code in _STATES.items()}

#: whole-word abbreviations ICE uses interchangeably with the long form
_WORDS: Mapping[str, str] = {
    "ft": "fort", "st": "saint", "ste": "sainte", "mt": "mount", "co": "county",
    "cnty": "county", "dept": "department", "dpt": "department",
    "pd": "police department", "so": "sheriff office", "sheriffs": "sheriff",
    "twp": "township", "ofc": "office", "off": "office", "div": "division",
    "comm": "commission", "commrs": "commissioners", "bd": "board", "corr": "corrections",
    "correctional": "corrections", "dps": "department public safety", "hwy": "highway",
    "univ": "university", "natl": "national", "intl": "international", "dist": "district",
    "&": "and", "n": "north", "s": "south", "e": "east", "w": "west",
    # misspellings of the generic words seen in hand-kept lists
    "sherif": "sheriff", "sherifs": "sheriff", "sherriff": "sheriff", "sherriffs": "sheriff",
    "sherrif": "sheriff", "sherrifs": "sheriff", "shreiff": "sheriff", "sheirff": "sheriff",
    "sherff": "sheriff", "sherffs": "sheriff",
    "departmnet": "department", "deparment": "department", "departent": "department",
    "departement": "department", "depatment": "department", "dept.": "department",
    "offce": "office", "ofice": "office", "offfice": "office", "polce": "police",
    "poilce": "police", "plice": "police", "countty": "county", "conty": "county",
}
_PREFIXES = ("city of", "town of", "village of", "county of", "borough of", "township of",
             "city and county of", "the")
_STOPWORDS = frozenset({"of", "the", "and", "for"})
#: words that name the kind of body, not which one: what is left is the distinctive part
_GENERIC = frozenset({
    "county", "city", "town", "village", "township", "borough", "parish", "sheriff", "office",
    "department", "police", "public", "safety", "board", "commissioners", "commission",
    "government", "agency", "division", "bureau", "services", "service", "law", "enforcement",
    "corrections", "detention", "jail", "center", "facility", "state", "marshal", "constable",
    "precinct", "district", "attorney", "highway", "patrol", "authority", "unit", "regional",
    "university", "campus", "college", "fort", "saint", "mount", "north", "south", "east",
    "west",
})
#: which kind of body an agency is (a change of body in one county is a move, not a rename)
_BODIES = (
    ("sheriff", ("sheriff",)),
    ("police", ("police",)),
    ("board", ("board", "commissioners", "commission", "government", "manager", "council")),
    ("corrections", ("corrections", "jail", "detention", "prison")),
    ("marshal", ("marshal",)),
    ("constable", ("constable",)),
    ("patrol", ("patrol", "trooper", "troopers")),
    ("attorney", ("attorney", "prosecutor")),
)
_QUOTES = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
})


def _fold(text: str) -> str:
    """Casefolded ASCII-ish words: quotes straightened, apostrophes dropped, punctuation spaced."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    text = re.sub(r"'s\b", "s", text).replace("'", "")
    text = text.replace("&", " & ")
    return " ".join(re.sub(r"[^\w&]+", " ", text).split())


def display_key(text: str) -> str:
    """The name as a reader compares it: case, whitespace and quote style do not count."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).split()).casefold()


@lru_cache(maxsize=1 << 16)
def state_code(state: str) -> str:
    """The two-letter code of a state given by name or code (else the text, upper-cased)."""
    folded = _fold(state)
    if folded.upper() in _CODES:
        return folded.upper()
    if folded in _STATES:
        return _STATES[folded]
    # a misspelt state name ("FLORDIA"): the one state within two edits, if only one is
    near = [code for name, code in _STATES.items() if OSA.distance(folded, name) <= 2]
    if len(set(near)) == 1 and len(folded) >= 5:
        return near[0]
    return " ".join(state.split()).upper()


@lru_cache(maxsize=1 << 16)
def canonical_model(support_type: str) -> str:
    """The 287(g) model a SUPPORT TYPE cell means (`MODELS`), or the cell's text normalized."""
    folded = _fold(support_type)
    if folded in _MODEL_VARIANTS:
        return _MODEL_VARIANTS[folded]
    hits = {model for word, model in _MODEL_KEYWORDS if word in folded}
    if len(hits) == 1:
        return hits.pop()
    return " ".join(support_type.split())


#: words ICE glues to the one before ("Highlands CountySheriff's Office")
_GLUED = ("county", "sheriffs", "sheriff", "police", "department", "office", "parish")


def _unglue(word: str) -> list[str]:
    if word in _WORDS or word in _GENERIC:
        return [word]
    for tail in _GLUED:
        if word.endswith(tail) and len(word) - len(tail) >= 3:
            return [*_unglue(word[: -len(tail)]), tail]
    return [word]


@lru_cache(maxsize=1 << 16)
def plain_name(agency: str) -> str:
    """The name folded (case, quotes, punctuation, whitespace) and nothing else."""
    return _fold(agency)


def _words(name: str) -> list[str]:
    words: list[str] = []
    for raw in _fold(name).split():
        for word in _unglue(raw):
            words.extend(_WORDS.get(word, word).split())
    # "sheriff office", "sheriff department" and "sheriff" alone name the same office
    out: list[str] = []
    for word in words:
        if word in ("office", "department") and out and out[-1] == "sheriff":
            continue
        out.append(word)
    return out


def _strip_prefixes(words: list[str], state: str) -> list[str]:
    changed = True
    state_words = _NAME_OF.get(state_code(state), "").split()
    while changed and words:
        changed = False
        for prefix in _PREFIXES:
            p = prefix.split()
            if words[: len(p)] == p and len(words) > len(p):
                words, changed = words[len(p):], True
        if state_words and words[: len(state_words)] == state_words \
                and len(words) > len(state_words):
            words, changed = words[len(state_words):], True
    return words


@lru_cache(maxsize=1 << 16)
def agency_key(agency: str, state: str = "") -> str:
    """The agency name as identity compares it (see the module docstring for every rule)."""
    return " ".join(_strip_prefixes(_words(agency), state))


@lru_cache(maxsize=1 << 16)
def agreement_key(state: str, agency: str, support_type: str) -> AgreementKey:
    """The identity of an agreement: (state code, `agency_key`, `canonical_model`)."""
    code = state_code(state)
    return code, agency_key(agency, code), canonical_model(support_type)


def identity_string(key: AgreementKey) -> str:
    """The key as one string (the `Agreement.identity` column)."""
    return "|".join(key)


@lru_cache(maxsize=1 << 16)
def name_stem(agency: str, state: str = "") -> str:
    """The agency key without its generic words ("county", "sheriff", "office"...)."""
    words = [w for w in agency_key(agency, state).split() if w not in _STOPWORDS]
    kept = [w for w in words if w not in _GENERIC]
    return " ".join(kept or words)


def distinctive_tokens(agency: str, state: str = "", county: str = "") -> frozenset[str]:
    """The words that say *which* agency (not what kind), less the county's own name."""
    county_words = set(county_key(county).split())
    return frozenset(
        w for w in agency_key(agency, state).split()
        if w not in _GENERIC and w not in _STOPWORDS and w not in county_words
    )


@lru_cache(maxsize=1 << 16)
def body_of(agency: str) -> str:
    """What kind of body the agency is (`sheriff`, `police`, `board`...), or ""."""
    words = set(_words(agency))
    for body, markers in _BODIES:
        if words.intersection(markers):
            return body
    return ""


@lru_cache(maxsize=1 << 16)
def county_key(county: str) -> str:
    """A COUNTY cell compared: `Harris County`, `harris co.` and `Harris` are equal."""
    words = [w for w in _words(county) if w not in ("county", "parish", "borough")]
    return " ".join(words)


def near_duplicate_key(state: str, agency: str, support_type: str, signed: date | None,
                       county: str) -> tuple[str, ...] | None:
    """Two rows of one snapshot with this key are one agreement listed twice under two names
    ("Pasco County Sheriff's Office" / "Pasco Sheriff's Office", same model, county and SIGNED
    day). None without a SIGNED date or a kind of body: too little to say so."""
    body = body_of(agency)
    if signed is None or not body:
        return None
    code = state_code(state)
    return (code, canonical_model(support_type), name_stem(agency, code), body,
            county_key(county), signed.isoformat())
