from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_inputs')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BillingFailure',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('error', fields.TextField(unique=False)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'billing_failure', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'day'], name='billing_failure_tenant_day_idx')], 'pk_attr': 'id', 'table_description': 'A tenant whose charge day the billing engine could not process (§7): the run recorded'},
            bases=['Model'],
        ),
    ]
