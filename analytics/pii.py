"""Finding personal data in what employers wrote: Microsoft Presidio with our recognisers.

Presidio (presidio-analyzer) runs here without a language model: its `NoOpNlpEngine` and
pattern recognisers only, because the official spaCy English models are not on PyPI and
nothing may be downloaded at run time. What it adds, and why:

- phone numbers: Presidio's `PhoneRecognizer` (Google's libphonenumber, via
  `phonenumbers`), UK and US formats plus any number written with `+` or `00`; and a
  pattern for digit runs that look like a phone number but that libphonenumber calls
  impossible (drama numbers such as 07700 900123);
- emails, plain and obfuscated ("jo at gmail dot com", jo[at]x.co.uk, (at), {at}, <at>),
  social handles (@name), links and bare web addresses;
- UK postcodes (Presidio's), street addresses ("12 Station Road"), National Insurance and
  NHS numbers, card numbers, IBANs (Presidio's);
- names, without a statistical model: after phrases that introduce one ("my name is",
  "I'm", "contact", "speak to", "signed", sign-offs such as "Regards,"), after titles
  (Mr, Mrs, Dr...), and a known first name followed by a capitalised word ("Sophie
  Turner"). First names come from the name dictionary shipped with `gender-guesser`
  (48,000 names from many countries), less English stop words and words employers use for
  skills ("Level", "Excel").

What it cannot catch: a surname alone ("ask Whitfield"), a first name the dictionary
lacks outside the phrases above, a name written in lower case without such a phrase, an
organisation other than the employer's own, and free descriptions that identify someone
("the only female welder in Wisbech"). That is why a person reviews every quote before
it is shown (`skillsbot verbatims review`).

Importing this module costs about two seconds (Presidio imports spaCy), so only the
verbatim review imports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import takewhile
from typing import Any

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    LocalRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts, NoOpNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    IbanRecognizer,
    PhoneRecognizer,
    UkNinoRecognizer,
    UrlRecognizer,
)

# Placeholder per kind of finding.
PLACEHOLDERS = {
    "PERSON": "[name]",
    "ORGANISATION": "[organisation]",
    "EMAIL_ADDRESS": "[email]",
    "PHONE_NUMBER": "[phone]",
    "LOCATION": "[address]",
    "UK_POSTCODE": "[address]",
    "URL": "[link]",
    "HANDLE": "[link]",
    "UK_NINO": "[id number]",
    "UK_NHS": "[id number]",
    "CREDIT_CARD": "[id number]",
    "IBAN_CODE": "[id number]",
}
_SCORE_THRESHOLD = 0.3
_LANGUAGE = "en"

# Top-level domains an obfuscated address must end in ("jo at x dot com"): without @,
# only the ending tells an address from a sentence.
_TLDS = "com|org|net|edu|gov|info|biz|io|me|co|uk|ie|eu|de|fr|es|it|nl|be|ch|at|us|ca|au|nz|in"
_AT = r"(?:\s*@\s*|\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*\.\s*|\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+)"
# The part before "at" may be obfuscated too ("jo dot smith at ..."), or the first name
# would be left behind.
_LOCAL_PART = rf"[\w][\w.+-]*(?:{_DOT}[\w][\w.+-]*)*"
_OBFUSCATED_EMAIL = rf"(?<![\w.+-]){_LOCAL_PART}{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}(?:{_TLDS})\b"
_PLAIN_EMAIL = r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"
_HANDLE = r"(?<![\w@.])@[A-Za-z0-9_]{2,30}\b"
_BARE_DOMAIN = (
    r"\b(?:www\.)?[a-z0-9][a-z0-9-]*\.(?:co\.uk|org\.uk|ac\.uk|gov\.uk|com|org|net|io|uk)\b"
)
# Digit runs written like phone numbers, which libphonenumber may call impossible.
_PHONE_LIKE = (
    r"(?<![\w+])(?:(?:\+|00)\s?\d{1,3}[\s.-]?(?:\(0\)\s?)?|\(?0)\d{2,5}\)?"
    r"(?:[\s.-]?\d){6,8}(?!\d)"
)
# A UK number with a space (or dot, dash) between every digit, "0 7 7 0 0 9 0 0 1 2 3", or
# written with the country code 44 but no + ("447700 900123"): libphonenumber reads neither.
_PHONE_SPACED = r"(?<![\w+])0(?:[\s.-]?\d){9,10}(?![\w])"
_PHONE_44 = r"(?<![\w+])44\s?(?:\(0\)\s?)?[1-9](?:[\s.-]?\d){8,9}(?!\d)"
# A number with its country code in brackets, "(+44) 7700 900123".
_PHONE_BRACKETED = r"(?<!\w)\(\+?\d{1,3}\)\s?(?:\(0\)\s?)?\d(?:[\s.-]?\d){7,11}(?!\d)"
# Full-width forms (＠, ．, digits, letters) read as their ASCII twins, one character for
# one, so that "jo＠gmail．com" is an address like any other.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
# A UK postcode (outward code, space optional, inward code); Presidio's scores one low
# unless the word "postcode" is near.
_POSTCODE = r"\b(?:GIR\s?0AA|[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2})\b"
_STREET_TYPES = (
    "Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Way|Drive|Court|Place|Crescent|Terrace|"
    "Gardens|Square|Hill|Row|Walk|Green|Grove|Parade|Mews|Yard|Wharf"
)
_STREET = (
    rf"\b\d{{1,4}}[A-Za-z]?(?:\s*[-–]\s*\d{{1,4}})?,?\s+(?:[A-Z][a-z']+\s+){{1,3}}"
    rf"(?:{_STREET_TYPES})\b"
)

# Phrases after which the next words are a name whatever their case.
_STRONG_CUES = (
    r"my name is|my name's|my names|name:|call me|signed|signed by|sign(?:ed)? off|"
    r"yours sincerely|yours faithfully|kind regards|best regards|regards|best wishes|"
    r"many thanks|thanks|thank you|cheers"
)
# Phrases after which a name must look like one: a known first name or a title.
_WEAK_CUES = (
    r"i am|i'm|im|this is|it's|speak to|speak with|talk to|ask for|ask|contact|call|"
    r"email|ring|phone|text|message|see|via|with|by|and|or|our|my|manager|director"
)
# Cues after which whatever follows is a name, in any case.
_SAYS_NAME = re.compile(r"(?i)\s*(my name|name:|call me|signed)")
_TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Lady|Lord|Cllr|Rev|Revd)"
_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’-]*"
_CAPITALISED = r"(?:[A-Z][a-zà-ÿ]*['’-]?[A-Za-zà-ÿ]+|[A-Z]\.?)"
_STRONG = re.compile(rf"\b(?i:{_STRONG_CUES})\s*[,:;-]?\s+((?:{_WORD}\.?\s*){{1,3}})")
_WEAK = re.compile(rf"\b(?i:{_WEAK_CUES})\s*[,:-]?\s+({_WORD})((?:\s+{_CAPITALISED}){{0,2}})")
_TITLED = re.compile(rf"\b{_TITLES}\.?\s+((?:{_CAPITALISED}\s*){{1,3}})")
_FULL_NAME = re.compile(r"\b([A-Z][a-zà-ÿ'’-]+)((?:\s+[A-Z][a-zà-ÿ'’-]+){1,2})")

# Words that are first names somewhere but mostly mean something else in these answers.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_OCCUPATIONS = _words("hunter mason baker taylor cook carter porter smith turner fletcher butler")
_NOT_NAMES = _OCCUPATIONS | _words(
    """
    level levels excel python java ruby swift rust go access word project office team
    staff march may june april august will mark bill grace hope faith joy summer autumn
    winter spring dawn guy art rose holly ivy iris lily amber crystal pearl ruby jade
    sky river forest christian english french german polish welsh scottish irish british
    european
    construction manufacturing retail logistics hospitality health care education energy
    engineering digital finance sales marketing business support service services
    customer client apprentice apprentices apprenticeship trainee manager director owner
    level3 nvq btec gcse hnc hnd degree sector industry city town county council
    monday tuesday wednesday thursday friday saturday sunday january february july
    september october november december net zero green solar wind carbon heat
    autocad solidworks sap cscs ipaf pasma hgv lgv ppe iso cnc plc cad
    """
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data: its kind (a Presidio entity) and where it is."""

    kind: str
    start: int
    end: int


@cache
def first_names() -> frozenset[str]:
    """Case-folded first names from gender-guesser's dictionary, less common words."""
    from spacy.lang.en.stop_words import STOP_WORDS

    text = (
        resources.files("gender_guesser")
        .joinpath("data", "nam_dict.txt")
        .read_text(encoding="utf-8")
    )
    names = {
        parts[1].casefold()
        for line in text.splitlines()
        if line and line[0] not in "#=" and len(parts := line.split()) > 1
    }
    return frozenset(n for n in names if len(n) > 1 and n not in STOP_WORDS) - _NOT_NAMES


def _is_name(word: str) -> bool:
    return word.strip(".,'’-").casefold() in first_names()


def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | _NOT_NAMES


class NameRecognizer(LocalRecognizer):  # type: ignore[misc]
    """Names by the words around them, by title, and by a known first name."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], supported_language=_LANGUAGE)
        self._stop = _stop_words()
        # A surname may be an occupation ("Sophie Turner"), not a first name.
        self._not_surnames = self._stop - _OCCUPATIONS

    def load(self) -> None:
        """Nothing to load: the name list is read on first use."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Every name span found by the three rules."""
        spans = [
            *self._after_strong_cues(text),
            *self._after_weak_cues(text),
            *self._after_titles(text),
            *self._full_names(text),
        ]
        return [RecognizerResult("PERSON", start, end, 0.85) for start, end in spans]

    def _leading_name_words(self, words: Sequence[re.Match[str]]) -> list[re.Match[str]]:
        taken: list[re.Match[str]] = []
        for word in words:
            if word.group(0).strip(".").casefold() in self._stop:
                break
            taken.append(word)
        return taken

    def _after_strong_cues(self, text: str) -> Iterable[tuple[int, int]]:
        for match in _STRONG.finditer(text):
            words = list(re.finditer(rf"{_WORD}\.?", match.group(1)))
            taken = self._leading_name_words(words)
            if not _SAYS_NAME.match(match.group(0)):
                # After a sign-off, prose goes on in lower case; a name does not.
                taken = list(takewhile(lambda w: _looks_like_name(w.group(0)), taken))
            if taken:
                base = match.start(1)
                yield base + taken[0].start(), base + taken[-1].end()

    def _after_weak_cues(self, text: str) -> Iterable[tuple[int, int]]:
        for match in _WEAK.finditer(text):
            if _is_name(match.group(1)):
                yield match.start(1), match.end(2) if match.group(2) else match.end(1)

    def _after_titles(self, text: str) -> Iterable[tuple[int, int]]:
        for match in _TITLED.finditer(text):
            yield match.start(1), match.start(1) + len(match.group(1).rstrip())

    def _full_names(self, text: str) -> Iterable[tuple[int, int]]:
        for match in _FULL_NAME.finditer(text):
            surname = match.group(2).split()[0]
            if _is_name(match.group(1)) and surname.casefold() not in self._not_surnames:
                yield match.start(), match.end()


def _looks_like_name(word: str) -> bool:
    return word[:1].isupper() or _is_name(word)


def _pattern(entity: str, name: str, regex: str, score: float = 0.6) -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity=entity,
        name=name,
        patterns=[Pattern(name, regex, score)],
        global_regex_flags=re.DOTALL | re.MULTILINE | re.IGNORECASE,
    )


@cache
def analyzer() -> AnalyzerEngine:
    """The analyzer, built once: Presidio's pattern recognisers and ours, no NLP model."""
    recognizers: list[EntityRecognizer] = [
        PhoneRecognizer(supported_regions=("GB", "US"), leniency=1),
        _pattern("UK_POSTCODE", "UK postcode", _POSTCODE),
        UkNinoRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        UrlRecognizer(),
        _pattern("PHONE_NUMBER", "phone-like digits", _PHONE_LIKE),
        _pattern("PHONE_NUMBER", "spaced-out phone digits", _PHONE_SPACED),
        _pattern("PHONE_NUMBER", "phone number after 44", _PHONE_44),
        _pattern("PHONE_NUMBER", "bracketed country code", _PHONE_BRACKETED),
        _pattern("EMAIL_ADDRESS", "email", _PLAIN_EMAIL, 0.9),
        _pattern("EMAIL_ADDRESS", "obfuscated email", _OBFUSCATED_EMAIL, 0.8),
        _pattern("HANDLE", "social handle", _HANDLE),
        _pattern("URL", "web address", _BARE_DOMAIN),
        PatternRecognizer(
            supported_entity="LOCATION",
            name="street address",
            patterns=[Pattern("street address", _STREET, 0.6)],
            global_regex_flags=re.DOTALL | re.MULTILINE,
        ),
        NameRecognizer(),
    ]
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[_LANGUAGE])
    engine = NoOpNlpEngine(models=[{"lang_code": _LANGUAGE, "model_name": "none"}])
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[_LANGUAGE])


def find_personal_data(
    text: str, *, organisation: Sequence[str] = (), names: Sequence[str] = ()
) -> list[Finding]:
    """Spans of personal data in `text`, overlapping ones merged, in order.

    `organisation` and `names` are the employer's own organisation and contact name
    variants, which are always removed where they occur."""
    ad_hoc: list[EntityRecognizer] = [
        PatternRecognizer(supported_entity=entity, deny_list=list(words))
        for entity, words in (("ORGANISATION", organisation), ("PERSON", names))
        if words
    ]
    results: list[Any] = analyzer().analyze(
        text.translate(_FULLWIDTH),  # same length: the spans hold for `text`
        language=_LANGUAGE,
        score_threshold=_SCORE_THRESHOLD,
        ad_hoc_recognizers=ad_hoc or None,
    )
    return _merge([Finding(r.entity_type, r.start, r.end) for r in results])


def _merge(findings: list[Finding]) -> list[Finding]:
    """Overlapping spans become one, named after the longest of them."""
    merged: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            longest = last if last.end - last.start >= finding.end - finding.start else finding
            merged[-1] = Finding(longest.kind, last.start, max(last.end, finding.end))
        else:
            merged.append(finding)
    return merged


def replace_findings(text: str, findings: Sequence[Finding]) -> str:
    """The text with each finding replaced by its placeholder, neighbours collapsed."""
    pieces: list[str] = []
    position = 0
    for finding in findings:
        pieces.append(text[position : finding.start])
        placeholder = PLACEHOLDERS.get(finding.kind, "[removed]")
        if len(pieces) >= 2 and pieces[-1].strip() == "" and pieces[-2] == placeholder:
            pieces.pop()  # "[name] [name]" reads as one name
        else:
            pieces.append(placeholder)
        position = finding.end
    pieces.append(text[position:])
    return "".join(pieces)
