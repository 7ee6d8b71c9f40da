"""Residency (lives in the commune or not) derived from a postcode and a city.

The commune lists its places in ``CommuneProfile.resident_places``, one per line:
``38360 Sassenage`` (postcode and city), ``38360`` (every city of that postcode) or
``Sassenage`` (that city whatever the postcode). Cities are compared normalised
(accents, case, punctuation ignored; ``St``/``Ste`` read as ``Saint``/``Sainte``;
``CEDEX`` and its number dropped), so ``ST EGREVE`` matches ``Saint-Égrève``.

Rules, in order:
- the commune has listed no place: everyone is a resident (no outside price to apply);
- the family has neither postcode nor city: resident (an unknown address does not make a
  family pay the outside price; an agent may set residency by hand);
- otherwise the family is a resident if one line matches on the parts both sides give.
"""

import re
from dataclasses import dataclass

from portal.models import CommuneProfile, Residency
from portal.normalize import normalize_name

_CITY_WORDS = {"st": "saint", "ste": "sainte"}
_CEDEX = re.compile(r"\bcedex\b.*$")


def city_key(city: str) -> str:
    """'ST EGREVE CEDEX 2' -> 'saint egreve'."""
    text = _CEDEX.sub("", normalize_name(city)).strip()
    return " ".join(_CITY_WORDS.get(word, word) for word in text.split())


def postcode_clean(postcode: str) -> str:
    """Digits only; a spreadsheet's '1000' (leading zero lost) becomes '01000'."""
    digits = re.sub(r"\D", "", postcode or "")
    return digits.zfill(5) if len(digits) == 4 else digits


@dataclass(frozen=True)
class ResidentPlaces:
    places: frozenset[tuple[str, str]]  # (postcode or "", city key or "")

    @classmethod
    def parse(cls, text: str) -> "ResidentPlaces":
        places = set()
        for line in (text or "").splitlines():
            match = re.match(r"^\s*(\d{4,5})?\s*(.*?)\s*$", line)
            postcode = postcode_clean(match.group(1) or "")
            city = city_key(match.group(2))
            if postcode or city:
                places.add((postcode, city))
        return cls(frozenset(places))

    def residency_for(self, postcode: str, city: str) -> str:
        postcode, city = postcode_clean(postcode), city_key(city)
        if not self.places or not (postcode or city):
            return Residency.RESIDENT
        for place_postcode, place_city in self.places:
            if postcode and place_postcode and postcode != place_postcode:
                continue
            if city and place_city and city != place_city:
                continue
            if (postcode and place_postcode) or (city and place_city):
                return Residency.RESIDENT
        return Residency.NON_RESIDENT


def resident_places() -> ResidentPlaces:
    """The current commune's places (one query; load once for a batch)."""
    return ResidentPlaces.parse(CommuneProfile.get().resident_places)


def residency_for(postcode: str, city: str, *, places: ResidentPlaces | None = None) -> str:
    """``Residency.RESIDENT`` or ``NON_RESIDENT`` for an address in the current commune."""
    return (places or resident_places()).residency_for(postcode, city)
