from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_constraints')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ProductKeyAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'product_key_attempt', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'at'], name='product_key_attempt_tenant_at_idx')], 'pk_attr': 'id', 'table_description': 'A failed product-key redemption of a tenant, for the brute-force guard (§5).'},
            bases=['Model'],
        ),
    ]
