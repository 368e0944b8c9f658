from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_identity')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TrialUse',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('buyer_id', fields.BigIntField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'trial_use', 'app': 'models', 'unique_together': (('tenant_id', 'product_id', 'buyer_id'),), 'pk_attr': 'id', 'table_description': 'A trial a buyer has had of a product (§5 Trials, §6): one per product for the'},
            bases=['Model'],
        ),
        # A claim of the old per-tenant rule was a plain user's self-service trial when its
        # trial subscription sits on a self-service account: it becomes that buyer's; any
        # other claim is the organization's (0).
        ops.RunSQL(
            'INSERT INTO "trial_use" ("tenant_id", "product_id", "buyer_id", "at") '
            'SELECT c."tenant_id", c."product_id", COALESCE(('
            'SELECT s."purchased_by_id" FROM "subscription" s '
            'JOIN "billing_account" a ON a."id" = s."billing_account_id" '
            'WHERE s."tenant_id" = c."tenant_id" AND s."product_id" = c."product_id" '
            'AND s."purchase_channel" = \'TRIAL\' AND a."self_service" = TRUE '
            'ORDER BY s."id" LIMIT 1), 0), c."at" FROM "trial_claim" c',
            reverse_sql='DELETE FROM "trial_use"',
        ),
        # The product-key guard counts in `rate_window` now (one conditional statement).
        ops.DeleteModel(name='ProductKeyAttempt'),
        ops.DeleteModel(name='TrialClaim'),
    ]
