"""Bench: the project's benchmark and fault-trial harness, kept out of the domain apps.

It holds `manage.py bench_fanout`, `bench_faults` and `bench_mailing`, and the local push
service (`pushendpoint`) that the benchmarks and the tests send web pushes to. Nothing in
the product imports it; it imports whatever it measures.
"""

from django.apps import AppConfig


class BenchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.bench"
    label = "bench"
    verbose_name = "Benchmarks"
