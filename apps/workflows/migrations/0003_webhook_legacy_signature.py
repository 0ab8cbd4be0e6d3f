from django.db import migrations, models


class Migration(migrations.Migration):
    """Webhooks now sign a timestamp with the body. Workflows that existed before keep
    accepting the old body-only signature (added with True, so every existing row gets
    it and nothing deployed breaks); new workflows default to False."""

    dependencies = [
        ('workflows', '0002_ordering'),
    ]

    operations = [
        migrations.AddField(
            model_name='workflow',
            name='webhook_legacy_signature',
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name='workflow',
            name='webhook_legacy_signature',
            field=models.BooleanField(default=False),
        ),
    ]
