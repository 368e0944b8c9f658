# CreateModel in tortoise-orm 1.1.9 drops Meta.constraints from its CREATE TABLE, so the
# constraints are added by this second migration (AddConstraint rebuilds the table on SQLite).
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddConstraint(
            model_name='BillingAccount',
            constraint=CheckConstraint(check='billing_day IS NULL OR (billing_day >= 1 AND billing_day <= 31)', name='billing_account_billing_day_ck'),
        ),
        ops.AddConstraint(
            model_name='IdempotencyRecord',
            constraint=UniqueConstraint(fields=('tenant_id', 'mutation', 'key'), name='idempotency_key_uq'),
        ),
        ops.AddConstraint(
            model_name='Invoice',
            constraint=UniqueConstraint(fields=('tenant_id', 'number'), name='invoice_number_uq'),
        ),
        ops.AddConstraint(
            model_name='Invoice',
            constraint=CheckConstraint(check='amount_due >= 0', name='invoice_amount_due_ck'),
        ),
        ops.AddConstraint(
            model_name='LicenseAssignment',
            constraint=UniqueConstraint(fields=('subscription_id', 'user_id'), name='license_assignment_uq'),
        ),
        ops.AddConstraint(
            model_name='PaymentAttempt',
            constraint=UniqueConstraint(fields=('tenant_id', 'gateway_idempotency_key'), name='payment_attempt_key_uq'),
        ),
        ops.AddConstraint(
            model_name='ProductKey',
            constraint=CheckConstraint(check='quantity >= 1', name='product_key_quantity_ck'),
        ),
        ops.AddConstraint(
            model_name='ProductSelfServicePolicy',
            constraint=UniqueConstraint(fields=('tenant_id', 'product_id'), name='self_service_policy_uq'),
        ),
        ops.AddConstraint(
            model_name='Subscription',
            constraint=CheckConstraint(check='quantity >= 1', name='subscription_quantity_ck'),
        ),
        ops.AddConstraint(
            model_name='Subscription',
            constraint=CheckConstraint(check='assigned_count >= 0 AND assigned_count <= quantity', name='subscription_assigned_ck'),
        ),
        ops.AddConstraint(
            model_name='User',
            constraint=UniqueConstraint(fields=('tenant_id', 'email'), name='user_tenant_email_uq'),
        ),
    ]
