from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_product_key_attempts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TrialClaim',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'trial_claim', 'app': 'models', 'unique_together': (('tenant_id', 'product_id'),), 'pk_attr': 'id', 'table_description': 'One trial per product per tenant (§5 Trials), held by a unique constraint so that two'},
            bases=['Model'],
        ),
    ]
