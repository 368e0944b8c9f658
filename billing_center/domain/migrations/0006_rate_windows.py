from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_billing_engine')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RateWindow',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('count', fields.IntField()),
            ],
            options={'table': 'rate_window', 'app': 'models', 'pk_attr': 'key', 'table_description': 'A fixed window of a rate limit (RELIABILITY.md A9): how many attempts `key` made since'},
            bases=['Model'],
        ),
    ]
