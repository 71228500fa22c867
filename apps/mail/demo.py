"""Demo data of Burgernetmail: national templates for every kind, and a few participants with
confirmed e-mail addresses in Woerden streets, so a demo mailing has someone to reach.

Loaded by `load_demo` (after the participants' demo); idempotent.
"""

from django.db import transaction
from django.utils import timezone

from apps.governance.models import PostcodeArea
from apps.participants.models import Address, Participant

from .models import Kind, MailTemplate

# (kind, name, subject, body). Text between [brackets] is for the author to fill in.
TEMPLATES = [
    (
        Kind.NEIGHBOURHOOD_INQUIRY,
        "Woninginbraak: getuigen gezocht",
        "Buurtonderzoek: inbraak in uw straat",
        """Beste bewoner,

Op [datum] is er ingebroken in een woning in uw straat. De politie zoekt getuigen en vraagt
uw hulp.

Hebt u iets gezien of gehoord? Denk aan:
- personen of voertuigen die u niet kent of die zich opvallend gedroegen
- geluiden, zoals brekend glas of een alarm
- beelden van een deurbel- of beveiligingscamera

Elk detail kan helpen, ook als het u onbelangrijk lijkt. Klik op *Reageer* onder dit bericht
om uw informatie door te geven. Bellen kan ook: 0900-8844.

Ziet u nu iets verdachts? Bel dan direct 112.

Met vriendelijke groet,

[naam en organisatie]""",
    ),
    (
        Kind.NEIGHBOURHOOD_INQUIRY,
        "Diefstal uit auto: getuigen gezocht",
        "Buurtonderzoek: auto's opengebroken in uw buurt",
        """Beste bewoner,

In de nacht van [datum] zijn in uw buurt meerdere auto's opengebroken. Daarbij zijn onder
meer navigatiesystemen en tassen gestolen.

Hebt u die nacht iets gezien of gehoord, of hebt u camerabeelden? Klik op *Reageer* onder dit
bericht. U kunt ook bellen met de politie: 0900-8844.

Met vriendelijke groet,

[naam en organisatie]""",
    ),
    (
        Kind.PREVENTIVE,
        "Zakkenrollers actief",
        "Let op: zakkenrollers actief in [plaats]",
        """Beste inwoner,

De afgelopen dagen zijn er in [plaats] meerdere meldingen gedaan van zakkenrollerij, vooral
op de markt en in drukke winkelstraten.

Zo verkleint u de kans dat het u overkomt:
- draag uw tas met de sluiting naar uw lichaam toe
- bewaar uw portemonnee en telefoon in een binnenzak
- laat uw pinpas en pincode nooit samen zien
- wees alert als iemand u afleidt met een vraag of door tegen u aan te botsen

Bent u bestolen? Laat uw pas direct blokkeren en doe aangifte via https://www.politie.nl.

Met vriendelijke groet,

[naam en organisatie]""",
    ),
    (
        Kind.PREVENTIVE,
        "Woninginbraak voorkomen in de donkere dagen",
        "Tips tegen woninginbraak in de donkere dagen",
        """Beste inwoner,

In de herfst en winter wordt er vaker ingebroken, vooral tussen 16.00 en 22.00 uur.

Met een paar eenvoudige maatregelen maakt u het inbrekers moeilijker:
- doe ramen en deuren op slot, ook als u maar even weg bent
- laat 's avonds een lamp branden als u niet thuis bent
- leg geen sleutels vlak achter de deur of onder de mat
- zet ladders en kliko's niet tegen de gevel

Meer tips vindt u op https://www.politiekeurmerk.nl.

Met vriendelijke groet,

[naam en organisatie]""",
    ),
    (
        Kind.INFORMATIVE,
        "Politie-inzet in uw buurt",
        "Informatie over de politie-inzet in uw buurt",
        """Beste bewoner,

Op [datum] was er veel politie in uw buurt. Misschien hebt u dat gemerkt. Wij willen u
graag vertellen wat er aan de hand was.

[Korte uitleg over het voorval en wat er nu gebeurt.]

Er is op dit moment *geen gevaar* voor omwonenden. Hebt u vragen? Bel dan met de politie:
0900-8844.

Met vriendelijke groet,

[naam en organisatie]""",
    ),
    (
        Kind.CRISIS,
        "Grote brand: ramen en deuren dicht",
        "Grote brand in [plaats]: sluit ramen en deuren",
        """Beste bewoner,

Er is een grote brand bij [locatie]. Er komt veel rook vrij die over uw buurt trekt.

Wat moet u doen?
- ga naar binnen en blijf binnen
- sluit ramen en deuren
- zet ventilatie en mechanische afzuiging uit
- volg het nieuws via de regionale omroep

Is er direct gevaar of ziet u iets verdachts? Bel 112.

Dit bericht is verstuurd door [naam en organisatie].""",
    ),
]

# Participants with a confirmed e-mail address at a Woerden address:
# (phone, e-mail, postcode, house number, e-mail confirmed)
WOERDEN_PARTICIPANTS = [
    ("+31612349101", "bewoner1.woerden@example.org", "3441 AB", 2, True),
    ("+31612349102", "bewoner2.woerden@example.org", "3441 AB", 4, True),
    ("+31612349103", "bewoner3.woerden@example.org", "3441 AB", 7, True),
    ("+31612349104", "bewoner4.woerden@example.org", "3441 AB", 15, True),
    # Not confirmed yet: no mail until the address is confirmed.
    ("+31612349105", "bewoner5.woerden@example.org", "3441 AB", 9, False),
    ("+31612349106", "bewoner6.woerden@example.org", "3448 CD", 21, True),
    ("+31612349107", "bewoner7.woerden@example.org", "3443 EK", 10, True),
]


def _unwrap(body: str) -> str:
    """The bodies above are wrapped for reading here; in a mail a single line break stays a
    line break, so the lines of a paragraph (not of a list) are joined."""
    blocks = []
    for block in body.split("\n\n"):
        lines = block.split("\n")
        if not any(line.startswith("- ") for line in lines):
            lines = [" ".join(lines)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def load_templates() -> int:
    """The national templates that do not exist yet (by name); return how many were made."""
    created = 0
    for kind, name, subject, body in TEMPLATES:
        _template, made = MailTemplate.objects.get_or_create(
            name=name,
            organisation=None,
            defaults={"kind": kind, "subject": subject, "body": _unwrap(body)},
        )
        created += made
    return created


def load_participants() -> int:
    """The Woerden demo participants that do not exist yet; return how many were made."""
    created = 0
    now = timezone.now()
    for n, (phone, email, postcode, number, confirmed) in enumerate(WOERDEN_PARTICIPANTS):
        if Participant.objects.filter(phone=phone).exists():
            continue
        area = PostcodeArea.objects.select_related("municipality").get(pc4=postcode[:4])
        # Spread the houses a little around the centre of the postcode area.
        lat, lon = area.lat + 0.0004 * (n % 3), area.lon + 0.0006 * (n % 4)
        participant = Participant.objects.create(
            phone=phone,
            phone_confirmed_at=now,
            email=email,
            email_confirmed_at=now if confirmed else None,
            email_postcode=postcode,
            email_lat=lat,
            email_lon=lon,
            email_municipality=area.municipality,
            wants_sms=False,
            wants_email=True,
        )
        Address.objects.create(
            participant=participant,
            label="Thuis",
            country="NL",
            postcode=postcode,
            house_number=number,
            lat=lat,
            lon=lon,
            municipality=area.municipality,
        )
        created += 1
    return created


# The demo year: mailings the demo municipalities sent from 1 January last year until
# yesterday, with their recipients and responses counted (the rows themselves would be gone
# by retention), so the annual report's Burgernetmail table is filled.
YEAR_SUBJECTS = {
    Kind.NEIGHBOURHOOD_INQUIRY: "Buurtonderzoek: getuigen gezocht",
    Kind.PREVENTIVE: "Let op: inbraken in uw wijk",
    Kind.INFORMATIVE: "Terugkoppeling: verdachte aangehouden",
}


def load_year(seed: int = 2023) -> int:
    """The demo year's sent mailings, once; returns how many were made."""
    import datetime as dt
    import random

    from apps.governance.models import Organisation, User

    from .models import Mailing

    today = timezone.localdate()
    organisations = list(
        Organisation.objects.filter(name__in=["Gemeente Woerden", "Gemeente Utrecht"])
    )
    author = User.objects.filter(username="mail-utrecht").first()
    earlier = Mailing.objects.filter(sent_at__lt=timezone.now() - dt.timedelta(days=1))
    if not organisations or author is None or earlier.exists():
        return 0
    rng = random.Random(seed)
    has_counter = any(f.name == "responses_counted" for f in Mailing._meta.concrete_fields)
    made = []
    day = dt.date(today.year - 1, 1, 1)
    while day < today:
        if rng.random() < 0.12:
            kind = rng.choices(list(YEAR_SUBJECTS), [70, 20, 10])[0]
            sent = timezone.make_aware(dt.datetime.combine(day, dt.time(rng.randint(8, 20))))
            recipients = int(rng.lognormvariate(5.5, 0.7))
            mailing = Mailing(
                kind=kind,
                subject=YEAR_SUBJECTS[kind],
                body="Demo: een mailing uit het demojaar.",
                organisation=rng.choice(organisations),
                author=author,
                state=Mailing.State.SENT,
                sent_at=sent,
                recipient_count=recipients,
            )
            if has_counter:
                mailing.responses_counted = int(recipients * rng.uniform(0.0, 0.04))
            made.append(mailing)
        day += dt.timedelta(days=1)
    Mailing.objects.bulk_create(made)
    return len(made)


@transaction.atomic
def load() -> None:
    load_templates()
    load_participants()
    load_year()
