# The compiled read path pages subscriptions by (tenant, id): an index that serves it directly.
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_webhooks')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Subscription',
            index=Index(fields=['tenant_id', 'id'], name='subscription_tenant_page_idx'),
        ),
    ]
