from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_trial_claims')]

    initial = False

    operations = [
        ops.AddField(
            model_name='BillingProfile',
            name='invoice_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Invoice',
            name='charge_claimed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Invoice',
            name='first_failed_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Invoice',
            name='next_attempt_on',
            field=fields.DateField(null=True),
        ),
        ops.AddIndex(
            model_name='Invoice',
            index=Index(fields=['next_attempt_on'], name='invoice_next_attempt_idx'),
        ),
        ops.AddIndex(
            model_name='InvoiceLine',
            index=Index(fields=['charge_on'], name='invoice_line_charge_on_idx'),
        ),
        ops.AddField(
            model_name='Subscription',
            name='trial',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddIndex(
            model_name='Subscription',
            index=Index(fields=['status', 'term_end'], name='subscription_status_term_end_idx'),
        ),
        ops.AddIndex(
            model_name='Subscription',
            index=Index(fields=['status', 'expired_at'], name='subscription_status_expired_idx'),
        ),
        ops.AddIndex(
            model_name='Subscription',
            index=Index(fields=['status', 'disabled_at'], name='subscription_status_disabled_idx'),
        ),
    ]
