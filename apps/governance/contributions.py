"""The municipal contribution (gemeentelijke bijdrage): what each municipality pays
Burgernet for a year, its inhabitants times the rate of that year.

The rates are `ContributionRate` rows, each holding from its year until the next row's
year: the rate of a year is the row with the latest year not after it, and before the
first row there is none (no contribution). The 2019 letter set 3 cents per inhabitant
for 2020 and none from 2021 on: rows 2020 = 3 and 2021 = 0 (migration 0006).

Inhabitants are the figure Burgernet holds for the municipality now
(`Municipality.inhabitants`); a municipality without one is listed without an amount.
Amounts are euros, Decimal, rounded half up to the cent per municipality; the total is
the sum of the rounded amounts (what the municipalities are asked to pay).

Managers see the municipalities of their scope; only nationwide managers set rates
(policy "settings.manage" over the whole country). Setting a rate and exporting are
audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from . import audit, policy
from .models import ContributionRate, Municipality

VIEW = "report.view"
CENT = Decimal("0.01")
FIRST_YEAR = 2000
LAST_YEAR = 2100


@dataclass(frozen=True)
class Row:
    municipality: Municipality
    inhabitants: int | None
    amount: Decimal | None  # euros; None when the inhabitants are unknown


@dataclass(frozen=True)
class Contributions:
    year: int
    rate: ContributionRate | None  # None: no contribution in this year
    rows: list[Row]
    total: Decimal
    unknown: int  # municipalities without a number of inhabitants

    @property
    def cents_per_inhabitant(self) -> Decimal:
        return self.rate.cents_per_inhabitant if self.rate else Decimal(0)


def rate_for(year: int) -> ContributionRate | None:
    """The rate of `year`: the row of the latest year not after it; None before the first."""
    return ContributionRate.objects.filter(year__lte=year).order_by("-year").first()


def amount(inhabitants: int, cents_per_inhabitant: Decimal) -> Decimal:
    """Inhabitants × cents, in euros rounded half up to the cent."""
    return (Decimal(inhabitants) * cents_per_inhabitant / 100).quantize(CENT, ROUND_HALF_UP)


def rates() -> list[ContributionRate]:
    return list(ContributionRate.objects.order_by("year"))


def may_manage_rates(user) -> bool:
    return policy.can(user, "settings.manage", policy.Scope.nation())


def contributions(*, by, year: int) -> Contributions:
    """The contribution of every municipality in `by`'s scope for `year`."""
    policy.require(by, VIEW)
    rate = rate_for(year)
    cents = rate.cents_per_inhabitant if rate else Decimal(0)
    municipalities = policy.user_scope(by).filter(Municipality.objects.order_by("name"), "pk")
    rows, total, unknown = [], Decimal("0.00"), 0
    for municipality in municipalities:
        if municipality.inhabitants is None:
            rows.append(Row(municipality, None, None))
            unknown += 1
            continue
        value = amount(municipality.inhabitants, cents)
        rows.append(Row(municipality, municipality.inhabitants, value))
        total += value
    return Contributions(year=year, rate=rate, rows=rows, total=total, unknown=unknown)


@transaction.atomic
def rate_set(*, by, year: int, cents_per_inhabitant: Decimal, note: str = "", request=None):
    """Set the rate from `year` on (a new row, or the year's row changed). Nationwide
    managers only; audited with the old and new rate."""
    if not may_manage_rates(by):
        raise PermissionDenied
    if not FIRST_YEAR <= year <= LAST_YEAR:
        message = _("Kies een jaar van %(first)s tot en met %(last)s.")
        raise ValidationError(
            {"year": ValidationError(message, params={"first": FIRST_YEAR, "last": LAST_YEAR})}
        )
    if cents_per_inhabitant < 0:
        raise ValidationError({"cents_per_inhabitant": _("Een bijdrage is nooit negatief.")})
    rate = ContributionRate.objects.select_for_update().filter(year=year).first()
    old = None
    if rate is not None:
        old = {"cents_per_inhabitant": str(rate.cents_per_inhabitant), "note": rate.note}
    if rate is None:
        rate = ContributionRate(year=year)
    rate.cents_per_inhabitant = cents_per_inhabitant
    rate.note = note
    rate.full_clean()
    rate.save()
    audit.record(
        verb="contributionrate.set",
        actor=by,
        target=rate,
        request=request,
        detail={
            "year": year,
            "old": old,
            "new": {"cents_per_inhabitant": str(cents_per_inhabitant), "note": note},
        },
    )
    return rate


def export_recorded(*, by, year: int, rows: int, request=None) -> None:
    audit.record(
        verb="contribution.export", actor=by, request=request, detail={"year": year, "rows": rows}
    )
