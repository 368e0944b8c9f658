from tortoise import migrations
from tortoise.migrations import operations as ops
from billing_center.domain.models import InvoiceKind, PaymentAttemptKind, ServiceChange
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0006_rate_windows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ServiceLevel',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('subscription', fields.ForeignKeyField('models.Subscription', source_field='subscription_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('since', fields.DateField()),
                ('licences', fields.IntField()),
                ('reason', fields.CharEnumField(description='PURCHASED: PURCHASED\nTRIAL_STARTED: TRIAL_STARTED\nREACTIVATED_AS_NEW: REACTIVATED_AS_NEW\nLICENCES_CHANGED: LICENCES_CHANGED\nCANCELLED: CANCELLED\nEXPIRED: EXPIRED\nTRIAL_CONVERTED: TRIAL_CONVERTED\nRENEWED: RENEWED\nNON_PAYMENT: NON_PAYMENT\nREACTIVATED: REACTIVATED', enum_type=ServiceChange, max_length=20)),
            ],
            options={'table': 'service_level', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'subscription_id'], name='service_level_subscription_idx')], 'pk_attr': 'id', 'table_description': 'From `since` on, `licences` licences of a subscription are in paid service (§7 the'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Invoice',
            options={'table': 'invoice', 'app': 'models', 'constraints': [UniqueConstraint(fields=('tenant_id', 'number'), name='invoice_number_uq'), UniqueConstraint(fields=('tenant_id', 'billing_profile_id', 'charge_day'), name='invoice_charge_day_uq'), CheckConstraint(check='amount_due >= 0', name='invoice_amount_due_ck')], 'indexes': [Index(fields=['tenant_id', 'issue_date'], name='invoice_tenant_issue_idx'), Index(fields=['tenant_id', 'billing_profile_id'], name='invoice_tenant_profile_idx'), Index(fields=['next_attempt_on'], name='invoice_next_attempt_idx')], 'pk_attr': 'id', 'table_description': 'An invoice or credit note of a billing profile (§7), `total` is the sum of its lines.'},
        ),
        ops.AddField(
            model_name='Invoice',
            name='charge_day',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Invoice',
            name='kind',
            field=fields.CharEnumField(default=InvoiceKind.INVOICE, description='INVOICE: INVOICE\nCREDIT_NOTE: CREDIT_NOTE', db_default='INVOICE', enum_type=InvoiceKind, max_length=12),
        ),
        ops.AddConstraint(
            model_name='Invoice',
            constraint=UniqueConstraint(fields=('tenant_id', 'billing_profile_id', 'charge_day'), name='invoice_charge_day_uq'),
        ),
        ops.AlterModelOptions(
            name='PaymentAttempt',
            options={'table': 'payment_attempt', 'app': 'models', 'constraints': [UniqueConstraint(fields=('tenant_id', 'gateway_idempotency_key'), name='payment_attempt_key_uq')], 'indexes': [Index(fields=['tenant_id', 'invoice_id'], name='payment_attempt_invoice_idx')], 'pk_attr': 'id', 'table_description': 'One charge of an invoice, or refund of a credit note, at the gateway (§5, §7); its'},
        ),
        ops.AddField(
            model_name='PaymentAttempt',
            name='kind',
            field=fields.CharEnumField(default=PaymentAttemptKind.CHARGE, description='CHARGE: CHARGE\nREFUND: REFUND', db_default='CHARGE', enum_type=PaymentAttemptKind, max_length=8),
        ),
        ops.AddField(
            model_name='Subscription',
            name='scheduled_quantity',
            field=fields.IntField(null=True),
        ),
    ]
