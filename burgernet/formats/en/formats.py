"""How Burgernet writes a moment and a day in English: "4 Dec. 2026 15:30", "4 Dec. 2026"
(the same order as in Dutch; see formats/nl)."""

DATETIME_FORMAT = "j N Y H:i"
DATE_FORMAT = "j N Y"
TIME_FORMAT = "H:i"
