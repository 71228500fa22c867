"""django-q2 tasks of the channels app: thin wrappers that load by id and call the outbox."""

from . import outbox


def send_message_chunks(message_id: int, chunk_size: int | None = None, max_chunks: int = 1):
    """One chunk of a message's deliveries (queued by outbox.release and by the sweep)."""
    counts = outbox.send_message_chunks(
        message_id=message_id, chunk_size=chunk_size, max_chunks=max_chunks
    )
    return dict(counts)


def sweep_outbox():
    """Every minute, by the Schedule that migration 0003 creates."""
    return dict(outbox.sweep())
