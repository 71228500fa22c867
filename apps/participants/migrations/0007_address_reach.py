"""A participant's reachability on each of its addresses, kept by the database.

The reach estimate of a wide circle read the participant row of each of 100,000
participants to ask whether they may be alerted (0.4 s of 0.5 at 2 million). With these
columns an estimate counts addresses alone, from the covering index.

Triggers keep them, so that no write path (a form, the admin, a webhook's UPDATE, a bulk
load) can leave them stale: writing an address copies its participant's values onto it,
whatever the write said; changing a participant's phone confirmation, channel choices,
e-mail state or quiet hours copies them onto all its addresses. The rule written here is
reach.reachable(); tests/participants/test_reach.py holds the two to the same answer.
"""

from django.db import migrations, models

# What reach.reachable() says, per channel, of a participant row `p`.
REACH_SMS = "(p.phone_confirmed_at IS NOT NULL AND p.wants_sms)"
REACH_VOICE = "(p.phone_confirmed_at IS NOT NULL AND p.wants_voice)"
REACH_EMAIL = (
    "(p.phone_confirmed_at IS NOT NULL AND p.wants_email AND p.email <> ''"
    " AND p.email_confirmed_at IS NOT NULL AND p.email_suppressed_at IS NULL)"
)
PARTICIPANT_COLUMNS = (
    "phone_confirmed_at",
    "wants_sms",
    "wants_voice",
    "wants_email",
    "email",
    "email_confirmed_at",
    "email_suppressed_at",
    "quiet_start",
    "quiet_end",
)
ADDRESS_COLUMNS = (
    "participant_id",
    "reach_sms",
    "reach_voice",
    "reach_email",
    "quiet_start",
    "quiet_end",
)


def _copy_from(alias: str) -> str:
    """SET clause values: the reach of participant `alias` (a row called p)."""
    return (
        f"reach_sms = {REACH_SMS.replace('p.', alias + '.')}, "
        f"reach_voice = {REACH_VOICE.replace('p.', alias + '.')}, "
        f"reach_email = {REACH_EMAIL.replace('p.', alias + '.')}, "
        f"quiet_start = {alias}.quiet_start, quiet_end = {alias}.quiet_end"
    )


POSTGRESQL = [
    f"""
    CREATE FUNCTION participants_address_copy_reach() RETURNS trigger AS $$
    BEGIN
        SELECT {REACH_SMS}, {REACH_VOICE}, {REACH_EMAIL}, p.quiet_start, p.quiet_end
          INTO NEW.reach_sms, NEW.reach_voice, NEW.reach_email, NEW.quiet_start, NEW.quiet_end
          FROM participants_participant p WHERE p.id = NEW.participant_id;
        IF NOT FOUND THEN  -- not written yet (a deferred key): nobody to reach yet
            NEW.reach_sms := false; NEW.reach_voice := false; NEW.reach_email := false;
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER participants_address_reach
    BEFORE INSERT OR UPDATE ON participants_address
    FOR EACH ROW EXECUTE FUNCTION participants_address_copy_reach()
    """,
    f"""
    CREATE FUNCTION participants_participant_spread_reach() RETURNS trigger AS $$
    BEGIN
        UPDATE participants_address a SET {_copy_from("NEW")}
         WHERE a.participant_id = NEW.id;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER participants_participant_reach
    AFTER UPDATE ON participants_participant
    FOR EACH ROW WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in PARTICIPANT_COLUMNS)})
    EXECUTE FUNCTION participants_participant_spread_reach()
    """,
    # Also with session_replication_role = replica (bulk loads that skip key checks, as
    # bench_fanout's, and logical replicas): a copy left unset would hide people.
    "ALTER TABLE participants_address ENABLE ALWAYS TRIGGER participants_address_reach",
    "ALTER TABLE participants_participant ENABLE ALWAYS TRIGGER participants_participant_reach",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS participants_participant_reach ON participants_participant",
    "DROP FUNCTION IF EXISTS participants_participant_spread_reach()",
    "DROP TRIGGER IF EXISTS participants_address_reach ON participants_address",
    "DROP FUNCTION IF EXISTS participants_address_copy_reach()",
]
_FROM_PARTICIPANT = (
    "UPDATE participants_address SET "
    "reach_sms = COALESCE((SELECT {sms} FROM participants_participant p "
    "WHERE p.id = NEW.participant_id), 0), "
    "reach_voice = COALESCE((SELECT {voice} FROM participants_participant p "
    "WHERE p.id = NEW.participant_id), 0), "
    "reach_email = COALESCE((SELECT {email} FROM participants_participant p "
    "WHERE p.id = NEW.participant_id), 0), "
    "quiet_start = (SELECT p.quiet_start FROM participants_participant p WHERE p.id = NEW.participant_id), "
    "quiet_end = (SELECT p.quiet_end FROM participants_participant p WHERE p.id = NEW.participant_id) "
    "WHERE id = NEW.id;"
).format(sms=REACH_SMS, voice=REACH_VOICE, email=REACH_EMAIL)
# SQLite cannot change NEW in a trigger: it writes the row again after the insert or an
# update of the copied columns (recursive triggers are off, so that write fires nothing).
SQLITE = [
    f"CREATE TRIGGER participants_address_reach_insert AFTER INSERT ON participants_address "
    f"BEGIN {_FROM_PARTICIPANT} END",
    f"CREATE TRIGGER participants_address_reach_update AFTER UPDATE OF {', '.join(ADDRESS_COLUMNS)} "
    f"ON participants_address BEGIN {_FROM_PARTICIPANT} END",
    f"CREATE TRIGGER participants_participant_reach AFTER UPDATE OF {', '.join(PARTICIPANT_COLUMNS)} "
    f"ON participants_participant BEGIN "
    f"UPDATE participants_address SET {_copy_from('NEW')} WHERE participant_id = NEW.id; END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS participants_participant_reach",
    "DROP TRIGGER IF EXISTS participants_address_reach_update",
    "DROP TRIGGER IF EXISTS participants_address_reach_insert",
]
BACKFILL = f"UPDATE participants_address SET {_copy_from('p')} FROM participants_participant p WHERE p.id = participants_address.participant_id"


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(vendor)
    if statements is None:
        raise RuntimeError(f"no reach triggers written for {vendor}")
    for statement in statements:
        schema_editor.execute(statement)
    schema_editor.execute(BACKFILL)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}.get(vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0001_initial"),
        ("participants", "0006_device_autovacuum"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="address",
            name="address_lat_lon_cover",
        ),
        migrations.AddField(
            model_name="address",
            name="quiet_end",
            field=models.TimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="address",
            name="quiet_start",
            field=models.TimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="address",
            name="reach_email",
            field=models.BooleanField(db_default=False, editable=False),
        ),
        migrations.AddField(
            model_name="address",
            name="reach_sms",
            field=models.BooleanField(db_default=False, editable=False),
        ),
        migrations.AddField(
            model_name="address",
            name="reach_voice",
            field=models.BooleanField(db_default=False, editable=False),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(
                fields=["lat", "lon"],
                include=(
                    "id",
                    "participant",
                    "always_active",
                    "reach_sms",
                    "reach_voice",
                    "reach_email",
                    "quiet_start",
                    "quiet_end",
                ),
                name="address_lat_lon_cover",
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
