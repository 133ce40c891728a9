"""Vietnamese alphabetical order: a sort key that puts "Đại Bình" after "Dực Yên" and before
"Tân Lập" (the order of the Vietnamese alphabet, tone marks only breaking ties)."""

from __future__ import annotations

import unicodedata

#: The Vietnamese alphabet (with the Latin letters it borrows, f j w z, in Latin order).
ALPHABET = "a ă â b c d đ e ê f g h i j k l m n o ô ơ p q r s t u ư v w x y z".split()
_RANK = {letter: k for k, letter in enumerate(ALPHABET)}
# Letter modifiers (part of the letter) and tone marks (compared only when letters tie), in
# the dictionary order of tones: none, huyền, hỏi, ngã, sắc, nặng.
_LETTER_MARKS = {"\u0306": "ă", "\u0302": "â", "\u031b": "ơ"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def _letters(text: str) -> tuple[list[tuple[int, int | str]], list[int]]:
    primary: list[tuple[int, int | str]] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", text.casefold()):
        if unicodedata.combining(ch):
            if ch in _TONES and tones:
                tones[-1] = _TONES[ch]
            elif primary and ch in ("\u0306", "\u0302", "\u031b"):
                base = primary[-1][1]
                if ch == "\u0302" and base in (_RANK["e"], _RANK["o"]):
                    letter = {_RANK["e"]: "ê", _RANK["o"]: "ô"}[int(base)]
                elif ch == "\u031b" and base == _RANK["u"]:
                    letter = "ư"
                else:
                    letter = _LETTER_MARKS[ch]
                primary[-1] = (1, _RANK[letter])
            continue
        if ch == "đ":
            primary.append((1, _RANK["đ"]))
        elif ch in _RANK:
            primary.append((1, _RANK[ch]))
        elif ch.isspace():
            primary.append((0, 0))  # a space sorts before any letter ("Hà Nam" < "Hàm")
        else:
            primary.append((2, ch))  # digits and signs after letters, in code point order
        tones.append(0)
    return primary, tones


def vi_key(text: str) -> tuple[tuple[tuple[int, int | str], ...], tuple[int, ...], str]:
    """Sort key of ``text`` in Vietnamese alphabetical order.

    >>> sorted(["Xã Tân Lập", "Xã Đại Bình", "Xã Dực Yên", "Xã Quảng An"], key=vi_key)
    ['Xã Dực Yên', 'Xã Đại Bình', 'Xã Quảng An', 'Xã Tân Lập']
    >>> sorted(["Ân", "An", "Ăn", "Bá", "Ba", "Bà"], key=vi_key)
    ['An', 'Ăn', 'Ân', 'Ba', 'Bà', 'Bá']
    """
    primary, tones = _letters(text)
    return tuple(primary), tuple(tones), text
