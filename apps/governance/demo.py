"""Demo organisations and staff users, one per role, for a first look and for trying out.

Every demo user has the same public password and a fixed, public TOTP secret, so these
accounts must never exist outside development (load_demo refuses when DEBUG is off).
"""

from dataclasses import dataclass

from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services, totp
from .geography import NATIONAL_UNIT_NAME
from .models import Municipality, Organisation, PoliceUnit, User
from .roles import ROLE_LABELS, Role

DEMO_PASSWORD = "burgernet-demo"  # noqa: S105 - public on purpose, development only

Kind = Organisation.Kind

# name → (kind, police unit name, municipality codes, requires mail approval)
ORGANISATIONS: dict[str, tuple[str, str | None, tuple[str, ...], bool]] = {
    "Meldkamer Midden-Nederland": (Kind.CONTROL_ROOM, "Midden-Nederland", (), False),
    "Meldkamer Amsterdam": (Kind.CONTROL_ROOM, "Amsterdam", (), False),
    "Landelijke Eenheid": (Kind.NATIONAL_UNIT, NATIONAL_UNIT_NAME, (), False),
    "Gemeente Woerden": (Kind.MUNICIPALITY, None, ("GM0632",), True),
    "Gemeente Utrecht": (Kind.MUNICIPALITY, None, ("GM0344",), False),
    "Politieteam Woerden-Oudewater-Montfoort": (
        Kind.POLICE_TEAM,
        None,
        ("GM0632", "GM0589", "GM0335"),
        False,
    ),
    "Burgernet-beheer": (Kind.MANAGEMENT, None, (), False),
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    organisation: str
    roles: tuple[Role, ...]
    first_name: str
    last_name: str


USERS = [
    DemoUser("operator-mn", "Meldkamer Midden-Nederland", (Role.OPERATOR,), "Sanne", "Visser"),
    DemoUser("operator-ams", "Meldkamer Amsterdam", (Role.OPERATOR,), "Youssef", "El Amrani"),
    DemoUser("landelijk", "Landelijke Eenheid", (Role.NATIONAL_OPERATOR,), "Eva", "Jansen"),
    DemoUser("mail-woerden", "Gemeente Woerden", (Role.MAIL_AUTHOR,), "Pieter", "de Boer"),
    DemoUser("goedkeurder-woerden", "Gemeente Woerden", (Role.MAIL_APPROVER,), "Anouk", "Smit"),
    DemoUser("mail-utrecht", "Gemeente Utrecht", (Role.MAIL_AUTHOR,), "Daan", "Mulder"),
    DemoUser(
        "team-woerden",
        "Politieteam Woerden-Oudewater-Montfoort",
        (Role.MAIL_AUTHOR,),
        "Fatima",
        "Bakker",
    ),
    DemoUser("beheerder", "Burgernet-beheer", (Role.MANAGER,), "Lotte", "de Graaf"),
]


def _organisation(name: str) -> Organisation:
    kind, unit_name, codes, approval = ORGANISATIONS[name]
    municipalities = list(Municipality.objects.filter(code__in=codes).order_by("code"))
    if len(municipalities) != len(codes):
        raise LookupError(f"{name}: municipalities {codes} not loaded (run load_geography)")
    return services.organisation_ensure(
        name=name,
        kind=kind,
        police_unit=PoliceUnit.objects.get(name=unit_name) if unit_name else None,
        municipality=municipalities[0] if kind == Kind.MUNICIPALITY else None,
        municipalities=municipalities if kind == Kind.POLICE_TEAM else (),
        requires_mail_approval=approval,
    )


def load() -> None:
    """Create or update the demo organisations and users (idempotent)."""
    organisations = {name: _organisation(name) for name in ORGANISATIONS}
    for spec in USERS:
        user = services.staff_user_ensure(
            username=spec.username,
            organisation=organisations[spec.organisation],
            roles=spec.roles,
            password=DEMO_PASSWORD,
            first_name=spec.first_name,
            last_name=spec.last_name,
        )
        services.totp_device_ensure(user=user, key=totp.demo_key(spec.username))


def demo_logins() -> list[dict[str, str]]:
    """One row per demo user: what a person needs to log in as that user."""
    rows = []
    users = {u.username: u for u in User.objects.filter(username__in=[s.username for s in USERS])}
    for spec in USERS:
        if spec.username not in users:
            continue
        device = TOTPDevice.objects.filter(user=users[spec.username], confirmed=True).first()
        rows.append(
            {
                "username": spec.username,
                "organisation": spec.organisation,
                "roles": ", ".join(str(ROLE_LABELS[r]) for r in spec.roles),
                "secret": totp.secret_base32(device) if device else "",
            }
        )
    return rows
