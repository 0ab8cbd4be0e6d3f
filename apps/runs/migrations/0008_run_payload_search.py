"""Payload search on the runs page: the values of a run's input and result, indexed."""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0007_sweep_mark'),
    ]

    operations = [
        migrations.AddField(
            model_name='run',
            name='search_terms',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), blank=True, default=list, size=None),
        ),
        migrations.AddIndex(
            model_name='run',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_terms'], name='run_search_terms'),
        ),
    ]
