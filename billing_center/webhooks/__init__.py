"""Webhook delivery (SPEC §9): signing, the JSON body, and the deliverer that POSTs events to
endpoints outside any transaction and off every request's path."""
