# The bounds of an action's centre come from apps.governance.geo (one definition for actions
# and Burgernetmail): 50.6–53.8° N, 3.0–7.4° E, where it was 49–55° N, 2–9° E.

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('actions', '0002_action_reaches_units'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='action',
            name='action_point_near_nl',
        ),
        migrations.AlterField(
            model_name='action',
            name='lat',
            field=models.FloatField(validators=[django.core.validators.MinValueValidator(50.6), django.core.validators.MaxValueValidator(53.8)], verbose_name='breedtegraad'),
        ),
        migrations.AlterField(
            model_name='action',
            name='lon',
            field=models.FloatField(validators=[django.core.validators.MinValueValidator(3.0), django.core.validators.MaxValueValidator(7.4)], verbose_name='lengtegraad'),
        ),
        migrations.AddConstraint(
            model_name='action',
            constraint=models.CheckConstraint(condition=models.Q(('lat__gte', 50.6), ('lat__lte', 53.8), ('lon__gte', 3.0), ('lon__lte', 7.4)), name='action_point_near_nl'),
        ),
    ]
