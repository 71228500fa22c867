"""How Burgernet writes a moment and a day in Dutch, on every page, e-mail and in the admin:
"4 dec 2026 15:30" and "4 dec 2026". Templates name these formats (|date:"DATETIME_FORMAT")
instead of writing their own."""

DATETIME_FORMAT = "j N Y H:i"
DATE_FORMAT = "j N Y"
TIME_FORMAT = "H:i"
